import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tty from "node:tty";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { CLONE, PR } from "./constants.ts";
import { openLibc } from "./koffi_libc.ts";
import { loadTrampoline } from "./native.ts";
import type { Step } from "./program.ts";
import { type ChildHandle, prepareProgram, SpawnError, spawn } from "./spawn.ts";

const ALL_NS =
  CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNET;
const here = path.dirname(fileURLToPath(import.meta.url));

async function output(child: ChildHandle): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (err += d));
  // The exit may be reported before the pipes are read to their end: wait for all.
  const closed = [child.stdout, child.stderr].map((s) =>
    s ? new Promise((r) => s.once("close", r)) : null,
  );
  const st = await child.wait();
  await Promise.all(closed);
  return { out, err, code: st.exitCode };
}

function openFds(): string[] {
  return fs.readdirSync("/proc/self/fd");
}

function zombieChildren(): number[] {
  const me = process.pid;
  const z: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" && Number(fields[1]) === me) z.push(Number(p));
    } catch {
      // gone
    }
  }
  return z;
}

describe("spawn", () => {
  it("runs a command in new user, pid, mount, ipc, uts and net namespaces", async () => {
    const child = spawn({
      argv: [
        "/bin/sh",
        "-c",
        'echo "pid=$$"; readlink /proc/self/ns/net; cat /proc/net/dev | wc -l',
      ],
      cloneFlags: ALL_NS,
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(child.pid).toBeGreaterThan(0);
    expect(child.pidfd).toBeGreaterThan(2);
    const { out, code } = await output(child);
    expect(code).toBe(0);
    const [pid, netns, devLines] = out.trim().split("\n");
    expect(pid).toBe("pid=1");
    expect(netns).not.toBe(fs.readlinkSync("/proc/self/ns/net"));
    expect(Number(devLines)).toBe(3); // header lines + lo only
  });

  it("reports exit codes and signals", async () => {
    expect(await spawn({ argv: ["/bin/sh", "-c", "exit 42"] }).wait()).toEqual({
      code: 42,
      signal: null,
      exitCode: 42,
    });
    const c = spawn({ argv: ["/bin/sleep", "30"] });
    expect(c.kill("SIGKILL")).toBe(true);
    expect(await c.wait()).toEqual({ code: null, signal: "SIGKILL", exitCode: 137 });
    expect(c.kill()).toBe(false);
  });

  it("passes argv, env, cwd and stdin through", async () => {
    const child = spawn({
      argv: ["sh", "-c", 'printf "%s|%s|%s|" "$0" "$FOO" "$(pwd)"; cat', "zero"],
      env: { FOO: "bar baz", PATH: "/usr/bin:/bin" },
      cwd: "/usr",
      stdio: ["pipe", "pipe", "inherit"],
    });
    child.stdin!.end("from stdin");
    const { out } = await output(child);
    expect(out).toBe("zero|bar baz|/usr|from stdin");
  });

  it("names the failing step and its errno", () => {
    let err: unknown;
    try {
      spawn({
        argv: ["/bin/true"],
        steps: [
          {
            label: "enter /nonexistent/dir",
            syscall: "chdir",
            args: [{ cstring: "/nonexistent/dir" }],
          },
        ],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpawnError);
    const e = err as SpawnError;
    expect(e.message).toBe("enter /nonexistent/dir: ENOENT (No such file or directory)");
    expect(e.step).toBe("enter /nonexistent/dir");
    expect(e.code).toBe("ENOENT");
    expect(e.errno).toBe(2);
  });

  it("goes on after an optional step fails", async () => {
    const c = spawn({
      argv: ["/bin/true"],
      steps: [
        { label: "try", syscall: "chdir", args: [{ cstring: "/nonexistent" }], optional: true },
      ],
    });
    expect((await c.wait()).exitCode).toBe(0);
  });

  it("says when a command does not exist", () => {
    expect(() =>
      spawn({ argv: ["forge-no-such-command"], env: { PATH: "/usr/bin:/bin" } }),
    ).toThrow("command not found: forge-no-such-command (searched /usr/bin:/bin)");
    expect(() => spawn({ argv: ["/nonexistent/cmd"] })).toThrow(
      "cannot execute /nonexistent/cmd: no such file or directory",
    );
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-noexec-"));
    try {
      fs.writeFileSync(path.join(tmp, "data"), "not a program", { mode: 0o644 });
      expect(() => spawn({ argv: [path.join(tmp, "data")] })).toThrow(
        /^execute .*\/data: EACCES \(Permission denied\)$/,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true });
    }
  });

  it("fails clearly when the kernel refuses the clone", () => {
    // CLONE_NEWUSER with CLONE_FS is refused by the kernel with EINVAL.
    expect(() =>
      spawn({ argv: ["/bin/true"], cloneFlags: CLONE.NEWUSER | CLONE.FS, mode: "fork" }),
    ).toThrow(/clone the child \(CLONE_FS\|CLONE_NEWUSER\): EINVAL/);
  });

  it("closes inherited fds except stdio and the ones passed on purpose", async () => {
    const leak = fs.openSync("/etc/hostname", "r");
    const passed = fs.openSync("/etc/hostname", "r");
    try {
      // Remove close-on-exec to prove the trampoline closes it anyway.
      execFileSync("true");
      const child = spawn({
        argv: ["/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"],
        passFds: [{ fd: passed, as: 7 }],
        stdio: ["ignore", "pipe", "inherit"],
      });
      const { out } = await output(child);
      // 0,1,2, the passed fd as 7, and 3 (ls's own directory fd).
      expect(out.trim().split(" ").map(Number)).toEqual([0, 1, 2, 3, 7]);
    } finally {
      fs.closeSync(leak);
      fs.closeSync(passed);
    }
  });

  it("runs parent-side work while the child waits", async () => {
    const seen: number[] = [];
    const c = spawn({ argv: ["/bin/true"], beforeStart: ({ pid }) => seen.push(pid) });
    expect(seen).toEqual([c.pid]);
    expect((await c.wait()).exitCode).toBe(0);
    expect(() =>
      spawn({
        argv: ["/bin/true"],
        beforeStart: () => {
          throw new Error("set-up failed");
        },
      }),
    ).toThrow("set-up failed");
  });

  it("becomes a PID-1 reaper that forwards signals and reports the payload's status", async () => {
    const steps: Step[] = [{ kind: "reaper", label: "become init" }];
    const exit = spawn({ argv: ["/bin/sh", "-c", "exit 7"], cloneFlags: ALL_NS, steps });
    expect((await exit.wait()).exitCode).toBe(7);
    const term = spawn({
      argv: [
        "/bin/sh",
        "-c",
        'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done',
      ],
      cloneFlags: ALL_NS,
      steps,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => term.stdout!.once("data", () => resolve()));
    let out = "";
    term.stdout!.on("data", (d) => (out += d));
    const closed = new Promise((r) => term.stdout!.once("close", r));
    term.kill("SIGTERM");
    expect((await term.wait()).exitCode).toBe(3);
    await closed; // the exit may be reported before the pipe is read to its end
    expect(out).toContain("got-term");
    // The payload killed by a signal: the status says which one, not the reaper's.
    const killed = spawn({ argv: ["/bin/sh", "-c", "kill -SEGV $$"], cloneFlags: ALL_NS, steps });
    expect(await killed.wait()).toEqual({ code: null, signal: "SIGSEGV", exitCode: 139 });
    // PID 1 runs forge-init in an address space of its own: not ours, and not dumpable.
    const init = spawn({ argv: ["/bin/sleep", "30"], cloneFlags: ALL_NS, steps });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(fs.readFileSync(`/proc/${init.pid}/cmdline`, "utf8").split("\0")[0]).toBe(
        "forge-init",
      );
      expect(fs.readFileSync(`/proc/${init.pid}/status`, "utf8")).not.toMatch(
        /^VmRSS:\s+[1-9]\d{4,} kB/m,
      ); // not Node's memory
    } finally {
      init.kill("SIGKILL");
      await init.wait();
    }
    expect(openLibc().prctl(PR.GET_DUMPABLE)).toBe(1); // our own process is untouched
    // Orphans are reaped and everything dies with PID 1.
    const orphan = spawn({
      argv: ["/bin/sh", "-c", "(sleep 30 &) ; exit 0"],
      cloneFlags: ALL_NS,
      steps,
    });
    expect((await orphan.wait()).exitCode).toBe(0);
  });

  it("does not block the event loop while waiting", async () => {
    const c = spawn({ argv: ["/bin/sleep", "0.3"] });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await c.wait();
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it.skipIf(!fs.existsSync(path.resolve(here, "../dist/mod.js")))(
    "on the main thread: waits on SIGCHLD without node:net, stays alive while a child is pending, coexists with child_process, survives removed listeners",
    () => {
      // In a process of its own, so that nothing else has loaded node:net.
      const dist = path.resolve(here, "../dist/mod.js");
      const script = `import { spawn } from ${JSON.stringify(dist)};
      // Nothing keeps the loop alive but the pending child: its exit must still arrive.
      spawn({ argv: ["/bin/sleep", "0.3"] }).wait().then(async (slept) => {
        // (node:child_process loads node:net: look before importing it.)
        const net = process.moduleLoadList.some((m) => m === "NativeModule net");
        const { execFile } = await import("node:child_process");
        const both = await Promise.all([
          spawn({ argv: ["/bin/sh", "-c", "exit 3"] }).wait(),
          new Promise((r) => execFile("/bin/sh", ["-c", "exit 4"], (e) => r(e?.code ?? 0))),
          spawn({ argv: ["/bin/sh", "-c", "kill -TERM $$"] }).wait(),
        ]);
        // Someone removes every SIGCHLD listener while a child is pending: its exit still arrives.
        const late = spawn({ argv: ["/bin/sh", "-c", "exit 6"] });
        process.removeAllListeners("SIGCHLD");
        const lateCode = (await late.wait()).exitCode;
        console.log(JSON.stringify({ slept: slept.exitCode, both: [both[0].exitCode, both[1], both[2].signal], net, lateCode }));
      });`;
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(JSON.parse(out)).toEqual({
        slept: 0,
        both: [3, 4, "SIGTERM"],
        net: false,
        lateCode: 6,
      });
    },
  );

  it("runs a program whose middle was compiled ahead", async () => {
    await spawn({ argv: ["/bin/true"] }).wait(); // the exit watcher's fds are open from here
    const before = openFds().length;
    const prepared = prepareProgram({
      steps: [
        { label: "set hostname", syscall: "sethostname", args: [{ cstring: "ahead" }, 5] },
        { kind: "reaper", label: "start forge-init as PID 1" },
      ],
      cwd: "/tmp",
      lateSteps: [
        { label: "no new privileges", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
      ],
    });
    expect(() => spawn({ argv: ["/bin/true"], prepared, cwd: "/" })).toThrow("not both");
    const child = spawn({
      argv: ["/bin/sh", "-c", "hostname; pwd; echo $$; grep NoNewPrivs /proc/self/status; exit 4"],
      cloneFlags: CLONE.NEWUTS | CLONE.NEWPID | CLONE.NEWUSER,
      stdio: ["ignore", "pipe", "inherit"],
      prepared,
    });
    expect(prepared.used).toBe(true);
    const { out, code } = await output(child);
    expect(code).toBe(4); // the payload's status, through forge-init
    expect(out).toMatch(/^ahead\n\/tmp\n2\nNoNewPrivs:\s+1\n$/);
    expect(() => spawn({ argv: ["/bin/true"], prepared })).toThrow("used or closed");
    // Unused, closing it closes its fds (the reaper's pipe and forge-init's fd).
    prepareProgram({ steps: [{ kind: "reaper", label: "PID 1" }] }).close();
    await new Promise((r) => setTimeout(r, 50));
    expect(openFds().length).toBe(before);
  });

  it("leaks no fds and leaves no zombies after 1000 spawns", async () => {
    const before = openFds().length;
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) =>
        spawn({
          argv: ["/bin/true"],
          cloneFlags: (i + k) % 2 ? CLONE.NEWUSER | CLONE.NEWPID : 0,
          stdio: ["ignore", "pipe", "ignore"],
        }),
      );
      const codes = await Promise.all(batch.map((c) => c.wait()));
      for (const c of batch) c.stdout!.destroy();
      expect(codes.every((s) => s.exitCode === 0)).toBe(true);
    }
    // A failing spawn must not leak either.
    for (let i = 0; i < 20; i++)
      expect(() => spawn({ argv: ["/nonexistent/x"], stdio: ["pipe", "pipe", "pipe"] })).toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(zombieChildren()).toEqual([]);
    expect(openFds().length).toBeLessThanOrEqual(before + 2); // + the exit watcher's pipe
    // The private region (stacks, program copy) of every child is unmapped once it is reaped.
    expect(loadTrampoline().liveRegions()).toBe(0);
  });
});

describe("spawn, rootless", () => {
  const dist = path.resolve(here, "../dist/mod.js");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-libc-"));
  fs.chmodSync(tmp, 0o755);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function asNobody(script: string): string {
    const file = path.join(tmp, `s${Math.random().toString(36).slice(2)}.mjs`);
    fs.writeFileSync(file, script.replaceAll("DIST", JSON.stringify(dist)));
    fs.chmodSync(file, 0o644);
    return execFileSync(
      "setpriv",
      ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, file],
      { encoding: "utf8" },
    );
  }

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync(dist))(
    "maps an unprivileged caller to root in a new user namespace",
    () => {
      const out = asNobody(`
      import { spawn, CLONE, O } from DIST;
      const write = (file, text, n) => [
        { label: "open " + file, syscall: "openat", args: [-100, { cstring: file }, O.WRONLY | O.CLOEXEC], id: "f" + n },
        { label: "write " + file, syscall: "write", args: [{ result: "f" + n }, { cstring: text }, text.length] },
      ];
      const steps = [...write("/proc/self/setgroups", "deny", 1), ...write("/proc/self/uid_map", "0 65534 1", 2), ...write("/proc/self/gid_map", "0 65534 1", 3)];
      const c = spawn({ argv: ["/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map"], cloneFlags: CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWNET, steps, stdio: ["ignore", "pipe", "inherit"] });
      let out = ""; c.stdout.on("data", (d) => (out += d));
      const st = await c.wait();
      console.log(JSON.stringify({ out, st }));
      try { spawn({ argv: ["/bin/true"], steps: [{ label: "mount proc on /proc", syscall: "mount", args: [{ cstring: "proc" }, { cstring: "/proc" }, { cstring: "proc" }, 0, 0] }] }); }
      catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, code: e.code })); }
    `);
      const [first, second] = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(first.st.exitCode).toBe(0);
      expect(first.out.split("\n").slice(0, 2)).toEqual(["0", "0"]);
      expect(first.out).toMatch(/^\s*0\s+65534\s+1$/m);
      expect(second).toEqual({
        name: "SpawnError",
        code: "EPERM",
        message: "mount proc on /proc: EPERM (Operation not permitted)",
      });
    },
  );
});

describe("spawn with a terminal", () => {
  /** What the child wrote to its terminal, to the end (EIO); closes the master. */
  function readTerminal(master: number): Promise<string> {
    const s = new tty.ReadStream(master);
    let out = "";
    s.on("data", (d) => {
      out += d;
    });
    return new Promise((resolve) => {
      const done = () => {
        s.destroy();
        resolve(out);
      };
      s.once("end", done);
      s.once("error", done);
    });
  }

  it("takes it from a prepared program, whose close() drops the channel", async () => {
    await spawn({ argv: ["/bin/true"] }).wait(); // what every spawn shares is open now
    const before = openFds().length;
    const p = prepareProgram({ terminal: { size: { rows: 5, columns: 6 } } });
    expect(() => spawn({ argv: ["/bin/true"], prepared: p, terminal: {} })).toThrow(
      "spawn: give steps, lateSteps, cwd and terminal, or a prepared program, not both",
    );
    const child = spawn({
      argv: ["/bin/sh", "-c", "stty size"],
      cloneFlags: CLONE.NEWUSER | CLONE.NEWNS,
      prepared: p,
    });
    const out = readTerminal(child.terminal!);
    expect((await child.wait()).exitCode).toBe(0);
    expect(await out).toBe("5 6\r\n");
    prepareProgram({ terminal: {} }).close();
    for (let i = 0; i < 200 && openFds().length !== before; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(openFds().length).toBe(before);
  });

  it("has none without the option", async () => {
    const child = spawn({ argv: ["/bin/true"] });
    expect(child.terminal).toBeUndefined();
    await child.wait();
  });
});
