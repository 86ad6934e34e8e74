/**
 * The launch plan: turns sandbox options into one ordered program of steps for the
 * spawn trampoline and runs it.
 *
 * Order (as runc, youki and nsjail do it): namespaces at clone → die-with-parent →
 * id maps → PID-1 reaper → no_new_privs → exec.
 *
 * @module
 */
import {
  type ChildHandle,
  CLONE,
  type ExitStatus,
  O,
  openLibc,
  PR,
  type StdioSpec,
  type Step,
  spawn,
} from "@forge/libc";

/** Which namespaces the sandbox gets (all of them by default). */
export interface NamespaceOptions {
  readonly user?: boolean;
  readonly pid?: boolean;
  readonly mount?: boolean;
  readonly ipc?: boolean;
  readonly uts?: boolean;
  readonly net?: boolean;
}

/** What to run and how to contain it. */
export interface LaunchOptions {
  /** The command and its arguments. */
  readonly argv: readonly string[];
  /** The sandbox's whole environment (default: see {@link cleanEnv}). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory inside the sandbox. */
  readonly cwd?: string;
  readonly stdio?: readonly [StdioSpec, StdioSpec, StdioSpec];
  /** Namespaces to create; default all of user, pid, mount, ipc, uts, net. */
  readonly namespaces?: NamespaceOptions;
  /** uid inside the user namespace (default 0). */
  readonly uid?: number;
  /** gid inside the user namespace (default 0). */
  readonly gid?: number;
}

/** A running sandbox. */
export interface SandboxProcess {
  /** The sandbox's first process (its PID 1 reaper) in our pid namespace. */
  readonly pid: number;
  readonly child: ChildHandle;
  /** Resolves with the payload's status once every process of the sandbox is gone. */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to the payload (through the reaper); SIGKILL ends the whole sandbox. */
  kill(signal?: string | number): boolean;
}

/**
 * The environment a sandbox gets by default: PATH, HOME, TERM and LANG, nothing else
 * of the caller's.
 *
 * @example
 * ```ts
 * import { cleanEnv } from "@forge/sandbox";
 * cleanEnv({ TERM: "xterm", SECRET: "x" }); // { PATH: "/usr/local/sbin:...", HOME: "/", TERM: "xterm" }
 * ```
 */
export function cleanEnv(
  from: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/",
  };
  for (const k of ["TERM", "LANG"]) if (from[k] !== undefined) env[k] = from[k]!;
  return env;
}

/**
 * The clone flags for a set of namespaces.
 *
 * @example
 * ```ts
 * import { namespaceFlags } from "@forge/sandbox";
 * namespaceFlags({ net: false }); // user|pid|mount|ipc|uts
 * ```
 */
export function namespaceFlags(ns: NamespaceOptions = {}): number {
  let f = 0;
  if (ns.user ?? true) f |= CLONE.NEWUSER;
  if (ns.pid ?? true) f |= CLONE.NEWPID;
  if (ns.mount ?? true) f |= CLONE.NEWNS;
  if (ns.ipc ?? true) f |= CLONE.NEWIPC;
  if (ns.uts ?? true) f |= CLONE.NEWUTS;
  if (ns.net ?? true) f |= CLONE.NEWNET;
  return f;
}

function writeFileSteps(file: string, text: string, id: string): Step[] {
  return [
    {
      label: `open ${file}`,
      syscall: "openat",
      args: [-100, { cstring: file }, O.WRONLY | O.CLOEXEC],
      id,
    },
    {
      label: `write "${text}" to ${file}`,
      syscall: "write",
      args: [{ result: id }, { cstring: text }, Buffer.byteLength(text)],
    },
    { label: `close ${file}`, syscall: "close", args: [{ result: id }] },
  ];
}

/**
 * Steps that map the caller's own uid and gid to `uid`/`gid` inside a new user
 * namespace, written by the child itself (allowed for a single line that maps the
 * writer's own ids, so it works rootless).
 */
function selfIdMapSteps(insideUid: number, insideGid: number): Step[] {
  const lib = openLibc();
  return [
    ...writeFileSteps("/proc/self/setgroups", "deny", "setgroups"),
    ...writeFileSteps("/proc/self/uid_map", `${insideUid} ${lib.geteuid()} 1`, "uidmap"),
    ...writeFileSteps("/proc/self/gid_map", `${insideGid} ${lib.getegid()} 1`, "gidmap"),
  ];
}

/**
 * Builds the step program for a sandbox without running it.
 *
 * @example
 * ```ts
 * import { planLaunch } from "@forge/sandbox";
 * const plan = planLaunch({ argv: ["/bin/true"] });
 * console.log(plan.steps.map((s) => s.label));
 * ```
 */
export function planLaunch(opts: LaunchOptions): {
  cloneFlags: number;
  steps: Step[];
  lateSteps: Step[];
} {
  const cloneFlags = namespaceFlags(opts.namespaces);
  const steps: Step[] = [
    {
      label: "die with the parent (PR_SET_PDEATHSIG)",
      syscall: "prctl",
      args: [PR.SET_PDEATHSIG, 9, 0, 0, 0],
    },
  ];
  if (cloneFlags & CLONE.NEWUSER) steps.push(...selfIdMapSteps(opts.uid ?? 0, opts.gid ?? 0));
  if (cloneFlags & CLONE.NEWPID)
    steps.push({ kind: "reaper", label: "become the sandbox's PID 1" });
  const lateSteps: Step[] = [
    { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
  ];
  return { cloneFlags, steps, lateSteps };
}

/**
 * Starts a command in a sandbox. Throws a `SpawnError` naming the set-up step that
 * failed ("write \"0 1000 1\" to /proc/self/uid_map: EPERM (...)").
 *
 * @example
 * ```ts
 * import { launch } from "@forge/sandbox";
 * const box = launch({ argv: ["/bin/echo", "hello"] });
 * const { exitCode } = await box.wait();
 * ```
 */
export function launch(opts: LaunchOptions): SandboxProcess {
  const plan = planLaunch(opts);
  const child = spawn({
    argv: opts.argv,
    env: opts.env ?? cleanEnv(),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    cloneFlags: plan.cloneFlags,
    steps: plan.steps,
    lateSteps: plan.lateSteps,
  });
  return {
    pid: child.pid,
    child,
    wait: () => child.wait(),
    kill: (signal = "SIGTERM") => child.kill(signal),
  };
}
