/**
 * Writes {@link Limits} into a cgroup v2 directory (memory.max, memory.high,
 * memory.swap.max, memory.oom.group, cpu.max, cpu.weight, pids.max, io.max) and
 * verifies each value by reading it back.
 *
 * @module
 */
import { memoryHolds, type Problems, writeVerified } from "./_writer.ts";
import type { CgroupFs } from "./cgroup_fs.ts";
import type { IoMax, Limits } from "./limits.ts";

/**
 * The v2 controllers a set of limits needs.
 *
 * @example
 * ```ts
 * import { v2ControllersFor } from "@forge/cgroups";
 * v2ControllersFor({ memory: 1 << 28, pids: 32 }); // ["memory", "pids"]
 * ```
 */
export function v2ControllersFor(limits: Limits): string[] {
  const out: string[] = [];
  if (
    limits.memory !== undefined ||
    limits.memoryHigh !== undefined ||
    limits.swap !== undefined ||
    limits.oomGroupKill
  )
    out.push("memory");
  if (limits.cpu !== undefined || limits.cpuWeight !== undefined) out.push("cpu");
  if (limits.pids !== undefined) out.push("pids");
  if (limits.io?.length) out.push("io");
  return out;
}

/**
 * Renders one io.max line.
 *
 * @example
 * ```ts
 * import { ioMaxLine } from "@forge/cgroups";
 * ioMaxLine({ major: 8, minor: 0, wbps: 1048576 }); // "8:0 wbps=1048576"
 * ```
 */
export function ioMaxLine(io: IoMax): string {
  const keys = (["rbps", "wbps", "riops", "wiops"] as const).filter((k) => io[k] !== undefined);
  return `${io.major}:${io.minor} ${keys.map((k) => `${k}=${io[k]}`).join(" ")}`;
}

/**
 * Applies `limits` to the v2 cgroup `dir`. In strict mode the first failure
 * throws a CgroupError; in best-effort mode failures become warnings in
 * `problems`. Returns the limits that hold.
 *
 * @example
 * ```ts
 * import { applyV2Limits, FakeCgroupFs } from "@forge/cgroups";
 * // see createCgroup, which calls this for v2 hosts
 * ```
 */
export function applyV2Limits(
  cfs: CgroupFs,
  dir: string,
  limits: Limits,
  problems: Problems,
): Limits {
  const held: Record<string, unknown> = {};
  const f = (name: string) => `${dir}/${name}`;
  if (limits.memory !== undefined) {
    const v = String(limits.memory);
    if (
      writeVerified(cfs, f("memory.max"), v, "the memory limit (memory.max)", problems, (b) =>
        memoryHolds(limits.memory!, b),
      )
    )
      held.memory = limits.memory;
  }
  if (limits.memoryHigh !== undefined) {
    const v = String(limits.memoryHigh);
    if (
      writeVerified(cfs, f("memory.high"), v, "the memory throttle (memory.high)", problems, (b) =>
        memoryHolds(limits.memoryHigh!, b),
      )
    )
      held.memoryHigh = limits.memoryHigh;
  }
  if (limits.swap !== undefined) {
    if (!cfs.exists(f("memory.swap.max"))) {
      problems.fail(
        `cannot limit swap: ${f("memory.swap.max")} does not exist (the kernel was built or booted without swap accounting, e.g. swapaccount=0)`,
        "UNSUPPORTED",
        f("memory.swap.max"),
      );
    } else if (
      writeVerified(
        cfs,
        f("memory.swap.max"),
        String(limits.swap),
        "the swap limit (memory.swap.max)",
        problems,
        (b) => memoryHolds(limits.swap!, b),
      )
    )
      held.swap = limits.swap;
  }
  if (limits.oomGroupKill !== undefined) {
    const v = limits.oomGroupKill ? "1" : "0";
    if (writeVerified(cfs, f("memory.oom.group"), v, "OOM group kill (memory.oom.group)", problems))
      held.oomGroupKill = limits.oomGroupKill;
  }
  if (limits.cpu !== undefined) {
    const v = `${limits.cpu.quota} ${limits.cpu.period}`;
    if (writeVerified(cfs, f("cpu.max"), v, "the CPU limit (cpu.max)", problems))
      held.cpu = limits.cpu;
  }
  if (limits.cpuWeight !== undefined) {
    if (
      writeVerified(
        cfs,
        f("cpu.weight"),
        String(limits.cpuWeight),
        "the CPU weight (cpu.weight)",
        problems,
      )
    )
      held.cpuWeight = limits.cpuWeight;
  }
  if (limits.pids !== undefined) {
    if (
      writeVerified(cfs, f("pids.max"), String(limits.pids), "the pids limit (pids.max)", problems)
    )
      held.pids = limits.pids;
  }
  if (limits.io?.length) {
    const ok: IoMax[] = [];
    for (const io of limits.io) {
      const holds = (back: string) => {
        const line = back.split("\n").find((l) => l.startsWith(`${io.major}:${io.minor} `));
        if (!line) return false;
        const kv = Object.fromEntries(
          line
            .split(" ")
            .slice(1)
            .map((x) => x.split("=")),
        );
        return (["rbps", "wbps", "riops", "wiops"] as const).every(
          (k) => io[k] === undefined || kv[k] === String(io[k]),
        );
      };
      if (
        writeVerified(
          cfs,
          f("io.max"),
          ioMaxLine(io),
          `the I/O limit for ${io.major}:${io.minor} (io.max)`,
          problems,
          holds,
        )
      )
        ok.push(io);
    }
    if (ok.length) held.io = ok;
  }
  return held as Limits;
}
