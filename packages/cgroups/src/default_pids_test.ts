// The default pids limit (issue 11, item 9): applied where a pids controller is usable,
// left out silently where not, replaced by an explicit pids limit; and the status line
// `forge doctor` prints. v2 against the fake tree; v1 on the real kernel (root).
import fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCgroup } from "./cgroup.ts";
import { DEFAULT_PIDS_LIMIT, defaultPidsStatus, pidsControllerOf } from "./default_pids.ts";
import { FakeCgroupFs } from "./fake_cgroupfs.ts";
import { detectCgroupLayout } from "./layout.ts";

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
const defaults = { pids: DEFAULT_PIDS_LIMIT };
const read = (p: string) => fake.read(p).trim();

describe("createCgroup's defaults on cgroup v2 (fake tree)", () => {
  it("with nothing else asked for, makes a cgroup with the default pids.max and no warning", async () => {
    expect(DEFAULT_PIDS_LIMIT).toBe(1024);
    const cg = make({}, { fs: fake, layout: fake.layout(), defaults });
    expect(cg.version).toBe("v2");
    expect(read(`${cg.v2Path}/pids.max`)).toBe("1024");
    expect(cg.limits).toEqual({ pids: 1024 });
    expect(cg.warnings).toEqual([]);
    expect(cg.placement().cgroupFd).toBeGreaterThan(2);
    await cg.dispose();
    expect(fake.exists(cg.v2Path!)).toBe(false);
  });

  it("adds the default to other limits, and an explicit pids limit replaces it", () => {
    const both = make({ memory: 64 * 2 ** 20 }, { fs: fake, layout: fake.layout(), defaults });
    expect(both.limits).toEqual({ memory: 64 * 2 ** 20, pids: 1024 });
    expect(read(`${both.v2Path}/pids.max`)).toBe("1024");
    const own = make({ pids: 32 }, { fs: fake, layout: fake.layout(), defaults });
    expect(read(`${own.v2Path}/pids.max`)).toBe("32");
    expect(own.limits).toEqual({ pids: 32 });
    const none = make({ pids: "max" }, { fs: fake, layout: fake.layout(), defaults });
    expect(read(`${none.v2Path}/pids.max`)).toBe("max");
  });

  it("without a pids controller: no cgroup for the default alone, and never a warning or an error", () => {
    fake.cleanup();
    fake = FakeCgroupFs.create({ controllers: ["cpu", "memory"] });
    r = fake.root;
    const alone = make({}, { fs: fake, layout: fake.layout(), defaults, mode: "strict" });
    expect(alone.version).toBe("none");
    expect(alone.paths).toEqual([]);
    expect(alone.warnings).toEqual([]);
    expect(alone.placement()).toEqual({});
    // Strict limits that hold still hold; the default is dropped without a word.
    const mem = make({ memory: 2 ** 26 }, { fs: fake, layout: fake.layout(), defaults });
    expect(mem.limits).toEqual({ memory: 2 ** 26 });
    expect(mem.warnings).toEqual([]);
  });

  it("rootless without delegation: nothing made, no warning, even in strict mode", () => {
    fake.mkdir(`${r}/user.slice`);
    fake.denied.add(`${r}/user.slice`);
    const layout = fake.layout("/user.slice", 1000);
    expect(layout.delegation.available).toBe(false);
    const cg = make({}, { fs: fake, layout, defaults, mode: "strict" });
    expect(cg.version).toBe("none");
    expect(cg.warnings).toEqual([]);
    expect(fake.exists(`${r}/user.slice/forge`)).toBe(false);
  });

  it("a cgroup that cannot get pids (shared with other processes): removed again, silently", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory");
    fake.mkdir(`${r}/svc`);
    fake.addProcess(process.pid, `${r}/svc`);
    fake.addProcess(4242, `${r}/svc`);
    const cg = make({}, { fs: fake, layout: fake.layout("/svc", 1000), defaults });
    expect(cg.version).toBe("none");
    expect(cg.warnings).toEqual([]);
    expect(fake.listDirs(`${r}/svc/forge`)).toEqual([]);
  });
});

describe("defaultPidsStatus (what forge doctor says)", () => {
  it("v2 as root: in force", () => {
    const s = defaultPidsStatus(fake.layout());
    expect(s).toMatchObject({ inForce: true, limit: 1024, version: "v2" });
    expect(s.detail).toBe(
      `pids.max 1024 in each sandbox's cgroup (cgroup v2 at ${r}); --pids N or --pids max replaces it`,
    );
    expect(s.fix).toBeUndefined();
  });

  it("v2 rootless without delegation: not in force, with the one-line fix", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory +pids");
    fake.mkdir(`${r}/user.slice`);
    fake.denied.add(`${r}/user.slice`);
    const s = defaultPidsStatus(fake.layout("/user.slice", 1000));
    expect(s.inForce).toBe(false);
    expect(s.detail).toMatch(/^not in force: uid 1000 may not create cgroups in cgroup v2 at /);
    expect(s.fix).toBe(
      "run forge in a delegated cgroup: systemd-run --user --scope -p Delegate=yes forge run ...",
    );
  });

  it("no pids controller, no cgroups at all", () => {
    fake.cleanup();
    fake = FakeCgroupFs.create({ controllers: ["memory"] });
    r = fake.root;
    const s = defaultPidsStatus(fake.layout());
    expect(s).toMatchObject({ inForce: false });
    expect(s.detail).toMatch(/^not in force: no pids controller/);
    expect(s.fix).toMatch(/CONFIG_CGROUP_PIDS/);
    const none = defaultPidsStatus(
      detectCgroupLayout({ mountinfo: "", selfCgroup: "0::/\n", uid: 0 }),
    );
    expect(none).toMatchObject({
      inForce: false,
      detail: "not in force: no cgroup filesystem is mounted",
      fix: "mount cgroup2 on /sys/fs/cgroup",
    });
  });

  it("a hybrid host: the v1 pids hierarchy owns the controller", () => {
    const layout = detectCgroupLayout({
      mountinfo: [
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
      ].join("\n"),
      selfCgroup: "8:pids:/\n0::/\n",
      uid: 0,
      fs: fake,
    });
    expect(pidsControllerOf(layout)).toBe("v1");
    const s = defaultPidsStatus(layout);
    expect(s.version).toBe("v1");
    expect(s.detail).toContain("the v1 pids hierarchy at /sys/fs/cgroup/pids");
  });
});

const realV1 =
  process.getuid?.() === 0 &&
  fs.existsSync("/sys/fs/cgroup/pids/cgroup.procs") &&
  pidsControllerOf(detectCgroupLayout()) === "v1";

describe.skipIf(!realV1)("the default on the real kernel (cgroup v1, root)", () => {
  it("puts pids.max 1024 on a cgroup made for the default alone, and the child joins it itself", async () => {
    const cg = createCgroup({}, { defaults });
    try {
      expect(cg.version).toBe("v1");
      expect(fs.readFileSync(`${cg.v1Paths.pids}/pids.max`, "utf8").trim()).toBe("1024");
      expect(cg.limits).toEqual({ pids: 1024 });
      expect(cg.warnings).toEqual([]);
      const p = cg.placement();
      expect(p.beforeStart).toBeUndefined();
      // One write of "0" to each hierarchy's tasks file, in the child.
      expect(p.steps!.length).toBe(new Set(Object.values(cg.v1Paths)).size);
      expect(p.steps!.every((s) => "syscall" in s && s.syscall === "write")).toBe(true);
    } finally {
      await cg.dispose();
    }
    for (const d of cg.paths) expect(fs.existsSync(d)).toBe(false);
  });
});
