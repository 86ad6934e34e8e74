import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeLibc, type Step, type SyscallStep } from "@forge/libc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkMountSpec, MountPlanError, mountPlan, parseBind, parseTmpfs } from "./mount_plan.ts";

const sys = (s: Step[]) => s as SyscallStep[];
const MS_PRIVATE = 1 << 18;
let tmp = "";
let nextFd = 100;
function fake(): FakeLibc {
  return new FakeLibc()
    .on("openat2", () => nextFd++)
    .on("open_tree", () => nextFd++)
    .on("statx", (args) => {
      const b = args[4] as Uint8Array;
      const v = new DataView(b.buffer);
      v.setUint16(28, 0o040755, true);
      v.setBigUint64(32, 0x1_0000_0007n, true);
      v.setUint32(136, 8, true);
      v.setUint32(140, 3, true);
      return 0;
    });
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-mp-"));
  fs.mkdirSync(path.join(tmp, "src"));
  fs.symlinkSync("src", path.join(tmp, "link"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("parseBind / parseTmpfs", () => {
  it("parses the CLI forms", () => {
    expect(parseBind("/a:/b:ro")).toEqual({ src: "/a", dst: "/b", readonly: true });
    expect(parseBind("/a:/b")).toEqual({ src: "/a", dst: "/b", readonly: false });
    expect(parseBind("/a")).toEqual({ src: "/a", dst: "/a", readonly: false });
    expect(parseTmpfs("/tmp:64m")).toEqual({ dst: "/tmp", size: "64m" });
    expect(parseTmpfs("/run")).toEqual({ dst: "/run" });
    expect(parseTmpfs("/s:1g:100k")).toEqual({ dst: "/s", size: "1g", inodes: 102400 });
    expect(parseTmpfs("/s:8m:500")).toEqual({ dst: "/s", size: "8m", inodes: 500 });
  });
  it("rejects relative paths, .. and bad sizes", () => {
    expect(() => parseBind("a:/b")).toThrow(/absolute/);
    expect(() => parseBind("/a:/b/../c")).toThrow(/"\.\."/);
    expect(() => parseBind("/a:/b:/c:ro")).toThrow(/SRC:DST/);
    expect(() => parseTmpfs("/tmp:lots")).toThrow(/size/);
    expect(() => parseTmpfs("/tmp:1m:0")).toThrow(
      'invalid tmpfs inode count in "/tmp:1m:0": tmpfs inodes "0": expected a whole number of inodes from 1',
    );
    expect(() => parseTmpfs("/tmp:1m:many")).toThrow(/inode count in "\/tmp:1m:many"/);
    expect(() => parseTmpfs("/tmp:1m:5:x")).toThrow(/DST\[:SIZE\[:INODES\]\]/);
  });
});

describe("mountPlan (step inspection)", () => {
  it("child-verify: re-opens each source without symlinks and compares inode and device", () => {
    const libc = fake();
    const p = mountPlan(
      {
        binds: [{ src: path.join(tmp, "src"), dst: "/data", readonly: true }],
        dev: false,
        proc: false,
        sources: "child-verify",
      },
      { libc },
    );
    const steps = sys(p.steps);
    expect(p.fds).toEqual([]);
    const open = steps.find((s) => s.label.startsWith("open bind source"))!;
    expect(open.syscall).toBe("openat2");
    const how = (open.args[2] as { bytes: Uint8Array }).bytes;
    expect(new DataView(how.buffer).getBigUint64(16, true)).toBe(0x06n); // NO_SYMLINKS | NO_MAGICLINKS
    const cmps = steps.filter((s) => s.syscall === "futex");
    expect(
      cmps.map((s) =>
        new DataView((s.args[0] as { bytes: Uint8Array }).bytes.buffer).getUint32(0, true),
      ),
    ).toEqual([7, 1, 8, 3]);
    expect(cmps.every((s) => s.optional)).toBe(true);
    const checks = steps.filter((s) => s.syscall === "close_range");
    expect(checks).toHaveLength(4);
    expect(checks[0]!.args[1]).toBe(-110 >>> 0);
    const setattr = steps.find(
      (s) => s.syscall === "mount_setattr" && s.label.includes("clone of"),
    )!;
    expect(setattr.label).toBe(`set ro,nosuid,nodev on the clone of ${path.join(tmp, "src")}`);
    const attr = (setattr.args[3] as { bytes: Uint8Array }).bytes;
    expect(new DataView(attr.buffer).getBigUint64(16, true)).toBe(BigInt(MS_PRIVATE));
    expect(steps[0]!.label).toBe("make the old mount tree private (recursive)");
    expect(steps[0]!.args[3]).toBe(0x4000 | MS_PRIVATE); // MS_REC | MS_PRIVATE, before any mount
  });

  it("parent-clone: the parent clones and seals the tree; the child only attaches it", () => {
    const libc = fake();
    const p = mountPlan(
      {
        binds: [{ src: path.join(tmp, "src"), dst: "/data" }],
        dev: false,
        proc: false,
        sources: "parent-clone",
      },
      { libc },
    );
    expect(libc.callsTo("open_tree")).toHaveLength(1);
    expect(libc.callsTo("mount_setattr")).toHaveLength(1);
    // The clone is made in the host's mount namespace: it must leave the host's peer
    // group (recursively) before the child attaches it.
    const [, , flags, attr] = libc.callsTo("mount_setattr")[0]!.args as [
      number,
      string,
      number,
      Uint8Array,
    ];
    expect(flags & 0x8000).toBe(0x8000); // AT_RECURSIVE
    expect(new DataView(attr.buffer).getBigUint64(16, true)).toBe(BigInt(MS_PRIVATE));
    expect(p.fds).toHaveLength(1);
    const attach = sys(p.steps).find((s) => s.label === `bind ${path.join(tmp, "src")} on /data`)!;
    expect(attach.syscall).toBe("move_mount");
    expect(attach.args[0]).toBe(p.fds[0]);
    expect(attach.args[4]).toBe(0x44); // F_EMPTY_PATH | T_EMPTY_PATH
    expect(libc.callsTo("close").length).toBeGreaterThan(0); // the O_PATH fd is closed, the tree kept
    p.close();
    expect(p.fds).toEqual([]);
  });

  it("creates every mount point component by component beneath the new root", () => {
    const p = mountPlan(
      { tmpfs: [{ dst: "/a/b/c", size: "1m" }], dev: false, proc: false },
      { libc: fake() },
    );
    const opens = sys(p.steps).filter((s) => s.syscall === "openat2");
    expect(opens.map((s) => (s.args[1] as { cstring: string }).cstring)).toEqual(["a", "b", "c"]);
    for (const o of opens)
      expect(
        new DataView((o.args[2] as { bytes: Uint8Array }).bytes.buffer).getBigUint64(16, true),
      ).toBe(0x0en);
    expect(opens[0]!.args[0]).toEqual({ result: "mnt.root" });
    expect(
      sys(p.steps).some(
        (s) => s.syscall === "fsconfig" && (s.args[3] as { cstring: string })?.cstring === "1m",
      ),
    ).toBe(true);
  });

  it("caps the inodes of every tmpfs it mounts", () => {
    const steps = sys(
      mountPlan(
        {
          tmpfs: [
            { dst: "/tmp", size: "64m" },
            { dst: "/small", size: "1m" },
            { dst: "/mine", size: "1m", inodes: 300 },
            { dst: "/dflt" },
          ],
          dev: true,
          proc: true,
        },
        { libc: fake() },
      ).steps,
    );
    const inodes = new Map<string, string>();
    for (const s of steps)
      if (s.syscall === "fsconfig" && (s.args[2] as { cstring?: string }).cstring === "nr_inodes")
        inodes.set(
          s.label.replace(/^set nr_inodes=\d+ on /, ""),
          (s.args[3] as { cstring: string }).cstring,
        );
    expect(Object.fromEntries(inodes)).toMatchObject({
      "the root tmpfs": "1024",
      "tmpfs for /tmp": "16384", // one per 4 KiB of size
      "tmpfs for /small": "1024", // the floor
      "tmpfs for /mine": "300",
      "tmpfs for /dflt": "16384", // 64m, the default size
      "tmpfs for /dev": "64",
      "tmpfs for /dev/shm": "16384",
    });
    // Every tmpfs the plan creates has a cap, masks included.
    const created = steps.filter(
      (s) => s.syscall === "fsopen" && (s.args[0] as { cstring: string }).cstring === "tmpfs",
    );
    const capped = steps.filter(
      (s) =>
        s.syscall === "fsconfig" && (s.args[2] as { cstring?: string }).cstring === "nr_inodes",
    );
    expect(capped).toHaveLength(created.length);
    expect(() =>
      mountPlan({ tmpfs: [{ dst: "/t", inodes: 0 }], dev: false, proc: false }, { libc: fake() }),
    ).toThrow('tmpfs on /t: tmpfs inodes "0": expected a whole number of inodes from 1');
  });

  it("orders pivot_root after the mounts and the read-only root last", () => {
    const steps = sys(mountPlan({ dev: true, proc: true }, { libc: fake() }).steps);
    const idx = (label: string) => steps.findIndex((s) => s.label === label);
    expect(idx("make the old mount tree private (recursive)")).toBe(0);
    expect(idx("attach procfs on /proc")).toBeLessThan(idx("pivot_root to the new root"));
    expect(idx("attach tmpfs on /dev")).toBeLessThan(idx("attach devpts on /dev/pts"));
    expect(idx("pivot_root to the new root")).toBeLessThan(idx("detach the old root"));
    expect(steps.at(-1)!.label).toBe("make the new root read-only");
    expect(steps.some((s) => s.label === "bind /proc/sys read-only over itself")).toBe(
      fs.existsSync("/proc/sys"),
    );
  });

  it("replicates a symlink source, refuses it on request, and rejects clashes and /", () => {
    const libc = fake();
    const p = mountPlan(
      { binds: [{ src: path.join(tmp, "link"), dst: "/l" }], dev: false, proc: false },
      { libc },
    );
    expect(p.mounts).toEqual([{ kind: "symlink", path: "/l", source: "src" }]);
    expect(() =>
      mountPlan(
        { binds: [{ src: path.join(tmp, "link"), dst: "/l", symlink: "refuse" }] },
        { libc },
      ),
    ).toThrow(MountPlanError);
    expect(() => mountPlan({ tmpfs: [{ dst: "/x" }, { dst: "/x/" }] }, { libc })).toThrow(
      /already used/,
    );
    expect(() => mountPlan({ tmpfs: [{ dst: "/" }] }, { libc })).toThrow(/cannot be \//);
    expect(() =>
      mountPlan({ binds: [{ src: path.join(tmp, "missing"), dst: "/m" }] }, { libc }),
    ).toThrow(/does not exist/);
  });
});

describe("checkMountSpec", () => {
  /** The MountPlanError a spec gets, from the check and from the plan (the same one). */
  function refusal(spec: Parameters<typeof checkMountSpec>[0]): MountPlanError {
    let checked: unknown;
    let planned: unknown;
    try {
      checkMountSpec(spec);
    } catch (e) {
      checked = e;
    }
    try {
      mountPlan(spec, { libc: fake() }).close();
    } catch (e) {
      planned = e;
    }
    expect(checked).toBeInstanceOf(MountPlanError);
    expect((planned as Error).message).toBe((checked as Error).message);
    return checked as MountPlanError;
  }

  it("names both mounts of a clash, and which entry is at fault", () => {
    const e = refusal({
      binds: [
        { src: tmp, dst: "/usr" },
        { src: path.join(tmp, "src"), dst: "/usr/" },
      ],
    });
    expect(e.message).toBe(
      `bind destination /usr (the bind of ${path.join(tmp, "src")}) is already used by the bind of ${tmp}; give each mount its own destination`,
    );
    expect(e.item).toEqual({ list: "binds", index: 1, field: "dst" });
    expect(refusal({ binds: [{ src: tmp, dst: "/proc" }] }).message).toBe(
      `mount point /proc (the fresh /proc) is already used by the bind of ${tmp}; give each mount its own destination`,
    );
    expect(refusal({ binds: [{ src: tmp, dst: "/dev/null" }] }).message).toBe(
      `device node /dev/null (the minimal /dev's /dev/null) is already used by the bind of ${tmp}; give each mount its own destination`,
    );
    expect(refusal({ tmpfs: [{ dst: "/t" }, { dst: "/t" }] }).item).toEqual({
      list: "tmpfs",
      index: 1,
      field: "dst",
    });
  });

  it("refuses what the plan refuses, before any source is opened", () => {
    expect(refusal({ binds: [{ src: tmp, dst: "/usr/../etc" }] }).item).toEqual({
      list: "binds",
      index: 0,
      field: "dst",
    });
    expect(refusal({ binds: [{ src: "/usr/../etc", dst: "/x" }] }).item).toEqual({
      list: "binds",
      index: 0,
      field: "src",
    });
    expect(refusal({ tmpfs: [{ dst: "/" }] }).message).toMatch(/cannot be \//);
    expect(refusal({ tmpfs: [{ dst: "/t", size: "1m", inodes: 0 }] }).item).toEqual({
      list: "tmpfs",
      index: 0,
      field: "inodes",
    });
    expect(() =>
      checkMountSpec({ binds: [{ src: tmp, dst: "/a" }], tmpfs: [{ dst: "/b" }] }),
    ).not.toThrow();
  });

  it("refuses a tmpfs of size 0 (no limit at all to the kernel), inodes given or not", () => {
    expect(refusal({ tmpfs: [{ dst: "/t", size: "0", inodes: 100 }] }).item).toEqual({
      list: "tmpfs",
      index: 0,
      field: "size",
    });
    expect(() => parseTmpfs("/x:0:100")).toThrow(
      'invalid tmpfs size in "/x:0:100": expected at least one byte: bytes or a number with k, m, g or % (e.g. /tmp:64m)',
    );
    expect(() => parseTmpfs("/x:0")).toThrow(/at least one byte/);
  });
});
