/**
 * The launch plan: turns sandbox options (usually a profile plus overrides) into one
 * ordered program of steps for the spawn trampoline, runs it, and cleans up.
 *
 * Order in the child (as runc, youki and nsjail do it, with two Forge-specific
 * placements explained in @forge/namespaces):
 * die-with-parent and a check that the parent lives (the trampoline's own first acts)
 * → setsid → id maps and the switch to the inside ids → die-with-parent again, and the
 * check → a fresh session keyring → chdir / → PID 1 (forge-init) → mounts and
 * pivot_root → Landlock preparation → hostname → lo up → the sandbox's own terminal
 * (with `terminal`) → chdir (resolved inside the root, no magic links) → rlimits →
 * capability drop → no_new_privs → Landlock → seccomp → exec.
 *
 * @module
 */

import * as caps from "@forge/capabilities";
import {
  type ChildHandle,
  CLONE,
  type ExitStatus,
  PR,
  type PreparedProgram,
  prepareProgram,
  type SparePool,
  type StdioSpec,
  type Step,
  spawn,
  type TerminalOptions,
} from "@forge/libc";
import * as ns from "@forge/namespaces";
import { idmapGuardSteps } from "./idmap_guard.ts";
import { commandCandidates } from "./resolve_command.ts";
import { type Rlimit, rlimitSteps } from "./rlimits.ts";

/** Which namespaces the sandbox gets (all of them by default). */
export interface NamespaceOptions {
  readonly user?: boolean;
  readonly pid?: boolean;
  readonly mount?: boolean;
  readonly ipc?: boolean;
  readonly uts?: boolean;
  readonly cgroup?: boolean;
}

/** The sandbox's new root: binds and tmpfs mounts (see @forge/namespaces' mount plan). */
export interface RootOptions {
  readonly binds?: readonly ns.BindSpec[];
  readonly tmpfs?: readonly ns.TmpfsSpec[];
  /** A fresh /proc (default true). */
  readonly proc?: boolean;
  /** The minimal /dev (default true). */
  readonly dev?: boolean;
  /** Remount the root read-only at the end (default true). */
  readonly readonly?: boolean;
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
  /**
   * A new pseudo-terminal of the sandbox's own (from its /dev/ptmx, so in its own
   * devpts with a new root) as its controlling terminal, stdin, stdout and stderr (not
   * with `stdio`). Its master is {@link SandboxProcess.terminal}; relay it with
   * `TerminalRelay` (what `Sandbox`'s `tty` option does).
   */
  readonly terminal?: TerminalOptions;
  /** Namespaces to create; default all of user, pid, mount, ipc, uts, cgroup (+ net unless `net: "host"`). */
  readonly namespaces?: NamespaceOptions;
  /** "none" (default): a network namespace with only lo, up; "host": share ours. */
  readonly net?: "none" | "host";
  /** Hostname inside (needs the uts namespace). */
  readonly hostname?: string;
  /** uid inside the user namespace (default 0). */
  readonly uid?: number;
  /** gid inside the user namespace (default 0). */
  readonly gid?: number;
  /**
   * How ids map, as root: "unprivileged" (default) maps the inside ids to 65534 on the
   * host; "identity" maps them to the same host ids (the sandbox's root is the host's
   * root, stripped of capabilities). Rootless callers always map to themselves. With
   * "unprivileged", read-write binds get idmapped mounts (their owner appears as the
   * sandbox's user; see @forge/namespaces' idmapBindTree), and a sandbox with one gets
   * the idmap guard, a seccomp filter that refuses setuid/setgid files, xattr writes
   * and io_uring (see idmap_guard.ts).
   */
  readonly idMap?: "unprivileged" | "identity";
  /** A new root; without it the sandbox sees the host's tree (and gets no Landlock). */
  readonly root?: RootOptions;
  /** Capabilities to keep ("NET_BIND_SERVICE"); every other one is dropped from all five sets. */
  readonly capAdd?: readonly string[];
  /**
   * Steps that install seccomp, last before exec (see @forge/seccomp's seccompSteps).
   * With a pool, a plan made ahead knows them by identity: do not change the array or
   * its steps after the call (build new ones instead).
   */
  readonly seccompSteps?: readonly Step[];
  /** Resource limits set with prlimit64 in the child. */
  readonly rlimits?: readonly Rlimit[];
  /** Landlock as a second wall behind the mounts: "strict", "best-effort" or "off" (default "best-effort" with a root). */
  readonly landlock?: "strict" | "best-effort" | "off";
  /**
   * Children cloned ahead of time (a {@link SparePool} from @forge/libc): a process that
   * starts many sandboxes skips the clone and the creation of the namespaces.
   */
  readonly pool?: SparePool;
  /** cgroup placement from @forge/cgroups (`handle.placement()`). */
  readonly placement?: {
    readonly cgroupFd?: number;
    /** The child's first steps (v1: it moves itself into its cgroups). */
    readonly steps?: readonly Step[];
    /** The cgroup limits memory: the child must not share our memory (an OOM kill would take us too). */
    readonly ownMemory?: boolean;
    readonly beforeStart?: (child: { pid: number; pidfd: number }) => void;
  };
}

/** A running sandbox. */
export interface SandboxProcess {
  /** The sandbox's first process (its PID 1, forge-init) in our pid namespace. */
  readonly pid: number;
  readonly child: ChildHandle;
  /** With `terminal`: the master of the sandbox's terminal (ours to relay and close). */
  readonly terminal?: number;
  /** Warnings from the set-up (Landlock rights this kernel cannot enforce, ...). */
  readonly warnings: readonly string[];
  /** Resolves with the payload's status once every process of the sandbox is gone. */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to the payload (through PID 1); SIGKILL ends the whole sandbox. */
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

/** A launch plan: what {@link spawn} gets, plus what the parent must clean up. */
export interface LaunchPlan {
  readonly cloneFlags: number;
  readonly steps: Step[];
  readonly lateSteps: Step[];
  readonly execCandidates?: string[];
  /** The PATH searched for `execCandidates`. */
  readonly searchedPath?: string;
  readonly beforeStart?: (child: { readonly pid: number; readonly pidfd: number }) => void;
  readonly cgroupFd?: number;
  readonly warnings: string[];
  /** Closes the parent's fds that the child used (after spawn, or on failure). */
  close(): void;
  /** Whether the host paths it opened (bind sources) still name the same objects. */
  isCurrent(): boolean;
}

const KEYCTL_JOIN_SESSION_KEYRING = 1;

function kindsOf(o: NamespaceOptions, net: "none" | "host"): ns.NamespaceKind[] {
  const kinds: ns.NamespaceKind[] = [];
  if (o.user ?? true) kinds.push("user");
  if (o.pid ?? true) kinds.push("pid");
  if (o.mount ?? true) kinds.push("mount");
  if (o.ipc ?? true) kinds.push("ipc");
  if (o.uts ?? true) kinds.push("uts");
  if (o.cgroup ?? true) kinds.push("cgroup");
  if (net === "none") kinds.push("net");
  return kinds;
}

/**
 * Builds the step program for a sandbox without running it. The caller must call
 * `close()` on the plan once the child has started (or failed to).
 *
 * @example
 * ```ts
 * import { planLaunch } from "@forge/sandbox/launch";
 * const plan = planLaunch({ argv: ["/bin/true"] });
 * console.log(plan.steps.map((s) => s.label));
 * plan.close();
 * ```
 */
export function planLaunch(opts: LaunchOptions): LaunchPlan {
  checkCommand(opts);
  return withCommand(planSandbox(opts), opts);
}

/** A string as a message shows it: quoted, control characters escaped. */
const shown = (v: unknown) => JSON.stringify(v) ?? String(v);

/**
 * Checks an environment as the sandbox gets it: names not empty, without "=" or a NUL
 * byte; values strings without NUL bytes. Throws a one-line TypeError naming the
 * variable.
 *
 * @example
 * ```ts
 * import { checkEnvironment } from "@forge/sandbox";
 * checkEnvironment({ LANG: "C" }); // fine
 * checkEnvironment({ "A=B": "1" }); // throws: environment variable name "A=B": ...
 * ```
 */
export function checkEnvironment(env: Readonly<Record<string, unknown>>): void {
  for (const [k, v] of Object.entries(env)) {
    if (k === "" || k.includes("=") || k.includes("\0"))
      throw new TypeError(
        `environment variable name ${shown(k)}: a name is not empty and has no "=" or NUL byte`,
      );
    if (typeof v !== "string" || v.includes("\0"))
      throw new TypeError(
        `environment variable ${shown(k)}: the value ${shown(v)} is not a string without NUL bytes`,
      );
  }
}

/**
 * Checks a working directory for the sandbox: an absolute path without NUL bytes
 * (whether it exists is known only inside). Throws a one-line TypeError.
 *
 * @example
 * ```ts
 * import { checkCwd } from "@forge/sandbox";
 * checkCwd("/work"); // fine
 * ```
 */
export function checkCwd(cwd: unknown): void {
  if (typeof cwd !== "string" || !cwd.startsWith("/") || cwd.includes("\0"))
    throw new TypeError(
      `cwd: expected an absolute path inside the sandbox (such as /work), got ${shown(cwd)}`,
    );
}

/**
 * What a namespace choice rules out: a new root without the mount namespace, a
 * hostname without the uts namespace. One entry per problem, naming the option at
 * fault and the fix; the plan throws the first as a RangeError.
 *
 * @example
 * ```ts
 * import { namespaceProblems } from "@forge/sandbox";
 * namespaceProblems({ namespaces: { uts: false }, hostname: "box" });
 * // [{ field: "hostname", message: "--hostname needs the uts namespace, which ..." }]
 * ```
 */
export function namespaceProblems(
  opts: Pick<LaunchOptions, "namespaces" | "root" | "hostname">,
): { field: "root" | "hostname"; message: string }[] {
  const out: { field: "root" | "hostname"; message: string }[] = [];
  if (opts.root && opts.namespaces?.mount === false)
    out.push({
      field: "root",
      message:
        "a new root (root, --bind, --tmpfs) needs the mount namespace, which namespaces.mount turns off: set namespaces.mount to true, or leave the root out",
    });
  if (opts.hostname !== undefined && opts.namespaces?.uts === false)
    out.push({
      field: "hostname",
      message:
        "--hostname needs the uts namespace, which namespaces.uts turns off: leave the hostname out, or set namespaces.uts to true",
    });
  return out;
}

/**
 * What the kernel cannot take or would take wrongly: the command, its environment and
 * working directory are checked before any plan is made (a TypeError naming the field).
 */
function checkCommand(opts: LaunchOptions): void {
  if (!Array.isArray(opts.argv) || opts.argv.length === 0)
    throw new TypeError("argv: expected the command and its arguments, got none");
  opts.argv.forEach((a, i) => {
    if (typeof a !== "string")
      throw new TypeError(`argv[${i}]: expected a string, got ${shown(a)}`);
    if (a.includes("\0")) throw new TypeError(`argv[${i}] contains a NUL byte: ${shown(a)}`);
  });
  checkEnvironment(opts.env ?? {});
  if (opts.cwd !== undefined) checkCwd(opts.cwd);
  const [ns] = namespaceProblems(opts);
  if (ns) throw new RangeError(ns.message);
}

/** Where the command is looked for inside the new root (when there is one). */
function withCommand(plan: LaunchPlan, opts: LaunchOptions): LaunchPlan {
  if (!opts.root) return plan;
  const searchedPath = opts.env?.PATH ?? cleanEnv().PATH!;
  const execCandidates = commandCandidates(
    opts.argv[0]!,
    searchedPath,
    (opts.root.binds ?? []).map((b) => ({ src: b.src, dst: b.dst })),
  );
  return { ...plan, execCandidates, searchedPath };
}

/** The plan of everything but the command (which {@link withCommand} adds). */
function planSandbox(opts: LaunchOptions): LaunchPlan {
  const net = opts.net ?? "none";
  const kinds = kindsOf(opts.namespaces ?? {}, net);
  const flags = ns.namespaceFlags(kinds);
  // A sandbox with a cgroup of its own gets a cgroup namespace rooted there, and sees
  // "/" rather than the host's path to its cgroup. On v2 the kernel roots it there for
  // a clone into the cgroup; on v1 the child joins with its first steps, then unshares
  // the cgroup namespace (as runc does).
  const lateCgroupNs = !!opts.placement?.steps?.length && (flags & CLONE.NEWCGROUP) !== 0;
  const cloneFlags = lateCgroupNs ? flags & ~CLONE.NEWCGROUP : flags;
  const warnings: string[] = [];
  const closers: (() => void)[] = [];
  const close = () => {
    for (const c of closers.splice(0)) c();
  };
  let isCurrent = () => true;
  try {
    // The trampoline's first acts in the child are PR_SET_PDEATHSIG and a check that
    // we are still alive; the program goes on from there.
    const steps: Step[] = [
      // v1 cgroups: the child moves itself in before anything else.
      ...(opts.placement?.steps ?? []),
      ...(lateCgroupNs
        ? [
            {
              label: "enter a new cgroup namespace rooted at the sandbox's cgroup",
              syscall: "unshare",
              args: [CLONE.NEWCGROUP],
            },
          ]
        : []),
      { label: "start a new session without a controlling terminal", syscall: "setsid", args: [] },
    ];
    const lateSteps: Step[] = [];
    const befores: ((child: { readonly pid: number; readonly pidfd: number }) => void)[] = [];
    let idmap: ns.IdmapTarget | undefined;

    if (cloneFlags & CLONE.NEWUSER) {
      const ids = ns.idMapPlan({
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        ...(opts.idMap === "identity" ? { identity: true } : {}),
      });
      steps.push(...ids.steps);
      if (ids.beforeStart) befores.push(ids.beforeStart);
      // As root the sandbox runs as an unprivileged host id: its read-write binds are
      // idmapped to it (an identity map needs none; rootless cannot).
      if (ids.mode === "root" && opts.idMap !== "identity")
        idmap = { uid: ids.outsideUid, gid: ids.outsideGid };
      // The kernel clears the parent-death signal when the effective ids change (as
      // root, the switch to the inside ids does): set it again for PID 1, which keeps
      // it across the exec of forge-init.
      steps.push({
        label: "die with the parent, again after the id switch",
        syscall: "prctl",
        args: [PR.SET_PDEATHSIG, 9, 0, 0, 0],
      });
      // ... and a parent that died before that prctl would go unnoticed.
      steps.push({ kind: "parent-alive", label: "check that the launcher is still alive" });
      // A second wall behind seccomp: no nested user namespaces (like bwrap --disable-userns).
      steps.push({
        label: "allow no nested user namespaces",
        syscall: "openat",
        args: [-100, { cstring: "/proc/sys/user/max_user_namespaces" }, 0o1 | 0o2000000],
        id: "maxuserns",
        optional: true,
      });
      steps.push({
        label: "write 0 to max_user_namespaces",
        syscall: "write",
        args: [{ result: "maxuserns" }, { cstring: "0" }, 1],
        optional: true,
      });
      steps.push({
        label: "close max_user_namespaces",
        syscall: "close",
        args: [{ result: "maxuserns" }],
        optional: true,
      });
    }
    // A session keyring of its own (as runc does): the launcher's keys stay out of reach
    // even where seccomp lets keyctl through (--seccomp unconfined).
    steps.push({
      label: "join a fresh anonymous session keyring",
      syscall: "keyctl",
      args: [KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0],
    });
    if (cloneFlags & CLONE.NEWPID) {
      // PID 1 keeps its working directory for life: "/" here, which pivot_root then
      // moves to the new root, rather than the launcher's directory on the host.
      steps.push({
        label: "leave the launcher's working directory",
        syscall: "chdir",
        args: [{ cstring: "/" }],
      });
      steps.push({ kind: "reaper", label: "start forge-init as the sandbox's PID 1" });
    }

    // Nothing mounted inside may reach the host: with a new root the mount plan's first
    // step makes the tree private; without one, this does (the payload may mount).
    if (cloneFlags & CLONE.NEWNS && !opts.root) steps.push(ns.privateMountsStep());
    let landlock: ns.LandlockPlan | undefined;
    // An idmapped read-write bind makes what the sandbox creates there its owner's
    // (root's) on the host: the idmap guard keeps set-id bits and xattrs out of it.
    let idmapped = false;
    if (opts.root) {
      if (!(cloneFlags & CLONE.NEWNS)) throw new RangeError(namespaceProblems(opts)[0]!.message);
      const spec: ns.MountSpec = {
        binds: opts.root.binds ?? [],
        tmpfs: opts.root.tmpfs ?? [],
        proc: opts.root.proc ?? true,
        dev: opts.root.dev ?? true,
        readonlyRoot: opts.root.readonly ?? true,
        ...(idmap ? { idmap } : {}),
      };
      const mounts = ns.mountPlan(spec);
      closers.push(() => mounts.close());
      isCurrent = () => mounts.isCurrent();
      idmapped = mounts.mounts.some((m) => m.idmapped !== undefined);
      steps.push(...mounts.steps);
      warnings.push(...mounts.warnings);
      const mode = opts.landlock ?? "best-effort";
      if (mode !== "off") {
        landlock = ns.landlockSteps(ns.landlockRulesFromMounts(spec), { mode });
        closers.push(() => landlock!.close());
        warnings.push(...landlock.warnings);
        steps.push(...landlock.prepareSteps);
      }
    }
    if (opts.hostname !== undefined) {
      if (!(cloneFlags & CLONE.NEWUTS))
        throw new RangeError(
          namespaceProblems({ ...opts, namespaces: { uts: false } })[0]!.message,
        );
      steps.push(ns.hostnameStep(opts.hostname));
    }
    if (cloneFlags & CLONE.NEWNET) steps.push(...ns.loopbackUpSteps());

    lateSteps.push(...rlimitSteps(opts.rlimits ?? []));
    // In a user namespace the child holds that namespace's full set; without one, as
    // root, it holds the host's (found in review: a profile with namespaces.user false
    // ran with CapEff 000001fffeffffff). Rootless without one there is nothing to drop.
    const hostRoot = !(cloneFlags & CLONE.NEWUSER) && process.geteuid?.() === 0;
    // An unknown name is an error whether or not anything is dropped here.
    for (const c of opts.capAdd ?? []) caps.capNumber(c);
    if (cloneFlags & CLONE.NEWUSER || hostRoot)
      lateSteps.push(...caps.capDropSteps({ keep: opts.capAdd ?? [] }));
    if (hostRoot)
      warnings.push(
        "no user namespace: the sandbox's uid 0 is the host's root (every capability not kept is dropped, but root-owned files in its binds are its own); keep namespaces.user on unless you need this",
      );
    lateSteps.push(caps.noNewPrivsStep());
    if (landlock) lateSteps.push(...landlock.steps);
    // Stacked before the profile's filter (which may deny seccomp itself): the kernel
    // runs both and the stricter answer wins, so no profile can undo it.
    if (idmapped) lateSteps.push(...idmapGuardSteps());
    lateSteps.push(...(opts.seccompSteps ?? []));

    if (opts.placement?.beforeStart) befores.push(opts.placement.beforeStart);
    const beforeStart = befores.length
      ? (child: { readonly pid: number; readonly pidfd: number }) => {
          for (const b of befores) b(child);
        }
      : undefined;
    return {
      cloneFlags,
      steps,
      lateSteps,
      ...(beforeStart ? { beforeStart } : {}),
      ...(opts.placement?.cgroupFd !== undefined ? { cgroupFd: opts.placement.cgroupFd } : {}),
      warnings,
      close,
      isCurrent,
    };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Starts a command under exactly the plan `opts` describes. Throws a `SpawnError`
 * naming the set-up step that failed ("mount proc on /proc: EPERM (...)").
 *
 * This is the unopinionated primitive: it adds nothing that was not asked for. Without
 * `root` the command sees the host's whole tree, without `seccompSteps` it has no
 * seccomp filter, and so on. For a sandbox, use {@link Sandbox.start}, whose default
 * is the `default` profile (new root, no capabilities, seccomp, Landlock), as
 * `forge run`'s is.
 *
 * @example
 * ```ts
 * import { launch } from "@forge/sandbox/launch";
 * const box = launch({ argv: ["/bin/echo", "hello"], root: { binds: [{ src: "/usr", dst: "/usr", readonly: true }] } });
 * const { exitCode } = await box.wait();
 * ```
 */
export function launch(opts: LaunchOptions): SandboxProcess {
  checkCommand(opts);
  const key = prefetchKey(opts);
  const ahead = key ? takePrefetched(opts.pool!, key) : undefined;
  const plan = withCommand(ahead?.plan ?? planSandbox(opts), opts);
  let child: ChildHandle;
  try {
    child = spawn({
      argv: opts.argv,
      env: opts.env ?? cleanEnv(),
      ...(ahead
        ? { prepared: ahead.prepared }
        : {
            ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
            ...(opts.terminal ? { terminal: opts.terminal } : {}),
            steps: plan.steps,
            lateSteps: plan.lateSteps,
          }),
      ...(opts.stdio ? { stdio: opts.stdio } : {}),
      ...(plan.execCandidates ? { execCandidates: plan.execCandidates } : {}),
      ...(plan.searchedPath ? { searchedPath: plan.searchedPath } : {}),
      ...(plan.beforeStart ? { beforeStart: plan.beforeStart } : {}),
      ...(plan.cgroupFd !== undefined ? { cgroupFd: plan.cgroupFd } : {}),
      // A child that joins a cgroup before it execs must not share our memory: an OOM
      // kill there would take this process with it.
      ...(opts.placement?.ownMemory ? { ownMemory: true } : {}),
      cloneFlags: plan.cloneFlags,
      ...(opts.pool ? { pool: opts.pool } : {}),
    });
  } finally {
    ahead?.prepared.close(); // a no-op once the spawn has used it
    plan.close();
  }
  if (key) prefetch(opts.pool!, key, opts);
  return {
    pid: child.pid,
    child,
    ...(child.terminal !== undefined ? { terminal: child.terminal } : {}),
    warnings: plan.warnings,
    wait: () => child.wait(),
    kill: (signal = "SIGTERM") => child.kill(signal),
  };
}

// ---- plans made ahead, for launches with a pool ----
//
// A process that starts sandboxes with a SparePool usually starts the next one with
// the same options. Once a launch has started, the plan for the next one (its steps,
// the parent's fds for the binds and /dev nodes, the compiled program) is made while
// the event loop would otherwise wait, and the next launch with the same options
// takes it, if every bind source still names what the plan opened (a directory
// replaced at the same path gets a new plan). A plan is closed after PREFETCH_TTL_MS
// unused (so that no launch gets a view of the host older than that, and no mount
// tree is held longer), and by the pool's close().

const PREFETCH_TTL_MS = 1000;
interface Ahead {
  readonly key: string;
  readonly plan: LaunchPlan;
  /** The plan's steps, cwd and late steps, compiled. */
  readonly prepared: PreparedProgram;
  readonly at: number;
}
const prefetched = new WeakMap<SparePool, Ahead>();
const hooked = new WeakSet<SparePool>();
const stepIds = new WeakMap<readonly Step[], number>();
let nextStepId = 1;

/** What a launch's plan depends on (not the command, env or stdio), or undefined: no prefetch. */
function prefetchKey(opts: LaunchOptions): string | undefined {
  if (!opts.pool || opts.placement) return undefined;
  let seccompId = 0;
  if (opts.seccompSteps) {
    seccompId = stepIds.get(opts.seccompSteps) ?? nextStepId++;
    stepIds.set(opts.seccompSteps, seccompId);
  }
  return JSON.stringify(
    [
      opts.namespaces ?? null,
      opts.net ?? null,
      opts.hostname ?? null,
      opts.uid ?? null,
      opts.gid ?? null,
      opts.idMap ?? null,
      opts.root ?? null,
      opts.capAdd ?? null,
      opts.rlimits ?? null,
      opts.landlock ?? null,
      opts.cwd ?? null,
      // The window size is not part of it: the relay sets the current one at its start.
      !!opts.terminal,
      seccompId,
    ],
    (_k, v) => (typeof v === "bigint" ? `${v}n` : v),
  );
}

function takePrefetched(pool: SparePool, key: string): Ahead | undefined {
  const p = prefetched.get(pool);
  if (!p) return undefined;
  prefetched.delete(pool);
  if (p.key === key && performance.now() - p.at <= PREFETCH_TTL_MS && p.plan.isCurrent()) return p;
  dropAhead(p);
  return undefined;
}

function dropAhead(p: Ahead | undefined): void {
  p?.prepared.close();
  p?.plan.close();
}

function prefetch(pool: SparePool, key: string, opts: LaunchOptions): void {
  if (!hooked.has(pool)) {
    hooked.add(pool);
    pool.onClose(() => {
      dropAhead(prefetched.get(pool));
      prefetched.delete(pool);
    });
  }
  setImmediate(() => {
    if (pool.closed) return;
    dropAhead(prefetched.get(pool));
    prefetched.delete(pool);
    // The key again: the caller may have changed its option objects since the launch,
    // and the plan must be filed under what it was made from.
    const now = prefetchKey(opts);
    if (now !== key) return;
    let plan: LaunchPlan | undefined;
    try {
      plan = planSandbox(opts);
      const prepared = prepareProgram({
        steps: plan.steps,
        lateSteps: plan.lateSteps,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        ...(opts.terminal ? { terminal: opts.terminal } : {}),
      });
      const ahead: Ahead = { key, plan, prepared, at: performance.now() };
      prefetched.set(pool, ahead);
      setTimeout(() => {
        if (prefetched.get(pool) !== ahead) return;
        prefetched.delete(pool);
        dropAhead(ahead);
      }, PREFETCH_TTL_MS).unref();
    } catch {
      plan?.close(); // the launch that needs it plans afresh (and reports the error)
    }
  }).unref();
}
