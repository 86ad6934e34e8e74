/**
 * `Sandbox`: one call that takes a profile plus overrides, compiles the seccomp
 * filter, creates the cgroup, launches the command, enforces the timeout, and on exit
 * reports why it ended and removes what it created.
 *
 * @module
 */
import fs from "node:fs";
import * as cgroups from "@forge/cgroups";
import {
  type ExitStatus,
  type ParentWatch,
  type SparePool,
  type StdioSpec,
  type Step,
  watchParent,
} from "@forge/libc";
import type * as ns from "@forge/namespaces";
import * as seccomp from "@forge/seccomp";
import { capabilityWarnings } from "./cap_warnings.ts";
import { parseDuration } from "./duration.ts";
import { cleanEnv, type LaunchOptions, launch, type SandboxProcess } from "./launch.ts";
import { loadProfile, type SandboxProfile } from "./profile.ts";
import { type Rlimit, rlimitsFromRecord } from "./rlimits.ts";

/** Everything a sandbox run can set; each field overrides the profile's. */
export interface SandboxOptions {
  readonly argv: readonly string[];
  /**
   * The profile the run starts from: a loaded one (see loadProfile; a profile object of
   * your own has a name, which is how a weaker set-up is asked for), or a name or path
   * for loadProfile. Default: the `default` profile, found as `forge run` finds it.
   */
  readonly profile?: SandboxProfile | string;
  /** Extra binds, after the profile's. */
  readonly binds?: readonly ns.BindSpec[];
  /** Extra tmpfs mounts, after the profile's. */
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
  /** Kill the whole sandbox after this many milliseconds. */
  readonly timeoutMs?: number;
  /**
   * Kill the whole sandbox when the process that started this one (our parent) exits,
   * as bwrap's `--die-with-parent` does. (The sandbox always dies with this process.)
   */
  readonly dieWithParent?: boolean;
  readonly stdio?: readonly [StdioSpec, StdioSpec, StdioSpec];
  /**
   * Children cloned ahead of time: with a pool, each start takes a spare whose
   * namespaces already exist and the pool clones the next one while this one runs.
   * For processes that start many sandboxes; see {@link SparePool}.
   */
  readonly pool?: SparePool;
}

/** Why a sandbox ended, with the cgroup's figures when it had one. */
export interface SandboxResult {
  readonly status: ExitStatus;
  readonly reason: cgroups.EndReason;
  readonly stats?: cgroups.CgroupStats;
  readonly durationMs: number;
  /** Set when `dieWithParent` killed the sandbox because our parent had exited. */
  readonly parentExited?: boolean;
  /** The record `--json-status` writes. */
  readonly record: Record<string, unknown>;
}

const filters = new Map<string, seccomp.CompiledFilter>();

/**
 * Compiles a seccomp profile for the host, once per process for the same profile,
 * capabilities and (for files) modification time: a warm process that starts many
 * sandboxes does not pay the compiler each time.
 */
function compiledFilter(spec: string, caps: readonly string[]): seccomp.CompiledFilter {
  let stamp = "";
  // A path (with a "/", as @forge/seccomp's isSeccompPath says; a bare name is a built-in).
  if (spec.includes("/")) {
    try {
      const st = fs.statSync(spec);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = "missing"; // compileSeccompForRun reports it
    }
  }
  const key = JSON.stringify([spec, [...caps].sort(), stamp]);
  let f = filters.get(key);
  if (!f) {
    f = seccomp.compileSeccompForRun(spec, { caps });
    if (filters.size > 64) filters.clear();
    filters.set(key, f);
  }
  return f;
}

const stepsOf = new Map<string, { steps: Step[]; conflicts: readonly string[] }>();
const compiledSteps = new WeakMap<seccomp.CompiledFilter, Step[]>();

/**
 * The steps that install a seccomp profile: a built-in one compiled at build time for
 * this kernel when nothing changes it (decoded once per process), else the compiler's
 * (cached as above). The same filter always gives the same steps object, which lets a
 * launch recognise a plan made ahead for it.
 */
function filterSteps(
  spec: string,
  caps: readonly string[],
): { steps: Step[]; conflicts: readonly string[] } {
  if (!caps.length) {
    let pre = stepsOf.get(spec);
    if (!pre) {
      const f = seccomp.precompiledFilter(spec);
      if (f) {
        pre = { steps: seccomp.precompiledSteps(f), conflicts: f.conflicts };
        stepsOf.set(spec, pre);
      }
    }
    if (pre) return pre;
  }
  const filter = compiledFilter(spec, caps);
  let steps = compiledSteps.get(filter);
  if (!steps) {
    steps = seccomp.seccompSteps(filter);
    compiledSteps.set(filter, steps);
  }
  return { steps, conflicts: filter.conflicts };
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
  const env = cleanEnv({});
  for (const k of [...(p?.env?.keep ?? []), ...(o.keepEnv ?? [])])
    if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, p?.env?.set ?? {}, o.env ?? {});
  let root: LaunchOptions["root"];
  if (p?.root || o.binds?.length || o.tmpfs?.length) {
    const binds: ns.BindSpec[] = [];
    for (const b of p?.root?.binds ?? []) {
      if (b.optional && !fs.existsSync(b.src)) continue;
      binds.push({ src: b.src, dst: b.dst ?? b.src, readonly: b.readonly ?? false });
    }
    binds.push(...(o.binds ?? []));
    const tmpfs: ns.TmpfsSpec[] = [
      ...(p?.root?.tmpfs ?? []).map((t) => ({
        dst: t.dst,
        ...(t.size ? { size: t.size } : {}),
        ...(t.inodes !== undefined ? { inodes: t.inodes } : {}),
      })),
      ...(o.tmpfs ?? []),
    ];
    root = {
      binds,
      tmpfs,
      proc: p?.root?.proc ?? true,
      dev: p?.root?.dev ?? true,
      readonly: p?.root?.readonly ?? true,
    };
  }
  const pl = p?.limits;
  const limits: cgroups.LimitsInput = {
    ...(pl?.memory ? { memory: pl.memory } : {}),
    ...(pl?.swap ? { swap: pl.swap } : {}),
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
  const seccompSpec = o.seccomp ?? p?.seccomp;
  const timeout =
    o.timeoutMs ??
    (p?.timeout ? parseDuration(p.timeout, `profile ${p.name}: timeout`) : undefined);
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

/**
 * A sandboxed command: started by {@link Sandbox.start}, ended by itself, a signal,
 * the OOM killer or the timeout. `wait()` reports which, and removes the cgroup.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@forge/sandbox";
 * // No profile: the `default` one, as `forge run` uses (new root, no capabilities,
 * // seccomp, Landlock). Another: `profile: "python-safe"`, or a profile object of your own.
 * const box = Sandbox.start({ argv: ["/bin/echo", "hi"], timeoutMs: 10_000 });
 * const { status, reason } = await box.wait();
 * console.log(status.exitCode, reason.message);
 * ```
 */
export class Sandbox {
  readonly process: SandboxProcess;
  /** Warnings to show the user (limits or Landlock rights that do not hold here...). */
  readonly warnings: readonly string[];
  readonly cgroup: cgroups.CgroupHandle | undefined;
  readonly #started = Date.now();
  readonly #timeoutMs: number | undefined;
  #timedOut = false;
  #parentGone = false;
  #timer: NodeJS.Timeout | undefined;
  #parentWatch: ParentWatch | undefined;
  #result: Promise<SandboxResult> | undefined;

  private constructor(
    proc: SandboxProcess,
    cg: cgroups.CgroupHandle | undefined,
    warnings: string[],
    timeoutMs: number | undefined,
    parentWatch?: ParentWatch,
  ) {
    this.process = proc;
    this.cgroup = cg;
    this.warnings = warnings;
    this.#timeoutMs = timeoutMs;
    this.#parentWatch = parentWatch;
    parentWatch?.exited.then(() => {
      this.#parentGone = true;
      this.kill("SIGKILL");
    });
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.kill("SIGKILL");
      }, timeoutMs);
    }
  }

  /**
   * Starts a sandbox (under the `default` profile unless `o.profile` names another);
   * throws (and leaves nothing behind) when it cannot be set up. Kept capabilities
   * that let the sandbox undo its own walls (SYS_ADMIN...) each add a line to
   * `warnings` (see WALL_BREAKING_CAPABILITIES).
   */
  static start(o: SandboxOptions): Sandbox {
    const r = resolveSandboxOptions(o);
    const warnings: string[] = capabilityWarnings(r.launch.capAdd ?? []);
    let seccompSteps: LaunchOptions["seccompSteps"];
    if (r.seccomp) {
      const f = filterSteps(r.seccomp, r.launch.capAdd ?? []);
      warnings.push(...f.conflicts);
      seccompSteps = f.steps;
    }
    let cg: cgroups.CgroupHandle | undefined;
    const limits: cgroups.Limits = Object.keys(r.limits).length
      ? cgroups.parseLimits(r.limits)
      : {};
    // The default pids limit, where a pids controller is usable: an explicit pids limit
    // replaces it, and where there is none the sandbox runs without it, silently.
    const defaults = limits.pids === undefined ? { pids: cgroups.DEFAULT_PIDS_LIMIT } : {};
    if (cgroups.hasLimits(limits) || cgroups.hasLimits(defaults)) {
      cg = cgroups.createCgroup(limits, {
        mode: r.limitsMode,
        defaults,
        ...(o.cgroupParent ? { parent: o.cgroupParent } : {}),
      });
      warnings.push(...cg.warnings);
      if (!cg.paths.length && !cgroups.hasLimits(limits)) cg = undefined;
    }
    try {
      const proc = launch({
        ...r.launch,
        ...(seccompSteps ? { seccompSteps } : {}),
        ...(cg ? { placement: cg.placement() } : {}),
        ...(o.pool ? { pool: o.pool } : {}),
      });
      warnings.push(...proc.warnings);
      let watch: ParentWatch | undefined;
      try {
        if (o.dieWithParent) watch = watchParent();
      } catch (e) {
        proc.kill("SIGKILL");
        throw e;
      }
      return new Sandbox(proc, cg, warnings, r.timeoutMs, watch);
    } catch (e) {
      cg?.disposeSync();
      throw e;
    }
  }

  /** The sandbox's PID 1 in our pid namespace. */
  get pid(): number {
    return this.process.pid;
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

  /** Resolves once every process of the sandbox is gone and its cgroup removed. */
  wait(): Promise<SandboxResult> {
    this.#result ??= (async () => {
      let status: ExitStatus;
      try {
        status = await this.process.wait();
      } finally {
        if (this.#timer) clearTimeout(this.#timer);
        this.#parentWatch?.stop();
      }
      let stats: cgroups.CgroupStats | undefined;
      try {
        stats = this.cgroup?.stats();
      } catch {
        stats = undefined;
      }
      await this.cgroup?.dispose();
      const reason = cgroups.endReason(status, {
        ...(stats ? { stats } : {}),
        timedOut: this.#timedOut,
        ...(this.#timeoutMs !== undefined ? { timeoutMs: this.#timeoutMs } : {}),
        ...(this.cgroup ? { limits: this.cgroup.limits } : {}),
      });
      const durationMs = Date.now() - this.#started;
      const record = {
        ...cgroups.runStatus(reason, stats ?? {}, this.cgroup?.limits ?? {}),
        ...(this.#parentGone ? { parentExited: true } : {}),
        durationMs,
      };
      return {
        status,
        reason,
        ...(stats ? { stats } : {}),
        durationMs,
        ...(this.#parentGone ? { parentExited: true } : {}),
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
