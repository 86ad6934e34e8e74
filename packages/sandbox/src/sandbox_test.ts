import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runSandbox } from "./_run_sandbox.ts";
import { loadProfile } from "./profile.ts";
import {
  checkSandbox,
  resolveSandboxOptions,
  Sandbox,
  type SandboxOptions,
  SparePool,
} from "./sandbox.ts";

const run = (o: SandboxOptions) => runSandbox(o);

describe("resolveSandboxOptions", () => {
  it("merges a profile with overrides", () => {
    const r = resolveSandboxOptions({
      argv: ["true"],
      profile: loadProfile("default"),
      binds: [{ src: "/srv", dst: "/srv", readonly: true }],
      env: { A: "1" },
      capAdd: ["NET_RAW"],
      hostname: "other",
      limits: { memory: "64M" },
    });
    expect(r.seccomp).toBe("default");
    expect(r.launch.hostname).toBe("other");
    expect(r.launch.root!.binds!.at(-1)).toEqual({ src: "/srv", dst: "/srv", readonly: true });
    expect(r.launch.root!.binds!.some((b) => b.src === "/lib32")).toBe(fs.existsSync("/lib32")); // optional binds
    expect(r.launch.env!.A).toBe("1");
    expect(r.launch.env!.PATH).toMatch(/\/usr\/bin/);
    expect(r.launch.capAdd).toEqual(["NET_RAW"]);
    expect(r.launch.rlimits!.map((l) => l.resource)).toEqual(["core", "nproc"]);
    expect(r.limits).toEqual({ memory: "64M" });
    expect(r.limitsMode).toBe("strict");
    expect(
      resolveSandboxOptions({ argv: ["x"], profile: loadProfile("default"), seccomp: "unconfined" })
        .seccomp,
    ).toBeUndefined();
  });
});

describe("resolveSandboxOptions: the caller's mounts over the profile's", () => {
  const profile = loadProfile("default");
  it("replaces the profile's mount at the same destination, as docker run -v and --tmpfs do", () => {
    const sized = resolveSandboxOptions({
      argv: ["true"],
      profile,
      tmpfs: [{ dst: "/tmp", size: "256m", origin: "--tmpfs /tmp:256m" }],
    }).launch.root!;
    expect(sized.tmpfs!.filter((t) => t.dst === "/tmp")).toEqual([
      { dst: "/tmp", size: "256m", origin: "--tmpfs /tmp:256m" },
    ]);
    expect(sized.tmpfs!.map((t) => t.dst)).toContain("/run"); // the rest stays
    const bound = resolveSandboxOptions({
      argv: ["true"],
      profile,
      binds: [{ src: "/etc", dst: "/tmp/", readonly: true }],
    }).launch.root!;
    expect(bound.tmpfs!.some((t) => t.dst === "/tmp")).toBe(false);
    expect(bound.binds!.at(-1)).toEqual({ src: "/etc", dst: "/tmp/", readonly: true });
    const usr = resolveSandboxOptions({
      argv: ["true"],
      profile,
      binds: [{ src: "/opt", dst: "/usr", readonly: true }],
    }).launch.root!;
    expect(usr.binds!.filter((b) => b.dst === "/usr")).toEqual([
      { src: "/opt", dst: "/usr", readonly: true },
    ]);
    // The whole plan holds: no clash left.
    expect(checkSandbox({ argv: ["/bin/true"], tmpfs: [{ dst: "/tmp", size: "1m" }] })).toEqual({
      warnings: [],
    });
  });

  it("refuses two of the caller's own mounts at one destination, naming both and the path", () => {
    expect(() =>
      resolveSandboxOptions({
        argv: ["true"],
        profile,
        tmpfs: [
          { dst: "/s", origin: "--tmpfs /s" },
          { dst: "/s/", size: "1m", origin: "--tmpfs /s/:1m" },
        ],
      }),
    ).toThrow("--tmpfs /s and --tmpfs /s/:1m both mount on /s; give each its own destination");
    // Without origins (the library's callers): the list entries.
    expect(() =>
      resolveSandboxOptions({
        argv: ["true"],
        profile,
        binds: [{ src: "/etc", dst: "/x" }],
        tmpfs: [{ dst: "/x" }],
      }),
    ).toThrow("binds[0] (/etc) and tmpfs[0] both mount on /x; give each its own destination");
  });
});

describe("Sandbox: like a ChildProcess", () => {
  it("is an EventEmitter with piped stdin, stdout and stderr, and emits exit then close", async () => {
    const box = Sandbox.start({ argv: ["/bin/cat"], stdio: ["pipe", "pipe", "pipe"] });
    expect(box).toBeInstanceOf(EventEmitter);
    const events: string[] = [];
    const exited = new Promise<unknown[]>((res) =>
      box.on("exit", (...a: unknown[]) => {
        events.push("exit");
        res(a);
      }),
    );
    const closed = new Promise<unknown[]>((res) =>
      box.on("close", (...a: unknown[]) => {
        events.push("close");
        res(a);
      }),
    );
    let out = "";
    box.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    box.stdin!.end("hello through cat\n");
    const [code, signal, result] = await exited;
    expect([code, signal]).toEqual([0, null]);
    expect(result).toMatchObject({ reason: { kind: "exit" }, status: { exitCode: 0 } });
    expect(await closed).toEqual([0, null]);
    expect(out).toBe("hello through cat\n");
    expect(events).toEqual(["exit", "close"]);
    expect((await box.wait()).status.exitCode).toBe(0); // wait() as before
  });

  it("echo: stdout and stderr; exit reports a signal as (null, name)", async () => {
    const box = Sandbox.start({
      argv: ["/bin/sh", "-c", "echo out; echo err >&2"],
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(box.stdin).toBeNull();
    let out = "";
    let err = "";
    box.stdout!.on("data", (d) => {
      out += d;
    });
    box.stderr!.on("data", (d) => {
      err += d;
    });
    await new Promise((res) => box.once("close", res));
    expect([out, err]).toEqual(["out\n", "err\n"]);

    const sleeper = Sandbox.start({
      argv: ["/bin/sleep", "30"],
      stdio: ["ignore", "ignore", "ignore"],
    });
    expect([sleeper.stdin, sleeper.stdout, sleeper.stderr]).toEqual([null, null, null]);
    const ended = new Promise((res) => sleeper.once("exit", (code, signal) => res([code, signal])));
    sleeper.kill("SIGTERM");
    expect(await ended).toEqual([null, "SIGTERM"]);
  });

  it("throws set-up errors synchronously from start, with no event to wait for", () => {
    let thrown: unknown;
    try {
      Sandbox.start({ argv: ["/no/such/command"] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ name: "SpawnError", code: "ENOENT" });
  });
});

describe.skipIf(!fs.existsSync("/usr/bin/python3"))("the root README's example", () => {
  it("runs job.py once its directory is bound and entered; without, the result names the fix", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-readme-"));
    try {
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, "job.py"), "print('job ran')\n");
      fs.chmodSync(path.join(dir, "job.py"), 0o644);
      // As the README has it, with `dir` for process.cwd().
      const { out, r } = await run({
        argv: ["python3", "job.py"],
        profile: "python-safe",
        binds: [{ src: dir, dst: "/work", readonly: true }],
        cwd: "/work",
        timeoutMs: 30_000,
      });
      expect(r.status.exitCode).toBe(0);
      expect(out).toBe("job ran\n");
      expect(r.hints).toBeUndefined();
      // As it was: python3 cannot open //job.py, and the result says why.
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const before = await run({ argv: ["python3", "job.py"], profile: "python-safe" });
        expect(before.err).toMatch(/can't open file '\/\/job\.py'/);
        expect(before.r.hints).toEqual([
          `job.py is not in the sandbox, whose working directory is /; on the host it is ${dir}/job.py: add --bind ${dir}:ro --cwd ${dir}`,
        ]);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const sandboxDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/mod.js");
describe.skipIf(process.getuid?.() !== 0 || !fs.existsSync(sandboxDist))(
  "Sandbox: rootless warnings (uid 65534, built package)",
  () => {
    it("says the cgroup warning once per process, in one short line", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-once-"));
      try {
        fs.chmodSync(dir, 0o755);
        const script = path.join(dir, "twice.mjs");
        fs.writeFileSync(
          script,
          `import { Sandbox } from ${JSON.stringify(sandboxDist)};
const out = [];
for (let i = 0; i < 3; i++) {
  const box = Sandbox.start({ argv: ["/bin/true"], profile: "python-safe" });
  out.push(box.warnings);
  await box.wait();
}
console.log(JSON.stringify(out));
`,
        );
        fs.chmodSync(script, 0o644);
        const r = spawnSync(
          "setpriv",
          ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, script],
          { encoding: "utf8", cwd: dir, timeout: 30_000 },
        );
        expect(r.stderr).toBe("");
        const [first, second, third] = JSON.parse(r.stdout) as string[][];
        const cgroup = (ws: string[]) => ws.filter((w) => /cgroup|resource limits/.test(w));
        expect(cgroup(first!).length).toBeLessThanOrEqual(1);
        for (const w of cgroup(first!)) {
          expect(`forge: warning: ${w}`.length).toBeLessThan(120);
          expect(w).toMatch(/systemd-run --user --scope -p Delegate=yes|forge doctor/);
        }
        expect(cgroup(second!)).toEqual([]);
        expect(cgroup(third!)).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe("Sandbox", () => {
  it("runs under the default profile: seccomp, no caps, new root", async () => {
    const { out, r } = await run({
      argv: [
        "sh",
        "-c",
        "grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status; ls /; hostname",
      ],
      profile: loadProfile("default"),
    });
    expect(r.status.exitCode).toBe(0);
    expect(out).toMatch(/Seccomp:\s+2/);
    expect(out).toMatch(/CapEff:\s+0+\n/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toContain("forge\n");
    expect(r.reason.kind).toBe("exit");
    expect(r.record).toMatchObject({ reason: "exit", exitCode: 0 });
  });

  it("kills the whole sandbox on timeout and says so", async () => {
    const { r } = await run({
      argv: ["sh", "-c", "sleep 30 & sleep 30"],
      profile: loadProfile("default"),
      timeoutMs: 200,
    });
    expect(r.reason.kind).toBe("timeout");
    expect(r.status.signal).toBe("SIGKILL");
  });

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync("/sys/fs/cgroup/memory"))(
    "reports an OOM kill inside its memory limit and removes its cgroup",
    async () => {
      const { r, box } = await run({
        argv: ["sh", "-c", "x=a; while :; do x=$x$x$x$x; done"],
        profile: loadProfile("default"),
        limits: { memory: "32M", noSwap: true },
      });
      expect(r.reason.kind).toBe("oom-kill");
      expect(r.record).toMatchObject({ reason: "oom-kill", signal: "SIGKILL" });
      expect(r.stats!.memory!.oomKill).toBeGreaterThanOrEqual(1);
      for (const p of box.cgroup!.paths) expect(fs.existsSync(p)).toBe(false);
    },
  );

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync("/sys/fs/cgroup/pids"))(
    "stops a fork bomb at its pids limit",
    async () => {
      const { out, r } = await run({
        argv: [
          "sh",
          "-c",
          "for i in $(seq 40); do sleep 5 & done 2>/dev/null; sleep 0.2; ls /proc | grep -c '^[0-9]'",
        ],
        profile: loadProfile("default"),
        limits: { pids: 10 },
        timeoutMs: 20_000,
      });
      expect(Number(out.trim())).toBeLessThanOrEqual(10);
      expect(r.stats!.pids!.peak).toBeLessThanOrEqual(10);
    },
  );

  it("starts the same sandbox from a pool of pre-cloned children", async () => {
    // Everything the sandbox is made of, as the payload sees it (pids and inode numbers
    // of namespaces differ between any two sandboxes, so they are left out).
    const report =
      "grep -E '^(Umask|Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|Seccomp_filters|Sig(Blk|Ign)):' /proc/self/status;" +
      "cat /proc/self/limits /proc/self/cgroup;" +
      "echo pid=$$; hostname; ls /proc/self/fd | sort -n | tr '\\n' ' '; echo;" +
      "cut -d' ' -f5,9 /proc/self/mountinfo; cat /proc/net/dev | cut -d: -f1 | tail -n +3;" +
      "ulimit -c; pwd; env | sort";
    const profile = loadProfile("default");
    const fresh = await run({ argv: ["sh", "-c", report], profile });
    expect(fresh.r.status.exitCode).toBe(0);
    const pool = new SparePool();
    try {
      const outs: string[] = [];
      const pids = new Set<number>();
      for (let i = 0; i < 3; i++) {
        if (i > 0)
          for (let k = 0; k < 200 && pool.count() === 0; k++)
            await new Promise((r) => setTimeout(r, 5));
        const parked = pool.pids();
        const { out, r, box } = await run({ argv: ["sh", "-c", report], profile, pool });
        expect(r.status.exitCode).toBe(0);
        if (i > 0) expect(parked).toContain(box.pid); // the spare made by the run before
        pids.add(box.pid);
        outs.push(out);
      }
      expect(pids.size).toBe(3);
      for (const out of outs) expect(out).toBe(fresh.out);
      expect(fresh.out).toMatch(/NoNewPrivs:\s+1/);
      expect(fresh.out).toContain("pid=2\nforge\n0 1 2 3 \n"); // PID 1 is forge-init
    } finally {
      pool.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    "remakes a plan made ahead when a bind source was replaced at the same path",
    async () => {
      const base = fs.mkdtempSync(path.join(os.tmpdir(), "forge-ahead-"));
      const ws = path.join(base, "ws");
      // The sandbox's root is uid 65534 on the host.
      fs.chmodSync(base, 0o755);
      fs.mkdirSync(ws, { mode: 0o777 });
      fs.chmodSync(ws, 0o777);
      const pool = new SparePool();
      try {
        const o = (cmd: string): SandboxOptions => ({
          argv: ["sh", "-c", cmd],
          profile: loadProfile("default"),
          binds: [{ src: ws, dst: "/ws", readonly: false }],
          pool,
        });
        expect((await run(o("echo one > /ws/out; ls /ws"))).out).toBe("out\n");
        // A fresh workspace at the same path, before the next job (the plan for it is
        // made already, holding the old directory).
        fs.renameSync(ws, `${ws}.old`);
        fs.mkdirSync(ws, { mode: 0o777 });
        const second = await run(o("ls -A /ws; echo end"));
        expect(second.r.status.exitCode).toBe(0);
        expect(second.out).toBe("end\n");
        fs.rmSync(ws, { recursive: true });
        fs.mkdirSync(ws, { mode: 0o777 }); // removed and made again
        expect((await run(o("ls -A /ws; echo end"))).out).toBe("end\n");
      } finally {
        pool.close();
        fs.rmSync(base, { recursive: true, force: true });
      }
    },
  );

  it("fails to start with nothing left behind when a step cannot run", () => {
    expect(() =>
      Sandbox.start({ argv: ["/no/such/cmd"], profile: loadProfile("default") }),
    ).toThrow(/ENOENT|no such file/);
    expect(() =>
      Sandbox.start({
        argv: ["true"],
        profile: loadProfile("default"),
        seccomp: "no-such-profile",
      }),
    ).toThrow(/no-such-profile/);
  });
});

describe("Sandbox: long timeouts, stopping, and what happens after the run", () => {
  it("waits out a timeout of 2^31 ms and more instead of firing at once", async () => {
    const { r } = await run({ argv: ["sh", "-c", "sleep 0.3; exit 3"], timeoutMs: 2 ** 31 });
    expect(r.reason.kind).toBe("exit");
    expect(r.status.exitCode).toBe(3);
  });

  it("refuses a timeout no timer can mean, before anything starts", () => {
    for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => Sandbox.start({ argv: ["/bin/true"], timeoutMs })).toThrow(
        /^timeoutMs: expected a number of milliseconds above 0 and at most 2\^53 - 1, got /,
      );
    expect(() => Sandbox.start({ argv: ["/bin/true"], stopTimeoutMs: -1 })).toThrow(
      /^stopTimeoutMs: expected a number of milliseconds, 0 or more/,
    );
  });

  it("stop(): SIGTERM, then SIGKILL after stopTimeoutMs for a payload that ignores it", async () => {
    const box = Sandbox.start({
      argv: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
      stdio: ["ignore", "pipe", "ignore"],
      stopTimeoutMs: 300,
    });
    await new Promise((res) => box.process.child.stdout!.once("data", res));
    const started = Date.now();
    const r = await box.stop("SIGTERM");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(r.status.signal).toBe("SIGKILL");
    expect(r.stopped).toEqual({ signal: "SIGTERM", escalated: true, stopTimeoutMs: 300 });
    expect(r.record).toMatchObject({ stopSignal: "SIGTERM", stopEscalated: true });
  });

  it("stop(): a payload that ends on SIGTERM keeps its own status, no SIGKILL", async () => {
    const box = Sandbox.start({
      argv: ["sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done"],
      stdio: ["ignore", "pipe", "ignore"],
      stopTimeoutMs: 10_000,
    });
    await new Promise((res) => box.process.child.stdout!.once("data", res));
    const r = await box.stop();
    expect(r.status.exitCode).toBe(7);
    expect(r.stopped).toEqual({ signal: "SIGTERM", escalated: false, stopTimeoutMs: 10_000 });
  });

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync("/sys/fs/cgroup/pids"))(
    "keeps the payload's status when removing its cgroup fails afterwards, and says why",
    async () => {
      const box = Sandbox.start({
        argv: ["sh", "-c", "exit 5"],
        limits: { pids: 16 },
        stdio: ["ignore", "ignore", "ignore"],
      });
      const cg = box.cgroup!;
      const dispose = cg.dispose.bind(cg);
      cg.dispose = async () => {
        await dispose();
        throw new Error("cannot remove the cgroup /x: EBUSY (injected)");
      };
      const r = await box.wait();
      expect(r.status.exitCode).toBe(5);
      expect(r.reason.kind).toBe("exit");
      expect(r.problems).toEqual(["cannot remove the cgroup /x: EBUSY (injected)"]);
    },
  );
});

describe("checkSandbox", () => {
  it("builds the whole plan without starting anything, and throws what start would", async () => {
    const ok = checkSandbox({ argv: ["/bin/true"], capAdd: ["SYS_ADMIN"] });
    expect(ok.warnings).toEqual([
      expect.stringMatching(/^keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: /),
    ]);
    const bad: SandboxOptions[] = [
      { argv: ["/bin/true"], hostname: "a b" },
      { argv: ["/bin/true"], binds: [{ src: "/usr", dst: "/usr/../etc" }] },
      { argv: ["/bin/true"], seccomp: "no-such-profile" },
      { argv: ["/bin/true"], limits: { memory: "-5M" } },
      { argv: ["/bin/true"], capAdd: ["CAP_NOPE"] },
      { argv: ["/bin/true"], cwd: "relative" },
      { argv: ["/bin/true"], env: { "A=B": "1" } },
      { argv: ["/bin/true"], timeoutMs: 2 ** 60 },
    ];
    for (const o of bad) {
      let planned: unknown;
      let started: unknown;
      try {
        checkSandbox(o);
      } catch (e) {
        planned = e;
      }
      try {
        const box = Sandbox.start({ ...o, stdio: ["ignore", "ignore", "ignore"] });
        box.kill("SIGKILL");
        await box.wait();
      } catch (e) {
        started = e;
      }
      expect(planned, JSON.stringify(o)).toBeInstanceOf(Error);
      expect((planned as Error).message).toBe((started as Error)?.message);
    }
  });

  it("refuses more CPUs than this machine has for --cpus, and warns for a profile's", () => {
    const n = os.availableParallelism();
    expect(() => checkSandbox({ argv: ["/bin/true"], limits: { cpus: String(n + 1) } })).toThrow(
      `--cpus: ${n + 1} is more than the ${n} CPU${n === 1 ? "" : "s"} this machine has; give at most ${n}, or leave --cpus out for no CPU limit`,
    );
    const r = checkSandbox({
      argv: ["/bin/true"],
      profile: { name: "big", limits: { cpus: n + 1 } },
      limitsMode: "best-effort",
    });
    expect(r.warnings).toContain(
      `profile big: limits.cpus ${n + 1} is more than the ${n} CPU${n === 1 ? "" : "s"} this machine has: it never holds the sandbox back here`,
    );
  });

  it("collapses the seccomp filter's rule conflicts into one warning line", () => {
    const r = checkSandbox({ argv: ["/bin/true"], capAdd: ["CAP_SYS_ADMIN"] });
    expect(r.warnings.filter((w) => /clone3|seccomp/.test(w)).length).toBeLessThanOrEqual(1);
  });
});
