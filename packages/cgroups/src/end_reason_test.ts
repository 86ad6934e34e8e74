import { describe, expect, it } from "vitest";
import { endReason, runStatus } from "./end_reason.ts";

const oomStats = { memory: { current: 0, peak: 67108864, limitHits: 5, oom: 1, oomKill: 1 } };

describe("endReason", () => {
  it("exit code", () => {
    expect(endReason({ code: 3, signal: null })).toMatchObject({
      kind: "exit",
      code: 3,
      message: "exited with code 3",
    });
  });
  it("signal", () => {
    expect(endReason({ code: null, signal: "SIGTERM" }, { stats: oomStats })).toMatchObject({
      kind: "signal",
      message: "killed by SIGTERM",
    });
  });
  it("OOM kill: SIGKILL while the cgroup recorded OOM kills", () => {
    const r = endReason(
      { code: null, signal: "SIGKILL" },
      { stats: oomStats, limits: { memory: 64 * 2 ** 20 } },
    );
    expect(r.kind).toBe("oom-kill");
    expect(r.message).toBe(
      "killed by the OOM killer: the memory limit of 64 MiB was reached (1 OOM kill in the cgroup)",
    );
    expect(endReason({ code: null, signal: "SIGKILL" }).kind).toBe("signal");
  });
  it("timeout wins", () => {
    expect(
      endReason(
        { code: null, signal: "SIGKILL" },
        { stats: oomStats, timedOut: true, timeoutMs: 500 },
      ),
    ).toMatchObject({
      kind: "timeout",
      message: "killed after the 500 ms timeout",
    });
  });
  it("an exit after a child was OOM-killed says so", () => {
    expect(endReason({ code: 1, signal: null }, { stats: oomStats }).message).toMatch(
      /OOM killer killed 1 process/,
    );
  });
  it("runStatus records the final stats", () => {
    const s = runStatus(endReason({ code: null, signal: "SIGKILL" }, { stats: oomStats }), {
      ...oomStats,
      cpu: { usageUsec: 1234 },
      pids: { current: 0, peak: 7, maxHits: 2 },
    });
    expect(s).toMatchObject({
      reason: "oom-kill",
      signal: "SIGKILL",
      memoryPeakBytes: 67108864,
      oomKills: 1,
      cpuUsec: 1234,
      pidsPeak: 7,
      pidsLimitHits: 2,
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
