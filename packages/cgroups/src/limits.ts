/**
 * The `Limits` object and the parsers that turn command-line strings ("256M",
 * "0.05", "8:0 rbps=1M") into it, plus the `clawos` preset from the design seeds.
 *
 * @module
 */
import fs from "node:fs";

/**
 * A byte count, or "max" for no limit.
 *
 * @example
 * ```ts
 * import type { Bytes } from "@forge/cgroups";
 * const b: Bytes = "max";
 * ```
 */
export type Bytes = number | "max";

/**
 * An io.max entry for one block device. Unset keys stay unlimited.
 *
 * @example
 * ```ts
 * import type { IoMax } from "@forge/cgroups";
 * const io: IoMax = { major: 8, minor: 0, wbps: 10 * 2 ** 20 };
 * ```
 */
export interface IoMax {
  /** The device's major number. */
  readonly major: number;
  /** The device's minor number. */
  readonly minor: number;
  /** Read bytes per second. */
  readonly rbps?: number | "max";
  /** Write bytes per second. */
  readonly wbps?: number | "max";
  /** Read operations per second. */
  readonly riops?: number | "max";
  /** Write operations per second. */
  readonly wiops?: number | "max";
}

/**
 * A CPU bandwidth limit: `quota` µs of CPU time per `period` µs (cpu.max).
 *
 * @example
 * ```ts
 * import type { CpuMax } from "@forge/cgroups";
 * const fivePercent: CpuMax = { quota: 50000, period: 1000000 };
 * ```
 */
export interface CpuMax {
  readonly quota: number | "max";
  readonly period: number;
}

/**
 * Resource limits for one sandbox. Unset fields are not limited.
 *
 * @example
 * ```ts
 * import type { Limits } from "@forge/cgroups";
 * const limits: Limits = { memory: 256 * 2 ** 20, swap: 0, pids: 32, cpu: { quota: 50000, period: 1000000 } };
 * ```
 */
export interface Limits {
  /** Hard memory limit in bytes (memory.max / memory.limit_in_bytes). */
  readonly memory?: Bytes;
  /** Throttling threshold in bytes (memory.high; cgroup v2 only). */
  readonly memoryHigh?: Bytes;
  /** Swap allowed in bytes; 0 means no swap (memory.swap.max / memsw). */
  readonly swap?: Bytes;
  /** CPU bandwidth (cpu.max / cpu.cfs_quota_us + cpu.cfs_period_us). */
  readonly cpu?: CpuMax;
  /** Relative CPU weight 1..10000, default 100 (cpu.weight / cpu.shares). */
  readonly cpuWeight?: number;
  /** Maximum number of processes and threads (pids.max). */
  readonly pids?: number | "max";
  /** Block I/O throttles per device (io.max / blkio.throttle.*). */
  readonly io?: readonly IoMax[];
  /** Kill the whole cgroup when the OOM killer strikes (memory.oom.group). */
  readonly oomGroupKill?: boolean;
}

/**
 * The CPU period Forge uses for `--cpus` (1 s, as in the seeds' 50000/1000000).
 *
 * @example
 * ```ts
 * import { CPU_PERIOD_US } from "@forge/cgroups";
 * const half = { quota: CPU_PERIOD_US / 2, period: CPU_PERIOD_US };
 * ```
 */
export const CPU_PERIOD_US = 1_000_000;

/**
 * The seeds' per-instance limits: 256 MiB memory, 5% CPU (50000/1000000), 32 pids,
 * no swap, OOM group kill.
 *
 * @example
 * ```ts
 * import { CLAWOS_LIMITS, createCgroup } from "@forge/cgroups";
 * const cg = createCgroup(CLAWOS_LIMITS, { mode: "strict" });
 * await cg.dispose();
 * ```
 */
export const CLAWOS_LIMITS: Limits = Object.freeze({
  memory: 256 * 1024 * 1024,
  swap: 0,
  cpu: Object.freeze({ quota: 50_000, period: CPU_PERIOD_US }),
  pids: 32,
  oomGroupKill: true,
});

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/**
 * Parses a size: "256M", "1G", "512k", "1.5GiB", "4096", or "max". Units are
 * binary (K = 1024), as in docker and the kernel's memparse.
 *
 * @example
 * ```ts
 * import { parseSize } from "@forge/cgroups";
 * parseSize("256M"); // 268435456
 * parseSize("max"); // "max"
 * ```
 */
export function parseSize(text: string, what = "size"): Bytes {
  const s = String(text).trim();
  if (/^(max|unlimited|-1)$/i.test(s)) return "max";
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(s);
  if (!m)
    throw new RangeError(
      `invalid ${what} ${JSON.stringify(String(text))}: expected a number of bytes with an optional unit (256M, 1G, 512K) or "max"`,
    );
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(Math.floor(n)))
    throw new RangeError(`invalid ${what} ${JSON.stringify(String(text))}: too large`);
  return Math.floor(n);
}

/**
 * Parses a CPU count ("0.05", "1.5", "2") into a cpu.max quota per 1 s period:
 * "0.05" → 50000/1000000. "max" means unlimited.
 *
 * @example
 * ```ts
 * import { parseCpus } from "@forge/cgroups";
 * parseCpus("0.05"); // { quota: 50000, period: 1000000 }
 * ```
 */
export function parseCpus(text: string): CpuMax {
  const s = String(text).trim();
  if (/^max$/i.test(s)) return { quota: "max", period: CPU_PERIOD_US };
  if (!/^\d+(\.\d+)?$/.test(s) || Number(s) <= 0)
    throw new RangeError(
      `invalid CPU count ${JSON.stringify(String(text))}: expected a positive number of CPUs such as 0.05 (5% of one CPU) or 2`,
    );
  const quota = Math.round(Number(s) * CPU_PERIOD_US);
  if (quota < 1000)
    throw new RangeError(
      `invalid CPU count ${JSON.stringify(String(text))}: the kernel's smallest quota is 1 ms per period, i.e. 0.001 CPUs`,
    );
  return { quota, period: CPU_PERIOD_US };
}

/**
 * Parses a pids limit: a positive integer or "max".
 *
 * @example
 * ```ts
 * import { parsePids } from "@forge/cgroups";
 * parsePids("32"); // 32
 * ```
 */
export function parsePids(text: string | number): number | "max" {
  const s = String(text).trim();
  if (/^max$/i.test(s)) return "max";
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 4194304)
    throw new RangeError(
      `invalid pids limit ${JSON.stringify(String(text))}: expected an integer from 1 to 4194304, or "max"`,
    );
  return Number(s);
}

/**
 * Parses a CPU weight 1..10000 (cgroup v2 cpu.weight; default 100).
 *
 * @example
 * ```ts
 * import { parseCpuWeight } from "@forge/cgroups";
 * parseCpuWeight("50"); // 50
 * ```
 */
export function parseCpuWeight(text: string | number): number {
  const s = String(text).trim();
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 10000)
    throw new RangeError(
      `invalid CPU weight ${JSON.stringify(String(text))}: expected an integer from 1 to 10000`,
    );
  return Number(s);
}

/**
 * How {@link parseIoMax} finds a device path's numbers (injectable for tests).
 *
 * @example
 * ```ts
 * import { parseIoMax } from "@forge/cgroups";
 * parseIoMax("/dev/vda wbps=1M", () => ({ major: 254, minor: 0 }));
 * ```
 */
export type DeviceResolver = (path: string) => { major: number; minor: number };

/**
 * Resolves a block device path to the whole disk's major:minor (io.max rejects partitions).
 *
 * @example
 * ```ts
 * import { resolveBlockDevice } from "@forge/cgroups";
 * console.log(resolveBlockDevice("/dev/sda1")); // { major: 8, minor: 0 }: the whole disk
 * ```
 */
export const resolveBlockDevice: DeviceResolver = (p) => {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new RangeError(`invalid io-max device ${JSON.stringify(p)}: ${(e as Error).message}`);
  }
  if (!st.isBlockDevice())
    throw new RangeError(
      `invalid io-max device ${JSON.stringify(p)}: not a block device (give /dev/sda or 8:0)`,
    );
  let major = Math.floor(st.rdev / 256) & 0xfff;
  let minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  try {
    // A partition: throttles apply to its disk.
    if (fs.existsSync(`/sys/dev/block/${major}:${minor}/partition`)) {
      const dev = fs.readFileSync(`/sys/dev/block/${major}:${minor}/../dev`, "utf8").trim();
      [major, minor] = dev.split(":").map(Number) as [number, number];
    }
  } catch {
    // keep the partition's numbers; the kernel will say if it minds
  }
  return { major, minor };
};

/**
 * Parses one io-max entry: "MAJ:MIN rbps=1M wbps=max riops=100 wiops=100", or the
 * same with a device path ("/dev/sda wbps=10M"). Byte rates take size units.
 *
 * @example
 * ```ts
 * import { parseIoMax } from "@forge/cgroups";
 * parseIoMax("8:0 rbps=1M wiops=100"); // { major: 8, minor: 0, rbps: 1048576, wiops: 100 }
 * ```
 */
export function parseIoMax(text: string, resolve: DeviceResolver = resolveBlockDevice): IoMax {
  const [dev, ...pairs] = String(text).trim().split(/\s+/);
  if (!dev || pairs.length === 0)
    throw new RangeError(
      `invalid io-max ${JSON.stringify(String(text))}: expected "MAJ:MIN key=value..." with keys rbps, wbps, riops, wiops`,
    );
  const m = /^(\d+):(\d+)$/.exec(dev);
  const out: { -readonly [K in keyof IoMax]: IoMax[K] } = m
    ? { major: Number(m[1]), minor: Number(m[2]) }
    : { ...resolve(dev) };
  for (const pair of pairs) {
    const kv = /^(rbps|wbps|riops|wiops)=(\S+)$/.exec(pair);
    if (!kv)
      throw new RangeError(
        `invalid io-max ${JSON.stringify(String(text))}: ${JSON.stringify(pair)} is not one of rbps=, wbps=, riops=, wiops=`,
      );
    const key = kv[1] as "rbps" | "wbps" | "riops" | "wiops";
    let v: number | "max";
    if (key.endsWith("bps")) v = parseSize(kv[2]!, `io-max ${key}`);
    else if (/^max$/i.test(kv[2]!)) v = "max";
    else if (/^\d+$/.test(kv[2]!)) v = Number(kv[2]);
    else
      throw new RangeError(
        `invalid io-max ${JSON.stringify(String(text))}: ${key} must be an integer or "max"`,
      );
    if (v === 0)
      throw new RangeError(
        `invalid io-max ${JSON.stringify(String(text))}: ${key}=0 would block all I/O; the kernel rejects 0, use a positive rate`,
      );
    out[key] = v;
  }
  return out;
}

/**
 * What `--limits` says: a preset and/or a mode ("clawos", "best-effort", "clawos,best-effort").
 *
 * @example
 * ```ts
 * import { parseLimitsOption } from "@forge/cgroups";
 * const { preset, mode } = parseLimitsOption("clawos,best-effort");
 * ```
 */
export interface LimitsOption {
  readonly preset?: "clawos";
  readonly mode?: "strict" | "best-effort";
}

/**
 * Parses a `--limits` value: comma-separated words among "clawos", "strict",
 * "best-effort". May be given more than once (pass every value).
 *
 * @example
 * ```ts
 * import { parseLimitsOption } from "@forge/cgroups";
 * parseLimitsOption(["clawos", "best-effort"]); // { preset: "clawos", mode: "best-effort" }
 * ```
 */
export function parseLimitsOption(values: string | readonly string[]): LimitsOption {
  let preset: "clawos" | undefined;
  let mode: "strict" | "best-effort" | undefined;
  for (const word of [values].flat().flatMap((v) => v.split(","))) {
    const w = word.trim().toLowerCase();
    if (w === "clawos") preset = "clawos";
    else if (w === "strict" || w === "best-effort") mode = w;
    else if (w)
      throw new RangeError(
        `invalid --limits ${JSON.stringify(word)}: expected clawos (the seeds' preset), strict or best-effort`,
      );
  }
  return { ...(preset ? { preset } : {}), ...(mode ? { mode } : {}) };
}

/**
 * Command-line style limit options, as strings (see {@link parseLimits}).
 *
 * @example
 * ```ts
 * import { parseLimits } from "@forge/cgroups";
 * parseLimits({ memory: "256M", noSwap: true, ioMax: ["8:0 wbps=10M"] });
 * ```
 */
export interface LimitsInput {
  /** A preset to start from; explicit options override it. */
  readonly preset?: "clawos";
  readonly memory?: string;
  readonly memoryHigh?: string;
  /** Swap allowed ("0", "1G", "max"). */
  readonly swap?: string;
  /** Same as swap "0". */
  readonly noSwap?: boolean;
  readonly cpus?: string;
  readonly cpuWeight?: string | number;
  readonly pids?: string | number;
  /** io-max entries, one per device. */
  readonly ioMax?: string | readonly string[];
  readonly oomGroupKill?: boolean;
}

/**
 * Builds a {@link Limits} from command-line style strings: `forge run --memory 256M
 * --cpus 0.05 --pids 32 --no-swap --io-max "8:0 wbps=10M"`. Throws a RangeError
 * naming the bad option.
 *
 * @example
 * ```ts
 * import { parseLimits } from "@forge/cgroups";
 * parseLimits({ memory: "256M", cpus: "0.05", pids: "32", noSwap: true });
 * parseLimits({ preset: "clawos", memory: "512M" }); // clawos with 512 MiB
 * ```
 */
export function parseLimits(input: LimitsInput, resolve?: DeviceResolver): Limits {
  const out: { -readonly [K in keyof Limits]: Limits[K] } = {
    ...(input.preset === "clawos" ? CLAWOS_LIMITS : {}),
  };
  if (input.memory !== undefined) out.memory = parseSize(input.memory, "--memory");
  if (input.memoryHigh !== undefined) out.memoryHigh = parseSize(input.memoryHigh, "--memory-high");
  if (input.swap !== undefined) out.swap = parseSize(input.swap, "--swap");
  if (input.noSwap) {
    if (input.swap !== undefined && input.swap.trim() !== "0")
      throw new RangeError(`--no-swap conflicts with --swap ${input.swap}: give only one`);
    out.swap = 0;
  }
  if (input.cpus !== undefined) out.cpu = parseCpus(input.cpus);
  if (input.cpuWeight !== undefined) out.cpuWeight = parseCpuWeight(input.cpuWeight);
  if (input.pids !== undefined) out.pids = parsePids(input.pids);
  if (input.ioMax !== undefined) out.io = [input.ioMax].flat().map((t) => parseIoMax(t, resolve));
  if (input.oomGroupKill !== undefined) out.oomGroupKill = input.oomGroupKill;
  return out;
}

/**
 * Whether any limit is set (an empty Limits needs no cgroup).
 *
 * @example
 * ```ts
 * import { hasLimits } from "@forge/cgroups";
 * hasLimits({}); // false
 * ```
 */
export function hasLimits(limits: Limits): boolean {
  return Object.entries(limits).some(
    ([k, v]) => v !== undefined && !(k === "io" && (v as unknown[]).length === 0),
  );
}
