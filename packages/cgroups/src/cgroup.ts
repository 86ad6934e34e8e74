/**
 * `createCgroup()`: a cgroup (v2, or one per v1 hierarchy) with the limits
 * applied and verified, and the `CgroupHandle` that places a child in it, reads its
 * stats, freezes, kills and removes it.
 *
 * @module
 */
import path from "node:path";
import type { Step } from "@forge/libc";
import { killV1, killV2, readProcs, setFreezer } from "./_kill.ts";
import { errCode, errText, parseKeyValues, sleep, sleepSync } from "./_util.ts";
import { Problems } from "./_writer.ts";
import { CgroupError } from "./cgroup_error.ts";
import { type CgroupFs, nodeCgroupFs } from "./cgroup_fs.ts";
import { type CgroupLayout, defaultParentPath, detectCgroupLayout, mountDir } from "./layout.ts";
import { hasLimits, type Limits } from "./limits.ts";
import { cgroupLeafName, processStartTime, reapStaleCgroups } from "./reap.ts";
import { type CgroupStats, readV1Stats, readV2Stats } from "./stats.ts";
import { applyV1Limits, v1ControllersFor } from "./v1_writer.ts";
import { applyV2Limits, v2ControllersFor } from "./v2_writer.ts";

/**
 * Options of {@link createCgroup}.
 *
 * @example
 * ```ts
 * import { createCgroup } from "@forge/cgroups";
 * const cg = createCgroup({ pids: 32 }, { mode: "best-effort", name: "job-1" });
 * ```
 */
export interface CreateCgroupOptions {
  /**
   * "strict" (default): any limit that cannot be applied and verified throws a
   * CgroupError. "best-effort": such limits become warnings and the rest applies.
   */
  readonly mode?: "strict" | "best-effort";
  /**
   * The parent cgroup path inside each hierarchy ("/forge", "/my.slice/forge").
   * Default: v2 `/forge` as root, `<own cgroup>/forge` for a delegated user; v1
   * `<own cgroup>/forge`.
   */
  readonly parent?: string;
  /** A label appended to the directory name (`forge-<pid>-<start>-<n>-<name>`). */
  readonly name?: string;
  /** The layout to use (default: detected; inject a FakeCgroupFs layout in tests). */
  readonly layout?: CgroupLayout;
  /** The filesystem layer (default: node:fs; FakeCgroupFs in tests). */
  readonly fs?: CgroupFs;
  /** Reap stale Forge cgroups under the parent first (default true, once per parent per process). */
  readonly reap?: boolean;
  /** v1 OOM group kill emulation: how often to poll memory.oom_control, in ms (default 50). */
  readonly oomPollMs?: number;
  /**
   * Limits applied where this host allows them and otherwise left out without a
   * warning or an error, whatever `mode` says; a field set in `limits` replaces its
   * default. With nothing in `limits`, a cgroup is made only when a default holds
   * (else the handle has no paths). Forge passes `{ pids: DEFAULT_PIDS_LIMIT }`.
   */
  readonly defaults?: Limits;
}

/**
 * What to pass to @forge/libc `spawn()` so that the child starts inside the cgroup.
 *
 * @example
 * ```ts
 * import { createCgroup } from "@forge/cgroups";
 * const { cgroupFd, beforeStart } = createCgroup({ pids: 32 }).placement();
 * ```
 */
export interface Placement {
  /** A cgroup v2 directory fd for CLONE_INTO_CGROUP. */
  cgroupFd?: number;
  /**
   * v1: the child's first steps, which move it into every hierarchy's cgroup (it
   * writes "0" to each `tasks` file, opened here): a task that moves itself is placed
   * without the global lock a move by pid takes, whose RCU grace period costs each run
   * ~10 ms (Linux 6.1+). Put them before any other step of the child.
   */
  steps?: Step[];
  /** Joins v1 cgroups while the child waits before its first step (when `steps` cannot). */
  beforeStart?: (child: { readonly pid: number; readonly pidfd: number }) => void;
  /**
   * True when the cgroup limits memory: the child must not share the caller's memory
   * until it execs, or an OOM kill in the cgroup would take the caller with it
   * (@forge/libc `spawn()`'s option of the same name).
   */
  ownMemory?: boolean;
}

const V1_STATS = ["memory", "cpu", "cpuacct", "pids", "blkio", "freezer"];
/** What a child writes to a v1 `tasks` file to move itself ("0": the writing task). */
const ZERO = Uint8Array.of(0x30);
const V2_STATS = ["memory", "cpu", "pids", "io"];
let counter = 0;
let ownStart: string | undefined;
const reapedParents = new Set<string>();
/**
 * Directories of an explicit `parent` that this process made (and has not removed):
 * a handle removes them when it is disposed and they are empty, whichever handle
 * made them.
 */
const ownParents = new Set<string>();
const live = new Set<CgroupHandle>();
let exitHook = false;
let cachedLayout: CgroupLayout | undefined;

/**
 * Creates a cgroup for one sandbox, applies `limits`, reads each value back, and
 * returns its handle. Pass `handle.placement()` to @forge/libc `spawn()`.
 *
 * Rootless without a delegated cgroup, strict mode throws a CgroupError that says
 * how to get one; best-effort mode returns a handle without cgroups whose
 * `warnings` say so.
 *
 * @example
 * ```ts
 * import { CLAWOS_LIMITS, createCgroup } from "@forge/cgroups";
 * import { spawn } from "@forge/libc";
 * const cg = createCgroup(CLAWOS_LIMITS, { mode: "strict" });
 * try {
 *   const child = spawn({ argv: ["/bin/true"], ...cg.placement() });
 *   await child.wait();
 *   console.log(cg.stats());
 * } finally {
 *   await cg.dispose();
 * }
 * ```
 */
export function createCgroup(limits: Limits, opts: CreateCgroupOptions = {}): CgroupHandle {
  const cfs = opts.fs ?? nodeCgroupFs;
  const mode = opts.mode ?? "strict";
  const problems = new Problems(mode);
  let layout = opts.layout;
  if (!layout) {
    if (opts.fs) layout = detectCgroupLayout({ fs: cfs });
    else layout = cachedLayout ??= detectCgroupLayout();
  }
  const empty = () =>
    new CgroupHandle({ cfs, layout: layout!, warnings: problems.warnings, limits: {} });

  // Defaults for what `limits` leaves unset: they never warn and never fail. Asked
  // for nothing else, a host (or user) without cgroups simply gets none.
  const defaults = filterLimits(
    opts.defaults ?? {},
    (_c, key) => (limits as Record<string, unknown>)[key] === undefined,
  );
  const onlyDefaults = !hasLimits(limits) && hasLimits(defaults);
  if (onlyDefaults) {
    if (layout.kind === "none") return empty();
    if (!layout.delegation.available && opts.parent === undefined) return empty();
  }

  if (layout.kind === "none") {
    problems.fail(
      "cannot apply resource limits: no cgroup filesystem is mounted (mount cgroup2 on /sys/fs/cgroup)",
      "UNSUPPORTED",
    );
    return empty();
  }
  if (!layout.delegation.available && opts.parent === undefined) {
    const msg =
      `cannot apply resource limits: uid ${layout.uid} has no delegated cgroup (${layout.delegation.reason}); ` +
      "run inside one with `systemd-run --user --scope -p Delegate=yes forge run ...`, or pass --limits best-effort to run without limits";
    if (mode === "strict") throw new CgroupError(msg, "NO_DELEGATION");
    // One short line (the details are in `forge doctor`): it comes with every
    // best-effort run of a rootless user, python-safe and node-safe included.
    problems.warnings.push(
      "no delegated cgroup: running WITHOUT resource limits; fix: systemd-run --user --scope -p Delegate=yes",
    );
    return empty();
  }

  ownStart ??= processStartTime(process.pid) ?? "0";
  const leafName = cgroupLeafName(process.pid, ownStart, counter++, opts.name);

  // Where does each controller live? A controller is bound to one hierarchy at most.
  const where = (c: string): "v1" | "v2" | undefined => {
    if (layout!.v1[c === "io" ? "blkio" : c]) return "v1";
    if (layout!.v2?.controllers.includes(c)) return "v2";
    return undefined;
  };
  const needed = v2ControllersFor(limits);
  for (const c of needed)
    if (!where(c))
      problems.fail(
        `cannot apply the ${c} limit: the ${c} controller is not available on this host (neither in ${layout.v2?.mount ?? "a cgroup2 mount"}/cgroup.controllers nor as a v1 hierarchy)`,
        "UNSUPPORTED",
      );
  const useV2 =
    layout.v2 !== null &&
    (layout.kind === "v2" || [...needed, ...V2_STATS].some((c) => where(c) === "v2"));
  const v2Limits = filterLimits(limits, (c) => where(c) === "v2");
  const v1Limits = filterLimits(limits, (c) => where(c) === "v1");
  const v2Defaults = filterLimits(defaults, (c) => where(c) === "v2");
  const v1Defaults = filterLimits(defaults, (c) => where(c) === "v1");
  if (onlyDefaults && !hasLimits(v2Defaults) && !hasLimits(v1Defaults)) return empty();

  const created: string[] = [];
  /** The directories on the way to each leaf under an explicit parent (see ownParents). */
  const parents: string[] = [];
  const explicit = opts.parent !== undefined;
  let fd: number | undefined;
  let v2Dir: string | undefined;
  const v1Dirs: Record<string, string> = {};
  const held: Record<string, unknown> = {};
  try {
    if (useV2) {
      const v2 = layout.v2!;
      const parentDir = mountDir(
        v2.mount,
        v2.mountRoot,
        opts.parent ?? defaultParentPath(layout, "v2"),
      );
      if (!parentDir)
        throw new CgroupError(
          `the cgroup parent ${opts.parent} lies outside ${v2.mount}`,
          "EINVAL",
        );
      maybeReap(cfs, parentDir, opts.reap);
      const required = v2ControllersFor(v2Limits);
      const optional = V2_STATS.filter((c) => v2.controllers.includes(c) && !required.includes(c));
      const own = mountDir(v2.mount, v2.mountRoot, v2.ownPath);
      v2Dir = `${parentDir}/${leafName}`;
      makeLeaf(cfs, v2.mount, parentDir, v2Dir, explicit, parents, () =>
        enableV2(cfs, v2.mount, own, parentDir, required, optional, problems),
      );
      created.push(v2Dir);
      Object.assign(held, applyV2Limits(cfs, v2Dir, v2Limits, problems));
      fd = cfs.openDir(v2Dir);
    }
    // A cgroup made for the defaults alone takes only the hierarchies they need: on
    // v1 each one more costs every run a mkdir, a join and an rmdir.
    const wantV1 = new Set(
      [
        ...v1ControllersFor(v1Limits),
        ...v1ControllersFor(v1Defaults),
        ...(onlyDefaults ? [] : V1_STATS),
      ].filter((c) => layout!.v1[c]),
    );
    const requiredV1 = new Set(v1ControllersFor(v1Limits));
    const byMount = new Map<string, string[]>();
    for (const c of wantV1) {
      const m = layout.v1[c]!.mount;
      byMount.set(m, [...(byMount.get(m) ?? []), c]);
    }
    for (const [, ctrls] of byMount) {
      const h = layout.v1[ctrls[0]!]!;
      const parentDir = mountDir(
        h.mount,
        h.mountRoot,
        opts.parent ?? defaultParentPath(layout, "v1", ctrls[0]),
      );
      const isRequired = ctrls.some((c) => requiredV1.has(c));
      try {
        if (!parentDir)
          throw new CgroupError(`the cgroup parent lies outside ${h.mount}`, "EINVAL");
        maybeReap(cfs, parentDir, opts.reap);
        const leaf = `${parentDir}/${leafName}`;
        makeLeaf(cfs, h.mount, parentDir, leaf, explicit, parents);
        created.push(leaf);
        for (const c of ctrls) v1Dirs[c] = leaf;
      } catch (e) {
        if (isRequired)
          problems.fail(
            `cannot create a ${ctrls.join(",")} cgroup under ${parentDir}: ${errText(e)}`,
            errCode(e) || "EIO",
            parentDir ?? undefined,
            e,
          );
      }
    }
    if (Object.keys(v1Limits).length)
      Object.assign(held, applyV1Limits(cfs, v1Dirs, v1Limits, problems));
    // Defaults: what holds is kept, what does not is dropped without a word.
    const quiet = new Problems("best-effort");
    let heldDefaults: Limits = {};
    if (v2Dir && hasLimits(v2Defaults)) heldDefaults = applyV2Limits(cfs, v2Dir, v2Defaults, quiet);
    if (hasLimits(v1Defaults))
      heldDefaults = { ...heldDefaults, ...applyV1Limits(cfs, v1Dirs, v1Defaults, quiet) };
    Object.assign(held, heldDefaults);
    // Made for the defaults alone and none held: undo it (below), silently.
    if (onlyDefaults && !hasLimits(heldDefaults))
      throw new CgroupError("no default limit held", "EINVAL");
  } catch (e) {
    if (fd !== undefined) cfs.close(fd);
    for (const d of created.reverse()) {
      try {
        cfs.rmdir(d);
      } catch {
        // best effort: a later run reaps it
      }
    }
    removeOwnParents(cfs, parents);
    if (onlyDefaults) return empty();
    throw e;
  }
  if (limits.oomGroupKill && v1Dirs.memory && held.oomGroupKill === undefined) {
    held.oomGroupKill = true;
    problems.warnings.push(
      `OOM group kill is emulated on cgroup v1: Forge kills the whole cgroup when memory.oom_control reports an OOM kill (polled every ${opts.oomPollMs ?? 50} ms)`,
    );
  }
  return new CgroupHandle({
    cfs,
    layout,
    warnings: problems.warnings,
    limits: held as Limits,
    v2Dir,
    v1Dirs,
    created,
    parents,
    fd,
    oomPollMs: limits.oomGroupKill && v1Dirs.memory && !v2Dir ? (opts.oomPollMs ?? 50) : undefined,
  });
}

function filterLimits(limits: Limits, keep: (controller: string, key: string) => boolean): Limits {
  const out: Record<string, unknown> = {};
  const ctrl: Record<string, string> = {
    memory: "memory",
    memoryHigh: "memory",
    swap: "memory",
    oomGroupKill: "memory",
    cpu: "cpu",
    cpuWeight: "cpu",
    pids: "pids",
    io: "io",
  };
  for (const [k, v] of Object.entries(limits))
    if (v !== undefined && keep(ctrl[k] ?? k, k)) out[k] = v;
  return out as Limits;
}

function maybeReap(cfs: CgroupFs, parentDir: string, reap: boolean | undefined): void {
  if (reap === false || reapedParents.has(parentDir)) return;
  reapedParents.add(parentDir);
  if (cfs.exists(parentDir)) reapStaleCgroups({ fs: cfs, dirs: [parentDir] });
}

/** Makes `dir` and what is missing above it; returns every directory on the way. */
function mkdirP(cfs: CgroupFs, mount: string, dir: string, made: (d: string) => void): string[] {
  const rel = path.posix.relative(mount, dir);
  let cur = mount;
  const chain: string[] = [];
  for (const part of rel.split("/").filter(Boolean)) {
    cur = `${cur}/${part}`;
    chain.push(cur);
    if (cfs.exists(cur)) continue;
    try {
      cfs.mkdir(cur);
      made(cur);
    } catch (e) {
      if (errCode(e) !== "EEXIST")
        throw new CgroupError(
          `cannot create the cgroup ${cur}: ${errText(e)}${errCode(e) === "EACCES" || errCode(e) === "EPERM" ? " (not delegated to this user: use systemd-run --user --scope -p Delegate=yes, or choose a writable --cgroup-parent)" : ""}`,
          errCode(e) || "EIO",
          cur,
          { cause: e },
        );
    }
  }
  return chain;
}

/**
 * Makes the parent (and, under an explicit parent, notes in `parents` the directories
 * on the way, marking those it made as ours), runs `prepare` (controllers), then the
 * leaf. A parent removed meanwhile by another run that was done with it (ENOENT for
 * the leaf) is made again, a few times at most.
 */
function makeLeaf(
  cfs: CgroupFs,
  mount: string,
  parentDir: string,
  leaf: string,
  explicit: boolean,
  parents: string[],
  prepare?: () => void,
): void {
  for (let attempt = 0; ; attempt++) {
    const chain = mkdirP(cfs, mount, parentDir, (d) => {
      if (explicit) ownParents.add(d);
    });
    if (explicit) for (const d of chain) if (!parents.includes(d)) parents.push(d);
    prepare?.();
    try {
      cfs.mkdir(leaf);
      return;
    } catch (e) {
      if (errCode(e) === "ENOENT" && attempt < 3) continue;
      throw new CgroupError(
        `cannot create the cgroup ${leaf}: ${errText(e)}`,
        errCode(e) || "EIO",
        leaf,
        {
          cause: e,
        },
      );
    }
  }
}

/**
 * Removes, deepest first, the directories of `chain` that this process made (see
 * ownParents) and that are empty now; one still in use (EBUSY: another sandbox's
 * cgroup, or someone's directory, is in it) stays, and so does everything above it.
 * Never throws.
 */
function removeOwnParents(cfs: CgroupFs, chain: readonly string[]): void {
  const deepestFirst = [...chain].sort((a, b) => b.length - a.length);
  for (const d of deepestFirst) {
    if (!ownParents.has(d)) continue;
    try {
      cfs.rmdir(d);
      ownParents.delete(d);
    } catch (e) {
      // Gone already: forget it. In use (or not ours to remove after all): it stays, and
      // so does what is above it (its rmdir fails the same way); other hierarchies'
      // directories still go.
      if (errCode(e) === "ENOENT") ownParents.delete(d);
    }
  }
}

const list = (cfs: CgroupFs, p: string) => {
  try {
    return cfs.read(p).trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
};

/**
 * Makes `required` and `optional` controllers available to children of `dir` by
 * enabling them in cgroup.subtree_control, from the highest ancestor that lacks
 * them down. Required ones that cannot be enabled are reported.
 */
function enableV2(
  cfs: CgroupFs,
  mount: string,
  ownDir: string | null,
  dir: string,
  required: readonly string[],
  optional: readonly string[],
  problems: Problems,
): void {
  const failures = new Map<string, string>();
  const enable = (d: string, ctrls: string[]): void => {
    const on = list(cfs, `${d}/cgroup.subtree_control`);
    const missing = ctrls.filter((c) => !on.includes(c));
    if (!missing.length) return;
    let avail = list(cfs, `${d}/cgroup.controllers`);
    const notAvail = missing.filter((c) => !avail.includes(c));
    if (notAvail.length && d !== mount && d.startsWith(`${mount}/`)) {
      enable(path.posix.dirname(d), notAvail);
      avail = list(cfs, `${d}/cgroup.controllers`);
    }
    for (const c of missing) {
      if (!avail.includes(c)) {
        if (!failures.has(c))
          failures.set(
            c,
            `${d}/cgroup.controllers does not offer it (the parent does not delegate it)`,
          );
        continue;
      }
      const file = `${d}/cgroup.subtree_control`;
      try {
        cfs.write(file, `+${c}`);
      } catch (e) {
        if (errCode(e) === "EBUSY" && d === ownDir && moveSelfOut(cfs, d)) {
          try {
            cfs.write(file, `+${c}`);
            continue;
          } catch (e2) {
            failures.set(c, `writing +${c} to ${file} failed with ${errText(e2)}`);
            continue;
          }
        }
        const why =
          errCode(e) === "EBUSY"
            ? " (the cgroup has processes of its own: cgroup v2's no-internal-processes rule; choose a parent with no processes)"
            : "";
        failures.set(c, `writing +${c} to ${file} failed with ${errText(e)}${why}`);
      }
    }
  };
  enable(dir, [...required, ...optional]);
  for (const c of required) {
    const why = failures.get(c);
    if (why)
      problems.fail(`cannot enable the ${c} controller for Forge's cgroups: ${why}`, "ENOENT", dir);
  }
}

/**
 * The no-internal-processes rule: our own cgroup cannot hand controllers to
 * children while we live in it. If we are its only process, move into a leaf
 * `forge-self` (what a delegated scope expects of its manager).
 */
function moveSelfOut(cfs: CgroupFs, dir: string): boolean {
  const procs = readProcs(cfs, dir);
  if (procs.length !== 1 || procs[0] !== process.pid) return false;
  const leaf = `${dir}/forge-self`;
  try {
    if (!cfs.exists(leaf)) cfs.mkdir(leaf);
    cfs.write(`${leaf}/cgroup.procs`, String(process.pid));
    cachedLayout = undefined;
    return true;
  } catch {
    return false;
  }
}

interface HandleInit {
  cfs: CgroupFs;
  layout: CgroupLayout;
  warnings: string[];
  limits: Limits;
  v2Dir?: string | undefined;
  v1Dirs?: Record<string, string>;
  created?: string[];
  parents?: string[];
  fd?: number | undefined;
  oomPollMs?: number | undefined;
}

/**
 * One sandbox's cgroup(s). Create with {@link createCgroup}; always `dispose()`.
 *
 * @example
 * ```ts
 * import { createCgroup } from "@forge/cgroups";
 * import { spawn } from "@forge/libc";
 * const cg = createCgroup({ pids: 32 });
 * try {
 *   const child = spawn({ argv: ["/bin/sleep", "10"], ...cg.placement() });
 *   cg.kill();
 *   await child.wait();
 * } finally {
 *   await cg.dispose();
 * }
 * ```
 */
export class CgroupHandle {
  /** Which cgroup versions this handle uses ("none": best-effort without cgroups). */
  readonly version: "v2" | "v1" | "hybrid" | "none";
  /** The v2 leaf directory, if any. */
  readonly v2Path: string | undefined;
  /** v1 controller → leaf directory. */
  readonly v1Paths: Readonly<Record<string, string>>;
  /** Every directory created (removed by dispose). */
  readonly paths: readonly string[];
  /**
   * The directories on the way to the leaves under an explicit `parent`: dispose
   * removes those this process made, once they are empty (another sandbox's cgroup or
   * anyone's directory in one keeps it); a parent that was there before stays.
   */
  readonly parents: readonly string[];
  /** The limits applied and verified. */
  readonly limits: Limits;
  /** Best-effort warnings and notes (empty when everything holds as asked). */
  readonly warnings: readonly string[];
  readonly #cfs: CgroupFs;
  #fd: number | undefined;
  #disposed = false;
  #timer: NodeJS.Timeout | undefined;
  #oomKills = 0;

  /** @internal */
  constructor(init: HandleInit) {
    this.#cfs = init.cfs;
    this.v2Path = init.v2Dir;
    this.v1Paths = Object.freeze({ ...(init.v1Dirs ?? {}) });
    this.paths = Object.freeze([...(init.created ?? [])]);
    this.parents = Object.freeze([...(init.parents ?? [])]);
    this.limits = Object.freeze({ ...init.limits });
    this.warnings = Object.freeze([...init.warnings]);
    this.#fd = init.fd;
    const v1 = Object.keys(this.v1Paths).length > 0;
    this.version = this.v2Path ? (v1 ? "hybrid" : "v2") : v1 ? "v1" : "none";
    if (this.paths.length) {
      live.add(this);
      if (!exitHook) {
        exitHook = true;
        process.on("exit", () => {
          for (const h of live) {
            try {
              h.disposeSync();
            } catch {
              // Still busy after 5 s: a later run reaps it. A throw here would end the
              // process with Node's stack dump in place of its exit status.
            }
          }
        });
      }
    }
    if (init.oomPollMs) {
      this.#timer = setInterval(() => this.#checkOom(), init.oomPollMs);
      this.#timer.unref();
    }
  }

  /** The distinct v1 leaf directories. */
  get #v1Unique(): string[] {
    return [...new Set(Object.values(this.v1Paths))];
  }

  /**
   * What to spread into @forge/libc `spawn()` options: on v2 a directory fd for
   * CLONE_INTO_CGROUP (the child is born inside); on v1 `steps` with which the child
   * moves itself into every hierarchy's cgroup before anything else (put them first
   * when you add steps of your own), or, where the filesystem layer cannot open the
   * `tasks` files, a `beforeStart` that writes the child's pid into every
   * cgroup.procs while the child waits. No payload instruction runs outside.
   * Each call opens one fd per v1 hierarchy, closed by dispose().
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * import { spawn } from "@forge/libc";
   * const cg = createCgroup({ memory: 64 * 2 ** 20 });
   * const child = spawn({ argv: ["/bin/true"], ...cg.placement() });
   * ```
   */
  placement(): Placement {
    if (this.#disposed)
      throw new CgroupError("placement(): the cgroup was already disposed", "EINVAL");
    const out: Placement = {};
    if (this.#fd !== undefined) out.cgroupFd = this.#fd;
    // The OOM killer kills every process that shares the victim's memory: a child that
    // enters any memory cgroup (its own limit, or a limited --cgroup-parent above it,
    // where a sibling can trigger the OOM killer) must not share ours. Only a child that
    // joins no memory hierarchy (the pids-only default on v1) may.
    if (
      this.#fd !== undefined ||
      this.v1Paths.memory !== undefined ||
      this.limits.memory !== undefined ||
      this.limits.swap !== undefined
    )
      out.ownMemory = true;
    const dirs = this.#v1Unique;
    const cfs = this.#cfs;
    if (dirs.length && cfs.openWrite) {
      out.steps = dirs.map((d) => {
        const file = `${d}/tasks`;
        let fd: number;
        try {
          fd = cfs.openWrite!(file);
        } catch (e) {
          throw new CgroupError(`cannot open ${file}: ${errText(e)}`, errCode(e) || "EIO", file, {
            cause: e,
          });
        }
        this.#joinFds.push(fd);
        return { label: `join the cgroup ${d}`, syscall: "write", args: [fd, { bytes: ZERO }, 1] };
      });
    } else if (dirs.length)
      out.beforeStart = (child) => {
        for (const d of dirs) {
          try {
            this.#cfs.write(`${d}/cgroup.procs`, String(child.pid));
          } catch (e) {
            throw new CgroupError(
              `cannot move the child ${child.pid} into ${d}: ${errText(e)}`,
              errCode(e) || "EIO",
              d,
              { cause: e },
            );
          }
        }
      };
    return out;
  }

  /**
   * The pids in the cgroup(s) now.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ pids: 8 });
   * console.log(cg.procs()); // []
   * ```
   */
  procs(): number[] {
    const dirs = [...(this.v2Path ? [this.v2Path] : []), ...this.#v1Unique];
    return [...new Set(dirs.flatMap((d) => readProcs(this.#cfs, d)))];
  }

  /**
   * Reads usage: memory current/peak and OOM events, CPU time, pids, I/O.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ memory: 2 ** 28 });
   * console.log(cg.stats().memory?.peak);
   * ```
   */
  stats(): CgroupStats {
    const v1 = Object.keys(this.v1Paths).length ? readV1Stats(this.#cfs, this.v1Paths) : {};
    const v2 = this.v2Path ? readV2Stats(this.#cfs, this.v2Path) : {};
    const merged: Record<string, unknown> = { ...v1, ...v2 };
    for (const k of Object.keys(v1) as (keyof CgroupStats)[])
      if (this.v1Paths[k === "io" ? "blkio" : k]) merged[k] = v1[k];
    const mem = merged.memory as CgroupStats["memory"];
    if (mem && this.#oomKills > mem.oomKill) merged.memory = { ...mem, oomKill: this.#oomKills };
    return merged as CgroupStats;
  }

  /**
   * Kills every process in the cgroup (v2 cgroup.kill; v1 freeze, SIGKILL every
   * pid, thaw). The processes are gone once their exits are reaped.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ pids: 8 });
   * cg.kill();
   * ```
   */
  kill(): void {
    if (this.v2Path) killV2(this.#cfs, this.v2Path);
    const dirs = this.#v1Unique;
    if (dirs.length) killV1(this.#cfs, dirs, this.v1Paths.freezer);
  }

  /**
   * Freezes every process (v2 cgroup.freeze; v1 freezer.state), waiting until the
   * kernel reports the cgroup frozen.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ pids: 8 });
   * cg.freeze();
   * cg.thaw();
   * ```
   */
  freeze(): void {
    this.#freezer(true);
  }

  /**
   * Thaws a frozen cgroup.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({});
   * cg.thaw();
   * ```
   */
  thaw(): void {
    this.#freezer(false);
  }

  #freezer(on: boolean): void {
    if (this.v2Path) {
      const f = `${this.v2Path}/cgroup.freeze`;
      this.#cfs.write(f, on ? "1" : "0");
      for (let i = 0; i < 2000; i++) {
        const ev = parseKeyValues(this.#cfs.read(`${this.v2Path}/cgroup.events`));
        if ((ev.frozen ?? 0) === (on ? 1 : 0)) return;
        sleepSync(1);
      }
      throw new CgroupError(
        `${f}: the cgroup did not become ${on ? "frozen" : "thawed"} within 2 s`,
        "ETIMEDOUT",
        f,
      );
    }
    const fz = this.v1Paths.freezer;
    if (!fz)
      throw new CgroupError(
        "cannot freeze: no freezer controller here (cgroup v1 needs the freezer hierarchy mounted)",
        "UNSUPPORTED",
      );
    if (!setFreezer(this.#cfs, fz, on ? "FROZEN" : "THAWED"))
      throw new CgroupError(
        `${fz}/freezer.state did not become ${on ? "FROZEN" : "THAWED"}`,
        "ETIMEDOUT",
        fz,
      );
  }

  #checkOom(): void {
    const mem = this.v1Paths.memory;
    if (!mem) return;
    let n = 0;
    try {
      n = parseKeyValues(this.#cfs.read(`${mem}/memory.oom_control`)).oom_kill ?? 0;
    } catch {
      return;
    }
    if (n > this.#oomKills) {
      this.#oomKills = n;
      try {
        this.kill();
      } catch {
        // the next poll or dispose retries
      }
    }
  }

  /**
   * Kills whatever still runs and removes every directory it created.
   * Idempotent. Resolves once the directories are gone; throws a CgroupError if a
   * directory cannot be removed within ~5 s.
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ pids: 32 });
   * await cg.dispose();
   * await cg.dispose(); // no-op
   * ```
   */
  async dispose(): Promise<void> {
    if (this.#begin()) return;
    for (let i = 0; ; i++) {
      if (this.#removeAll()) {
        this.#end();
        return;
      }
      if (i >= 250) this.#fail();
      await sleep(Math.min(1 + i, 20));
    }
  }

  /**
   * {@link CgroupHandle.dispose} without awaiting (for exit handlers).
   *
   * @example
   * ```ts
   * import { createCgroup } from "@forge/cgroups";
   * const cg = createCgroup({ pids: 32 });
   * process.on("exit", () => cg.disposeSync());
   * ```
   */
  disposeSync(): void {
    if (this.#begin()) return;
    for (let i = 0; ; i++) {
      if (this.#removeAll()) {
        this.#end();
        return;
      }
      if (i >= 250) this.#fail();
      sleepSync(Math.min(1 + i, 20));
    }
  }

  #pending: string[] | undefined;
  /** fds of v1 `tasks` files handed to children by placement(). */
  readonly #joinFds: number[] = [];

  #begin(): boolean {
    if (this.#disposed) return true;
    this.#disposed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#fd !== undefined) {
      try {
        this.#cfs.close(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = undefined;
    }
    for (const fd of this.#joinFds.splice(0)) {
      try {
        this.#cfs.close(fd);
      } catch {
        // already closed
      }
    }
    this.#pending = [...this.paths].reverse();
    if (this.#pending.length > 0) return false;
    live.delete(this);
    return true;
  }

  /** One pass: kill what runs, rmdir what can go. True when nothing is left. */
  #removeAll(): boolean {
    const left: string[] = [];
    let killed = false;
    for (const d of this.#pending!) {
      try {
        this.#cfs.rmdir(d);
      } catch (e) {
        const code = errCode(e);
        if (code === "ENOENT") continue;
        if (code !== "EBUSY")
          throw new CgroupError(`cannot remove the cgroup ${d}: ${errText(e)}`, code || "EIO", d, {
            cause: e,
          });
        if (!killed) {
          this.kill();
          killed = true;
        }
        left.push(d);
      }
    }
    this.#pending = left;
    return left.length === 0;
  }

  #end(): void {
    live.delete(this);
    removeOwnParents(this.#cfs, this.parents);
  }

  #fail(): never {
    live.delete(this);
    throw new CgroupError(
      `cannot remove the cgroups ${this.#pending!.join(", ")}: still busy after 5 s (processes in uninterruptible sleep?); a later forge run reaps them`,
      "EBUSY",
      this.#pending![0],
    );
  }
}
