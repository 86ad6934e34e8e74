import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tty from "node:tty";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CLONE } from "./constants.ts";
import { compileProgram } from "./program.ts";
import {
  encodeWindowSize,
  getTerminalMode,
  getWindowSize,
  openPty,
  openTerminalChannel,
  ptyIndex,
  rawTerminalMode,
  receiveTerminal,
  setTerminalMode,
  setWindowSize,
  TerminalError,
  terminalSteps,
} from "./pty.ts";
import { type ChildHandle, SpawnError, spawn } from "./spawn.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "../dist/mod.js");
const isRoot = process.getuid?.() === 0;
const NS = CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS;
/** The steps a sandbox starts with, as far as a terminal cares: a session, then PID 1. */
const REAPER = [
  { label: "new session", syscall: "setsid", args: [] },
  { kind: "reaper", label: "start forge-init" },
] as const;

/** A new devpts instance on /dev/pts and its ptmx on /dev/ptmx, as a sandbox's /dev has. */
const OWN_DEVPTS = [
  {
    label: "make every mount private",
    syscall: "mount",
    args: [0, { cstring: "/" }, 0, 0x4000 | 0x40000, 0],
  },
  {
    label: "mount a devpts of its own",
    syscall: "mount",
    args: [
      { cstring: "devpts" },
      { cstring: "/dev/pts" },
      { cstring: "devpts" },
      0,
      { cstring: "newinstance,ptmxmode=0666,mode=0620" },
    ],
  },
  {
    label: "bind its ptmx on /dev/ptmx",
    syscall: "mount",
    args: [{ cstring: "/dev/pts/ptmx" }, { cstring: "/dev/ptmx" }, 0, 0x1000, 0],
  },
] as const;

/** Everything the child wrote to its terminal, up to the end (EIO once all is closed). */
function readAll(master: number): Promise<string> {
  const s = new tty.ReadStream(master);
  let out = "";
  s.on("data", (d) => {
    out += d;
  });
  return new Promise((resolve) => {
    const done = () => {
      s.destroy(); // closes the master
      resolve(out);
    };
    s.once("end", done);
    s.once("error", done);
  });
}

async function run(child: ChildHandle): Promise<{ out: string; code: number }> {
  expect(child.terminal).toBeGreaterThan(2);
  const out = readAll(child.terminal!);
  const { exitCode } = await child.wait();
  return { out: await out, code: exitCode };
}

const fds = () => fs.readdirSync("/proc/self/fd").length;

/** The fd count once it is back to `n`: a failed child's pidfd closes when it is reaped. */
async function fdsSettle(n: number): Promise<number> {
  for (let i = 0; i < 200 && fds() !== n; i++) await new Promise((r) => setTimeout(r, 10));
  return fds();
}

describe("terminal helpers", () => {
  it("encodes a window size as struct winsize and checks it", () => {
    expect([...encodeWindowSize({ rows: 30, columns: 100 })]).toEqual([30, 0, 100, 0, 0, 0, 0, 0]);
    expect(() => encodeWindowSize({ rows: -1, columns: 80 })).toThrow(
      "window size: rows must be an integer from 0 to 65535, got -1",
    );
    expect(() => encodeWindowSize({ rows: 24, columns: 1.5 })).toThrow(RangeError);
  });

  it("makes a mode raw as cfmakeraw does, leaving the rest", () => {
    const t = new Uint8Array(36);
    const v = new DataView(t.buffer);
    v.setUint32(0, 0o2753 | 0o40000, true); // the cleared input flags, and IUTF8
    v.setUint32(4, 0o5, true); // OPOST | ONLCR
    v.setUint32(8, 0o400 | 0o20 | 0o2000, true); // PARENB | CS6 | HUPCL
    v.setUint32(12, 0o100000 | 0o10 | 0o2 | 0o1 | 0o100 | 0o1000, true); // ... | ECHOCTL
    t[17 + 0] = 3; // VINTR
    const raw = new DataView(rawTerminalMode(t).buffer);
    expect(raw.getUint32(0, true)).toBe(0o40000);
    expect(raw.getUint32(4, true)).toBe(0o4);
    expect(raw.getUint32(8, true)).toBe(0o60 | 0o2000);
    expect(raw.getUint32(12, true)).toBe(0o1000);
    expect([raw.getUint8(17), raw.getUint8(17 + 5), raw.getUint8(17 + 6)]).toEqual([3, 0, 1]);
    expect(t[17 + 6]).toBe(0); // a copy
    expect(() => rawTerminalMode(new Uint8Array(4))).toThrow("expected 36 bytes, got 4");
  });

  it("gives the child's terminal steps in order, before anything that could forbid them", () => {
    const steps = terminalSteps(7, { size: { rows: 24, columns: 80 } });
    expect(steps.map((s) => ("syscall" in s ? s.syscall : s.kind))).toEqual([
      "setsid",
      "openat",
      "ioctl",
      "ioctl",
      "ioctl",
      "ioctl",
      "dup3",
      "sendmsg",
      "close",
      "close",
      "dup3",
      "dup3",
      "dup3",
      "close",
    ]);
    expect(steps[0]).toMatchObject({ optional: true });
    expect(steps.slice(1).every((s) => !("optional" in s && s.optional))).toBe(true);
    expect(steps.find((s) => "syscall" in s && s.syscall === "sendmsg")).toMatchObject({
      args: [7, { pointers: [{ at: 32 }] }, 0x4000],
    });
    expect(terminalSteps(7)).toHaveLength(13); // no size: the kernel's 0x0
    expect(compileProgram(steps).opCount).toBe(14);
  });
});

describe.skipIf(!isRoot)("terminals (real kernel)", () => {
  // The first spawn opens what every later one shares (the exit watcher's channel, a
  // pidfd of this process): before any fd is counted.
  beforeAll(async () => {
    await spawn({ argv: ["/bin/true"] }).wait();
  });

  it("opens a pty here, sizes it, and reads and sets its mode", () => {
    const before = fds();
    const pty = openPty();
    try {
      expect(ptyIndex(pty.master)).toBe(pty.index);
      expect(ptyIndex(pty.slave)).toBeUndefined(); // TIOCGPTN: masters only
      expect(tty.isatty(pty.slave)).toBe(true);
      setWindowSize(pty.master, { rows: 40, columns: 132 });
      expect(getWindowSize(pty.slave)).toEqual({ rows: 40, columns: 132 });
      const saved = getTerminalMode(pty.slave)!;
      setTerminalMode(pty.slave, rawTerminalMode(saved));
      expect(getTerminalMode(pty.slave)).toEqual(rawTerminalMode(saved));
      setTerminalMode(pty.slave, saved);
      expect(getTerminalMode(pty.slave)).toEqual(saved);
      const [r, w] = [fs.openSync("/dev/null", "r"), fs.openSync("/dev/null", "w")];
      expect(getWindowSize(r)).toBeUndefined();
      expect(getTerminalMode(w)).toBeUndefined();
      fs.closeSync(r);
      fs.closeSync(w);
    } finally {
      fs.closeSync(pty.master);
      fs.closeSync(pty.slave);
    }
    expect(fds()).toBe(before);
  });

  it("gives a child its own terminal: a session it leads, its controlling terminal, its stdio", async () => {
    const before = fds();
    const child = spawn({
      argv: [
        "/bin/sh",
        "-c",
        "tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; cat /proc/self/stat; ls -1 /proc/self/fd",
      ],
      cloneFlags: NS,
      steps: [...REAPER],
      terminal: { size: { rows: 33, columns: 99 } },
    });
    const { out, code } = await run(child);
    expect(code).toBe(0);
    const lines = out.split("\r\n");
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(lines.slice(1, 3)).toEqual(["33 99", "all-tty"]);
    // cat's parent, the shell, leads the session; the terminal is its controlling one,
    // with the shell's group (cat's) in the foreground.
    const [, ppid, pgrp, session, ttyNr, tpgid] = lines[3]!
      .slice(lines[3]!.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    expect(session).toBe(ppid);
    expect(pgrp).toBe(session);
    expect(tpgid).toBe(pgrp);
    expect(ttyNr).not.toBe(0);
    // Only 0, 1, 2 and the directory ls reads: not the master, not the channel.
    expect(lines.slice(4)).toEqual(["0", "1", "2", "3", ""]);
    expect(await fdsSettle(before)).toBe(before);
  });

  it("makes the terminal in the child's own devpts, so that its name is right there", async () => {
    const child = spawn({
      argv: ["/bin/sh", "-c", "tty; ls -1 /dev/pts"],
      cloneFlags: NS,
      steps: [...REAPER, ...OWN_DEVPTS],
      terminal: {},
    });
    const index = ptyIndex(child.terminal!);
    const { out, code } = await run(child);
    expect(code).toBe(0);
    expect(index).toBe(0); // the first pty of a new instance
    expect(out).toBe("/dev/pts/0\r\n0\r\nptmx\r\n");
  });

  it("works without a reaper (the child leads its session already) and without namespaces", async () => {
    const a = await run(
      spawn({
        argv: ["/bin/sh", "-c", "tty >/dev/null && echo ok"],
        steps: [{ label: "new session", syscall: "setsid", args: [] }],
        terminal: {},
      }),
    );
    expect(a).toEqual({ out: "ok\r\n", code: 0 });
    const b = await run(spawn({ argv: ["/bin/sh", "-c", "exit 5"], terminal: {} }));
    expect(b).toEqual({ out: "", code: 5 });
  });

  it("fails with a named step, and leaks no fd, when the child cannot make its terminal", async () => {
    const before = fds();
    let err: unknown;
    try {
      spawn({
        argv: ["/bin/true"],
        cloneFlags: CLONE.NEWUSER | CLONE.NEWNS,
        steps: [
          ...OWN_DEVPTS.slice(0, 1),
          {
            label: "hide /dev",
            syscall: "mount",
            args: [0, { cstring: "/dev" }, { cstring: "tmpfs" }, 0, 0],
          },
        ],
        terminal: {},
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).message).toBe(
      "open /dev/ptmx for the sandbox's terminal (a /dev inside with a devpts is needed): ENOENT (No such file or directory)",
    );
    // A step after the terminal's fails: the master sent meanwhile is dropped with the channel.
    expect(() =>
      spawn({
        argv: ["/bin/true"],
        terminal: {},
        lateSteps: [{ label: "fail late", syscall: "chdir", args: [{ cstring: "/nonexistent" }] }],
      }),
    ).toThrow("fail late: ENOENT");
    expect(await fdsSettle(before)).toBe(before);
  });

  it("refuses stdio with a terminal", () => {
    expect(() =>
      spawn({ argv: ["/bin/true"], terminal: {}, stdio: ["pipe", "pipe", "pipe"] }),
    ).toThrow("spawn: give stdio or terminal, not both");
  });

  it("says when no terminal came over the channel", () => {
    const [ours, theirs] = openTerminalChannel();
    try {
      expect(() => receiveTerminal(ours)).toThrow(TerminalError);
      expect(() => receiveTerminal(ours)).toThrow("the child sent no terminal");
    } finally {
      fs.closeSync(ours);
      fs.closeSync(theirs);
    }
  });

  it.skipIf(!fs.existsSync(dist))("gives a rootless child its terminal too", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-pty-"));
    try {
      fs.chmodSync(tmp, 0o755);
      const script = path.join(tmp, "rootless.mjs");
      fs.writeFileSync(
        script,
        `import tty from "node:tty";
import { CLONE, spawn } from ${JSON.stringify(dist)};
const child = spawn({
  argv: ["/bin/sh", "-c", "tty; stty size"],
  cloneFlags: CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS,
  steps: ${JSON.stringify([...REAPER, ...OWN_DEVPTS])},
  terminal: { size: { rows: 12, columns: 34 } },
});
const s = new tty.ReadStream(child.terminal);
let out = "";
s.on("data", (d) => (out += d));
const end = () => { s.destroy(); child.wait().then((st) => console.log(JSON.stringify({ out, code: st.exitCode, uid: process.getuid() }))); };
s.once("end", end);
s.once("error", end);
`,
        { mode: 0o644 },
      );
      const r = spawnSync(
        "setpriv",
        ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, script],
        { encoding: "utf8", timeout: 20_000 },
      );
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({
        out: "/dev/pts/0\r\n12 34\r\n",
        code: 0,
        uid: 65534,
      });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
