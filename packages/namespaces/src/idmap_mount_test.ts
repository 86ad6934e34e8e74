import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeLibc, openLibc, PR, type Step, SyscallError, spawn } from "@forge/libc";
import { afterEach, describe, expect, it } from "vitest";
import { namespaceFlags } from "./flags.ts";
import { idMapPlan } from "./id_map.ts";
import {
  type IdmapMapping,
  idmapBindTree,
  idmapLines,
  idmapUserns,
  MOUNT_ATTR_IDMAP,
} from "./idmap_mount.ts";
import { type MountSpec, mountPlan } from "./mount_plan.ts";

const isRoot = process.getuid?.() === 0;
const AT_RECURSIVE = 0x8000;
const TARGET = { uid: 65534, gid: 65534 };

// ---- unit tests: a recording libc, no privileges ----

let nextFd = 200;
/** A fake libc whose statx says: a directory owned by uid:gid with `mode`, on mount 42. */
function fake(uid = 0, gid = 0, mode = 0o040755): FakeLibc {
  return new FakeLibc()
    .on("openat2", () => nextFd++)
    .on("open_tree", () => nextFd++)
    .on("statx", (args) => {
      const v = new DataView((args[4] as Uint8Array).buffer);
      v.setUint32(0, 0x1fff, true); // stx_mask: everything asked for
      v.setUint32(20, uid, true);
      v.setUint32(24, gid, true);
      v.setUint16(28, mode, true);
      v.setBigUint64(32, 7n, true);
      v.setUint32(136, 8, true);
      v.setUint32(140, 3, true);
      v.setBigUint64(144, 42n, true);
      return 0;
    });
}

/** The mount_setattr calls that set an idmap: [flags, attr_set, userns_fd]. */
function idmapCalls(libc: FakeLibc): [number, bigint, bigint][] {
  return libc
    .callsTo("mount_setattr")
    .map((c) => {
      const v = new DataView((c.args[3] as Uint8Array).buffer);
      return [c.args[2] as number, v.getBigUint64(0, true), v.getBigUint64(24, true)] as [
        number,
        bigint,
        bigint,
      ];
    })
    .filter(([, set]) => (set & BigInt(MOUNT_ATTR_IDMAP)) !== 0n);
}

const tmps: string[] = [];
const mounted: string[] = [];
afterEach(() => {
  // Every mount a test made goes first (even when it failed), then every directory.
  for (const m of mounted.splice(0).reverse()) spawnSync("umount", ["-l", m]);
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh root-owned directory (mode 0755 unless given), removed after the test. */
function tmpdir(mode = 0o755): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-idmap-"));
  tmps.push(d);
  fs.chmodSync(d, mode);
  return d;
}

/** A fake /proc whose self/mountinfo holds `lines`. */
function fakeProc(lines: string[]): string {
  const d = tmpdir();
  fs.mkdirSync(path.join(d, "self"));
  fs.writeFileSync(path.join(d, "self", "mountinfo"), `${lines.join("\n")}\n`);
  return d;
}

describe("idmapLines", () => {
  it("maps exactly one uid and one gid: the source's owner to the sandbox's host ids", () => {
    expect(idmapLines({ sourceUid: 0, sourceGid: 0, uid: 65534, gid: 65534 })).toEqual({
      uidMap: "0 65534 1\n",
      gidMap: "0 65534 1\n",
    });
    expect(idmapLines({ sourceUid: 1000, sourceGid: 100, uid: 65534, gid: 65533 })).toEqual({
      uidMap: "1000 65534 1\n",
      gidMap: "100 65533 1\n",
    });
    expect(() => idmapLines({ sourceUid: -1, sourceGid: 0, uid: 1, gid: 1 })).toThrow(
      /idmap sourceUid must be an integer/,
    );
  });
});

describe("idmapBindTree (recording libc)", () => {
  it("idmaps the whole detached tree with a namespace that maps only the source's owner", () => {
    const libc = fake(0, 0);
    const asked: IdmapMapping[] = [];
    const r = idmapBindTree(libc, 7, { fd: 5, path: "/srv/build" }, TARGET, {
      userns: (m) => {
        asked.push(m);
        return 99;
      },
    });
    expect(r).toEqual({ applied: "all", owner: { uid: 0, gid: 0 } });
    expect(asked).toEqual([{ sourceUid: 0, sourceGid: 0, uid: 65534, gid: 65534 }]);
    const calls = idmapCalls(libc);
    expect(calls).toHaveLength(1);
    const [flags, set, userns] = calls[0]!;
    expect(flags & AT_RECURSIVE).toBe(AT_RECURSIVE);
    expect(set).toBe(BigInt(MOUNT_ATTR_IDMAP)); // and nothing else: ro/nosuid/nodev stay as set
    expect(userns).toBe(99n);
    expect(libc.callsTo("mount_setattr")[0]!.args[0]).toBe(7); // the tree, not the source
    // The namespace's fd is closed once the mount holds it.
    expect(libc.callsTo("close").map((c) => c.args[0])).toEqual([99]);
  });

  it("does nothing for a source the sandbox's host user owns already", () => {
    const libc = fake(65534, 65534);
    const r = idmapBindTree(libc, 7, { fd: 5, path: "/x" }, TARGET, {
      userns: () => {
        throw new Error("not asked");
      },
    });
    expect(r).toEqual({ applied: "none", owner: { uid: 65534, gid: 65534 } });
    expect(libc.callsTo("mount_setattr")).toHaveLength(0);
  });

  it("leaves a sticky world-writable directory (/tmp) alone: the host's root trusts root's entries there", () => {
    const libc = fake(0, 0, 0o041777);
    const r = idmapBindTree(libc, 7, { fd: 5, path: "/tmp" }, TARGET, {
      userns: () => {
        throw new Error("not asked");
      },
    });
    expect(r.applied).toBe("none");
    expect(r.warning).toBeUndefined();
    expect(libc.callsTo("mount_setattr")).toHaveLength(0);
    // World-writable without the sticky bit: idmapped as any other.
    expect(
      idmapBindTree(fake(0, 0, 0o040777), 7, { fd: 5, path: "/w" }, TARGET, { userns: () => 9 })
        .applied,
    ).toBe("all");
  });

  it("falls back to the bind's own mount when a submount cannot, and names the submounts", () => {
    let n = 0;
    const libc = fake(0, 0).on("mount_setattr", () => (n++ === 0 ? -22 : 0)); // EINVAL, then fine
    const proc = fakeProc([
      "42 1 254:0 / /srv rw,relatime - ext4 /dev/vda rw",
      "43 42 0:50 / /srv/build/cache rw,relatime - nfs4 host:/c rw",
      "44 42 0:51 / /srv/other rw,relatime - nfs4 host:/o rw",
    ]);
    const r = idmapBindTree(
      libc,
      7,
      { fd: 5, path: "/srv/build", origin: "--bind /srv/build:/w" },
      TARGET,
      { userns: () => 9, procRoot: proc },
    );
    expect(r.applied).toBe("top");
    const calls = idmapCalls(libc);
    expect(calls.map(([f]) => f & AT_RECURSIVE)).toEqual([AT_RECURSIVE, 0]);
    expect(r.warning).toBe(
      "--bind /srv/build:/w: submounts of /srv/build are not idmapped (/srv/build/cache (nfs4): no idmapped mounts there, EINVAL); the sandbox writes there as host uid 65534, not as its owner (uid 0); use --id-map identity, or chown the source to 65534",
    );
  });

  it("falls back to no idmap where the filesystem cannot, saying which path, why, and what instead", () => {
    const libc = fake(0, 0).on("mount_setattr", () => -22); // EINVAL
    const proc = fakeProc(["42 1 0:60 / /mnt/ovl rw - overlay overlay rw,lowerdir=/l"]);
    const r = idmapBindTree(
      libc,
      7,
      { fd: 5, path: "/mnt/ovl/src", origin: "--bind /mnt/ovl/src:/w" },
      TARGET,
      { userns: () => 9, procRoot: proc },
    );
    expect(r.applied).toBe("none");
    expect(r.warning).toBe(
      "--bind /mnt/ovl/src:/w: no idmapped mount for /mnt/ovl/src: overlay (mounted at /mnt/ovl) does not support idmapped mounts on this kernel (EINVAL); the sandbox writes there as host uid 65534, not as its owner (uid 0); use --id-map identity, or chown the source to 65534",
    );
    expect(libc.callsTo("close").map((c) => c.args[0])).toEqual([9]);
  });

  it("names an old kernel, a refused mount and a namespace it could not make", () => {
    const old = idmapBindTree(
      fake().on("mount_setattr", () => -38), // ENOSYS
      7,
      { fd: 5, path: "/s" },
      TARGET,
      { userns: () => 9 },
    );
    expect(old.warning).toMatch(
      /^the bind of \/s: no idmapped mount for \/s: this kernel has no mount_setattr \(idmapped mounts need Linux 5\.12\+\); .*--id-map identity/,
    );
    const refused = idmapBindTree(
      fake().on("mount_setattr", () => -1), // EPERM
      7,
      { fd: 5, path: "/s" },
      TARGET,
      { userns: () => 9, procRoot: fakeProc([]) },
    );
    expect(refused.warning).toMatch(
      /the kernel refused \(EPERM\): its filesystem is idmapped already/,
    );
    const nons = idmapBindTree(fake(), 7, { fd: 5, path: "/s" }, TARGET, {
      userns: () => {
        throw new SyscallError("clone", 1, [], "clone the child");
      },
    });
    expect(nons.applied).toBe("none");
    expect(nons.warning).toMatch(/cannot create its user namespace \(EPERM\); .*--id-map identity/);
  });
});

describe("mountPlan with idmap (recording libc)", () => {
  const base = { dev: false, proc: false, sources: "parent-clone" as const };

  it("idmaps read-write binds only: never read-only ones or device nodes", () => {
    const src = tmpdir();
    const libc = fake(0, 0);
    const p = mountPlan(
      {
        ...base,
        binds: [
          { src, dst: "/rw" },
          { src, dst: "/ro", readonly: true },
          { src, dst: "/dev-like", devices: true },
        ],
        idmap: TARGET,
      },
      { libc, userns: () => 77 },
    );
    try {
      expect(idmapCalls(libc)).toHaveLength(1);
      expect(p.mounts.filter((m) => m.kind === "bind").map((m) => [m.path, m.idmapped])).toEqual([
        ["/rw", "all"],
        ["/ro", undefined],
        ["/dev-like", undefined],
      ]);
      expect(p.warnings).toEqual([]);
    } finally {
      p.close();
    }
  });

  it("makes no idmap without the option (rootless, identity maps) and says when it cannot", () => {
    const src = tmpdir();
    const libc = fake(0, 0);
    const none = mountPlan({ ...base, binds: [{ src, dst: "/rw" }] }, { libc });
    none.close();
    expect(idmapCalls(libc)).toHaveLength(0);
    expect(none.warnings).toEqual([]);
    const verify = mountPlan(
      { ...base, sources: "child-verify", binds: [{ src, dst: "/rw" }], idmap: TARGET },
      { libc, userns: () => 77 },
    );
    verify.close();
    expect(idmapCalls(libc)).toHaveLength(0);
    expect(verify.warnings).toEqual([
      'read-write binds are not idmapped with sources "child-verify" (only the parent, as root, can idmap a mount): the sandbox writes there as host uid 65534; use sources "parent-clone" or --id-map identity',
    ]);
  });

  it("carries the fallback warning of a bind into the plan", () => {
    const src = tmpdir();
    const libc = fake(0, 0).on("mount_setattr", (args) =>
      new DataView((args[3] as Uint8Array).buffer).getBigUint64(0, true) & BigInt(MOUNT_ATTR_IDMAP)
        ? -22
        : 0,
    );
    const p = mountPlan(
      { ...base, binds: [{ src, dst: "/rw", origin: `--bind ${src}:/rw` }], idmap: TARGET },
      { libc, userns: () => 77, procRoot: fakeProc([]) },
    );
    p.close();
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(
      new RegExp(
        `^--bind ${src}:/rw: no idmapped mount for ${src}: its filesystem does not support idmapped mounts`,
      ),
    );
    expect(p.mounts.find((m) => m.path === "/rw")!.idmapped).toBeUndefined();
  });
});

// ---- the real kernel, as root ----

const SYSTEM: MountSpec["binds"] = ["/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin"]
  .filter((p) => fs.existsSync(p))
  .map((p) => ({ src: p, dst: p, readonly: true }));

/** Runs `script` as the facade would: id maps, reaper, mounts with idmapped rw binds. */
async function run(
  binds: NonNullable<MountSpec["binds"]>,
  script: string,
  opts: { uid?: number } = {},
): Promise<{ code: number; out: string; err: string; warnings: string[]; idmapped: string[] }> {
  const ids = idMapPlan({ uid: opts.uid ?? 0, gid: opts.uid ?? 0 });
  const mounts = mountPlan({
    binds: [...SYSTEM!, ...binds],
    tmpfs: [{ dst: "/tmp", size: "1m" }],
    idmap: { uid: ids.outsideUid, gid: ids.outsideGid },
  });
  try {
    const steps: Step[] = [
      ...ids.steps,
      { kind: "reaper", label: "become pid 1" },
      ...mounts.steps,
    ];
    const child = spawn({
      argv: ["/bin/sh", "-c", script],
      env: { PATH: "/usr/bin:/bin", HOME: "/tmp" },
      cloneFlags: namespaceFlags(),
      steps,
      lateSteps: [
        { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
      ],
      beforeStart: ids.beforeStart,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const closed = (s: NodeJS.ReadableStream) => new Promise((r) => s.on("close", r));
    const [st] = await Promise.all([child.wait(), closed(child.stdout!), closed(child.stderr!)]);
    return {
      code: st.exitCode,
      out,
      err,
      warnings: mounts.warnings,
      idmapped: mounts.mounts.filter((m) => m.idmapped).map((m) => `${m.path}:${m.idmapped}`),
    };
  } finally {
    mounts.close();
  }
}

/** Mounts a fresh `fstype` on a new directory under `parent`; unmounted after the test. */
function mountFs(parent: string, name: string, fstype: string): string {
  const d = path.join(parent, name);
  fs.mkdirSync(d);
  execFileSync("mount", ["-t", fstype, "none", d]);
  mounted.push(d);
  fs.chmodSync(d, 0o755);
  return d;
}

describe.skipIf(!isRoot)("idmapped read-write binds on the real kernel (root)", () => {
  it("idmapUserns gives a user namespace fd", () => {
    const fd = idmapUserns({ sourceUid: 0, sourceGid: 0, uid: 65534, gid: 65534 });
    try {
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^user:\[\d+\]$/);
    } finally {
      openLibc().close(fd);
    }
  });

  it("a root-owned directory bound read-write: writes work, root's on the host, the sandbox's user inside", async () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, "old"), "x\n", { mode: 0o644 });
    const r = await run(
      [{ src: d, dst: "/w" }],
      "echo hi > /w/new && mkdir /w/sub && echo more >> /w/old && stat -c '%u:%g' /w /w/new /w/sub /w/old && id -u",
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual(["0:0", "0:0", "0:0", "0:0", "0"]);
    expect(r.idmapped).toEqual(["/w:all"]);
    expect(r.warnings).toEqual([]);
    for (const f of ["new", "sub"]) {
      const st = fs.statSync(path.join(d, f));
      expect([st.uid, st.gid]).toEqual([0, 0]);
    }
    expect(fs.readFileSync(path.join(d, "old"), "utf8")).toBe("x\nmore\n");
  });

  it("shows the source's owner as the sandbox's own user, whatever its uid inside", async () => {
    const d = tmpdir();
    const r = await run([{ src: d, dst: "/w" }], "touch /w/f && stat -c '%u:%g' /w /w/f && id -u", {
      uid: 1000,
    });
    expect(r.err).toBe("");
    expect(r.out.trim().split("\n")).toEqual(["1000:1000", "1000:1000", "1000"]);
    expect(fs.statSync(path.join(d, "f")).uid).toBe(0);
  });

  it("maps no other host id: another user's files stay out of reach, even for the sandbox's root", async () => {
    const d = tmpdir();
    const theirs = path.join(d, "theirs");
    fs.writeFileSync(theirs, "keep\n", { mode: 0o644 });
    fs.chownSync(theirs, 1234, 1234);
    const r = await run(
      [{ src: d, dst: "/w" }],
      [
        "stat -c '%u' /w/theirs",
        "echo no >> /w/theirs && echo WROTE",
        "touch /w/mine && chown 1234:1234 /w/mine && echo CHOWNED",
        "true",
      ].join("; "),
    );
    // The sandbox's root has every capability of its own user namespace here; still
    // the file of an unmapped host id is not its to write, nor an id to give away.
    expect(r.out).toBe("65534\n");
    expect(r.err).toMatch(/Permission denied/);
    expect(r.err).toMatch(/chown.*(Invalid argument|Operation not permitted)/);
    expect(fs.readFileSync(theirs, "utf8")).toBe("keep\n");
    const mine = fs.statSync(path.join(d, "mine"));
    expect([mine.uid, mine.gid]).toEqual([0, 0]);
  });

  // git is a CI requirement (.ci/run installs it): the test always runs.
  it('git status in a bound repository works without "dubious ownership"', async () => {
    const d = tmpdir();
    execFileSync("git", ["init", "-q", d]);
    fs.writeFileSync(path.join(d, "a"), "a\n");
    const r = await run(
      [{ src: d, dst: "/repo" }],
      "cd /repo && git status --porcelain && git add a && git status --porcelain",
    );
    expect(r.err).not.toMatch(/dubious/);
    expect(r.err).toBe("");
    expect(r.out).toBe("?? a\nA  a\n");
    expect(r.code).toBe(0);
    expect(fs.statSync(path.join(d, ".git", "index")).uid).toBe(0);
  });

  it("keeps a read-only bind read-only, and not idmapped (a root-only file stays unreadable)", async () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, "secret"), "s\n", { mode: 0o600 });
    const r = await run(
      [{ src: d, dst: "/r", readonly: true }],
      "stat -c '%u' /r; touch /r/x; cat /r/secret; true",
    );
    expect(r.out).toBe("65534\n");
    expect(r.err).toMatch(/Read-only file system/);
    expect(r.err).toMatch(/Permission denied/);
    expect(r.idmapped).toEqual([]);
    expect(fs.readdirSync(d)).toEqual(["secret"]);
  });

  it("leaves a sticky world-writable directory as it was: files there are the sandbox's host user's", async () => {
    const d = tmpdir(0o1777);
    const r = await run([{ src: d, dst: "/shared" }], "touch /shared/f && stat -c '%u' /shared");
    expect(r.err).toBe("");
    expect(r.out).toBe("65534\n");
    expect(r.idmapped).toEqual([]);
    expect(fs.statSync(path.join(d, "f")).uid).toBe(65534);
  });

  it("falls back with a message naming the path, the filesystem and --id-map identity (ramfs)", async () => {
    const d = mountFs(tmpdir(), "ram", "ramfs");
    const r = await run(
      [{ src: d, dst: "/w", origin: `--bind ${d}:/w` }],
      "ls -d /w && touch /w/x; true",
    );
    expect(r.warnings).toEqual([
      `--bind ${d}:/w: no idmapped mount for ${d}: ramfs (mounted at ${d}) does not support idmapped mounts on this kernel (EINVAL); the sandbox writes there as host uid 65534, not as its owner (uid 0); use --id-map identity, or chown the source to 65534`,
    ]);
    expect(r.idmapped).toEqual([]);
    // The bind is there as before, and as before the sandbox's root cannot write root's files.
    expect(r.out).toBe("/w\n");
    expect(r.err).toMatch(/Permission denied/);
  });

  it("idmaps the bind's own mount when a submount cannot, and names the submount", async () => {
    const d = tmpdir();
    const sub = mountFs(d, "ram", "ramfs");
    const r = await run([{ src: d, dst: "/w" }], "touch /w/top && echo TOP; touch /w/ram/x; true");
    expect(r.out).toBe("TOP\n");
    expect(r.err).toMatch(/Permission denied/);
    expect(r.idmapped).toEqual(["/w:top"]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(`submounts of ${d} are not idmapped (${sub} (ramfs)`);
    expect(fs.statSync(path.join(d, "top")).uid).toBe(0);
  });
});
