// A child must never outlive the process that spawned it while it is still being set
// up (issue 11, item 7): it sets PR_SET_PDEATHSIG and checks that its parent is alive
// before its first step, and it never holds its own copy of the end of the set-up pipe
// that the parent writes to (else a dead parent leaves it waiting forever, in new
// namespaces, with the dead process's memory and fds).
//
// The parent runs in a separate Node process (the built dist) that the test kills.
import { spawn as spawnProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "../dist/mod.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-pdeath-"));
fs.chmodSync(tmp, 0o755);
const started: number[] = [];

afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone, as it should be
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Whether pid names a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

/** Pids of processes whose command line contains `marker`. */
function withMarker(marker: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker) && alive(Number(p)))
        out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts `node script` with its stdout as lines. */
function node(script: string, args: string[] = [], asNobody = false) {
  const file = path.join(tmp, `s${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, script.replaceAll("DIST", JSON.stringify(dist)), { mode: 0o644 });
  const argv = [process.execPath, file, ...args];
  const nobody = ["--reuid", "65534", "--regid", "65534", "--clear-groups"];
  const p = asNobody
    ? spawnProcess("setpriv", [...nobody, ...argv], { stdio: ["ignore", "pipe", "inherit"] })
    : spawnProcess(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  started.push(p.pid!);
  const lines: string[] = [];
  let buf = "";
  const waiters: (() => void)[] = [];
  p.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const line = (ms: number) =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no line from the parent script")), ms);
      const take = () => {
        if (lines.length) {
          clearTimeout(t);
          resolve(lines.shift()!);
        } else waiters.push(take);
      };
      take();
    });
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  return { p, line, exited };
}

describe.skipIf(!fs.existsSync(dist))("a child whose parent dies during its set-up", () => {
  it("does not wait forever for a parent that died in its part of the set-up", async () => {
    // The parent prints the child's pid from beforeStart (the child is then waiting
    // for the parent's byte) and blocks; the test kills it there.
    const n = node(`
      import { spawn, CLONE } from DIST;
      spawn({
        argv: ["/bin/sleep", "30"],
        cloneFlags: CLONE.NEWUSER | CLONE.NEWNS,
        beforeStart: ({ pid }) => {
          process.stdout.write(pid + "\\n");
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
        },
      });
    `);
    const child = Number(await n.line(10_000));
    started.push(child);
    expect(alive(child)).toBe(true);
    n.p.kill("SIGKILL");
    await n.exited;
    expect(await gone(child, 3000), `child ${child} still alive after its parent died`).toBe(true);
  });

  const isRoot = process.getuid?.() === 0;
  it.each(isRoot ? [false, true] : [false])(
    "leaves nothing behind when the launcher is killed at any point of a sandbox's start (rootless: %s)",
    async (asNobody) => {
      // A sandbox as `forge run` makes it (as root: id maps written by the parent, a
      // reaper, mounts), killed after a random delay, twelve times.
      const marker = `forge-pdeath-${process.pid}-${Date.now()}`;
      const script = `
      import { spawn, CLONE, O } from DIST;
      const ids = process.getuid() === 0;
      const write = (file, text, n) => [
        { label: "open " + file, syscall: "openat", args: [-100, { cstring: file }, O.WRONLY | O.CLOEXEC], id: "f" + n },
        { label: "write " + file, syscall: "write", args: [{ result: "f" + n }, { cstring: text }, text.length] },
      ];
      const self = ids ? [] : [...write("/proc/self/setgroups", "deny", 1), ...write("/proc/self/uid_map", "0 65534 1", 2), ...write("/proc/self/gid_map", "0 65534 1", 3)];
      for (;;) {
        const c = spawn({
          argv: ["/bin/sleep", "30", process.argv[2]],
          cloneFlags: CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWNET,
          steps: [...self, { kind: "reaper", label: "reaper" }],
          ...(ids ? { beforeStart: ({ pid }) => {
            const fs = (await_import_fs);
            fs.writeFileSync("/proc/" + pid + "/uid_map", "0 65534 1");
            fs.writeFileSync("/proc/" + pid + "/setgroups", "deny");
            fs.writeFileSync("/proc/" + pid + "/gid_map", "0 65534 1");
          } } : {}),
          stdio: ["ignore", "ignore", "ignore"],
        });
        c.kill("SIGKILL");
        await c.wait();
      }
    `.replace("(await_import_fs)", "globalThis.fsMod");
      const withFs = `import fsMod from "node:fs"; globalThis.fsMod = fsMod;\n${script}`;
      for (let i = 0; i < 12; i++) {
        const n = node(withFs, [marker], asNobody);
        // Node's own start takes ~50-150 ms here; the loop then spawns continuously, so
        // a kill at a random moment lands anywhere in a spawn's set-up.
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
        n.p.kill("SIGKILL");
        await n.exited;
      }
      const end = Date.now() + 3000;
      let left = withMarker(marker);
      while (left.length && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        left = withMarker(marker);
      }
      for (const pid of left) started.push(pid);
      expect(left, "processes of killed launchers still running").toEqual([]);
    },
  );
});
