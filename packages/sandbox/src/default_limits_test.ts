// Issue 11, item 9: limits a sandbox gets without asking. Every built-in profile caps
// RLIMIT_NPROC (counted per user namespace since Linux 5.14, so sandboxes of the same
// host uid do not share the count); every tmpfs caps its inodes; and where a pids
// controller is usable, each sandbox's cgroup gets pids.max 1024, silently left out
// where none is. Real kernel: root through the library, rootless through the built CLI.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as cgroups from "@forge/cgroups";
import { describe, expect, it } from "vitest";
import { runSandbox } from "./_run_sandbox.ts";
import { launch } from "./launch.ts";
import { BUILTIN_PROFILE_DIR, loadProfile, ProfileError, validateProfile } from "./profile.ts";
import { resolveSandboxOptions, Sandbox, type SandboxOptions } from "./sandbox.ts";

const isRoot = process.getuid?.() === 0;
const CLI = path.resolve(import.meta.dirname, "../../cli/bin/forge.cjs");
const cliBuilt = fs.existsSync(path.resolve(CLI, "../../dist/bundle/run.js"));
const python = fs.existsSync("/usr/bin/python3");

/** Forks sleepers until fork fails; prints how many it made and the errno's name. */
const FORK_LOOP = `python3 -c '
import errno, os, sys, time
n = 0
try:
    while n < int(sys.argv[1]):
        if os.fork() == 0:
            time.sleep(float(sys.argv[2]))
            os._exit(0)
        n += 1
    print(n, "no-error", flush=True)
except OSError as e:
    print(n, errno.errorcode[e.errno], flush=True)
time.sleep(float(sys.argv[3]))
'`;

async function run(o: Omit<SandboxOptions, "profile">, profile = "default") {
  const { all, r, box } = await runSandbox({
    profile: loadProfile(profile),
    timeoutMs: 30_000,
    ...o,
  });
  return { out: all, r, box };
}

describe("a profile's tmpfs inodes", () => {
  it("are validated and reach the mount plan", () => {
    const doc = { name: "t", root: { tmpfs: [{ dst: "/x", size: "8M", inodes: 500 }] } };
    const p = validateProfile(doc, "t.json");
    const r = resolveSandboxOptions({ argv: ["true"], profile: p });
    expect(r.launch.root!.tmpfs).toEqual([{ dst: "/x", size: "8M", inodes: 500 }]);
    for (const inodes of [0, 1.5, "many"]) {
      const bad = { name: "t", root: { tmpfs: [{ dst: "/x", inodes }] } };
      expect(() => validateProfile(bad, "t.json")).toThrow(ProfileError);
      try {
        validateProfile(bad, "t.json");
      } catch (e) {
        expect((e as ProfileError).problems[0]!.pointer).toBe("/root/tmpfs/0/inodes");
      }
    }
  });
});

describe("the built-in profiles", () => {
  it("each caps RLIMIT_NPROC at 1024", () => {
    const names = fs.readdirSync(BUILTIN_PROFILE_DIR).filter((f) => f.endsWith(".json"));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const f of names) {
      const p = JSON.parse(fs.readFileSync(path.join(BUILTIN_PROFILE_DIR, f), "utf8"));
      expect(p.rlimits?.nproc, f).toBe(1024);
    }
  });
});

describe("nproc, tmpfs inodes and the default pids limit on the real kernel (root)", () => {
  it("shows the sandbox its nproc cap", async () => {
    const { out, r } = await run({ argv: ["sh", "-c", "grep 'Max processes' /proc/self/limits"] });
    expect(r.status.exitCode).toBe(0);
    expect(out).toMatch(/^Max processes\s+1024\s+1024\s+processes\s*$/);
  });

  it.skipIf(!python)("stops a fork loop at RLIMIT_NPROC with EAGAIN", async () => {
    const { out } = await run({
      argv: ["sh", "-c", `${FORK_LOOP} 100 5 0`],
      rlimits: [{ resource: "nproc", soft: 20n, hard: 20n }],
    });
    // forge-init, sh and python count too.
    const [n, code] = out.trim().split(" ");
    expect(code).toBe("EAGAIN");
    expect(Number(n)).toBeGreaterThanOrEqual(15);
    expect(Number(n)).toBeLessThanOrEqual(18);
  });

  it.skipIf(!python)(
    "does not share the nproc count between concurrent sandboxes of the same host uid",
    async () => {
      const o = (hold: number): Omit<SandboxOptions, "profile"> => ({
        argv: ["sh", "-c", `${FORK_LOOP} 15 ${hold} ${hold}`],
        rlimits: [{ resource: "nproc", soft: 20n, hard: 20n }],
      });
      // Both map their root to host uid 65534; each holds 15 processes of its 20.
      const first = run(o(3));
      await new Promise((r) => setTimeout(r, 500));
      const second = await run(o(0));
      expect((await first).out.trim()).toBe("15 no-error");
      expect(second.out.trim()).toBe("15 no-error");
    },
  );

  it("caps the inodes of a tmpfs asked for on the command line's terms", async () => {
    const fill =
      "i=0; while true 2>/dev/null > /x/f$i; do i=$((i+1)); [ $i -ge 5000 ] && break; done; echo $i";
    const asked = await run({
      argv: ["sh", "-c", fill],
      tmpfs: [{ dst: "/x", size: "1m", inodes: 100 }],
    });
    expect(asked.out.trim()).toBe("99"); // its root takes one
    const derived = await run({ argv: ["sh", "-c", fill.replaceAll("/x/", "/tmp/")] });
    // The default profile's /tmp is 64M: one inode per 4 KiB, 16384, beyond this loop.
    expect(derived.out.trim()).toBe("5000");
  });

  const pidsV1 = isRoot && cgroups.pidsControllerOf(cgroups.detectCgroupLayout()) !== undefined;
  it.skipIf(!pidsV1)("puts each run in a cgroup with pids.max 1024 by default", async () => {
    let seen = "";
    const box = Sandbox.start({
      argv: ["sleep", "0.3"],
      profile: loadProfile("default"),
      stdio: ["ignore", "ignore", "ignore"],
    });
    const cg = box.cgroup!;
    expect(cg).toBeDefined();
    const dir = cg.v1Paths.pids ?? cg.v2Path!;
    seen = fs.readFileSync(`${dir}/pids.max`, "utf8").trim();
    expect(fs.readFileSync(`${dir}/cgroup.procs`, "utf8").trim()).not.toBe("");
    const r = await box.wait();
    expect(seen).toBe("1024");
    expect(box.warnings).toEqual([]);
    expect(r.record.limits).toEqual({ pids: 1024 });
    for (const p of cg.paths) expect(fs.existsSync(p)).toBe(false);
    // An explicit limit replaces it; "max" asks for none.
    const own = await run({ argv: ["true"], limits: { pids: "64" } });
    expect(own.r.record.limits).toEqual({ pids: 64 });
    const none = await run({ argv: ["true"], limits: { pids: "max" } });
    expect(none.r.record.limits).toEqual({ pids: "max" });
  });
});

describe.skipIf(!isRoot)("a sandbox in a cgroup of its own (root)", () => {
  /** Starts a sandbox that prints /proc/self/cgroup and sleeps; reads the cgroup's pids meanwhile. */
  async function inCgroup(
    start: () => { out: () => string; wait: () => Promise<unknown> },
    cg: cgroups.CgroupHandle,
  ) {
    const box = start();
    for (let i = 0; i < 500 && !box.out().includes("\n"); i++)
      await new Promise((r) => setTimeout(r, 10));
    const procs = cg.procs();
    await box.wait();
    return { cgroupLines: box.out().trim().split("\n"), procs };
  }

  const layout = cgroups.detectCgroupLayout();
  it.skipIf(cgroups.pidsControllerOf(layout) !== "v1")(
    "v1: joins it before anything else and sees it as / (a cgroup namespace rooted there)",
    async () => {
      const box = Sandbox.start({
        argv: ["sh", "-c", "cat /proc/self/cgroup; sleep 0.3"],
        profile: loadProfile("default"),
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      box.process.child.stdout!.on("data", (d) => (out += d));
      const r = await inCgroup(() => ({ out: () => out, wait: () => box.wait() }), box.cgroup!);
      expect(r.procs.length).toBeGreaterThan(0);
      expect(r.cgroupLines.find((l) => /^\d+:pids:/.test(l))).toMatch(/:pids:\/$/);
      expect(r.cgroupLines.filter((l) => !l.endsWith(":/"))).toEqual([]);
    },
  );

  it.skipIf(!layout.v2)("v2: is born in it (CLONE_INTO_CGROUP) and sees it as /", async () => {
    const cg = cgroups.createCgroup({}, { layout: { ...layout, kind: "v2", v1: {} } });
    try {
      expect(cg.version).toBe("v2");
      let out = "";
      const r = await inCgroup(() => {
        const box = launch({
          argv: ["/bin/sh", "-c", "cat /proc/self/cgroup; sleep 0.3"],
          placement: cg.placement(),
          stdio: ["ignore", "pipe", "inherit"],
        });
        box.child.stdout!.on("data", (d) => (out += d));
        return { out: () => out, wait: () => box.wait() };
      }, cg);
      expect(r.procs.length).toBeGreaterThan(0);
      expect(r.cgroupLines.find((l) => l.startsWith("0::"))).toBe("0::/");
    } finally {
      await cg.dispose();
    }
  });
});

describe.skipIf(!isRoot || !cliBuilt || !python)(
  "the same, rootless (uid 65534, built CLI)",
  () => {
    const asNobody = (args: string[]) => [
      "--reuid",
      "65534",
      "--regid",
      "65534",
      "--clear-groups",
      process.execPath,
      CLI,
      "run",
      ...args,
    ];

    it("stops a fork loop at nproc, per sandbox, and warns about no cgroup it was not asked for", async () => {
      const start = (hold: number) => {
        const c = spawn(
          "setpriv",
          asNobody(["--rlimit", "nproc=20", "--", "sh", "-c", `${FORK_LOOP} 100 ${hold} ${hold}`]),
          { stdio: ["ignore", "pipe", "pipe"], cwd: "/" },
        );
        let out = "";
        let err = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (err += d));
        return new Promise<{ out: string; err: string; code: number | null }>((res) =>
          c.once("close", (code) => res({ out, err, code })),
        );
      };
      const first = start(3);
      await new Promise((r) => setTimeout(r, 1000));
      const second = await start(0);
      for (const r of [await first, second]) {
        expect(r.err).toBe("");
        const [n, code] = r.out.trim().split(" ");
        expect(code).toBe("EAGAIN");
        expect(Number(n)).toBeGreaterThanOrEqual(15);
      }
    });

    it("caps a --tmpfs's inodes as DST:SIZE:INODES says", () => {
      const r = spawnSync(
        "setpriv",
        asNobody([
          "--tmpfs",
          "/x:1m:100",
          "--",
          "sh",
          "-c",
          "i=0; while true 2>/dev/null > /x/f$i; do i=$((i+1)); [ $i -ge 5000 ] && break; done; echo $i",
        ]),
        { encoding: "utf8", cwd: "/", timeout: 30_000 },
      );
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("99");
    });
  },
);
