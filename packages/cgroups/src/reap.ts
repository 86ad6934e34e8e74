/**
 * Names Forge's cgroups after their owner (`forge-<pid>-<start time>-<n>`) so that
 * a later run can tell which ones belong to a Forge process that is gone — killed
 * before it could clean up — and remove them.
 *
 * @module
 */
import fs from "node:fs";
import { killV1, killV2, readProcs } from "./_kill.ts";
import { errCode, sleepSync } from "./_util.ts";
import { type CgroupFs, nodeCgroupFs } from "./cgroup_fs.ts";
import { type CgroupLayout, defaultParentPath, detectCgroupLayout, mountDir } from "./layout.ts";

const LEAF = /^forge-(\d+)-(\d+)-(\d+)(?:-[A-Za-z0-9_.-]+)?$/;

/**
 * The start time of a process (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot), or undefined when there is no such process. With the pid it names a
 * process uniquely, even after pid reuse.
 *
 * @example
 * ```ts
 * import { processStartTime } from "@forge/cgroups";
 * console.log(processStartTime(process.pid));
 * ```
 */
export function processStartTime(pid: number, procRoot = "/proc"): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields resume after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return rest[19]; // field 22 overall; rest[0] is field 3
}

/**
 * The directory name of a Forge cgroup.
 *
 * @example
 * ```ts
 * import { cgroupLeafName } from "@forge/cgroups";
 * cgroupLeafName(1234, "98765", 0); // "forge-1234-98765-0"
 * ```
 */
export function cgroupLeafName(pid: number, start: string, n: number, name?: string): string {
  const suffix = name ? `-${name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64)}` : "";
  return `forge-${pid}-${start}-${n}${suffix}`;
}

/**
 * Parses a Forge cgroup directory name; undefined for anything else.
 *
 * @example
 * ```ts
 * import { parseLeafName } from "@forge/cgroups";
 * parseLeafName("forge-1234-98765-0"); // { pid: 1234, start: "98765", n: 0 }
 * ```
 */
export function parseLeafName(name: string): { pid: number; start: string; n: number } | undefined {
  const m = LEAF.exec(name);
  return m ? { pid: Number(m[1]), start: m[2]!, n: Number(m[3]) } : undefined;
}

/**
 * Options of {@link reapStaleCgroups}.
 *
 * @example
 * ```ts
 * import { reapStaleCgroups } from "@forge/cgroups";
 * reapStaleCgroups({ parent: "/forge" });
 * ```
 */
export interface ReapOptions {
  readonly layout?: CgroupLayout;
  readonly fs?: CgroupFs;
  /** The parent cgroup path Forge creates under (default as in createCgroup). */
  readonly parent?: string;
  /** Where /proc is (tests). */
  readonly procRoot?: string;
  /** Parent directories to scan, overriding layout/parent. */
  readonly dirs?: readonly string[];
}

/**
 * The parent directories Forge creates its cgroups in, one per hierarchy.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout, forgeParentDirs } from "@forge/cgroups";
 * console.log(forgeParentDirs(detectCgroupLayout()));
 * ```
 */
export function forgeParentDirs(
  layout: CgroupLayout,
  parent?: string,
): Array<{ dir: string; version: "v1" | "v2"; controllers: readonly string[] }> {
  const out: Array<{ dir: string; version: "v1" | "v2"; controllers: readonly string[] }> = [];
  if (layout.v2 && (layout.kind === "v2" || layout.v2.controllers.length > 0)) {
    const d = mountDir(
      layout.v2.mount,
      layout.v2.mountRoot,
      parent ?? defaultParentPath(layout, "v2"),
    );
    if (d) out.push({ dir: d, version: "v2", controllers: [] });
  }
  const seen = new Set<string>();
  for (const [c, h] of Object.entries(layout.v1)) {
    if (seen.has(h.mount)) continue;
    seen.add(h.mount);
    const d = mountDir(h.mount, h.mountRoot, parent ?? defaultParentPath(layout, "v1", c));
    if (d) out.push({ dir: d, version: "v1", controllers: h.controllers });
  }
  return out;
}

/**
 * Removes Forge cgroups whose owning Forge process is gone (no such pid, or a pid
 * reused by a process with another start time): kills what still runs in them and
 * removes the directories. Returns the directories removed. Safe to run while
 * other Forge processes work: their cgroups are left alone.
 *
 * @example
 * ```ts
 * import { reapStaleCgroups } from "@forge/cgroups";
 * for (const dir of reapStaleCgroups()) console.log("removed stale", dir);
 * ```
 */
export function reapStaleCgroups(opts: ReapOptions = {}): string[] {
  const cfs = opts.fs ?? nodeCgroupFs;
  const dirs =
    opts.dirs?.map((dir) => ({
      dir,
      version: cfs.exists(`${dir}/cgroup.controllers`) ? "v2" : "v1",
      freezer: cfs.exists(`${dir}/freezer.state`),
    })) ??
    forgeParentDirs(opts.layout ?? detectCgroupLayout({ fs: cfs }), opts.parent).map((p) => ({
      dir: p.dir,
      version: p.version,
      freezer: p.controllers.includes("freezer"),
    }));
  const removed: string[] = [];
  const alive = new Map<string, boolean>();
  for (const { dir, version, freezer } of dirs) {
    let names: string[];
    try {
      names = cfs.listDirs(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const owner = parseLeafName(name);
      if (!owner) continue;
      const key = `${owner.pid}-${owner.start}`;
      if (!alive.has(key))
        alive.set(key, processStartTime(owner.pid, opts.procRoot) === owner.start);
      if (alive.get(key)) continue;
      if (removeTree(cfs, `${dir}/${name}`, version as "v1" | "v2", freezer))
        removed.push(`${dir}/${name}`);
    }
  }
  return removed;
}

/**
 * Kills everything in a cgroup subtree and removes it, deepest first.
 *
 * @example
 * ```ts
 * // internal to reapStaleCgroups:
 * // removeTree(nodeCgroupFs, "/sys/fs/cgroup/pids/forge/forge-1-2-3", "v1", false);
 * ```
 */
export function removeTree(
  cfs: CgroupFs,
  dir: string,
  version: "v1" | "v2",
  freezer: boolean,
): boolean {
  let children: string[] = [];
  try {
    children = cfs.listDirs(dir);
  } catch (e) {
    return errCode(e) === "ENOENT";
  }
  for (const c of children) removeTree(cfs, `${dir}/${c}`, version, freezer);
  for (let i = 0; i < 200; i++) {
    try {
      cfs.rmdir(dir);
      return true;
    } catch (e) {
      const code = errCode(e);
      if (code === "ENOENT") return true;
      if (code !== "EBUSY") return false;
    }
    if (readProcs(cfs, dir).length) {
      if (version === "v2") killV2(cfs, dir);
      else killV1(cfs, [dir], freezer ? dir : undefined);
    }
    sleepSync(Math.min(1 + i, 20));
  }
  return false;
}
