/**
 * `Sandbox`: one call that takes a profile plus overrides, compiles the seccomp
 * filter, creates the cgroup, launches the command, enforces the timeout, and on exit
 * reports why it ended and removes what it created.
 *
 * @module
 */
import fs from "node:fs";
import * as cgroups from "@forge/cgroups";
import type { ExitStatus, SparePool, StdioSpec, Step } from "@forge/libc";
import type * as ns from "@forge/namespaces";
import * as seccomp from "@forge/seccomp";
import { parseDuration } from "./duration.ts";
import { cleanEnv, type LaunchOptions, launch, type SandboxProcess } from "./launch.ts";
import type { SandboxProfile } from "./profile.ts";
import { type Rlimit, rlimitsFromRecord } from "./rlimits.ts";

/** Everything a sandbox run can set; each field overrides the profile's. */
export interface SandboxOptions {
  readonly argv: readonly string[];
  /** The profile the run starts from (already loaded; see loadProfile). Default: none. */
  readonly profile?: SandboxProfile;
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
  /** cgroup limits, merged over the profile's. */
  readonly limits?: cgroups.LimitsInput;
  /** "strict" (default) fails when a limit cannot hold; "best-effort" warns and goes on. */
  readonly limitsMode?: "strict" | "best-effort";
  /** The cgroup under which the sandbox's own is made ("/my.slice/forge"); default: see @forge/cgroups. */
  readonly cgroupParent?: string;
  /** Kill the whole sandbox after this many milliseconds. */
  readonly timeoutMs?: number;
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
  if (spec.includes("/") || spec.endsWith(".json")) {
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
  const p = o.profile;
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
      ...(p?.root?.tmpfs ?? []).map((t) => ({ dst: t.dst, ...(t.size ? { size: t.size } : {}) })),
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
 * import { loadProfile, Sandbox } from "@forge/sandbox";
 * const box = Sandbox.start({ argv: ["/bin/echo", "hi"], profile: loadProfile("default"), timeoutMs: 10_000 });
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
  #timer: NodeJS.Timeout | undefined;
  #result: Promise<SandboxResult> | undefined;

  private constructor(
    proc: SandboxProcess,
    cg: cgroups.CgroupHandle | undefined,
    warnings: string[],
    timeoutMs: number | undefined,
  ) {
    this.process = proc;
    this.cgroup = cg;
    this.warnings = warnings;
    this.#timeoutMs = timeoutMs;
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.kill("SIGKILL");
      }, timeoutMs);
    }
  }

  /** Starts a sandbox; throws (and leaves nothing behind) when it cannot be set up. */
  static start(o: SandboxOptions): Sandbox {
    const r = resolveSandboxOptions(o);
    const warnings: string[] = [];
    let seccompSteps: LaunchOptions["seccompSteps"];
    if (r.seccomp) {
      const f = filterSteps(r.seccomp, r.launch.capAdd ?? []);
      warnings.push(...f.conflicts);
      seccompSteps = f.steps;
    }
    let limits: cgroups.Limits | undefined;
    let cg: cgroups.CgroupHandle | undefined;
    if (Object.keys(r.limits).length) {
      limits = cgroups.parseLimits(r.limits);
      if (cgroups.hasLimits(limits)) {
        cg = cgroups.createCgroup(limits, {
          mode: r.limitsMode,
          ...(o.cgroupParent ? { parent: o.cgroupParent } : {}),
        });
        warnings.push(...cg.warnings);
      }
    }
    try {
      const proc = launch({
        ...r.launch,
        ...(seccompSteps ? { seccompSteps } : {}),
        ...(cg ? { placement: cg.placement() } : {}),
        ...(o.pool ? { pool: o.pool } : {}),
      });
      warnings.push(...proc.warnings);
      return new Sandbox(proc, cg, warnings, r.timeoutMs);
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
        durationMs,
      };
      return { status, reason, ...(stats ? { stats } : {}), durationMs, record };
    })();
    return this.#result;
  }
}

export { parseLimitsOption } from "@forge/cgroups";
// Spares for Sandbox.start({ pool }), so that callers need only this package.
export { SparePool, type SparePoolOptions } from "@forge/libc";
// What the command line needs to parse its flags, so that it depends on this module only.
export { parseBind, parseTmpfs } from "@forge/namespaces";
