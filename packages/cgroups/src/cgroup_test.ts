// createCgroup and CgroupHandle against the fake cgroup v2 tree: the v2 writer, its
// verification, strict and best-effort modes, delegation, stats, kill, freeze,
// dispose and stale reaping.
import fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCgroup } from "./cgroup.ts";
import { CgroupError } from "./cgroup_error.ts";
import type { CgroupFs } from "./cgroup_fs.ts";
import { FakeCgroupFs } from "./fake_cgroupfs.ts";
import { CLAWOS_LIMITS } from "./limits.ts";
import { processStartTime, reapStaleCgroups } from "./reap.ts";

let fake: FakeCgroupFs;
let r: string;
const handles: Array<{ disposeSync(): void }> = [];
beforeEach(() => {
  fake = FakeCgroupFs.create();
  r = fake.root;
});
afterEach(() => {
  for (const h of handles.splice(0)) h.disposeSync();
  fake.cleanup();
});
const make = (...args: Parameters<typeof createCgroup>) => {
  const h = createCgroup(...args);
  handles.push(h);
  return h;
};
const opts = (extra: object = {}) => ({ fs: fake, layout: fake.layout(), ...extra });
const read = (p: string) => fake.read(p).trim();
const catchErr = (fn: () => unknown): CgroupError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CgroupError) return e;
    throw e;
  }
  throw new Error("expected a CgroupError");
};

describe("createCgroup on cgroup v2 (fake tree)", () => {
  it("applies the clawos preset under /forge and places with a directory fd", async () => {
    const cg = make(CLAWOS_LIMITS, opts());
    expect(cg.version).toBe("v2");
    expect(cg.v2Path).toMatch(new RegExp(`^${r}/forge/forge-${process.pid}-\\d+-\\d+$`));
    expect(read(`${r}/cgroup.subtree_control`)).toBe("cpu io memory pids");
    expect(read(`${r}/forge/cgroup.subtree_control`)).toBe("cpu io memory pids");
    const d = cg.v2Path!;
    expect(read(`${d}/memory.max`)).toBe("268435456");
    expect(read(`${d}/memory.swap.max`)).toBe("0");
    expect(read(`${d}/memory.oom.group`)).toBe("1");
    expect(read(`${d}/cpu.max`)).toBe("50000 1000000");
    expect(read(`${d}/pids.max`)).toBe("32");
    expect(cg.limits).toEqual(CLAWOS_LIMITS);
    expect(cg.warnings).toEqual([]);
    const p = cg.placement();
    expect(p.beforeStart).toBeUndefined();
    expect(fs.readlinkSync(`/proc/self/fd/${p.cgroupFd}`)).toBe(d);
    await cg.dispose();
    expect(fake.exists(d)).toBe(false);
    expect(fake.exists(`${r}/forge`)).toBe(true);
    expect(() => fs.readlinkSync(`/proc/self/fd/${p.cgroupFd}`)).toThrow();
    await cg.dispose(); // idempotent
    expect(() => cg.placement()).toThrow(/disposed/);
  });

  it("writes every v2 file: memory.high, cpu.weight, io.max", () => {
    const cg = make(
      {
        memory: 64 * 2 ** 20,
        memoryHigh: 48 * 2 ** 20,
        cpuWeight: 50,
        io: [{ major: 8, minor: 0, rbps: 1048576, wiops: 100 }],
        oomGroupKill: false,
      },
      opts({ name: "job 1" }),
    );
    const d = cg.v2Path!;
    expect(d).toMatch(/-job_1$/);
    expect(read(`${d}/memory.high`)).toBe(String(48 * 2 ** 20));
    expect(read(`${d}/cpu.weight`)).toBe("50");
    expect(read(`${d}/io.max`)).toBe("8:0 rbps=1048576 wbps=max riops=max wiops=100");
    expect(read(`${d}/memory.oom.group`)).toBe("0");
  });

  it("strict: a value the kernel rejects throws a CgroupError naming the file, and leaves nothing behind", () => {
    const e = catchErr(() => make({ pids: 32, cpu: { quota: 500, period: 100000 } }, opts()));
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(
      /cannot set the CPU limit \(cpu\.max\): writing "500 100000" to .*cpu\.max failed with EINVAL/,
    );
    expect(fake.listDirs(`${r}/forge`)).toEqual([]);
    const e2 = catchErr(() => make({ io: [{ major: 9, minor: 9, wbps: 1 }] }, opts()));
    expect(e2.code).toBe("ENODEV");
  });

  it("best-effort: rejected limits become warnings, the rest applies", () => {
    const cg = make(
      { pids: 32, cpu: { quota: 500, period: 100000 } },
      opts({ mode: "best-effort" }),
    );
    expect(read(`${cg.v2Path}/pids.max`)).toBe("32");
    expect(cg.limits).toEqual({ pids: 32 });
    expect(cg.warnings).toHaveLength(1);
    expect(cg.warnings[0]).toMatch(/cpu\.max.*EINVAL.*best-effort: continuing without it/);
  });

  it("never pretends: a value that does not read back fails verification", () => {
    const liar: CgroupFs = {
      read: (p) => fake.read(p),
      write: (p, data) => {
        if (!p.endsWith("/pids.max")) fake.write(p, data); // a kernel that ignores the write
      },
      mkdir: (p) => fake.mkdir(p),
      rmdir: (p) => fake.rmdir(p),
      exists: (p) => fake.exists(p),
      listDirs: (p) => fake.listDirs(p),
      writable: (p) => fake.writable(p),
      openDir: (p) => fake.openDir(p),
      close: (fd) => fake.close(fd),
    };
    const e = catchErr(() => make({ pids: 32 }, { fs: liar, layout: fake.layout() }));
    expect(e.code).toBe("VERIFY");
    expect(e.message).toMatch(
      /the pids limit \(pids\.max\) did not hold: wrote "32" .* reads "max"/,
    );
  });

  it("swap without swap accounting: strict error, best-effort warning", () => {
    fake.cleanup();
    fake = FakeCgroupFs.create({ swapAccounting: false });
    r = fake.root;
    const e = catchErr(() => make({ memory: 2 ** 26, swap: 0 }, opts()));
    expect(e.code).toBe("UNSUPPORTED");
    expect(e.message).toMatch(/memory\.swap\.max does not exist/);
    const cg = make({ memory: 2 ** 26, swap: 0 }, opts({ mode: "best-effort" }));
    expect(cg.limits).toEqual({ memory: 2 ** 26 });
    expect(cg.warnings[0]).toMatch(/cannot limit swap/);
  });

  it("a controller the host lacks: strict error, best-effort warning", () => {
    fake.cleanup();
    fake = FakeCgroupFs.create({ controllers: ["cpu", "memory", "pids"] });
    r = fake.root;
    const e = catchErr(() => make({ io: [{ major: 8, minor: 0, wbps: 1 }] }, opts()));
    expect(e.code).toBe("UNSUPPORTED");
    expect(e.message).toMatch(/the io controller is not available/);
    const cg = make(
      { pids: 4, io: [{ major: 8, minor: 0, wbps: 1 }] },
      opts({ mode: "best-effort" }),
    );
    expect(cg.limits).toEqual({ pids: 4 });
  });

  it("rootless without delegation: strict says how to get it, best-effort runs without limits", () => {
    fake.mkdir(`${r}/user.slice`);
    fake.denied.add(`${r}/user.slice`);
    const layout = fake.layout("/user.slice", 1000);
    expect(layout.delegation.available).toBe(false);
    const e = catchErr(() => make(CLAWOS_LIMITS, { fs: fake, layout }));
    expect(e.code).toBe("NO_DELEGATION");
    expect(e.message).not.toMatch(/\n/);
    expect(e.message).toMatch(
      /uid 1000 has no delegated cgroup.*systemd-run --user --scope -p Delegate=yes forge run/,
    );
    const cg = make(CLAWOS_LIMITS, { fs: fake, layout, mode: "best-effort" });
    expect(cg.version).toBe("none");
    expect(cg.placement()).toEqual({});
    expect(cg.limits).toEqual({});
    expect(cg.warnings[0]).toMatch(/WITHOUT resource limits/);
  });

  it("a delegated user cgroup: Forge moves itself to a leaf to obey no-internal-processes", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory +pids +cpu");
    fake.mkdir(`${r}/user.slice`);
    fake.addProcess(process.pid, `${r}/user.slice`);
    fake.denied.add(`${r}/cgroup.subtree_control`); // above the delegation boundary
    const cg = make({ pids: 16 }, { fs: fake, layout: fake.layout("/user.slice", 1000) });
    expect(cg.v2Path).toMatch(new RegExp(`^${r}/user.slice/forge/forge-`));
    expect(read(`${r}/user.slice/forge-self/cgroup.procs`)).toBe(String(process.pid));
    expect(read(`${r}/user.slice/cgroup.subtree_control`)).toBe("cpu memory pids");
    expect(read(`${cg.v2Path}/pids.max`)).toBe("16");
  });

  it("a delegated cgroup shared with other processes: EBUSY explained", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+pids");
    fake.mkdir(`${r}/svc`);
    fake.addProcess(process.pid, `${r}/svc`);
    fake.addProcess(4242, `${r}/svc`);
    const e = catchErr(() => make({ pids: 16 }, { fs: fake, layout: fake.layout("/svc", 1000) }));
    expect(e.message).toMatch(/cannot enable the pids controller.*EBUSY.*no-internal-processes/);
  });

  it("a configurable parent", () => {
    const cg = make({ pids: 8 }, opts({ parent: "/sandboxes/tenant-a" }));
    expect(cg.v2Path).toMatch(new RegExp(`^${r}/sandboxes/tenant-a/forge-`));
    expect(read(`${r}/sandboxes/cgroup.subtree_control`)).toContain("pids");
  });

  it("stats read the v2 formats", () => {
    const cg = make({ memory: 2 ** 26 }, opts());
    const d = cg.v2Path!;
    fake.setFile(`${d}/memory.current`, "1048576\n");
    fake.setFile(`${d}/memory.peak`, "67108864\n");
    fake.setFile(
      `${d}/memory.events`,
      "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 1\n",
    );
    fake.setFile(
      `${d}/cpu.stat`,
      "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 3\nnr_throttled 2\nthrottled_usec 900\n",
    );
    fake.setFile(`${d}/pids.current`, "3\n");
    fake.setFile(`${d}/pids.peak`, "32\n");
    fake.setFile(`${d}/pids.events`, "max 7\n");
    fake.setFile(`${d}/io.stat`, "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    expect(cg.stats()).toEqual({
      memory: {
        current: 1048576,
        peak: 67108864,
        limitHits: 12,
        oom: 2,
        oomKill: 1,
        oomGroupKill: 1,
        swapCurrent: 0,
      },
      cpu: {
        usageUsec: 5000,
        userUsec: 4000,
        systemUsec: 1000,
        nrPeriods: 3,
        nrThrottled: 2,
        throttledUsec: 900,
      },
      pids: { current: 3, peak: 32, maxHits: 7 },
      io: [{ device: "8:0", rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 }],
    });
  });

  it("kill uses cgroup.kill; freeze and thaw use cgroup.freeze; dispose kills what is left", async () => {
    const cg = make({ pids: 8 }, opts());
    const d = cg.v2Path!;
    fake.addProcess(901, d);
    fake.addProcess(902, d);
    expect(cg.procs().sort()).toEqual([901, 902]);
    cg.freeze();
    expect(read(`${d}/cgroup.freeze`)).toBe("1");
    cg.thaw();
    expect(read(`${d}/cgroup.events`)).toMatch(/frozen 0/);
    cg.kill();
    expect(fake.killed.sort()).toEqual([901, 902]);
    fake.addProcess(903, d);
    await cg.dispose();
    expect(fake.killed).toContain(903);
    expect(fake.exists(d)).toBe(false);
  });

  it("reaps cgroups of Forge processes that are gone, and only those", () => {
    const me = processStartTime(process.pid)!;
    fake.write(`${r}/cgroup.subtree_control`, "+pids");
    fake.mkdir(`${r}/forge`);
    const dead = `${r}/forge/forge-99999999-12345-0`; // no such pid
    const reused = `${r}/forge/forge-${process.pid}-1-3-x`; // our pid, another start time
    const mine = `${r}/forge/forge-${process.pid}-${me}-77`;
    const other = `${r}/forge/not-forge`;
    for (const d of [dead, reused, mine, other]) fake.mkdir(d);
    fake.mkdir(`${dead}/nested`);
    fake.addProcess(5555, `${dead}/nested`);
    const removed = reapStaleCgroups({ fs: fake, layout: fake.layout() });
    expect(removed.sort()).toEqual([dead, reused].sort());
    expect(fake.killed).toEqual([5555]);
    expect(fake.exists(mine)).toBe(true);
    expect(fake.exists(other)).toBe(true);
  });
});

describe("--cgroup-parent directories (fake v2 tree)", () => {
  const dirs = () => fake.listDirs(r).sort();

  it("removes the parent directories it made once the last sandbox in them is gone", async () => {
    const a = make({ pids: 8 }, opts({ parent: "/made/by/forge" }));
    const b = make({ pids: 8 }, opts({ parent: "/made/by/forge" }));
    expect(fake.exists(`${r}/made/by/forge`)).toBe(true);
    await a.dispose();
    // b still lives there: nothing above it goes.
    expect(fake.exists(`${r}/made/by/forge`)).toBe(true);
    await b.dispose();
    expect(fake.exists(`${r}/made`)).toBe(false);
    expect(dirs()).toEqual([]);
  });

  it("keeps a parent that was there before, and anything someone else put in one it made", async () => {
    fake.mkdir(`${r}/mine`);
    const cg = make({ pids: 8 }, opts({ parent: "/mine/sub" }));
    fake.mkdir(`${r}/mine/sub/other`);
    await cg.dispose();
    expect(fake.exists(`${r}/mine/sub/other`)).toBe(true);
    fake.rmdir(`${r}/mine/sub/other`);
    const again = make({ pids: 8 }, opts({ parent: "/mine/sub" }));
    await again.dispose();
    expect(fake.exists(`${r}/mine/sub`)).toBe(false);
    expect(fake.exists(`${r}/mine`)).toBe(true);
  });

  it("removes what it made when the cgroup cannot be set up, and keeps the default parent", () => {
    catchErr(() =>
      make({ pids: 32, cpu: { quota: 500, period: 100000 } }, opts({ parent: "/bad/p" })),
    );
    expect(fake.exists(`${r}/bad`)).toBe(false);
    const cg = make({ pids: 8 }, opts());
    cg.disposeSync();
    expect(fake.exists(`${r}/forge`)).toBe(true);
  });

  it("makes the parent again when another run removed it between its mkdir and the leaf's", () => {
    fake.mkdir(`${r}/p`);
    let raced = false;
    // Another forge run, done with /p, removes it just before our leaf is made in it.
    const racing = new Proxy(fake, {
      get(target, key, receiver) {
        if (key === "mkdir")
          return (d: string) => {
            if (!raced && d.startsWith(`${r}/p/forge-`)) {
              raced = true;
              target.rmdir(`${r}/p`);
            }
            target.mkdir(d);
          };
        const v = Reflect.get(target, key, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as FakeCgroupFs;
    const cg = make({ pids: 8 }, { fs: racing, layout: fake.layout(), parent: "/p" });
    expect(raced).toBe(true);
    expect(cg.v2Path).toMatch(new RegExp(`^${r}/p/forge-`));
    cg.disposeSync();
    // Made again by this run: removed by it too.
    expect(fake.exists(`${r}/p`)).toBe(false);
  });
});
