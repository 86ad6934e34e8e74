/**
 * Reads a cgroup's usage from the v2 files (memory.current/peak, memory.events,
 * cpu.stat, pids.current/peak/events, io.stat) or the v1 ones (memory.usage_in_bytes,
 * memory.max_usage_in_bytes, memory.failcnt, memory.oom_control, cpuacct.usage,
 * cpu.stat, pids.*, blkio.throttle.io_service_*), into one shape.
 *
 * @module
 */
import { parseKeyValues } from "./_util.ts";
import type { CgroupFs } from "./cgroup_fs.ts";

/**
 * Per-device I/O counters.
 *
 * @example
 * ```ts
 * import { createCgroup } from "@forge/cgroups";
 * for (const d of createCgroup({}).stats().io ?? []) console.log(d.device, d.wbytes);
 * ```
 */
export interface IoDeviceStats {
  readonly device: string;
  readonly rbytes: number;
  readonly wbytes: number;
  readonly rios: number;
  readonly wios: number;
}

/**
 * A cgroup's usage. Sections are absent when their controller is not in use;
 * fields the kernel does not provide are absent.
 *
 * @example
 * ```ts
 * import type { CgroupStats } from "@forge/cgroups";
 * const show = (s: CgroupStats) => `${s.memory?.peak} bytes peak, ${s.memory?.oomKill} OOM kills`;
 * ```
 */
export interface CgroupStats {
  readonly memory?: {
    /** Bytes in use now. */
    readonly current: number;
    /** Highest usage seen (memory.peak / memory.max_usage_in_bytes). */
    readonly peak?: number;
    /** Times the limit was hit (memory.events max / memory.failcnt). */
    readonly limitHits: number;
    /** Times the cgroup was out of memory (memory.events oom; v1: under_oom now, as 0/1). */
    readonly oom: number;
    /** Processes the OOM killer killed in this cgroup. */
    readonly oomKill: number;
    /** Whole-group OOM kills (v2 memory.events oom_group_kill). */
    readonly oomGroupKill?: number;
    /** Swap in use (v2 memory.swap.current). */
    readonly swapCurrent?: number;
  };
  readonly cpu?: {
    /** CPU time used, in microseconds. */
    readonly usageUsec: number;
    readonly userUsec?: number;
    readonly systemUsec?: number;
    readonly nrPeriods?: number;
    readonly nrThrottled?: number;
    readonly throttledUsec?: number;
  };
  readonly pids?: {
    readonly current: number;
    readonly peak?: number;
    /** Forks refused because pids.max was reached (pids.events max). */
    readonly maxHits?: number;
  };
  readonly io?: readonly IoDeviceStats[];
}

const num = (cfs: CgroupFs, p: string): number | undefined => {
  try {
    const t = cfs.read(p).trim();
    return /^\d+$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
};
const kv = (cfs: CgroupFs, p: string): Record<string, number> | undefined => {
  try {
    return parseKeyValues(cfs.read(p));
  } catch {
    return undefined;
  }
};

/**
 * Reads the stats of a v2 cgroup directory.
 *
 * @example
 * ```ts
 * import { nodeCgroupFs, readV2Stats } from "@forge/cgroups";
 * console.log(readV2Stats(nodeCgroupFs, "/sys/fs/cgroup/forge/forge-1-2-0"));
 * ```
 */
export function readV2Stats(cfs: CgroupFs, dir: string): CgroupStats {
  const out: Record<string, unknown> = {};
  const current = num(cfs, `${dir}/memory.current`);
  if (current !== undefined) {
    const ev = kv(cfs, `${dir}/memory.events`) ?? {};
    out.memory = strip({
      current,
      peak: num(cfs, `${dir}/memory.peak`),
      limitHits: ev.max ?? 0,
      oom: ev.oom ?? 0,
      oomKill: ev.oom_kill ?? 0,
      oomGroupKill: ev.oom_group_kill,
      swapCurrent: num(cfs, `${dir}/memory.swap.current`),
    });
  }
  const cpu = kv(cfs, `${dir}/cpu.stat`);
  if (cpu?.usage_usec !== undefined)
    out.cpu = strip({
      usageUsec: cpu.usage_usec,
      userUsec: cpu.user_usec,
      systemUsec: cpu.system_usec,
      nrPeriods: cpu.nr_periods,
      nrThrottled: cpu.nr_throttled,
      throttledUsec: cpu.throttled_usec,
    });
  const pidsCurrent = num(cfs, `${dir}/pids.current`);
  if (pidsCurrent !== undefined)
    out.pids = strip({
      current: pidsCurrent,
      peak: num(cfs, `${dir}/pids.peak`),
      maxHits: kv(cfs, `${dir}/pids.events`)?.max,
    });
  try {
    const text = cfs.read(`${dir}/io.stat`);
    out.io = text
      .split("\n")
      .filter((l) => /^\d+:\d+ /.test(l))
      .map((l) => {
        const [device, ...pairs] = l.trim().split(/\s+/);
        const v = Object.fromEntries(
          pairs.map((p) => p.split("=")).map(([k, x]) => [k, Number(x)]),
        );
        return {
          device: device!,
          rbytes: v.rbytes ?? 0,
          wbytes: v.wbytes ?? 0,
          rios: v.rios ?? 0,
          wios: v.wios ?? 0,
        };
      });
  } catch {
    // io not enabled
  }
  return out as CgroupStats;
}

/**
 * Reads the stats of v1 cgroups (controller → directory).
 *
 * @example
 * ```ts
 * import { nodeCgroupFs, readV1Stats } from "@forge/cgroups";
 * console.log(readV1Stats(nodeCgroupFs, { pids: "/sys/fs/cgroup/pids/forge/forge-1-2-0" }));
 * ```
 */
export function readV1Stats(cfs: CgroupFs, dirs: Readonly<Record<string, string>>): CgroupStats {
  const out: Record<string, unknown> = {};
  if (dirs.memory) {
    const d = dirs.memory;
    const oc = kv(cfs, `${d}/memory.oom_control`) ?? {};
    out.memory = strip({
      current: num(cfs, `${d}/memory.usage_in_bytes`) ?? 0,
      peak: num(cfs, `${d}/memory.max_usage_in_bytes`),
      // With memsw set, charges fail against memory+swap first: count both.
      limitHits: Math.max(
        num(cfs, `${d}/memory.failcnt`) ?? 0,
        num(cfs, `${d}/memory.memsw.failcnt`) ?? 0,
      ),
      oom: oc.under_oom ?? 0,
      oomKill: oc.oom_kill ?? 0,
    });
  }
  const acct = dirs.cpuacct;
  const cpuStat = dirs.cpu ? kv(cfs, `${dirs.cpu}/cpu.stat`) : undefined;
  const usageNs = acct ? num(cfs, `${acct}/cpuacct.usage`) : undefined;
  if (usageNs !== undefined || cpuStat) {
    const user = acct ? num(cfs, `${acct}/cpuacct.usage_user`) : undefined;
    const sys = acct ? num(cfs, `${acct}/cpuacct.usage_sys`) : undefined;
    out.cpu = strip({
      usageUsec: usageNs !== undefined ? Math.floor(usageNs / 1000) : 0,
      userUsec: user !== undefined ? Math.floor(user / 1000) : undefined,
      systemUsec: sys !== undefined ? Math.floor(sys / 1000) : undefined,
      nrPeriods: cpuStat?.nr_periods,
      nrThrottled: cpuStat?.nr_throttled,
      throttledUsec:
        cpuStat?.throttled_time !== undefined
          ? Math.floor(cpuStat.throttled_time / 1000)
          : undefined,
    });
  }
  if (dirs.pids) {
    out.pids = strip({
      current: num(cfs, `${dirs.pids}/pids.current`) ?? 0,
      peak: num(cfs, `${dirs.pids}/pids.peak`),
      maxHits: kv(cfs, `${dirs.pids}/pids.events`)?.max,
    });
  }
  if (dirs.blkio) {
    const devs = new Map<string, { rbytes: number; wbytes: number; rios: number; wios: number }>();
    const take = (file: string, r: "rbytes" | "rios", w: "wbytes" | "wios") => {
      try {
        for (const line of cfs.read(`${dirs.blkio}/${file}`).split("\n")) {
          const [dev, op, v] = line.trim().split(/\s+/);
          if (!dev || !/^\d+:\d+$/.test(dev) || v === undefined) continue;
          const e = devs.get(dev) ?? { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
          if (op === "Read") e[r] = Number(v);
          else if (op === "Write") e[w] = Number(v);
          devs.set(dev, e);
        }
      } catch {
        // file absent
      }
    };
    take("blkio.throttle.io_service_bytes", "rbytes", "wbytes");
    take("blkio.throttle.io_serviced", "rios", "wios");
    out.io = [...devs].map(([device, e]) => ({ device, ...e }));
  }
  return out as CgroupStats;
}

function strip<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
