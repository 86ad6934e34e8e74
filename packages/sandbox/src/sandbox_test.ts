import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfile } from "./profile.ts";
import { resolveSandboxOptions, Sandbox, type SandboxOptions, SparePool } from "./sandbox.ts";

async function run(o: SandboxOptions) {
  const box = Sandbox.start({ stdio: ["ignore", "pipe", "pipe"], ...o });
  let out = "";
  box.process.child.stdout!.on("data", (d) => (out += d));
  // The exit may be reported before the pipe is read to its end: wait for both.
  const closed = new Promise((res) => box.process.child.stdout!.once("close", res));
  const r = await box.wait();
  await closed;
  return { out, r, box };
}

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
