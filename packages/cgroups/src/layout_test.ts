import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { FakeCgroupFs } from "./fake_cgroupfs.ts";
import { defaultParentPath, describeCgroupLayout, detectCgroupLayout, mountDir } from "./layout.ts";

// This build host, as its /proc/self/mountinfo and /proc/self/cgroup read.
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/14b4
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;
const V2_MOUNTINFO =
  "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
const COMOUNT = `25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
26 24 0:23 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`;

let fake: FakeCgroupFs | undefined;
afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

describe("detectCgroupLayout", () => {
  it("recognises this host's hybrid layout and where our own cgroups are", () => {
    const l = detectCgroupLayout({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF, uid: 0 });
    expect(l.kind).toBe("hybrid");
    expect(l.v2?.mount).toBe("/sys/fs/cgroup/unified");
    expect(l.v1.memory).toMatchObject({
      mount: "/sys/fs/cgroup/memory",
      ownPath: "/process_api/14b4",
    });
    expect(l.v1.pids).toMatchObject({ mount: "/sys/fs/cgroup/pids", ownPath: "/" });
    expect(l.v1.cpu?.controllers).toEqual(["cpu"]);
    expect(Object.keys(l.v1).sort()).toEqual(
      ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"].sort(),
    );
    expect(l.self).toContainEqual({ id: 4, controllers: ["memory"], path: "/process_api/14b4" });
    expect(defaultParentPath(l, "v1", "memory")).toBe("/process_api/14b4/forge");
    expect(defaultParentPath(l, "v1", "pids")).toBe("/forge");
  });

  it("reads co-mounted v1 controllers and a mount rooted inside the hierarchy", () => {
    const l = detectCgroupLayout({
      mountinfo: COMOUNT,
      selfCgroup: "5:cpu,cpuacct:/\n4:memory:/docker/abc/inner\n",
      uid: 0,
    });
    expect(l.kind).toBe("v1");
    expect(l.v1.cpu).toBe(l.v1.cpuacct);
    expect(l.v1.cpu?.controllers).toEqual(["cpu", "cpuacct"]);
    const m = l.v1.memory!;
    expect(mountDir(m.mount, m.mountRoot, m.ownPath)).toBe("/sys/fs/cgroup/memory/inner");
    expect(mountDir(m.mount, m.mountRoot, "/other")).toBeNull();
  });

  it("a pure v2 host, and delegation decided by what this uid may write", () => {
    fake = FakeCgroupFs.create();
    const mi = V2_MOUNTINFO.replace("/sys/fs/cgroup", fake.root);
    fs.mkdirSync(`${fake.root}/user.slice`);
    for (const f of ["cgroup.procs", "cgroup.subtree_control", "cgroup.controllers"])
      fs.writeFileSync(
        `${fake.root}/user.slice/${f}`,
        f === "cgroup.controllers" ? "memory pids\n" : "",
      );
    const rootView = detectCgroupLayout({
      mountinfo: mi,
      selfCgroup: "0::/user.slice\n",
      uid: 0,
      fs: fake,
    });
    expect(rootView.kind).toBe("v2");
    expect(rootView.v2?.controllers).toContain("memory");
    expect(rootView.v2?.ownControllers).toEqual(["memory", "pids"]);
    expect(defaultParentPath(rootView, "v2")).toBe("/forge");
    expect(rootView.delegation.available).toBe(true);

    const user = detectCgroupLayout({
      mountinfo: mi,
      selfCgroup: "0::/user.slice\n",
      uid: 1000,
      fs: fake,
    });
    expect(defaultParentPath(user, "v2")).toBe("/user.slice/forge");
    expect(user.delegation.available).toBe(true);
    fake.denied.add(`${fake.root}/user.slice/cgroup.subtree_control`);
    const undelegated = detectCgroupLayout({
      mountinfo: mi,
      selfCgroup: "0::/user.slice\n",
      uid: 1000,
      fs: fake,
    });
    expect(undelegated.delegation).toEqual({
      available: false,
      reason: `not writable by uid 1000: ${fake.root}/user.slice/cgroup.subtree_control`,
    });
  });

  it("no cgroup filesystem", () => {
    const l = detectCgroupLayout({
      mountinfo: "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n",
      selfCgroup: "",
      uid: 0,
    });
    expect(l.kind).toBe("none");
    expect(l.delegation.available).toBe(false);
  });

  it("works on the real host", () => {
    const l = detectCgroupLayout();
    expect(["v2", "v1", "hybrid", "none"]).toContain(l.kind);
    expect(l.uid).toBe(process.getuid!());
  });
});

describe("describeCgroupLayout", () => {
  it("says what forge doctor shows", () => {
    const l = detectCgroupLayout({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF, uid: 0 });
    const lines = describeCgroupLayout(l);
    expect(lines[0]).toBe("cgroups: hybrid (v1 controllers plus a cgroup2 mount)");
    expect(lines).toContain(
      "  v1 memory at /sys/fs/cgroup/memory; this process in /process_api/14b4",
    );
    expect(lines.at(-1)).toMatch(/^ {2}delegation for uid 0: /);
  });
});
