import { execFileSync, spawn as nodeSpawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CLONE } from "./constants.ts";
import { openLibc } from "./koffi_libc.ts";
import { loadTrampoline } from "./native.ts";
import { SparePool } from "./spare_pool.ts";
import { type ChildHandle, prepareProgram, spawn } from "./spawn.ts";

const FLAGS =
  CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNET;
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "../dist/mod.js");

async function stdout(child: ChildHandle): Promise<{ out: string; code: number }> {
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  // The exit may be reported before the pipe is read to its end: wait for both.
  const closed = child.stdout ? new Promise((r) => child.stdout!.once("close", r)) : null;
  const st = await child.wait();
  await closed;
  return { out, code: st.exitCode };
}

/**
 * Spawns `argv` with the pool (after the caller changed something a spare inherited),
 * checks that the spare was not used, and returns the command's output, trimmed.
 */
async function freshOutput(
  p: SparePool,
  spare: number | undefined,
  argv: string[],
  env?: Record<string, string>,
): Promise<string> {
  const child = spawn({
    argv,
    ...(env ? { env } : {}),
    cloneFlags: FLAGS,
    stdio: ["ignore", "pipe", "inherit"],
    pool: p,
  });
  expect(child.pid).not.toBe(spare);
  return (await stdout(child)).out.trim();
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pools: SparePool[] = [];
function pool(): SparePool {
  const p = new SparePool();
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

describe("SparePool", () => {
  it("hands a pre-cloned child to spawn and clones the next one", async () => {
    const p = pool();
    p.fill(FLAGS);
    const [spare] = p.pids();
    expect(p.count(FLAGS)).toBe(1);
    const child = spawn({
      argv: ["/bin/sh", "-c", "echo $$; readlink /proc/self/ns/net"],
      cloneFlags: FLAGS,
      stdio: ["ignore", "pipe", "inherit"],
      pool: p,
    });
    expect(child.pid).toBe(spare);
    const { out, code } = await stdout(child);
    expect(code).toBe(0);
    const [pid, netns] = out.trim().split("\n");
    expect(pid).toBe("1"); // the spare was made with its pid namespace
    expect(netns).not.toBe(fs.readlinkSync("/proc/self/ns/net"));
    await until(() => p.count(FLAGS) === 1); // refilled on a libuv thread
    expect(p.pids()[0]).not.toBe(spare);
  });

  it("gives the child fds opened after the spare was cloned, and nothing else", async () => {
    const p = pool();
    p.fill(FLAGS);
    const file = path.join(os.tmpdir(), `forge-spare-${process.pid}`);
    fs.writeFileSync(file, "late fd\n");
    const fd = fs.openSync(file, "r");
    const stray = fs.openSync(file, "r"); // opened later too, not passed: must not leak in
    const [spare] = p.pids();
    try {
      const child = spawn({
        argv: ["/bin/sh", "-c", "cat <&5; ls /proc/self/fd | sort -n | tr '\\n' ' '"],
        cloneFlags: FLAGS,
        stdio: ["ignore", "pipe", "inherit"],
        passFds: [{ fd, as: 5 }],
        pool: p,
      });
      expect(child.pid).toBe(spare);
      const { out, code } = await stdout(child);
      expect(code).toBe(0);
      const [text, fds] = out.split("\n");
      expect(text).toBe("late fd");
      // 0-2, the passed fd, and the one ls opens to list the directory.
      expect(fds!.trim().split(" ").map(Number)).toEqual([0, 1, 2, 3, 5]);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(stray);
      fs.rmSync(file, { force: true });
    }
  });

  it("writes id maps and runs steps as a fresh child would", async () => {
    const p = pool();
    p.fill(CLONE.NEWUSER | CLONE.NEWNS);
    const [spare] = p.pids();
    const child = spawn({
      argv: ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map"],
      cloneFlags: CLONE.NEWUSER | CLONE.NEWNS,
      stdio: ["ignore", "pipe", "inherit"],
      beforeStart: ({ pid }) => {
        fs.writeFileSync(`/proc/${pid}/uid_map`, `0 ${process.getuid!()} 1\n`);
      },
      steps: [{ label: "become root inside", syscall: "setresuid", args: [0, 0, 0] }],
      pool: p,
    });
    expect(child.pid).toBe(spare);
    const { out, code } = await stdout(child);
    expect(code).toBe(0);
    expect(out.split("\n")[0]).toBe("0");
    expect(out).toMatch(new RegExp(`^\\s*0\\s+${process.getuid!()}\\s+1$`, "m"));
  });

  it("falls back to a fresh clone when its spare has died, and reports step failures", async () => {
    const p = pool();
    p.fill(FLAGS);
    const [spare] = p.pids();
    process.kill(spare!, "SIGKILL");
    await until(() => !alive(spare!));
    const child = spawn({ argv: ["/bin/true"], cloneFlags: FLAGS, pool: p });
    expect(child.pid).not.toBe(spare);
    expect((await child.wait()).exitCode).toBe(0);
    // A step failure in a spare reads as it does in a fresh child.
    await until(() => p.count(FLAGS) === 1);
    const [next] = p.pids();
    expect(() =>
      spawn({
        argv: ["/bin/true"],
        cloneFlags: FLAGS,
        pool: p,
        steps: [
          {
            label: "enter /nonexistent/dir",
            syscall: "chdir",
            args: [{ cstring: "/nonexistent/dir" }],
          },
        ],
      }),
    ).toThrow("enter /nonexistent/dir: ENOENT (No such file or directory)");
    expect(p.pids()).not.toContain(next); // it was the spare that failed
  });

  it("retries with the prepared program when its spare dies after the set-up began", async () => {
    const p = pool();
    p.fill(FLAGS);
    const [spare] = p.pids();
    let kills = 0;
    const prepared = prepareProgram({ cwd: "/" });
    const child = spawn({
      argv: ["/bin/pwd"],
      cloneFlags: FLAGS,
      stdio: ["ignore", "pipe", "inherit"],
      prepared,
      pool: p,
      // The parent's part of the set-up kills the spare it was given (once).
      beforeStart: ({ pid }) => {
        if (kills++ === 0) process.kill(pid, "SIGKILL");
      },
    });
    expect(kills).toBe(2);
    expect(child.pid).not.toBe(spare);
    expect((await stdout(child)).out.trim()).toBe("/");
    expect(prepared.used).toBe(true);
  });

  it("does not use a spare made before the process changed (umask)", async () => {
    const p = pool();
    p.fill(FLAGS);
    const [spare] = p.pids();
    const old = process.umask(0o077);
    try {
      expect(await freshOutput(p, spare, ["/bin/sh", "-c", "umask"])).toBe("0077");
    } finally {
      process.umask(old);
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    "does not use a mount-namespace spare made before the host's mounts changed",
    async () => {
      const p = pool();
      p.fill(FLAGS);
      const [spare] = p.pids();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-mnt-"));
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "forge-spare-test", dir]);
      try {
        const grep = `grep -c ' ${dir} ' /proc/self/mountinfo`;
        expect(await freshOutput(p, spare, ["/bin/sh", "-c", grep])).toBe("1");
      } finally {
        execFileSync("umount", [dir]);
        fs.rmdirSync(dir);
      }
    },
  );

  it("gives up on a spare that does not answer (stopped) and clones afresh", async () => {
    const p = pool();
    p.fill(FLAGS);
    const [spare] = p.pids();
    process.kill(spare!, "SIGSTOP");
    const child = spawn({ argv: ["/bin/true"], cloneFlags: FLAGS, pool: p });
    expect(child.pid).not.toBe(spare);
    expect((await child.wait()).exitCode).toBe(0);
    await until(() => !alive(spare!));
  });

  it("does not use a spare cloned in another working directory", async () => {
    const p = pool();
    const cwd = process.cwd();
    p.fill(FLAGS);
    const [spare] = p.pids();
    process.chdir(os.tmpdir());
    try {
      expect(await freshOutput(p, spare, ["/bin/pwd"])).toBe(fs.realpathSync(os.tmpdir()));
    } finally {
      process.chdir(cwd);
    }
    await until(() => !alive(spare!));
  });

  it("leaves no process, zombie, fd or region behind", async () => {
    const lib = openLibc();
    const before = fs.readdirSync("/proc/self/fd").length;
    const p = new SparePool({ size: 2 });
    for (let i = 0; i < 40; i++) {
      const c = spawn({
        argv: ["/bin/true"],
        cloneFlags: FLAGS,
        stdio: ["ignore", "pipe", "ignore"],
        pool: p,
      });
      expect((await c.wait()).exitCode).toBe(0);
      c.stdout!.destroy();
    }
    await until(() => p.count(FLAGS) === 2);
    const parked = p.pids();
    p.close();
    expect(p.count()).toBe(0);
    expect(() => p.fill(FLAGS)).toThrow("fill after close");
    await until(() => parked.every((pid) => !fs.existsSync(`/proc/${pid}`)));
    await until(() => loadTrampoline().liveRegions() === 0);
    expect(fs.readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(before + 2);
    expect(lib.geteuid()).toBe(process.geteuid!());
  });

  it("kills a spare whose refill ends after close()", async () => {
    const p = new SparePool();
    p.refill(FLAGS); // on a libuv thread
    p.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(p.count()).toBe(0);
    await until(() => loadTrampoline().liveRegions() === 0);
  });

  it("checks its options", () => {
    expect(() => new SparePool({ size: -1 })).toThrow("size must be an integer from 0 to 64");
    expect(() => new SparePool({ capacity: 10 })).toThrow("capacity must be an integer");
  });

  it("clones afresh when the program does not fit the spare", async () => {
    const p = new SparePool({ capacity: 4096 });
    pools.push(p);
    p.fill(FLAGS);
    const [spare] = p.pids();
    const big = "x".repeat(8000);
    const wc = ["/bin/sh", "-c", 'printf %s "$BIG" | wc -c'];
    expect(await freshOutput(p, spare, wc, { BIG: big })).toBe("8000");
  });

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync(dist))(
    "dies with the process that made it",
    async () => {
      const script = `import { SparePool, CLONE } from ${JSON.stringify(dist)};
      const p = new SparePool({ size: 3 }); p.fill(CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET);
      console.log(JSON.stringify(p.pids())); setInterval(() => {}, 1000);`;
      const node = nodeSpawn(process.execPath, ["--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      try {
        const line = await new Promise<string>((resolve) =>
          node.stdout.once("data", (d) => resolve(String(d))),
        );
        const pids: number[] = JSON.parse(line);
        expect(pids).toHaveLength(3);
        expect(pids.every(alive)).toBe(true);
        node.kill("SIGKILL");
        await until(() => pids.every((pid) => !alive(pid)));
      } finally {
        node.kill("SIGKILL");
      }
    },
  );

  it.skipIf(!fs.existsSync(dist))(
    "in a Worker: refills on the Worker's thread, and its spares die when it exits",
    async () => {
      // The main thread watches exits too: each isolate must get only its own.
      await spawn({ argv: ["/bin/true"] }).wait();
      const { Worker } = await import("node:worker_threads");
      const code = `const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(dist)}).then(async ({ SparePool, spawn, CLONE }) => {
        const flags = CLONE.NEWUSER | CLONE.NEWPID;
        const p = new SparePool(); p.fill(flags);
        const used = [];
        for (let i = 0; i < 3; i++) {
          const [spare] = p.pids();
          const c = spawn({ argv: ["/bin/true"], cloneFlags: flags, pool: p });
          parentPort.postMessage("spawned " + i);
          used.push(c.pid === spare);
          await c.wait();
          parentPort.postMessage("waited " + i);
          await new Promise((r) => setImmediate(r));
        }
        parentPort.postMessage({ used, parked: p.pids() }); // and exit without close()
      });`;
      const w = new Worker(code, { eval: true });
      // Listening for the exit from the start; progress lines say where a hang is.
      const progress: string[] = [];
      const exited = new Promise((r) => w.once("exit", r));
      const msg = await new Promise<{ used: boolean[]; parked: number[] }>((resolve, reject) => {
        w.on("message", (m) => (typeof m === "string" ? progress.push(m) : resolve(m)));
        w.once("error", reject);
        setTimeout(
          () =>
            reject(
              new Error(`no result from the Worker in 20 s (it got to: ${progress.join(", ")})`),
            ),
          20_000,
        ).unref();
      });
      await Promise.race([
        exited,
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error("the Worker did not exit within 20 s of its result")),
            20_000,
          ).unref(),
        ),
      ]);
      expect(msg.used).toEqual([true, true, true]);
      expect(msg.parked).toHaveLength(1);
      // Killed and reaped (not left a zombie), its pidfd closed by the watcher.
      await until(() => msg.parked.every((pid) => !fs.existsSync(`/proc/${pid}`)));
    },
  );

  it.skipIf(!fs.existsSync(dist))(
    "does not use a spare made before the thread restricted itself (no_new_privs)",
    () => {
      // In a process of its own: no_new_privs cannot be undone.
      const script = `import { SparePool, spawn, openLibc, CLONE, PR } from ${JSON.stringify(dist)};
      const flags = CLONE.NEWUSER | CLONE.NEWPID;
      const p = new SparePool(); p.fill(flags); const [spare] = p.pids();
      openLibc().prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      const c = spawn({ argv: ["/bin/grep", "NoNewPrivs", "/proc/self/status"], cloneFlags: flags, pool: p, stdio: ["ignore", "pipe", "inherit"] });
      let out = ""; c.stdout.on("data", (d) => (out += d));
      const ended = new Promise((r) => c.stdout.on("end", r)); await c.wait(); await ended;
      console.log(JSON.stringify({ fresh: c.pid !== spare, out: out.trim() })); p.close();`;
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        encoding: "utf8",
      });
      expect(JSON.parse(out)).toEqual({ fresh: true, out: "NoNewPrivs:\t1" });
    },
  );

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync(dist))(
    "does not use a spare made before the thread entered another namespace",
    () => {
      // In a process of its own: the main thread moves to a new network namespace.
      const script = `import { SparePool, spawn, openLibc, CLONE } from ${JSON.stringify(dist)};
      import fs from "node:fs";
      const flags = CLONE.NEWUSER | CLONE.NEWPID;
      const p = new SparePool(); p.fill(flags); const [spare] = p.pids();
      openLibc().syscall("unshare", CLONE.NEWNET);
      const c = spawn({ argv: ["/bin/readlink", "/proc/self/ns/net"], cloneFlags: flags, pool: p, stdio: ["ignore", "pipe", "inherit"] });
      let out = ""; c.stdout.on("data", (d) => (out += d));
      const ended = new Promise((r) => c.stdout.on("end", r)); await c.wait(); await ended;
      console.log(JSON.stringify({ fresh: c.pid !== spare, same: out.trim() === fs.readlinkSync("/proc/thread-self/ns/net") })); p.close();`;
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        encoding: "utf8",
      });
      expect(JSON.parse(out)).toEqual({ fresh: true, same: true });
    },
  );

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync(dist))(
    "works for an unprivileged caller",
    () => {
      const script = `import { SparePool, spawn, CLONE, O } from ${JSON.stringify(dist)};
      const flags = CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWNET;
      const p = new SparePool(); p.fill(flags);
      const codes = [];
      for (let i = 0; i < 3; i++) {
        const c = spawn({ argv: ["/bin/sh", "-c", "exit 3"], cloneFlags: flags, pool: p });
        codes.push((await c.wait()).exitCode);
      }
      while (p.count(flags) === 0) await new Promise((r) => setTimeout(r, 5));
      console.log(JSON.stringify({ codes, parked: p.count(flags) })); p.close();`;
      const out = execFileSync(
        "setpriv",
        [
          "--reuid",
          "65534",
          "--regid",
          "65534",
          "--clear-groups",
          process.execPath,
          "--input-type=module",
          "-e",
          script,
        ],
        { encoding: "utf8", cwd: "/" },
      );
      expect(JSON.parse(out)).toEqual({ codes: [3, 3, 3], parked: 1 });
    },
  );
});
