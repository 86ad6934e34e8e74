/**
 * `Sandbox`: one call that takes a profile plus overrides, compiles the seccomp
 * filter, creates the cgroup, launches the command, enforces the timeout, and on exit
 * reports why it ended and removes what it created.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import type { Readable, Writable } from "node:stream";
import * as cgroups from "@forge/cgroups";
import {
  type ExitStatus,
  type ParentWatch,
  prepareProgram,
  type SparePool,
  type StdioSpec,
  type Step,
  watchParent,
} from "@forge/libc";
import * as ns from "@forge/namespaces";
import { capabilityWarnings } from "./cap_warnings.ts";
import { checkDurationMs, MAX_DURATION_MS, parseDuration } from "./duration.ts";
import { cleanEnv, type LaunchOptions, launch, planLaunch, type SandboxProcess } from "./launch.ts";
import { type LongTimeout, setLongTimeout } from "./long_timeout.ts";
import { overrideMounts } from "./mount_overrides.ts";
import { firstTimeOnly } from "./once_per_process.ts";
import { oneLine } from "./one_line.ts";
import { argumentHint, explainSetupError, type SandboxView } from "./path_hints.ts";
import { loadProfile, type SandboxProfile } from "./profile.ts";
import { refuseBindsOverProfileDirs } from "./profile_guard.ts";
import { type Rlimit, rlimitsFromRecord } from "./rlimits.ts";
import { filterSteps } from "./seccomp_filter.ts";
import { TerminalRelay, type TtyOptions, userWindowSize } from "./tty.ts";

/** Everything a sandbox run can set; each field overrides the profile's. */
export interface SandboxOptions {
  readonly argv: readonly string[];
  /**
   * The profile the run starts from: a loaded one (see loadProfile; a profile object of
   * your own has a name, which is how a weaker set-up is asked for), or a name or path
   * for loadProfile. Default: the `default` profile, found as `forge run` finds it.
   */
  readonly profile?: SandboxProfile | string;
  /**
   * Extra binds, after the profile's. One at the destination of a profile's bind or
   * tmpfs replaces it (as `docker run -v` does); two of these at one destination are an
   * error (see {@link overrideMounts}).
   */
  readonly binds?: readonly ns.BindSpec[];
  /** Extra tmpfs mounts, after the profile's; one at a profile mount's destination replaces it. */
  readonly tmpfs?: readonly ns.TmpfsSpec[];
  readonly net?: "none" | "host";
  readonly hostname?: string;
  /** Variables to set, on top of the profile's and the clean environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Names of the caller's variables to pass through. */
  readonly keepEnv?: readonly string[];
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly idMap?: "unprivileged" | "identity";
  /** Capabilities to keep, added to the profile's. */
  readonly capAdd?: readonly string[];
  /** A seccomp profile (built-in name or file), or "unconfined". */
  readonly seccomp?: string;
  /** Added after the profile's (a later value for the same resource wins). */
  readonly rlimits?: readonly Rlimit[];
  readonly landlock?: "strict" | "best-effort" | "off";
  /**
   * cgroup limits, merged over the profile's. Without a pids limit the sandbox gets
   * `DEFAULT_PIDS_LIMIT` (1024) where a pids controller is usable (see `forge doctor`);
   * `pids: "max"` asks for none.
   */
  readonly limits?: cgroups.LimitsInput;
  /** "strict" (default) fails when a limit cannot hold; "best-effort" warns and goes on. */
  readonly limitsMode?: "strict" | "best-effort";
  /** The cgroup under which the sandbox's own is made ("/my.slice/forge"); default: see @forge/cgroups. */
  readonly cgroupParent?: string;
  /**
   * Kill the whole sandbox after this many milliseconds: above 0, at most 2^53 - 1
   * (timers past Node's 2^31 - 1 ms are chained, so a long one never fires early).
   */
  readonly timeoutMs?: number;
  /**
   * How long {@link Sandbox.stop} waits after its signal before it kills the whole
   * sandbox with SIGKILL, in milliseconds (default {@link DEFAULT_STOP_TIMEOUT_MS},
   * 10 s, as `docker stop`; 0: at once).
   */
  readonly stopTimeoutMs?: number;
  /**
   * Kill the whole sandbox when the process that started this one (our parent) exits,
   * as bwrap's `--die-with-parent` does. (The sandbox always dies with this process.)
   */
  readonly dieWithParent?: boolean;
  readonly stdio?: readonly [StdioSpec, StdioSpec, StdioSpec];
  /**
   * Give the sandbox a new pseudo-terminal of its own as its controlling terminal,
   * stdin, stdout and stderr (not with `stdio`), and relay it to this process's
   * terminal as `docker run -it` does: `process.stdin` raw while the sandbox runs (its
   * mode restored on every way out), keys in, output to `process.stdout`, the window
   * size followed on SIGWINCH. `{ input, output }` relays other streams. The
   * sandbox has job control (Ctrl-C, Ctrl-Z, `fg`), `tty` names its terminal, and
   * nothing it does to its terminal (TIOCSTI...) reaches yours. Needs a /dev with a
   * devpts inside (the default profile's) or the host's /dev. See {@link Sandbox.terminal}.
   *
   * @example
   * ```ts
   * import { Sandbox } from "@forge/sandbox";
   * const box = Sandbox.start({ argv: ["/bin/bash"], tty: true });
   * process.exitCode = (await box.wait()).status.exitCode;
   * ```
   */
  readonly tty?: boolean | TtyOptions;
  /**
   * Children cloned ahead of time: with a pool, each start takes a spare whose
   * namespaces already exist and the pool clones the next one while this one runs.
   * For processes that start many sandboxes; see {@link SparePool}.
   */
  readonly pool?: SparePool;
}

/**
 * How long {@link Sandbox.stop} waits for the sandbox to end before SIGKILL, by
 * default: 10 s, as `docker stop`.
 *
 * @example
 * ```ts
 * import { DEFAULT_STOP_TIMEOUT_MS } from "@forge/sandbox";
 * console.log(DEFAULT_STOP_TIMEOUT_MS); // 10000
 * ```
 */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** Why a sandbox ended, with the cgroup's figures when it had one. */
export interface SandboxResult {
  readonly status: ExitStatus;
  readonly reason: cgroups.EndReason;
  readonly stats?: cgroups.CgroupStats;
  readonly durationMs: number;
  /** Set when `dieWithParent` killed the sandbox because our parent had exited. */
  readonly parentExited?: boolean;
  /**
   * Set when {@link Sandbox.stop} was called: its signal, and whether the sandbox was
   * still running `stopTimeoutMs` later and got SIGKILL.
   */
  readonly stopped?: { signal: string; escalated: boolean; stopTimeoutMs: number };
  /**
   * What failed after the payload had ended (its cgroup could not be removed...):
   * one line each. The status above stands; nothing here changes it.
   */
  readonly problems?: readonly string[];
  /**
   * When the command exited with a status other than 0: what may explain it, one line
   * each, such as an argument naming a file that is on the host but not in the
   * sandbox (`job.py` resolved against the working directory inside), with the
   * `--bind`/`--cwd` that puts it there. `forge run` prints them as notes.
   */
  readonly hints?: readonly string[];
  /** The record `--json-status` writes. */
  readonly record: Record<string, unknown>;
}

/** Turns a profile plus overrides into launch options (no side effects but reading the host's paths). */
export function resolveSandboxOptions(o: SandboxOptions): {
  launch: Omit<LaunchOptions, "seccompSteps" | "placement">;
  seccomp?: string;
  limits: cgroups.LimitsInput;
  limitsMode: "strict" | "best-effort";
  timeoutMs?: number;
} {
  const p =
    typeof o.profile === "string" ? loadProfile(o.profile) : (o.profile ?? loadProfile("default"));
  // No prototype: a variable may be named __proto__ (an object literal would drop it).
  const env: Record<string, string> = Object.assign(Object.create(null), cleanEnv({}));
  for (const k of [...(p?.env?.keep ?? []), ...(o.keepEnv ?? [])])
    if (Object.hasOwn(process.env, k) && process.env[k] !== undefined) env[k] = process.env[k]!;
  for (const set of [p?.env?.set ?? {}, o.env ?? {}])
    for (const [k, v] of Object.entries(set)) env[k] = v;
  let root: LaunchOptions["root"];
  if (p?.root || o.binds?.length || o.tmpfs?.length) {
    const present: ns.BindSpec[] = [];
    /** Every bind asked for, optional ones whose source is missing here included. */
    const declared: ns.BindSpec[] = [];
    for (const b of p?.root?.binds ?? []) {
      const bind = {
        src: b.src,
        dst: b.dst ?? b.src,
        readonly: b.readonly ?? false,
        origin: `profile ${p.name}`,
      };
      declared.push(bind);
      if (!b.optional || fs.existsSync(b.src)) present.push(bind);
    }
    const profileTmpfs: ns.TmpfsSpec[] = (p?.root?.tmpfs ?? []).map((t) => ({
      dst: t.dst,
      ...(t.size !== undefined ? { size: t.size } : {}),
      ...(t.inodes !== undefined ? { inodes: t.inodes } : {}),
    }));
    // The caller's mounts replace the profile's at the same destination (as docker's -v
    // and --tmpfs do); two of the caller's at one destination are an error.
    const caller = { binds: o.binds ?? [], tmpfs: o.tmpfs ?? [] };
    const { binds, tmpfs } = overrideMounts({ binds: present, tmpfs: profileTmpfs }, caller);
    const declaredBinds = overrideMounts({ binds: declared, tmpfs: profileTmpfs }, caller).binds;
    root = {
      binds,
      tmpfs,
      proc: p?.root?.proc ?? true,
      dev: p?.root?.dev ?? true,
      readonly: p?.root?.readonly ?? true,
    };
    // An optional bind left out here is still checked (paths, clashes): the profile is
    // wrong on every host, not only where its source exists (validateProfile says so too).
    if (declaredBinds.length !== binds.length) ns.checkMountSpec({ ...root, binds: declaredBinds });
  }
  const pl = p?.limits;
  const limits: cgroups.LimitsInput = {
    ...(pl?.memory !== undefined ? { memory: pl.memory } : {}),
    ...(pl?.swap !== undefined ? { swap: pl.swap } : {}),
    ...(pl?.cpus !== undefined ? { cpus: String(pl.cpus) } : {}),
    ...(pl?.pids !== undefined ? { pids: pl.pids } : {}),
    ...(pl?.oomGroupKill !== undefined ? { oomGroupKill: pl.oomGroupKill } : {}),
    ...(o.limits ?? {}),
  };
  const uid = o.uid ?? p?.uid;
  const gid = o.gid ?? p?.gid;
  const cwd = o.cwd ?? p?.cwd;
  const hostname = o.hostname ?? p?.hostname;
  const landlock = o.landlock ?? p?.landlock;
  // A profile that names no seccomp profile gets Forge's default one: no filter at all
  // is asked for by name ("unconfined"), like every weaker set-up.
  const seccompSpec = o.seccomp ?? p?.seccomp ?? "default";
  const timeout =
    o.timeoutMs !== undefined
      ? checkDurationMs(o.timeoutMs, "timeoutMs")
      : p?.timeout
        ? parseDuration(p.timeout, `profile ${p.name}: timeout`)
        : undefined;
  return {
    launch: {
      argv: o.argv,
      env,
      ...(cwd !== undefined ? { cwd } : {}),
      ...(o.stdio ? { stdio: o.stdio } : {}),
      ...(p?.namespaces ? { namespaces: p.namespaces } : {}),
      net: o.net ?? p?.net ?? "none",
      ...(hostname !== undefined ? { hostname } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      ...(o.idMap ? { idMap: o.idMap } : {}),
      ...(root ? { root } : {}),
      capAdd: [...(p?.capabilities?.add ?? []), ...(o.capAdd ?? [])],
      rlimits: [...rlimitsFromRecord(p?.rlimits), ...(o.rlimits ?? [])],
      ...(landlock ? { landlock } : {}),
    },
    ...(seccompSpec && seccompSpec !== "unconfined" ? { seccomp: seccompSpec } : {}),
    limits,
    limitsMode: o.limitsMode ?? pl?.mode ?? "strict",
    ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
  };
}

/** The `tty` option as relay options, or undefined without one (checked against `stdio`). */
function ttyOptions(o: SandboxOptions): TtyOptions | undefined {
  if (!o.tty) return undefined;
  if (o.stdio)
    throw new TypeError(
      "tty: the sandbox's terminal is its stdin, stdout and stderr; give tty or stdio, not both",
    );
  return o.tty === true ? {} : o.tty;
}

/** Everything {@link Sandbox.start} decides before it creates a cgroup or a process. */
interface Prepared {
  readonly r: ReturnType<typeof resolveSandboxOptions>;
  readonly warnings: string[];
  readonly seccompSteps?: readonly Step[];
  readonly limits: cgroups.Limits;
  readonly defaults: cgroups.Limits;
  readonly stopTimeoutMs: number;
}

/** The CPUs this process may run on (what a `--cpus` above it can never use). */
function hostCpus(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

function cpusOf(limits: cgroups.Limits): number | undefined {
  const c = limits.cpu;
  return c && c.quota !== "max" ? c.quota / c.period : undefined;
}

/**
 * The checks and decisions {@link Sandbox.start} and {@link checkSandbox} share: the
 * profile merged with the options, the seccomp filter, the limits; throws what a
 * start would throw for them.
 */
function prepare(o: SandboxOptions): Prepared {
  const r = resolveSandboxOptions(o);
  const stopTimeoutMs = o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  if (typeof stopTimeoutMs !== "number" || !(stopTimeoutMs >= 0) || stopTimeoutMs > MAX_DURATION_MS)
    throw new RangeError(
      `stopTimeoutMs: expected a number of milliseconds, 0 or more (0: SIGKILL at once), got ${String(stopTimeoutMs)}`,
    );
  const warnings: string[] = capabilityWarnings(r.launch.capAdd ?? []);
  let seccompSteps: Step[] | undefined;
  if (r.seccomp) {
    const f = filterSteps(r.seccomp, r.launch.capAdd ?? []);
    if (f.conflicts.length) warnings.push(conflictWarning(r.seccomp, f.conflicts, r.launch.capAdd));
    // What runc loads but is likely a mistake (unknown syscall names...): a few lines.
    const profileWarnings = f.warnings ?? [];
    warnings.push(...profileWarnings.slice(0, 3));
    if (profileWarnings.length > 3)
      warnings.push(
        `seccomp profile "${r.seccomp}": ${profileWarnings.length - 3} more warnings; "forge seccomp verify ${r.seccomp}" lists them all`,
      );
    seccompSteps = f.steps;
  }
  const limits: cgroups.Limits = Object.keys(r.limits).length ? cgroups.parseLimits(r.limits) : {};
  const cpus = cpusOf(limits);
  const n = hostCpus();
  if (cpus !== undefined && cpus > n) {
    const here = `${n} CPU${n === 1 ? "" : "s"} this machine has`;
    if (o.limits?.cpus !== undefined)
      throw new RangeError(
        `--cpus: ${o.limits.cpus} is more than the ${here}; give at most ${n}, or leave --cpus out for no CPU limit`,
      );
    const p = typeof o.profile === "object" ? o.profile : undefined;
    warnings.push(
      `profile ${p?.name ?? o.profile ?? "default"}: limits.cpus ${cpus} is more than the ${here}: it never holds the sandbox back here`,
    );
  }
  // The default pids limit, where a pids controller is usable: an explicit pids limit
  // replaces it, and where there is none the sandbox runs without it, silently.
  const defaults = limits.pids === undefined ? { pids: cgroups.DEFAULT_PIDS_LIMIT } : {};
  return {
    r,
    warnings,
    ...(seccompSteps ? { seccompSteps } : {}),
    limits,
    defaults,
    stopTimeoutMs,
  };
}

/**
 * One warning line for a seccomp profile's rule conflicts (rules that overlap or
 * never apply with the kept capabilities), however many there are, with the command
 * that lists them all.
 */
function conflictWarning(
  spec: string,
  conflicts: readonly string[],
  caps: readonly string[] | undefined,
): string {
  const first = oneLine(conflicts[0]);
  if (conflicts.length === 1) return `seccomp profile "${spec}": ${first}`;
  const cap = (caps ?? []).map((c) => ` --cap ${c}`).join("");
  return `seccomp profile "${spec}": ${conflicts.length} rules overlap or never apply, e.g. ${first}; "forge seccomp compile ${spec}${cap} --format asm -o /dev/null" lists them all`;
}

/** What {@link checkSandbox} found. */
export interface SandboxCheck {
  /** The warnings a start would print (kept capabilities, Landlock, CPUs...). */
  readonly warnings: readonly string[];
}

/**
 * Builds everything {@link Sandbox.start} would for `o` (the profile merged with the
 * options, the seccomp filter, the limits, the launch plan with its mounts, Landlock
 * rules and the compiled program for the trampoline) and throws what a start would
 * throw for it, without creating a cgroup or starting anything; every fd it opens is
 * closed. What it cannot see: whether this host's cgroups can hold the limits
 * (`forge doctor` says), and what fails only in the child (a missing --cwd, a command
 * not found).
 *
 * @example
 * ```ts
 * import { checkSandbox } from "@forge/sandbox";
 * const { warnings } = checkSandbox({ argv: ["/bin/true"], profile: "./mine.json" });
 * ```
 */
export function checkSandbox(o: SandboxOptions): SandboxCheck {
  const p = prepare(o);
  const tty = ttyOptions(o);
  const plan = planLaunch({
    ...p.r.launch,
    ...(p.seccompSteps ? { seccompSteps: p.seccompSteps } : {}),
  });
  try {
    prepareProgram({
      steps: plan.steps,
      lateSteps: plan.lateSteps,
      ...(p.r.launch.cwd !== undefined ? { cwd: p.r.launch.cwd } : {}),
      ...(tty ? { terminal: {} } : {}),
    }).close();
  } finally {
    plan.close();
  }
  return { warnings: [...p.warnings, ...plan.warnings] };
}

/**
 * The events a {@link Sandbox} emits, as a `ChildProcess` does.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@forge/sandbox";
 * const box = Sandbox.start({ argv: ["/bin/echo", "hi"], stdio: ["ignore", "pipe", "inherit"] });
 * box.on("exit", (code, signal) => console.log(code, signal)); // 0 null
 * box.on("close", () => console.log("stdout read to its end"));
 * ```
 */
export interface SandboxEvents {
  /**
   * Every process of the sandbox is gone and its cgroup removed: the exit code (null
   * when a signal ended it), the signal's name (null when it exited), and the whole
   * result, as {@link Sandbox.wait} resolves with it.
   */
  exit: [code: number | null, signal: string | null, result: SandboxResult];
  /** After "exit", once the piped stdout and stderr have closed too (read to their end). */
  close: [code: number | null, signal: string | null];
  /** {@link Sandbox.wait} failed before the status was known; emitted only to a listener. */
  error: [error: Error];
}

/**
 * A sandboxed command: started by {@link Sandbox.start}, ended by itself, a signal,
 * the OOM killer or the timeout. `wait()` reports which, and removes the cgroup.
 *
 * Like a `ChildProcess`, it is an EventEmitter ("exit", then "close": see
 * {@link SandboxEvents}) with `stdin`, `stdout` and `stderr` streams for what
 * `stdio` pipes (null otherwise). Unlike `child_process.spawn`, a sandbox that cannot
 * be set up is no "error" event: `Sandbox.start` throws it synchronously, as a typed
 * error (`SpawnError` naming the step, `ProfileError`, `CgroupError`, `MountPlanError`,
 * `RangeError`/`TypeError` for bad options), and leaves nothing behind.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@forge/sandbox";
 * // No profile: the `default` one, as `forge run` uses (new root, no capabilities,
 * // seccomp, Landlock). Another: `profile: "python-safe"`, or a profile object of your own.
 * const box = Sandbox.start({ argv: ["/bin/cat"], stdio: ["pipe", "pipe", "inherit"], timeoutMs: 10_000 });
 * box.stdout!.pipe(process.stdout);
 * box.stdin!.end("hi\n");
 * box.on("exit", (code, signal) => console.log(code, signal)); // 0 null
 * const { status, reason } = await box.wait(); // the same end, as a promise
 * console.log(status.exitCode, reason.message);
 * ```
 */
export class Sandbox extends EventEmitter<SandboxEvents> {
  readonly process: SandboxProcess;
  /**
   * Warnings to show the user (limits or Landlock rights that do not hold here...),
   * one short line each. A cgroup warning, the same for every run on this host (no
   * delegated cgroup...), comes with the first sandbox of the process only.
   */
  readonly warnings: readonly string[];
  readonly cgroup: cgroups.CgroupHandle | undefined;
  /** With the `tty` option: the relay of the sandbox's terminal (its master, resize()). */
  readonly terminal: TerminalRelay | undefined;
  readonly #started = Date.now();
  readonly #timeoutMs: number | undefined;
  readonly #stopTimeoutMs: number;
  #timedOut = false;
  #parentGone = false;
  #timer: LongTimeout | undefined;
  #stopTimer: LongTimeout | undefined;
  #stopped: { signal: string; escalated: boolean; stopTimeoutMs: number } | undefined;
  /** The payload's status is known (every process of the sandbox is gone). */
  #ended = false;
  #parentWatch: ParentWatch | undefined;
  #result: Promise<SandboxResult> | undefined;
  /** What the payload sees (for the hints of a failed run). */
  #view: SandboxView | undefined;

  private constructor(
    proc: SandboxProcess,
    cg: cgroups.CgroupHandle | undefined,
    warnings: string[],
    timeoutMs: number | undefined,
    stopTimeoutMs: number,
    parentWatch?: ParentWatch,
    terminal?: TerminalRelay,
  ) {
    super();
    this.process = proc;
    this.cgroup = cg;
    this.terminal = terminal;
    this.warnings = warnings;
    this.#timeoutMs = timeoutMs;
    this.#stopTimeoutMs = stopTimeoutMs;
    this.#parentWatch = parentWatch;
    parentWatch?.exited.then(() => {
      this.#parentGone = true;
      this.kill("SIGKILL");
    });
    if (timeoutMs !== undefined) {
      // Chained past Node's 2^31 - 1 ms, where one setTimeout would fire at once.
      this.#timer = setLongTimeout(() => {
        this.#timedOut = true;
        this.kill("SIGKILL");
      }, timeoutMs);
    }
    this.#announce();
  }

  /**
   * Starts a sandbox (under the `default` profile unless `o.profile` names another);
   * throws synchronously, a typed error, and leaves nothing behind when it cannot be
   * set up: a bad option or profile (`TypeError`, `RangeError`, `ProfileError`,
   * `MountPlanError`), limits that cannot hold (`CgroupError`), a step of the child
   * that failed or a command that is not there (`SpawnError`, whose message says when
   * the command is on the host but not bound into the sandbox). Once it returns, the
   * command runs: its end comes as {@link Sandbox.wait} and the "exit" event. Kept capabilities
   * that let the sandbox undo its own walls (SYS_ADMIN...) each add a line to
   * `warnings` (see WALL_BREAKING_CAPABILITIES).
   */
  static start(o: SandboxOptions): Sandbox {
    const p = prepare(o);
    const { r, warnings, seccompSteps, limits, defaults } = p;
    const ttyOpts = ttyOptions(o);
    refuseBindsOverProfileDirs(r.launch.root?.binds ?? []);
    let cg: cgroups.CgroupHandle | undefined;
    if (cgroups.hasLimits(limits) || cgroups.hasLimits(defaults)) {
      cg = cgroups.createCgroup(limits, {
        mode: r.limitsMode,
        defaults,
        ...(o.cgroupParent ? { parent: o.cgroupParent } : {}),
      });
      // The same for every run here (no delegated cgroup...): once per process.
      warnings.push(...firstTimeOnly(cg.warnings));
      if (!cg.paths.length && !cgroups.hasLimits(limits)) cg = undefined;
    }
    try {
      const size = ttyOpts ? userWindowSize(ttyOpts) : undefined;
      const proc = launch({
        ...r.launch,
        ...(seccompSteps ? { seccompSteps } : {}),
        ...(cg ? { placement: cg.placement() } : {}),
        ...(o.pool ? { pool: o.pool } : {}),
        ...(ttyOpts ? { terminal: size ? { size } : {} } : {}),
      });
      warnings.push(...proc.warnings);
      let watch: ParentWatch | undefined;
      let relay: TerminalRelay | undefined;
      try {
        if (o.dieWithParent) {
          watch = watchParent();
          // Our parent may have died before this process could start watching it: we
          // were re-parented to init then, and there is nothing left to die with.
          if (process.ppid === 1)
            warnings.push(
              "die-with-parent: this process's parent is already PID 1 (whoever started it has exited, or it runs directly under init): nothing to die with",
            );
        }
        // Last: from here on the user's terminal is raw until the relay finishes.
        if (ttyOpts) relay = TerminalRelay.start(proc.terminal!, ttyOpts);
      } catch (e) {
        proc.kill("SIGKILL");
        try {
          watch?.stop();
        } catch {
          // the watch is gone with the parent
        }
        if (proc.terminal !== undefined && !relay) fs.closeSync(proc.terminal);
        throw e;
      }
      const box = new Sandbox(proc, cg, warnings, r.timeoutMs, p.stopTimeoutMs, watch, relay);
      box.#view = r.launch;
      return box;
    } catch (e) {
      cg?.disposeSync();
      // A command or working directory on the host but not bound in: the message says so.
      throw explainSetupError(e, r.launch);
    }
  }

  /** The sandbox's PID 1 in our pid namespace. */
  get pid(): number {
    return this.process.pid;
  }

  /** The payload's stdin when `stdio[0]` is "pipe", else null (as `ChildProcess.stdin`). */
  get stdin(): Writable | null {
    return this.process.child.stdin;
  }

  /** The payload's stdout when `stdio[1]` is "pipe", else null. */
  get stdout(): Readable | null {
    return this.process.child.stdout;
  }

  /** The payload's stderr when `stdio[2]` is "pipe", else null. */
  get stderr(): Readable | null {
    return this.process.child.stderr;
  }

  /**
   * Emits "exit" once {@link Sandbox.wait} knows the end (so the cgroup is gone by
   * then), then "close" once the piped stdout and stderr have closed, as a
   * ChildProcess does. Listeners run on their own tick: one that throws is an uncaught
   * exception, not a rejected promise.
   */
  #announce(): void {
    this.wait().then(
      (r) => {
        const code = r.status.signal ? null : r.status.code;
        const signal = r.status.signal;
        process.nextTick(() => {
          this.emit("exit", code, signal, r);
          const open = [this.stdout, this.stderr].filter(
            (s): s is Readable => s !== null && !s.closed,
          );
          Promise.all(open.map((s) => new Promise((done) => s.once("close", done)))).then(() =>
            process.nextTick(() => this.emit("close", code, signal)),
          );
        });
      },
      (e: unknown) => {
        // The caller of wait() gets the rejection; a listener, the event.
        if (this.listenerCount("error") > 0)
          this.emit("error", e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Sends a signal to the payload; SIGKILL ends every process of the sandbox. */
  kill(signal: string | number = "SIGTERM"): boolean {
    if (signal === "SIGKILL" || signal === 9) {
      let sent = this.process.kill("SIGKILL");
      if (this.cgroup) {
        try {
          this.cgroup.kill();
          sent = true;
        } catch {
          // already gone
        }
      }
      return sent;
    }
    return this.process.kill(signal);
  }

  /**
   * Stops the sandbox as `docker stop` does: sends `signal` (default SIGTERM) to the
   * payload, and if the sandbox still runs `stopTimeoutMs` later (see
   * {@link SandboxOptions.stopTimeoutMs}; default 10 s), kills all of it with SIGKILL.
   * Calling it again sends the signal again; the first deadline stands. Resolves as
   * {@link Sandbox.wait} does; `stopped` in the result says whether SIGKILL was needed.
   *
   * @example
   * ```ts
   * import { Sandbox } from "@forge/sandbox";
   * const box = Sandbox.start({ argv: ["/bin/sleep", "60"], stopTimeoutMs: 2000 });
   * const r = await box.stop();
   * console.log(r.stopped); // { signal: "SIGTERM", escalated: false, stopTimeoutMs: 2000 }
   * ```
   */
  stop(signal: string = "SIGTERM"): Promise<SandboxResult> {
    const result = this.wait();
    if (this.#ended) return result;
    if (!this.#stopped) {
      const stopped = { signal, escalated: false, stopTimeoutMs: this.#stopTimeoutMs };
      this.#stopped = stopped;
      const escalate = () => {
        if (this.#ended) return;
        stopped.escalated = true;
        this.kill("SIGKILL");
      };
      if (this.#stopTimeoutMs === 0) escalate();
      else this.#stopTimer = setLongTimeout(escalate, this.#stopTimeoutMs);
    }
    if (!this.#stopped.escalated) this.kill(signal);
    return result;
  }

  /**
   * Resolves once every process of the sandbox is gone and its cgroup removed. It
   * never rejects once the payload's status is known: a failure after that (a cgroup
   * that cannot be removed) is in the result's `problems`, and the status stands.
   */
  wait(): Promise<SandboxResult> {
    this.#result ??= (async () => {
      let status: ExitStatus;
      try {
        status = await this.process.wait();
      } finally {
        this.#ended = true;
        // The sandbox's output to its end, and the user's terminal mode back.
        this.terminal?.finish();
        this.#timer?.clear();
        this.#stopTimer?.clear();
        try {
          this.#parentWatch?.stop();
        } catch {
          // the watch is gone with the parent
        }
      }
      // From here on the payload's status is known: nothing may replace it.
      const problems: string[] = [];
      let stats: cgroups.CgroupStats | undefined;
      try {
        stats = this.cgroup?.stats();
      } catch {
        stats = undefined;
      }
      try {
        await this.cgroup?.dispose();
      } catch (e) {
        problems.push(oneLine((e as Error)?.message ?? String(e)));
      }
      let reason: cgroups.EndReason;
      let record: Record<string, unknown>;
      const durationMs = Date.now() - this.#started;
      const stopped = this.#stopped ? { ...this.#stopped } : undefined;
      try {
        reason = cgroups.endReason(status, {
          ...(stats ? { stats } : {}),
          timedOut: this.#timedOut,
          ...(this.#timeoutMs !== undefined ? { timeoutMs: this.#timeoutMs } : {}),
          ...(this.cgroup ? { limits: this.cgroup.limits } : {}),
        });
        record = cgroups.runStatus(reason, stats ?? {}, this.cgroup?.limits ?? {});
      } catch (e) {
        problems.push(`cannot tell why the sandbox ended: ${oneLine((e as Error)?.message)}`);
        const code = status.exitCode;
        reason = status.signal
          ? { kind: "signal", code, signal: status.signal, message: `killed by ${status.signal}` }
          : { kind: "exit", code, signal: null, message: `exited with code ${code}` };
        record = {
          reason: reason.kind,
          message: reason.message,
          exitCode: code,
          signal: reason.signal,
        };
      }
      record = {
        ...record,
        ...(this.#parentGone ? { parentExited: true } : {}),
        ...(stopped ? { stopSignal: stopped.signal, stopEscalated: stopped.escalated } : {}),
        ...(problems.length ? { problems } : {}),
        durationMs,
      };
      // A failed run: a file its arguments name may be on the host but not in here.
      let hint: string | undefined;
      if (status.code !== null && status.code !== 0 && this.#view) {
        try {
          hint = argumentHint(this.#view);
        } catch {
          hint = undefined; // a courtesy only
        }
      }
      return {
        status,
        reason,
        ...(stats ? { stats } : {}),
        durationMs,
        ...(this.#parentGone ? { parentExited: true } : {}),
        ...(stopped ? { stopped } : {}),
        ...(problems.length ? { problems } : {}),
        ...(hint ? { hints: [hint] } : {}),
        record,
      };
    })();
    return this.#result;
  }
}

export { parseLimitsOption } from "@forge/cgroups";
// Spares for Sandbox.start({ pool }), so that callers need only this package.
export { SparePool, type SparePoolOptions } from "@forge/libc";
// What the command line needs to parse its flags, so that it depends on this module only.
export { parseBind, parseTmpfs } from "@forge/namespaces";
// ... and to write --json-status without following what the sandbox planted.
export { openStatusFile, type StatusFile, StatusFileError } from "./status_file.ts";
// ... and to decide whether the sandbox gets a terminal (-t, --no-tty, or stdio's kind).
export { stdioIsTerminal } from "./tty.ts";
