/**
 * @forge/cgroups: resource limits that hold. Creates one cgroup per sandbox — cgroup
 * v2 first, with a v1 fallback for v1 and hybrid hosts — writes memory, swap, OOM
 * group kill, CPU, pids and I/O limits, reads every value back, places the child
 * before its first instruction (CLONE_INTO_CGROUP on v2, a join while the child
 * waits on v1), reads stats, freezes, kills, and removes everything afterwards,
 * reaping what a killed Forge left behind.
 *
 * @example
 * ```ts
 * import { createCgroup, endReason, parseLimits } from "@forge/cgroups";
 * import { spawn } from "@forge/libc";
 * const cg = createCgroup(parseLimits({ memory: "256M", cpus: "0.05", pids: "32", noSwap: true }));
 * try {
 *   const child = spawn({ argv: ["/bin/sh", "-c", "echo hi"], ...cg.placement() });
 *   const exit = await child.wait();
 *   console.log(endReason(exit, { stats: cg.stats() }).message);
 * } finally {
 *   await cg.dispose();
 * }
 * ```
 *
 * @module
 */
export * from "./cgroup.ts";
export * from "./cgroup_error.ts";
export * from "./cgroup_fs.ts";
export * from "./default_pids.ts";
export * from "./end_reason.ts";
export * from "./fake_cgroupfs.ts";
export * from "./layout.ts";
export * from "./limits.ts";
export {
  cgroupLeafName,
  forgeParentDirs,
  parseLeafName,
  processStartTime,
  type ReapOptions,
  reapStaleCgroups,
} from "./reap.ts";
export * from "./stats.ts";
export { applyV1Limits, v1ControllersFor, weightToShares } from "./v1_writer.ts";
export { applyV2Limits, ioMaxLine, v2ControllersFor } from "./v2_writer.ts";

/**
 * The package version.
 *
 * @example
 * ```ts
 * import { PACKAGE_VERSION } from "@forge/cgroups";
 * console.log(PACKAGE_VERSION);
 * ```
 */
export const PACKAGE_VERSION = "0.1.0";
