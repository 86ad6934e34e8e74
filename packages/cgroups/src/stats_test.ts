import { describe, expect, it } from "vitest";
import type { CgroupFs } from "./cgroup_fs.ts";
import { readV1Stats } from "./stats.ts";

/** A read-only CgroupFs over a map of file contents. */
function filesFs(files: Record<string, string>): CgroupFs {
  const no = () => {
    throw Object.assign(new Error("read-only"), { code: "EACCES" });
  };
  return {
    read: (p) => {
      if (!(p in files)) throw Object.assign(new Error(`ENOENT ${p}`), { code: "ENOENT" });
      return files[p]!;
    },
    write: no,
    mkdir: no,
    rmdir: no,
    exists: (p) => p in files,
    listDirs: () => [],
    writable: () => false,
    openDir: no,
    close: () => {},
  };
}

describe("readV1Stats", () => {
  it("maps the v1 files to the common shape", () => {
    const cfs = filesFs({
      "/m/memory.usage_in_bytes": "1048576\n",
      "/m/memory.max_usage_in_bytes": "67108864\n",
      "/m/memory.failcnt": "31\n",
      "/m/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
      "/a/cpuacct.usage": "2500000\n",
      "/a/cpuacct.usage_user": "2000000\n",
      "/a/cpuacct.usage_sys": "500000\n",
      "/c/cpu.stat":
        "nr_periods 4\nnr_throttled 3\nthrottled_time 2000000\nnr_bursts 0\nburst_time 0\n",
      "/p/pids.current": "2\n",
      "/p/pids.peak": "32\n",
      "/p/pids.events": "max 118\n",
      "/b/blkio.throttle.io_service_bytes":
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 0\n8:0 Total 12288\nTotal 12288\n",
      "/b/blkio.throttle.io_serviced": "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
    });
    expect(
      readV1Stats(cfs, { memory: "/m", cpuacct: "/a", cpu: "/c", pids: "/p", blkio: "/b" }),
    ).toEqual({
      memory: { current: 1048576, peak: 67108864, limitHits: 31, oom: 0, oomKill: 1 },
      cpu: {
        usageUsec: 2500,
        userUsec: 2000,
        systemUsec: 500,
        nrPeriods: 4,
        nrThrottled: 3,
        throttledUsec: 2000,
      },
      pids: { current: 2, peak: 32, maxHits: 118 },
      io: [{ device: "8:0", rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 }],
    });
  });
  it("leaves out what is not mounted", () => {
    expect(readV1Stats(filesFs({ "/p/pids.current": "0\n" }), { pids: "/p" })).toEqual({
      pids: { current: 0 },
    });
  });
});
