import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { AuditLog, Policy } from "@forge/policy";
import { describe, expect, it } from "vitest";
import { compileC, useHostFixtures } from "./_test_wasm.ts";
import { CASES } from "./conformance_cases.ts";
import { RIGHTS, type TimeOps, WASI_FUNCTIONS, WasiHost, type WasiTimeSpec } from "./wasi.ts";
import { WASI_ERRNO } from "./wasi_errno.ts";
import type { WasmHost } from "./wasm_host.ts";

const EXPECTED = `argc=3
argv[0]=conformance
argv[1]=alpha
argv[2]=beta
FOO=bar
HOME=unset
stdin: line1
stdin: line2
seek+read=world
tell=11
end=17
seek -1 -> Invalid argument
pread=HELLO
fstat size=17 reg=1 nlink=1
ftruncate(fd, 4) -> 0
truncated size=4
fsync(fd) -> 0
fdatasync(fd) -> 0
fadvise -> 0
fallocate -> 0
allocated size=100
futimens(fd, ts) -> 0
futimens mtime=1200000000
after append size=101
excl -> File exists
missing -> No such file or directory
utimensat(AT_FDCWD, "/sandbox/a.txt", ts, 0) -> 0
utimensat mtime=1300000000 atime=1000000000
mkdir("/sandbox/d", 0755) -> 0
mkdir("/sandbox/d", 0755) -> File exists
readdir /sandbox/d: . .. x y
rename("/sandbox/d/x", "/sandbox/d/z") -> 0
readdir /sandbox/d: . .. y z
link("/sandbox/d/z", "/sandbox/d/hard") -> 0
nlink=2
symlink("z", "/sandbox/d/sym") -> 0
readlink=1 z
lstat islink=1
stat via link isreg=1
open nofollow -> Symbolic link loop
rmdir("/sandbox/d") -> Directory not empty
unlink("/sandbox/d/sym") -> 0
unlink("/sandbox/d/hard") -> 0
unlink("/sandbox/d/z") -> 0
unlink("/sandbox/d/y") -> 0
unlink("/sandbox/d/y") -> No such file or directory
rmdir("/sandbox/d") -> 0
rmdir("/sandbox/d") -> No such file or directory
mkdir("/sandbox/sub/deep", 0755) -> No such file or directory
mkdir("/sandbox/sub", 0755) -> 0
mkdir("/sandbox/sub/deep", 0755) -> 0
openat relative=HELL
ro read=read only data
ro create -> Read-only file system
ro write -> Bad file descriptor
ro mkdir -> Read-only file system
ro unlink -> Read-only file system
slept>=20ms=1
realtime after 2020=1
getres=1
cputime ok=1
poll=1 revents_out=1
random differs=1
sched_yield=0
renumber=0
closed old=1
drop rights=0
raise rights=1
read without right -> Bad file descriptor
set_flags=0
prestat 3=/sandbox
sock_send stdout=1
sock_shutdown=1
sock_accept=1
sock_recv=1
raise 0=0
`;

const ESCAPE_EXPECTED = `dotdot: Capabilities insufficient
deep dotdot: Capabilities insufficient
absolute symlink: Capabilities insufficient
relative symlink out: Capabilities insufficient
symlink chain out: Capabilities insufficient
symlink to file out: Capabilities insufficient
inner symlink: OPENED (ok
)
raw absolute: 76
raw dotdot: 76
openat dotdot from subdir: Capabilities insufficient
stat through abs link: Capabilities insufficient
lstat abs link: OK
symlink absolute target: Capabilities insufficient
symlink escaping target: Capabilities insufficient
symlink inner target: OK
hard link from outside: Capabilities insufficient
hard link through abs symlink: Capabilities insufficient
hard link ro to rw: Read-only file system
rename out: Capabilities insufficient
rename in: Capabilities insufficient
mkdir out: Capabilities insufficient
unlink out: Capabilities insufficient
unlink through symlink dir: Capabilities insufficient
create through dangling out link: Capabilities insufficient
`;

const fx = useHostFixtures();
const newHost = fx.newHost;

/** Runs a command module with stdio on files; returns exit code, stdout, stderr. */
async function runCaptured(host: WasmHost, name: string, stdin = "") {
  const fin = path.join(fx.work, "stdin");
  const fout = path.join(fx.work, "stdout");
  const ferr = path.join(fx.work, "stderr");
  fs.writeFileSync(fin, stdin);
  const fds = [fs.openSync(fin, "r"), fs.openSync(fout, "w"), fs.openSync(ferr, "w")] as const;
  try {
    const r = await host.run(name, { wasi: { stdio: [fds[0], fds[1], fds[2]] } });
    return { ...r, stdout: fs.readFileSync(fout, "utf8"), stderr: fs.readFileSync(ferr, "utf8") };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

function sandboxDirs() {
  const sb = path.join(fx.work, "sb");
  const ro = path.join(fx.work, "ro");
  const outside = path.join(fx.work, "outside");
  for (const d of [sb, ro, outside]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(ro, "data.txt"), "read only data\n");
  fs.writeFileSync(path.join(outside, "secret"), "OUTSIDE secret\n");
  return { sb, ro, outside };
}

describe("WASI preview1 conformance (C programs built with clang for wasm32-wasi)", () => {
  it("implements all 46 preview1 functions", () => {
    expect(new Set(WASI_FUNCTIONS).size).toBe(46);
  });

  it("runs the conformance program with the expected output, exit code and audit trail", async () => {
    const { sb, ro } = sandboxDirs();
    const audit = new AuditLog();
    const host = newHost({ audit });
    await host.loadModule("conformance", compileC("conformance"), {
      wasi: {
        args: ["conformance", "alpha", "beta"],
        env: { FOO: "bar" },
        preopens: [
          { host: sb, guest: "/sandbox" },
          { host: ro, guest: "/ro", readOnly: true },
        ],
      },
    });
    const r = await runCaptured(host, "conformance", "line1\nline2\n");
    expect(r.stdout).toBe(EXPECTED);
    expect(r.stderr).toBe("to stderr\n");
    expect(r.exitCode).toBe(7);
    expect(fs.readFileSync(path.join(ro, "data.txt"), "utf8")).toBe("read only data\n");
    expect(fs.readdirSync(ro)).toEqual(["data.txt"]);
    // Every call is in the trail; the trail verifies.
    const calls = new Set(
      audit
        .entries()
        .filter((e) => e.event.kind === "wasi")
        .map((e) => e.event.call as string),
    );
    for (const f of [
      "path_open",
      "fd_readdir",
      "path_rename",
      "path_link",
      "path_symlink",
      "path_readlink",
      "fd_seek",
      "fd_pread",
      "fd_pwrite",
      "poll_oneoff",
      "random_get",
      "clock_time_get",
      "proc_exit",
      "fd_renumber",
      "sock_send",
      "proc_raise",
    ]) {
      expect(calls, f).toContain(f);
    }
    expect(AuditLog.verify(audit.export(), { head: audit.head }).ok).toBe(true);
  });
});

describe("directory fds (issue 14)", () => {
  it("reopens a preopen with the rights fd_fdstat_get reports for it, as Rust's std does", async () => {
    // Before: EISDIR (the reported base rights had fd_allocate and fd_filestat_set_size,
    // which made an O_WRONLY open of a directory). Now a preopen reports wasmtime's
    // rights (directory operations only) and only fd_write makes a write open.
    const { sb } = sandboxDirs();
    const host = newHost();
    await host.loadModule("reopen", compileC("reopen_dir"), {
      wasi: { args: ["reopen"], preopens: [{ host: sb, guest: "/sandbox" }] },
    });
    const r = await runCaptured(host, "reopen", "");
    expect(r.stdout).toBe("reopen 0\nreaddir 0 entries\ncreate 0\nwrite 0 5\n");
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(sb, "made.txt"), "utf8")).toBe("made\n");
  });
});

describe("rights, open modes and path edge cases (the conformance corpus, in-process)", () => {
  // The corpus (conformance_test.ts) runs these programs through the CLI; here the same
  // programs and expectations run on an in-thread WasmHost, so a regression shows up in
  // the fast unit tests too. Each case was failing before its fix (see the corpus).
  for (const id of ["c/raw/links", "c/raw/readdir", "c/raw/prestat", "c/posix/files"]) {
    it(`${id} answers what the spec and wasmtime answer`, async () => {
      const c = CASES.find((x) => x.id === id)!;
      const sb = path.join(fx.work, "sb");
      fs.mkdirSync(sb);
      const name = c.program.replace(/\.c$/, "");
      const host = newHost();
      await host.loadModule(name, compileC(`conformance/c/${name}`, { out: `${name}.wasm` }), {
        wasi: { args: [name, ...(c.args ?? [])], preopens: [{ host: sb, guest: "/sb" }] },
      });
      const r = await runCaptured(host, name);
      expect(r.stdout).toBe(c.forge?.stdout ?? c.expect.stdout);
      expect(r.exitCode).toBe(c.expect.exit ?? 0);
    });
  }

  it("reports wasmtime's rights for a preopen and opens a directory for writing only with fd_write", () => {
    const sb = path.join(fx.work, "sb");
    fs.mkdirSync(sb);
    const wasi = new WasiHost({ preopens: [{ host: sb, guest: "/sb" }] });
    try {
      const mem = new WebAssembly.Memory({ initial: 1 });
      wasi.setMemory(mem);
      const w = wasi.imports().wasi_snapshot_preview1;
      const v = new DataView(mem.buffer);
      const R = RIGHTS;
      const dirBase =
        R.PATH_CREATE_DIRECTORY |
        R.PATH_CREATE_FILE |
        R.PATH_LINK_SOURCE |
        R.PATH_LINK_TARGET |
        R.PATH_OPEN |
        R.FD_READDIR |
        R.PATH_READLINK |
        R.PATH_RENAME_SOURCE |
        R.PATH_RENAME_TARGET |
        R.PATH_SYMLINK |
        R.PATH_REMOVE_DIRECTORY |
        R.PATH_UNLINK_FILE |
        R.PATH_FILESTAT_GET |
        R.PATH_FILESTAT_SET_TIMES |
        R.FD_FILESTAT_GET |
        R.FD_FILESTAT_SET_TIMES;
      const fileRights =
        R.FD_DATASYNC |
        R.FD_READ |
        R.FD_SEEK |
        R.FD_FDSTAT_SET_FLAGS |
        R.FD_SYNC |
        R.FD_TELL |
        R.FD_WRITE |
        R.FD_ADVISE |
        R.FD_ALLOCATE |
        R.FD_FILESTAT_GET |
        R.FD_FILESTAT_SET_SIZE |
        R.FD_FILESTAT_SET_TIMES |
        R.POLL_FD_READWRITE;
      expect(w.fd_fdstat_get!(3, 0)).toBe(0);
      const base = v.getBigUint64(8, true);
      const inh = v.getBigUint64(16, true);
      expect(base).toBe(BigInt(dirBase));
      expect(inh).toBe(BigInt(dirBase | fileRights));
      new Uint8Array(mem.buffer).set([46], 100); // "."
      const open = (oflags: number, b: bigint, i: bigint) =>
        w.path_open!(3, 0, 100, 1, oflags, b, i, 0, 200);
      // Reopening with the reported rights (what Rust programs do) is a read-only open.
      expect(open(2, base, inh)).toBe(0);
      expect(open(0, 0n, 0n)).toBe(0);
      // fd_write on a directory: EISDIR, as POSIX, wasmtime and wasi-testsuite have it.
      expect(open(2, BigInt(R.FD_READ | R.FD_WRITE), 0n)).toBe(WASI_ERRNO.EISDIR);
      expect(open(2 | 1, 0n, 0n)).toBe(WASI_ERRNO.EINVAL);
    } finally {
      wasi.close();
    }
  });
});

describe("preopen escapes", () => {
  it("refuses every route out of a preopen and audits the attempts", async () => {
    const { sb, ro, outside } = sandboxDirs();
    fs.mkdirSync(path.join(sb, "sub"));
    fs.mkdirSync(path.join(sb, "real"));
    fs.writeFileSync(path.join(sb, "real", "ok"), "ok\n");
    fs.symlinkSync(outside, path.join(sb, "abs_link"));
    fs.symlinkSync("../outside", path.join(sb, "rel_link"));
    fs.symlinkSync("chain2", path.join(sb, "chain1"));
    fs.symlinkSync("sub/../../outside", path.join(sb, "chain2"));
    fs.symlinkSync(path.join(outside, "secret"), path.join(sb, "file_link"));
    fs.symlinkSync("real", path.join(sb, "inner_link"));
    fs.symlinkSync(path.join(outside, "created"), path.join(sb, "dangling_out"));
    const audit = new AuditLog();
    const host = newHost({ audit });
    await host.loadModule("escape", compileC("escape"), {
      wasi: {
        args: ["escape"],
        preopens: [
          { host: sb, guest: "/sandbox" },
          { host: ro, guest: "/ro", readOnly: true },
        ],
      },
    });
    const r = await runCaptured(host, "escape");
    expect(r.stdout).toBe(ESCAPE_EXPECTED);
    expect(fs.readdirSync(outside)).toEqual(["secret"]);
    expect(fs.readFileSync(path.join(outside, "secret"), "utf8")).toBe("OUTSIDE secret\n");
    expect(fs.existsSync(path.join(sb, "sub"))).toBe(true);
    const escapes = audit.entries().filter((e) => e.event.kind === "wasi.escape");
    expect(escapes.length).toBeGreaterThanOrEqual(15);
    const denied = audit
      .entries()
      .filter((e) => e.event.kind === "wasi" && e.event.errno === "ENOTCAPABLE");
    expect(denied.length).toBeGreaterThanOrEqual(15);
  });

  it("never reads outside while a symlink is swapped in and out during the calls", async () => {
    const { sb, outside } = sandboxDirs();
    const swap = path.join(sb, "swap");
    fs.mkdirSync(swap);
    fs.writeFileSync(path.join(swap, "secret"), "INSIDE\n");
    const script = `
      const fs = require("fs");
      const [swap, real, outside] = process.argv.slice(1);
      process.on("SIGTERM", () => process.exit(0));
      for (;;) {
        try { fs.renameSync(swap, real); fs.symlinkSync(outside, swap); fs.unlinkSync(swap); fs.renameSync(real, swap); } catch {}
      }`;
    const child = spawn(process.execPath, ["-e", script, swap, path.join(sb, ".real"), outside], {
      stdio: "ignore",
    });
    try {
      const host = newHost();
      await host.loadModule("race", compileC("swap_race"), {
        wasi: { args: ["race"], preopens: [{ host: sb, guest: "/sandbox" }] },
      });
      const r = await runCaptured(host, "race");
      expect(r.stdout).toBe("leaks=0\n");
      const m = /inside=(\d+) refused=(\d+)/.exec(r.stderr)!;
      expect(Number(m[1]) + Number(m[2])).toBe(4000);
    } finally {
      child.kill("SIGKILL");
      await new Promise((res) => child.once("exit", res));
    }
  });

  it("refuses a directory fd whose directory was renamed out of the preopen", async () => {
    const { sb, outside } = sandboxDirs();
    fs.mkdirSync(path.join(sb, "d1"));
    fs.writeFileSync(path.join(sb, "d1", "secret"), "in d1\n");
    fs.writeFileSync(path.join(sb, "top.txt"), "top\n");
    const audit = new AuditLog();
    const host = newHost({ audit });
    await host.loadModule("r", compileC("reactor", { reactor: true }), {
      wasi: { preopens: [{ host: sb, guest: "/sandbox" }] },
    });
    expect(await host.call("r", "open_dir")).toBeGreaterThan(2);
    expect(await host.call("r", "read_via_dir")).toBe(1);
    expect(await host.call("r", "parent_via_dir")).toBe(1);
    fs.renameSync(path.join(sb, "d1"), path.join(outside, "d1"));
    expect(await host.call("r", "read_via_dir")).toBe(-1);
    expect(await host.call("r", "parent_via_dir")).toBe(-1);
    expect(
      audit
        .entries()
        .some((e) => e.event.kind === "wasi.escape" && /moved out/.test(String(e.event.reason))),
    ).toBe(true);
    fs.renameSync(path.join(outside, "d1"), path.join(sb, "d1"));
    expect(await host.call("r", "read_via_dir")).toBe(1);
  });
});

describe("policy on the bridge", () => {
  it("denies by rule, quarantines the subject and audits it", async () => {
    const audit = new AuditLog();
    const policy = new Policy(
      {
        version: 1,
        identities: [
          {
            id: "wasm:tool",
            trustLevel: "Limited",
            capabilities: { syscalls: ["*"], resources: ["**"] },
          },
        ],
        rules: [
          { id: "no-stdout", actions: ["fd_write"], resources: ["fd:1"], decision: "quarantine" },
        ],
      },
      { audit },
    );
    const host = newHost({ audit, policy });
    await host.loadModule("tool", compileC("limits"));
    const r = await runCaptured(host, "tool");
    expect(r.stdout).toBe("");
    expect(policy.quarantined("wasm:tool")?.reason).toMatch(/no-stdout/);
    const denial = audit
      .entries()
      .find((e) => e.event.kind === "wasi" && e.event.effect === "quarantine");
    expect(denial?.event).toMatchObject({
      call: "fd_write",
      resource: "fd:1",
      errno: "EPERM",
      rule: "rule:no-stdout",
    });
    // Quarantined: even args are refused now, so the program sees argc 0 and prints nothing.
    const again = await runCaptured(host, "tool");
    expect(again.stdout).toBe("");
    expect(
      audit.entries().some((e) => e.event.kind === "wasi" && e.event.rule === "quarantined"),
    ).toBe(true);
    expect(AuditLog.verify(audit.export()).ok).toBe(true);
  });

  it("records each call separately in every-call mode", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    await host.loadModule("tool", compileC("limits"), {
      wasi: { args: ["limits", "ok"], auditMode: "every-call" },
    });
    const r = await runCaptured(host, "tool");
    expect(r.stdout).toBe("ok\n");
    const wasi = audit.entries().filter((e) => e.event.kind === "wasi");
    expect(wasi.some((e) => e.event.count !== undefined)).toBe(false);
    expect(wasi.filter((e) => e.event.call === "args_get")).toHaveLength(1);
    expect(wasi.find((e) => e.event.call === "fd_write")?.event).toMatchObject({
      resource: "fd:1",
      effect: "allow",
      bytes: 3,
    });
  });
});

/** c/raw/nanos on a host without TimeOps: each time set to the nearest microsecond. */
const NANOS_WITHOUT_TIME_OPS = `set mtime: OK
mtime off by 211 ns
set atime via fd: OK
atime off by -333 ns, mtime changed by 0 ns
set both to whole microseconds: OK
atime 1500000000000001000 mtime 1600000000999999000
`;

describe("timestamps (fd_filestat_set_times, path_filestat_set_times)", () => {
  type Call =
    | ["utimensat", number, string, WasiTimeSpec, WasiTimeSpec, boolean]
    | ["futimens", number, WasiTimeSpec, WasiTimeSpec];

  /** A WasiHost on a fresh preopen /sb holding "f" and "link" -> "f", with recording TimeOps. */
  function timesHost(opts: { fail?: string; policy?: Policy } = {}) {
    const sb = path.join(fx.work, "sb");
    fs.mkdirSync(sb);
    fs.writeFileSync(path.join(sb, "f"), "x");
    fs.symlinkSync("f", path.join(sb, "link"));
    const calls: Call[] = [];
    const fail = (): void => {
      if (opts.fail) throw Object.assign(new Error(`fake: ${opts.fail}`), { code: opts.fail });
    };
    const timeOps: TimeOps = {
      utimensat: (dirFd, name, atime, mtime, nofollow) => {
        calls.push(["utimensat", dirFd, name, atime, mtime, nofollow]);
        fail();
      },
      futimens: (fd, atime, mtime) => {
        calls.push(["futimens", fd, atime, mtime]);
        fail();
      },
    };
    const wasi = new WasiHost({
      subject: "wasm:times",
      preopens: [{ host: sb, guest: "/sb" }],
      timeOps,
      policy: opts.policy,
    });
    const mem = new WebAssembly.Memory({ initial: 1 });
    wasi.setMemory(mem);
    const w = wasi.imports().wasi_snapshot_preview1;
    /** The guest path `p` at offset 100; its length. */
    const put = (p: string) => {
      new Uint8Array(mem.buffer).set(Buffer.from(p), 100);
      return Buffer.byteLength(p);
    };
    const setPath = (p: string, lookup: number, atim: bigint, mtim: bigint, fl: number) =>
      w.path_filestat_set_times!(3, lookup, 100, put(p), atim, mtim, fl);
    return { wasi, w, mem, put, setPath, calls, sb };
  }

  it("hands TimeOps the nanoseconds, NOW and unset times as utimensat takes them", () => {
    const { wasi, w, mem, put, setPath, calls, sb } = timesHost();
    try {
      expect(setPath("f", 0, 0n, 1234567890123456789n, 4 /* MTIM */)).toBe(0);
      expect(setPath("f", 0, 1111111111222222333n, 0n, 1 | 8 /* ATIM|MTIM_NOW */)).toBe(0);
      expect(setPath("f", 0, 0n, 0n, 2 /* ATIM_NOW */)).toBe(0);
      // A u64 above i64's range arrives as a negative BigInt: still the u64's seconds.
      expect(setPath("f", 0, 0n, -1n, 4)).toBe(0);
      // The name relative to the directory fd the resolver ended on: here the preopen's.
      const dirFd = (calls[0] as Extract<Call, ["utimensat", ...unknown[]]>)[1];
      expect(fs.readlinkSync(`/proc/self/fd/${dirFd}`)).toBe(fs.realpathSync(sb));
      expect(calls).toEqual([
        ["utimensat", dirFd, "f", "omit", { sec: 1234567890n, nsec: 123456789 }, true],
        ["utimensat", dirFd, "f", { sec: 1111111111n, nsec: 222222333 }, "now", true],
        ["utimensat", dirFd, "f", "now", "omit", true],
        ["utimensat", dirFd, "f", "omit", { sec: 18446744073n, nsec: 709551615 }, true],
      ]);
      // Through a file fd: futimens on its host fd.
      expect(
        w.path_open!(3, 0, 100, put("f"), 0, BigInt(RIGHTS.FD_FILESTAT_SET_TIMES), 0n, 0, 200),
      ).toBe(0);
      const fd = new DataView(mem.buffer).getUint32(200, true);
      calls.length = 0;
      expect(w.fd_filestat_set_times!(fd, 1500000000000001000n, 0n, 1 | 8)).toBe(0);
      expect(calls).toHaveLength(1);
      const [what, hostFd, a, m] = calls[0] as Extract<Call, ["futimens", ...unknown[]]>;
      expect([what, a, m]).toEqual(["futimens", { sec: 1500000000n, nsec: 1000 }, "now"]);
      expect(fs.fstatSync(hostFd).ino).toBe(fs.statSync(path.join(sb, "f")).ino);
    } finally {
      wasi.close();
    }
  });

  it("follows a final symlink in the resolver only, never in the kernel", () => {
    const { wasi, setPath, calls } = timesHost();
    try {
      const t = { sec: 1n, nsec: 2 };
      expect(setPath("link", 1 /* SYMLINK_FOLLOW */, 1000000002n, 1000000002n, 1 | 4)).toBe(0);
      expect(setPath("link", 0, 1000000002n, 1000000002n, 1 | 4)).toBe(0);
      expect(calls.map((c) => c.slice(2))).toEqual([
        ["f", t, t, true],
        ["link", t, t, true],
      ]);
    } finally {
      wasi.close();
    }
  });

  it("checks flags, rights and the policy before TimeOps, and maps their errors", () => {
    const policy = new Policy({
      version: 1,
      identities: [
        {
          id: "wasm:times",
          trustLevel: "Standard",
          capabilities: { syscalls: ["*"], resources: ["**"], apis: [] },
        },
      ],
      rules: [
        {
          id: "no-times-on-g",
          actions: ["path_filestat_set_times"],
          resources: ["/sb/g"],
          decision: "deny",
        },
      ],
    });
    const { wasi, setPath, calls } = timesHost({ policy });
    try {
      expect(setPath("f", 0, 0n, 0n, 1 | 2)).toBe(WASI_ERRNO.EINVAL);
      expect(setPath("f", 0, 0n, 0n, 4 | 8)).toBe(WASI_ERRNO.EINVAL);
      expect(setPath("g", 0, 0n, 0n, 2)).toBe(WASI_ERRNO.EACCES);
      expect(setPath("../f", 0, 0n, 0n, 2)).toBe(WASI_ERRNO.ENOTCAPABLE);
      // Both times unset: nothing to change, but a missing name is still ENOENT.
      expect(setPath("f", 0, 0n, 0n, 0)).toBe(0);
      expect(setPath("missing", 0, 0n, 0n, 0)).toBe(WASI_ERRNO.ENOENT);
      expect(calls).toEqual([]);
    } finally {
      wasi.close();
    }
    fs.rmSync(path.join(fx.work, "sb"), { recursive: true });
    const failing = timesHost({ fail: "EPERM" });
    try {
      expect(failing.setPath("f", 0, 0n, 5n, 4)).toBe(WASI_ERRNO.EPERM);
      expect(failing.calls).toHaveLength(1);
    } finally {
      failing.wasi.close();
    }
  });

  it("without TimeOps, sets the nearest microsecond (c/raw/nanos in-process)", async () => {
    const c = CASES.find((x) => x.id === "c/raw/nanos")!;
    const sb = path.join(fx.work, "sb");
    fs.mkdirSync(sb);
    const host = newHost();
    await host.loadModule("raw", compileC("conformance/c/raw", { out: "raw.wasm" }), {
      wasi: { args: ["raw", ...(c.args ?? [])], preopens: [{ host: sb, guest: "/sb" }] },
    });
    const r = await runCaptured(host, "raw");
    expect(r.stdout).toBe(NANOS_WITHOUT_TIME_OPS);
    expect(r.exitCode).toBe(0);
  });
});
