/**
 * Writes {@link Limits} into cgroup v1 directories, one per controller hierarchy:
 * memory.limit_in_bytes, memory.memsw.limit_in_bytes, cpu.cfs_period_us,
 * cpu.cfs_quota_us, cpu.shares, pids.max and blkio.throttle.*, each verified by
 * reading it back.
 *
 * @module
 */
import { memoryHolds, type Problems, writeVerified } from "./_writer.ts";
import type { CgroupFs } from "./cgroup_fs.ts";
import type { Limits } from "./limits.ts";

/** v1 reports "no limit" as PAGE_COUNTER_MAX pages; anything this large is unlimited. */
const V1_UNLIMITED = 2n ** 62n;

/**
 * Maps a cgroup v2 cpu.weight (1..10000) to v1 cpu.shares (2..262144), the
 * inverse of the conversion runc and systemd use.
 *
 * @example
 * ```ts
 * import { weightToShares } from "@forge/cgroups";
 * weightToShares(100); // 2597 (≈ v1's default 1024 relative to others at weight 100)
 * ```
 */
export function weightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

/**
 * The v1 controllers a set of limits needs (freezer and cpuacct are added by the
 * caller for kill and stats).
 *
 * @example
 * ```ts
 * import { v1ControllersFor } from "@forge/cgroups";
 * v1ControllersFor({ pids: 32, io: [] }); // ["pids"]
 * ```
 */
export function v1ControllersFor(limits: Limits): string[] {
  const out: string[] = [];
  if (
    limits.memory !== undefined ||
    limits.swap !== undefined ||
    limits.oomGroupKill ||
    limits.memoryHigh !== undefined
  )
    out.push("memory");
  if (limits.cpu !== undefined || limits.cpuWeight !== undefined) out.push("cpu");
  if (limits.pids !== undefined) out.push("pids");
  if (limits.io?.length) out.push("blkio");
  return out;
}

/**
 * Applies `limits` to v1 cgroups (`dirs`: controller → directory). Returns the
 * limits that hold. `oomGroupKill` is not a v1 feature: the caller emulates it.
 *
 * @example
 * ```ts
 * // createCgroup calls this on v1 and hybrid hosts
 * import { applyV1Limits } from "@forge/cgroups";
 * ```
 */
export function applyV1Limits(
  cfs: CgroupFs,
  dirs: Readonly<Record<string, string>>,
  limits: Limits,
  problems: Problems,
): Limits {
  const held: Record<string, unknown> = {};
  const mem = dirs.memory;
  if (mem) {
    if (limits.memory !== undefined) {
      const v = limits.memory === "max" ? "-1" : String(limits.memory);
      if (
        writeVerified(
          cfs,
          `${mem}/memory.limit_in_bytes`,
          v,
          "the memory limit (memory.limit_in_bytes)",
          problems,
          (b) => memoryHolds(limits.memory!, b, V1_UNLIMITED),
        )
      )
        held.memory = limits.memory;
    }
    if (limits.memoryHigh !== undefined)
      problems.fail(
        "cannot set memory.high on cgroup v1: it has no throttling threshold (memory.soft_limit_in_bytes means something else); use --memory, or a cgroup v2 host",
        "UNSUPPORTED",
      );
    if (limits.swap !== undefined) {
      const memsw = `${mem}/memory.memsw.limit_in_bytes`;
      if (!cfs.exists(memsw)) {
        problems.fail(
          `cannot limit swap on cgroup v1: ${memsw} does not exist (boot with swapaccount=1 to enable swap accounting)`,
          "UNSUPPORTED",
          memsw,
        );
      } else if (
        limits.swap !== "max" &&
        (limits.memory === undefined || limits.memory === "max")
      ) {
        problems.fail(
          "cannot limit swap on cgroup v1 without a memory limit: v1 limits memory+swap together (memory.memsw.limit_in_bytes); add --memory",
          "UNSUPPORTED",
          memsw,
        );
      } else {
        const total = limits.swap === "max" ? "max" : (limits.memory as number) + limits.swap;
        if (
          writeVerified(
            cfs,
            memsw,
            total === "max" ? "-1" : String(total),
            "the swap limit (memory.memsw.limit_in_bytes)",
            problems,
            (b) => memoryHolds(total, b, V1_UNLIMITED),
          )
        )
          held.swap = limits.swap;
      }
    }
  } else if (
    limits.memory !== undefined ||
    limits.swap !== undefined ||
    limits.memoryHigh !== undefined
  ) {
    problems.fail("cannot limit memory: no cgroup v1 memory hierarchy is mounted", "UNSUPPORTED");
  }
  if (limits.cpu !== undefined || limits.cpuWeight !== undefined) {
    const cpu = dirs.cpu;
    if (!cpu)
      problems.fail("cannot limit CPU: no cgroup v1 cpu hierarchy is mounted", "UNSUPPORTED");
    else {
      if (limits.cpu !== undefined) {
        const { quota, period } = limits.cpu;
        const a = writeVerified(
          cfs,
          `${cpu}/cpu.cfs_period_us`,
          String(period),
          "the CPU period (cpu.cfs_period_us)",
          problems,
        );
        const b =
          a &&
          writeVerified(
            cfs,
            `${cpu}/cpu.cfs_quota_us`,
            quota === "max" ? "-1" : String(quota),
            "the CPU quota (cpu.cfs_quota_us)",
            problems,
          );
        if (a && b) held.cpu = limits.cpu;
      }
      if (limits.cpuWeight !== undefined) {
        const shares = weightToShares(limits.cpuWeight);
        if (
          writeVerified(
            cfs,
            `${cpu}/cpu.shares`,
            String(shares),
            "the CPU weight (cpu.shares)",
            problems,
          )
        )
          held.cpuWeight = limits.cpuWeight;
      }
    }
  }
  if (limits.pids !== undefined) {
    if (!dirs.pids)
      problems.fail("cannot limit pids: no cgroup v1 pids hierarchy is mounted", "UNSUPPORTED");
    else if (
      writeVerified(
        cfs,
        `${dirs.pids}/pids.max`,
        String(limits.pids),
        "the pids limit (pids.max)",
        problems,
      )
    )
      held.pids = limits.pids;
  }
  if (limits.io?.length) {
    const blk = dirs.blkio;
    if (!blk)
      problems.fail("cannot limit I/O: no cgroup v1 blkio hierarchy is mounted", "UNSUPPORTED");
    else {
      const ok = [];
      for (const io of limits.io) {
        const dev = `${io.major}:${io.minor}`;
        let all = true;
        for (const [key, file] of [
          ["rbps", "read_bps_device"],
          ["wbps", "write_bps_device"],
          ["riops", "read_iops_device"],
          ["wiops", "write_iops_device"],
        ] as const) {
          const v = io[key];
          if (v === undefined || v === "max") continue; // v1: no entry means no limit
          const path = `${blk}/blkio.throttle.${file}`;
          all &&= writeVerified(
            cfs,
            path,
            `${dev} ${v}`,
            `the I/O limit ${key} for ${dev} (blkio.throttle.${file})`,
            problems,
            (b) => b.split("\n").some((l) => l.trim() === `${dev} ${v}`),
          );
        }
        if (all) ok.push(io);
      }
      if (ok.length) held.io = ok;
    }
  }
  return held as Limits;
}
