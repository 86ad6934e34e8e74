import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLONE, FakeLibc, SpawnError } from "@forge/libc";
import { afterEach, describe, expect, it } from "vitest";
import { probeKernel } from "./doctor.ts";
import { cleanEnv, type LaunchOptions, launch, planLaunch } from "./launch.ts";

const SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib64"]
  .filter((p) => fs.existsSync(p))
  .map((p) => ({ src: p, dst: p, readonly: true }));
const ROOT = { binds: SYSTEM, tmpfs: [{ dst: "/tmp", size: "8m" }] };

async function run(argv: string[], opts: Partial<LaunchOptions> = {}) {
  const box = launch({ argv, stdio: ["ignore", "pipe", "pipe"], ...opts });
  let out = "";
  let err = "";
  box.child.stdout!.on("data", (d) => (out += d));
  box.child.stderr!.on("data", (d) => (err += d));
  // The exit may be reported before the pipes are read to their end: wait for all.
  const closed = [box.child.stdout!, box.child.stderr!].map(
    (s) => new Promise((r) => s.once("close", r)),
  );
  const st = await box.wait();
  await Promise.all(closed);
  return { out, err, st };
}

const tmps: string[] = [];
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("planLaunch", () => {
  it("orders the steps as documented", () => {
    const plan = planLaunch({
      argv: ["/bin/true"],
      root: ROOT,
      hostname: "box",
      rlimits: [{ resource: "core", soft: 0n, hard: 0n }],
    });
    try {
      const labels = plan.steps.map((s) => s.label);
      const at = (re: RegExp) => labels.findIndex((l) => re.test(l));
      // PR_SET_PDEATHSIG and the parent check are the trampoline's own first acts.
      expect(at(/new session/)).toBe(0);
      expect(at(/die with the parent, again/)).toBeGreaterThan(at(/become uid/));
      expect(at(/launcher is still alive/)).toBe(at(/die with the parent, again/) + 1);
      expect(at(/session keyring/)).toBeGreaterThan(at(/become uid/));
      expect(at(/leave the launcher's working directory/)).toBe(at(/PID 1/) - 1);
      expect(at(/PID 1/)).toBeGreaterThan(at(/become uid/));
      expect(at(/pivot_root|pivot/)).toBeGreaterThan(at(/PID 1/));
      expect(at(/hostname/)).toBeGreaterThan(at(/pivot/));
      const late = plan.lateSteps.map((s) => s.label);
      const lat = (re: RegExp) => late.findIndex((l) => re.test(l));
      expect(lat(/rlimit core/)).toBe(0);
      expect(lat(/drop every capability/)).toBeGreaterThan(lat(/rlimit/));
      expect(lat(/no_new_privs|no new privileges/i)).toBeGreaterThan(lat(/drop every capability/));
      expect(plan.execCandidates).toEqual(["/bin/true"]);
    } finally {
      plan.close();
    }
  });

  it("finds a bare command inside the new root", () => {
    const plan = planLaunch({ argv: ["true"], root: ROOT });
    plan.close();
    expect(plan.execCandidates).toContain("/usr/bin/true");
    expect(plan.execCandidates!.every((c) => !c.startsWith("/usr/local"))).toBe(true); // not bound, not searched
  });

  it("skips what a namespace choice makes pointless", () => {
    const plan = planLaunch({
      argv: ["/bin/true"],
      namespaces: { user: false, pid: false },
      net: "host",
    });
    expect(plan.cloneFlags & (CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET)).toBe(0);
    expect(plan.steps.some((s) => s.kind === "reaper" || s.label.includes("uid_map"))).toBe(false);
    expect(() =>
      planLaunch({ argv: ["/bin/true"], namespaces: { uts: false }, hostname: "x" }),
    ).toThrow("--hostname needs the uts namespace");
  });

  it("keeps only PATH, HOME, TERM and LANG of the caller's environment", () => {
    expect(cleanEnv({ TERM: "xterm", LANG: "C", SECRET: "x", PATH: "/evil" })).toEqual({
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/",
      TERM: "xterm",
      LANG: "C",
    });
  });
});

describe("launch", () => {
  it("runs a command in every namespace with no_new_privs and no capabilities", async () => {
    const { out, st } = await run([
      "/bin/sh",
      "-c",
      "echo $$; id -u; grep -E '^(NoNewPrivs|CapEff|CapBnd)' /proc/self/status; readlink /proc/self/ns/user",
    ]);
    expect(st.exitCode).toBe(0);
    const [pid, uid, ...rest] = out.trim().split("\n");
    expect(pid).toBe("2"); // PID 1 is forge-init
    expect(uid).toBe("0");
    expect(rest.join("\n")).toMatch(/CapEff:\s+0000000000000000/);
    expect(rest.join("\n")).toMatch(/CapBnd:\s+0000000000000000/);
    expect(rest.join("\n")).toMatch(/NoNewPrivs:\s+1/);
    expect(rest.at(-1)).not.toBe(fs.readlinkSync("/proc/self/ns/user"));
  });

  it("builds a new root from binds, with a tmpfs, a hostname, and mounts the command resolves in", async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "forge-launch-"));
    tmps.push(data);
    fs.chmodSync(data, 0o755);
    fs.writeFileSync(path.join(data, "hello.txt"), "from the host\n");
    fs.chmodSync(path.join(data, "hello.txt"), 0o644);
    const { out, st } = await run(
      [
        "sh",
        "-c",
        "ls /; cat /data/hello.txt; hostname; echo x > /tmp/t && cat /tmp/t; echo y > /data/no 2>/dev/null || echo ro",
      ],
      {
        root: { ...ROOT, binds: [...SYSTEM, { src: data, dst: "/data", readonly: true }] },
        hostname: "box",
      },
    );
    expect(st.exitCode).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines).toContain("data");
    expect(lines).toContain("from the host");
    expect(lines).toContain("box");
    expect(lines.slice(-2)).toEqual(["x", "ro"]);
    expect(fs.existsSync(path.join(data, "no"))).toBe(false);
  });

  it("maps to the inside ids asked for, and keeps the capabilities asked for", async () => {
    const ids = await run(["/bin/sh", "-c", "id -u; id -g"], { uid: 1000, gid: 1000, root: ROOT });
    expect(ids.out).toBe("1000\n1000\n");
    const kept = await run(["/bin/sh", "-c", "grep CapEff /proc/self/status"], {
      capAdd: ["NET_BIND_SERVICE"],
      root: ROOT,
    });
    expect(kept.out).toMatch(/CapEff:\s+0000000000000400/);
  });

  it("passes the exit code and signals through", async () => {
    expect((await run(["/bin/sh", "-c", "exit 9"])).st.exitCode).toBe(9);
    expect((await run(["/bin/sh", "-c", "kill -KILL $$"])).st).toEqual({
      code: null,
      signal: "SIGKILL",
      exitCode: 137,
    });
  });

  it("says which step failed and leaves no fds behind", async () => {
    const before = fs.readdirSync("/proc/self/fd").length;
    expect(() =>
      launch({
        argv: ["/bin/true"],
        root: { binds: [{ src: "/nonexistent-forge-src", dst: "/x" }] },
      }),
    ).toThrow(/nonexistent-forge-src/);
    let err: unknown;
    try {
      launch({ argv: ["/no/such/program"], root: ROOT });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).code).toBe("ENOENT");
    await new Promise((r) => setTimeout(r, 200)); // the failed child's pidfd closes once it is reaped
    expect(fs.readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(before + 1);
  });
});

describe("probeKernel", () => {
  it("reports every probe from the real kernel", () => {
    const r = probeKernel();
    expect(r.seccomp.actions).toContain("errno");
    expect(typeof r.landlock.abi).toBe("number");
    expect(r.pidfd.ok).toBe(true);
    expect(r.clone3.ok).toBe(true);
    expect(r.userNamespaces.ok).toBe(true);
    expect(["v2", "v1", "hybrid"]).toContain(r.cgroups.kind);
    expect(r.cgroups.lines[0]).toMatch(/^cgroups: /);
  });

  it("turns kernel refusals into findings with fixes", () => {
    const libc = new FakeLibc()
      .on("landlock_create_ruleset", () => -95)
      .on("clone3", () => -38)
      .on("pidfd_open", () => -38)
      .on("geteuid", () => 0);
    const r = probeKernel(libc);
    expect(r.landlock).toMatchObject({
      ok: false,
      abi: 0,
      detail: "built in but disabled at boot",
    });
    expect(r.clone3.ok).toBe(false);
    expect(r.pidfd.fix).toMatch(/5\.3/);
  });
});

describe.skipIf(process.getuid?.() !== 0)("launch: read-write binds as root (idmapped)", () => {
  /** A fresh root-owned directory (0755), removed after the test. */
  const rootDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-launch-idmap-"));
    tmps.push(d);
    fs.chmodSync(d, 0o755);
    return d;
  };

  it("lets the sandbox's root write a root-owned bind; its files are root's on the host", async () => {
    const d = rootDir();
    const box = launch({
      argv: ["/bin/sh", "-c", "echo hi > /w/f && stat -c '%u:%g' /w /w/f"],
      stdio: ["ignore", "pipe", "pipe"],
      root: { ...ROOT, binds: [...SYSTEM, { src: d, dst: "/w" }] },
    });
    let out = "";
    box.child.stdout!.on("data", (c) => (out += c));
    const closed = new Promise((r) => box.child.stdout!.once("close", r));
    expect((await box.wait()).exitCode).toBe(0);
    await closed;
    expect(out).toBe("0:0\n0:0\n");
    expect(box.warnings).toEqual([]);
    const st = fs.statSync(path.join(d, "f"));
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  it("needs no idmap with idMap \"identity\" (the sandbox's root is the host's)", async () => {
    const d = rootDir();
    const { out, st } = await run(["/bin/sh", "-c", "touch /w/f && cat /proc/self/uid_map"], {
      idMap: "identity",
      root: { ...ROOT, binds: [...SYSTEM, { src: d, dst: "/w" }] },
    });
    expect(st.exitCode).toBe(0);
    expect(out).toMatch(/^\s*0\s+0\s+1$/m);
    expect(fs.statSync(path.join(d, "f")).uid).toBe(0);
  });

  it("warns, naming the path and --id-map identity, where the filesystem cannot (ramfs)", async () => {
    const d = path.join(rootDir(), "ram");
    fs.mkdirSync(d);
    execFileSync("mount", ["-t", "ramfs", "none", d]);
    try {
      const plan = planLaunch({
        argv: ["/bin/true"],
        root: { ...ROOT, binds: [...SYSTEM, { src: d, dst: "/w" }] },
      });
      plan.close();
      expect(plan.warnings).toHaveLength(1);
      expect(plan.warnings[0]).toMatch(
        /^the bind of .*\/ram: no idmapped mount for .*\/ram: ramfs \(mounted at .*\) does not support idmapped mounts .*use --id-map identity/,
      );
    } finally {
      execFileSync("umount", ["-l", d]);
    }
  });
});
