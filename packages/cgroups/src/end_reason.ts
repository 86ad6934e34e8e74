/**
 * Why a sandboxed process ended — exit, signal, OOM kill or timeout — and the
 * status record `forge run --json-status` writes.
 *
 * @module
 */
import { formatBytes } from "./_util.ts";
import type { Limits } from "./limits.ts";
import type { CgroupStats } from "./stats.ts";

/**
 * How the process ended, as @forge/libc's ChildHandle.wait() reports it.
 *
 * @example
 * ```ts
 * import type { ExitLike } from "@forge/cgroups";
 * const e: ExitLike = { code: null, signal: "SIGKILL" };
 * ```
 */
export interface ExitLike {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * Why the process ended.
 *
 * @example
 * ```ts
 * import type { EndReason } from "@forge/cgroups";
 * const r: EndReason = { kind: "exit", code: 0, signal: null, message: "exited with code 0" };
 * ```
 */
export interface EndReason {
  /** "oom-kill": the kernel's OOM killer ended it inside its memory limit; "timeout": Forge did. */
  readonly kind: "exit" | "signal" | "oom-kill" | "timeout";
  readonly code: number | null;
  readonly signal: string | null;
  /** One line for humans. */
  readonly message: string;
}

/**
 * Classifies an exit: a timeout Forge enforced wins; a SIGKILL while the cgroup
 * recorded OOM kills is an OOM kill; otherwise exit code or signal.
 *
 * @example
 * ```ts
 * import { endReason } from "@forge/cgroups";
 * const status = { code: null, signal: "SIGKILL" };
 * endReason(status, { stats: { memory: { current: 0, limitHits: 3, oom: 1, oomKill: 1 } } }).kind; // "oom-kill"
 * ```
 */
export function endReason(
  exit: ExitLike,
  ctx: { stats?: CgroupStats; timedOut?: boolean; timeoutMs?: number; limits?: Limits } = {},
): EndReason {
  const { code, signal } = exit;
  if (ctx.timedOut)
    return {
      kind: "timeout",
      code,
      signal,
      message: `killed after the ${ctx.timeoutMs !== undefined ? `${ctx.timeoutMs} ms ` : ""}timeout`,
    };
  const oomKills = Math.max(ctx.stats?.memory?.oomKill ?? 0, ctx.stats?.memory?.oomGroupKill ?? 0);
  if (signal === "SIGKILL" && oomKills > 0) {
    const lim = ctx.limits?.memory;
    return {
      kind: "oom-kill",
      code,
      signal,
      message: `killed by the OOM killer: the memory limit${typeof lim === "number" ? ` of ${formatBytes(lim)}` : ""} was reached (${oomKills} OOM kill${oomKills === 1 ? "" : "s"} in the cgroup)`,
    };
  }
  if (signal !== null) return { kind: "signal", code, signal, message: `killed by ${signal}` };
  const note =
    oomKills > 0
      ? ` (the OOM killer killed ${oomKills} process${oomKills === 1 ? "" : "es"} in its cgroup)`
      : "";
  return { kind: "exit", code, signal, message: `exited with code ${code}${note}` };
}

/**
 * The record `forge run --json-status FILE` writes: why it ended and the final
 * stats (peak memory, CPU time, OOM kills, pids peak).
 *
 * @example
 * ```ts
 * import { endReason, runStatus } from "@forge/cgroups";
 * const exit = { code: 0, signal: null };
 * const stats = { pids: { current: 0, peak: 3 } };
 * JSON.stringify(runStatus(endReason(exit), stats, { pids: 32 }));
 * ```
 */
export function runStatus(
  reason: EndReason,
  stats: CgroupStats,
  limits: Limits = {},
): Record<string, unknown> {
  return {
    reason: reason.kind,
    message: reason.message,
    exitCode: reason.code,
    signal: reason.signal,
    memoryPeakBytes: stats.memory?.peak ?? null,
    memoryLimitHits: stats.memory?.limitHits ?? null,
    oomKills: stats.memory ? Math.max(stats.memory.oomKill, stats.memory.oomGroupKill ?? 0) : null,
    cpuUsec: stats.cpu?.usageUsec ?? null,
    cpuThrottledUsec: stats.cpu?.throttledUsec ?? null,
    pidsPeak: stats.pids?.peak ?? null,
    pidsLimitHits: stats.pids?.maxHits ?? null,
    io: stats.io ?? [],
    limits,
  };
}
