import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PR, SpawnError, type Step, spawn } from "@forge/libc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { namespaceFlags } from "./flags.ts";
import { idMapPlan } from "./id_map.ts";
import { landlockAbi, landlockRulesFromMounts, landlockSteps } from "./landlock.ts";
import { type MountSpec, mountPlan } from "./mount_plan.ts";
import { hostnameStep, loopbackUpSteps } from "./uts_net.ts";

const isRoot = process.getuid?.() === 0;
const SYSTEM: MountSpec["binds"] = [
  { src: "/usr", dst: "/usr", readonly: true },
  { src: "/etc", dst: "/etc", readonly: true },
  { src: "/bin", dst: "/bin" },
  { src: "/lib", dst: "/lib" },
  { src: "/lib64", dst: "/lib64" },
].filter((b) => fs.existsSync(b.src));

interface RunOpts {
  landlock?: MountSpec;
  hostname?: string;
}

/** The order the facade uses: id maps → reaper → mounts → Landlock prepare → hostname → lo → no_new_privs → Landlock. */
async function run(
  spec: MountSpec,
  script: string,
  opts: RunOpts = {},
): Promise<{ code: number; out: string; err: string }> {
  const ids = idMapPlan();
  const mounts = mountPlan(spec);
  const ll = opts.landlock
    ? landlockSteps(landlockRulesFromMounts(opts.landlock), { mode: "strict" })
    : undefined;
  try {
    const steps: Step[] = [
      ...ids.steps,
      { kind: "reaper", label: "become pid 1" },
      ...mounts.steps,
      ...(ll?.prepareSteps ?? []),
    ];
    if (opts.hostname) steps.push(hostnameStep(opts.hostname));
    steps.push(...loopbackUpSteps());
    const lateSteps: Step[] = [
      { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
      ...(ll?.steps ?? []),
    ];
    const child = spawn({
      argv: ["/bin/sh", "-c", script],
      env: { PATH: "/usr/bin:/bin" },
      cloneFlags: namespaceFlags(),
      steps,
      lateSteps,
      beforeStart: ids.beforeStart,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const closed = (s: NodeJS.ReadableStream) => new Promise((r) => s.on("close", r));
    const [st] = await Promise.all([child.wait(), closed(child.stdout!), closed(child.stderr!)]);
    return { code: st.exitCode, out, err };
  } finally {
    mounts.close();
    ll?.close();
  }
}

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-ns-"));
  fs.chmodSync(tmp, 0o755);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freshDir(name: string): string {
  const d = path.join(tmp, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true, mode: 0o777 });
  fs.chmodSync(d, 0o777);
  return d;
}

describe.skipIf(!isRoot)("the mount plan on the real kernel (root: parent-cloned sources)", () => {
  it("shows exactly the planned root, /dev and the sandbox's own pids", async () => {
    const r = await run(
      { binds: SYSTEM, tmpfs: [{ dst: "/tmp", size: "1m" }] },
      'ls -A /; echo ---; ls -A /dev; echo ---; ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "; echo; cat /proc/self/uid_map; readlink /bin',
    );
    expect(r.err).toBe("");
    const [root, dev, tail] = r.out.split("---\n");
    const [pids, uidMap, binLink] = tail!.split("\n");
    expect(root!.trim().split("\n").sort()).toEqual(
      ["dev", "proc", "tmp", ...SYSTEM!.map((b) => b.dst.slice(1))].sort(),
    );
    expect(dev!.trim().split("\n").sort()).toEqual([
      "fd",
      "full",
      "null",
      "ptmx",
      "pts",
      "random",
      "shm",
      "stderr",
      "stdin",
      "stdout",
      "tty",
      "urandom",
      "zero",
    ]);
    const ps = pids!.trim().split(" ").map(Number);
    expect(ps).toContain(1);
    expect(Math.max(...ps)).toBeLessThan(20);
    expect(uidMap).toMatch(/^\s*0\s+65534\s+1$/);
    expect(binLink).toBe(fs.readlinkSync("/bin"));
    expect(r.code).toBe(0);
  });

  it("refuses writes to read-only binds, the root and /dev; writes through read-write binds", async () => {
    const rw = freshDir("rw");
    const r = await run(
      { binds: [...SYSTEM!, { src: rw, dst: "/work" }] },
      "touch /etc/forge-x 2>/dev/null && echo etc-writable; touch /forge-x 2>/dev/null && echo root-writable; touch /dev/forge-x 2>/dev/null && echo dev-writable; echo hi > /work/out && echo work-ok; echo x > /dev/null && echo null-ok",
    );
    expect(r.out.trim().split("\n")).toEqual(["work-ok", "null-ok"]);
    expect(fs.readFileSync(path.join(rw, "out"), "utf8")).toBe("hi\n");
    expect(fs.existsSync("/etc/forge-x")).toBe(false);
  });

  it("holds a tmpfs to its size limit", async () => {
    const r = await run(
      { binds: SYSTEM, tmpfs: [{ dst: "/tmp", size: "1m" }] },
      "dd if=/dev/zero of=/tmp/f bs=64k count=64 2>&1; echo rc=$?; ls -l /tmp/f | awk '{print $5}'",
    );
    expect(r.out).toMatch(/No space left on device/);
    expect(r.out).toMatch(/rc=1/);
    expect(Number(r.out.trim().split("\n").at(-1))).toBeLessThanOrEqual(1024 * 1024);
  });

  it("holds a tmpfs to its inode cap, asked for or derived from its size", async () => {
    // Empty files take no tmpfs size, only the host's slab: nr_inodes is what stops them.
    // (`true`, not `:`: a special built-in's failed redirection ends the shell.)
    const fill = (dir: string) =>
      `i=0; while true 2>/tmp/err > ${dir}/f$i; do i=$((i+1)); [ $i -ge 5000 ] && break; done; echo ${dir}=$i; cat /tmp/err`;
    const r = await run(
      {
        binds: SYSTEM,
        tmpfs: [
          { dst: "/tmp", size: "1m" },
          { dst: "/asked", size: "1m", inodes: 100 },
          { dst: "/derived", size: "64k" },
        ],
      },
      `${fill("/asked")}; ${fill("/derived")}`,
    );
    const out = r.out;
    expect(r.err, `${r.code} ${out}`).toBe("");
    // The root of a tmpfs takes one inode.
    expect(out).toMatch(/^\/asked=99\n.*No space left on device\n/);
    expect(out).toMatch(/\/derived=1023\n.*No space left on device\n/);
    expect(r.code).toBe(0);
  });

  it("masks Docker's masked paths and makes /proc/sys read-only", async () => {
    const files = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"].filter(
      (f) => fs.existsSync(f),
    );
    const dirs = ["/proc/acpi", "/proc/scsi"].filter((f) => fs.existsSync(f));
    expect(files.length + dirs.length).toBeGreaterThan(0);
    const script = [
      ...files.map((f) => `echo ${f}=$(cat ${f} | wc -c)`),
      ...dirs.map((d) => `echo ${d}=$(ls -A ${d} | wc -l)`),
      "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable",
      "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable",
      "echo done",
    ].join("; ");
    const r = await run({ binds: SYSTEM }, script);
    expect(r.out.trim().split("\n")).toEqual(
      [...files, ...dirs].map((f) => `${f}=0`).concat(["done"]),
    );
  });

  it("refuses a symlink swapped into a destination path", async () => {
    const data = freshDir("data");
    fs.symlinkSync("/etc", path.join(data, "sub"));
    const other = freshDir("other");
    // The final component and an intermediate one are both symlinks to a host directory.
    for (const dst of ["/data/sub", "/data/sub/deeper"]) {
      const attempt = run(
        { binds: [...SYSTEM!, { src: data, dst: "/data" }, { src: other, dst }] },
        "true",
      );
      await expect(attempt).rejects.toThrow(SpawnError);
      await expect(attempt).rejects.toThrow(/\/data\/sub.*ELOOP/);
    }
    expect(fs.readdirSync("/etc").includes("deeper")).toBe(false);
  });

  it("refuses a bind source that changed between the plan and the child (child-verify)", async () => {
    const src = freshDir("moving");
    const plan = mountPlan({ binds: [...SYSTEM!, { src, dst: "/m" }], sources: "child-verify" });
    try {
      fs.renameSync(src, `${src}.old`);
      fs.mkdirSync(src);
      const ids = idMapPlan();
      expect(() =>
        spawn({
          argv: ["/bin/true"],
          cloneFlags: namespaceFlags(),
          steps: [...ids.steps, ...plan.steps],
          beforeStart: ids.beforeStart,
        }),
      ).toThrow(/bind source .*moving changed since it was inspected \(inode \(low\) differs\)/);
    } finally {
      plan.close();
    }
  });

  it("runs the same plan with child-verified sources as root", async () => {
    const r = await run({ binds: SYSTEM, sources: "child-verify" }, "ls /usr | head -1");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(fs.readdirSync("/usr").sort()[0]);
  });

  it("sets the hostname and brings lo up", async () => {
    const r = await run(
      { binds: SYSTEM },
      "hostname; python3 -c \"import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); c=socket.create_connection(s.getsockname()); print('lo-ok')\"",
      { hostname: "forge-test" },
    );
    expect(r.out.trim().split("\n")).toEqual(["forge-test", "lo-ok"]);
    expect(os.hostname()).not.toBe("forge-test");
  });

  it.skipIf(landlockAbi() < 1)("Landlock denies a write outside the allowed paths", async () => {
    const allowed = freshDir("allowed");
    const denied = freshDir("denied");
    fs.writeFileSync(path.join(denied, "secret"), "s");
    const base: MountSpec = {
      binds: [...SYSTEM!, { src: allowed, dst: "/allowed" }],
      tmpfs: [{ dst: "/tmp" }],
    };
    // The mount namespace makes /denied writable; Landlock's rules (from `base`) do not.
    const r = await run(
      { ...base, binds: [...base.binds!, { src: denied, dst: "/denied" }] },
      "echo a > /allowed/f && echo allowed-ok; echo b > /tmp/f && echo tmp-ok; (echo c > /denied/f) 2>/dev/null || echo denied-refused; cat /denied/secret 2>/dev/null || echo denied-unreadable; cat /etc/hostname >/dev/null && echo etc-readable",
      { landlock: base },
    );
    expect(r.out.trim().split("\n")).toEqual([
      "allowed-ok",
      "tmp-ok",
      "denied-refused",
      "denied-unreadable",
      "etc-readable",
    ]);
    expect(fs.existsSync(path.join(denied, "f"))).toBe(false);
    expect(fs.readdirSync(denied)).toEqual(["secret"]);
    expect(fs.readFileSync(path.join(allowed, "f"), "utf8")).toBe("a\n");
  });
});

describe.skipIf(!isRoot)("rootless (uid 65534, child-verified sources)", () => {
  const dist = path.resolve(import.meta.dirname, "../dist/mod.js");
  const libcDist = path.resolve(import.meta.dirname, "../../libc/dist/mod.js");
  const made: string[] = [];
  beforeAll(() => {
    execFileSync("npx", ["tsc", "-b", path.resolve(import.meta.dirname, "..")], {
      stdio: "inherit",
    });
  });
  afterEach(() => {
    for (const f of made.splice(0)) fs.rmSync(f, { recursive: true, force: true });
  });

  function asNobody(body: string): Record<string, unknown> {
    const file = path.join(tmp, `rootless-${made.length}-${Date.now()}.mjs`);
    made.push(file);
    fs.writeFileSync(
      file,
      `import { spawn, PR } from ${JSON.stringify(libcDist)};
import * as ns from ${JSON.stringify(dist)};
const SYSTEM = ${JSON.stringify(SYSTEM)};
async function run(spec, script, landlock) {
  const ids = ns.idMapPlan();
  const mounts = ns.mountPlan(spec);
  const ll = landlock ? ns.landlockSteps(ns.landlockRulesFromMounts(landlock)) : undefined;
  try {
    const child = spawn({ argv: ["/bin/sh", "-c", script], env: { PATH: "/usr/bin:/bin" }, cloneFlags: ns.namespaceFlags(),
      steps: [...ids.steps, { kind: "reaper", label: "pid 1" }, ...mounts.steps, ...(ll?.prepareSteps ?? []), ...ns.loopbackUpSteps()],
      lateSteps: [{ label: "nnp", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] }, ...(ll?.steps ?? [])],
      stdio: ["ignore", "pipe", "pipe"] });
    let out = ""; child.stdout.on("data", (d) => (out += d)); child.stderr.on("data", (d) => (out += d));
    const closed = (s) => new Promise((r) => s.on("close", r));
    const [st] = await Promise.all([child.wait(), closed(child.stdout), closed(child.stderr)]);
    return { code: st.exitCode, out, sources: mounts.sources };
  } catch (e) { return { error: e.message }; } finally { mounts.close(); ll?.close(); }
}
const result = {};
${body}
console.log(JSON.stringify(result));`,
    );
    fs.chmodSync(file, 0o644);
    const out = execFileSync(
      "setpriv",
      ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, file],
      { encoding: "utf8" },
    );
    return JSON.parse(out) as Record<string, unknown>;
  }

  it("builds the same root, keeps read-only binds read-only, isolates pids, refuses symlinks, applies Landlock", () => {
    const work = freshDir("nobody-work");
    fs.symlinkSync("/etc", path.join(work, "link"));
    const denied = freshDir("nobody-denied");
    // One process per scenario: @forge/libc's reaper currently shares the parent's mm and
    // clears its dumpable flag, after which an unprivileged parent's next children cannot
    // open their own /proc/self/setgroups (reported to the libc owner).
    const r = {
      ...asNobody(`result.basic = await run({ binds: SYSTEM, tmpfs: [{ dst: "/tmp", size: "1m" }] },
        'ls -A / | tr "\\n" " "; echo; id -u; touch /usr/x 2>/dev/null || echo ro-ok; ls /proc | grep -cE "^[0-9]+$"; cat /proc/self/uid_map');`),
      ...asNobody(
        `result.symlink = await run({ binds: [...SYSTEM, { src: ${JSON.stringify(work)}, dst: "/w" }, { src: "/usr/share", dst: "/w/link" }] }, "true");`,
      ),
      ...asNobody(`const base = { binds: [...SYSTEM, { src: ${JSON.stringify(work)}, dst: "/w" }] };
      result.landlock = await run({ ...base, binds: [...base.binds, { src: ${JSON.stringify(denied)}, dst: "/d" }] },
        "echo a > /w/ok && echo w-ok; (echo b > /d/no) 2>/dev/null || echo d-refused", base);`),
    };
    const basic = r.basic as { code: number; out: string; sources: string };
    expect(basic.sources).toBe("child-verify");
    const lines = basic.out.trim().split("\n");
    expect(lines[0]!.trim().split(" ").sort()).toEqual(
      ["dev", "proc", "tmp", ...SYSTEM!.map((b) => b.dst.slice(1))].sort(),
    );
    expect(lines[1]).toBe("0");
    expect(lines[2]).toBe("ro-ok");
    expect(Number(lines[3])).toBeLessThanOrEqual(5); // pid 1, sh, ls, grep (and maybe tr)
    expect(lines[4]).toMatch(/^\s*0\s+65534\s+1$/);
    expect(basic.code).toBe(0);
    expect((r.symlink as { error: string }).error).toMatch(/open .*\/w\/link.*ELOOP/);
    expect((r.landlock as { out: string }).out.trim().split("\n")).toEqual(
      landlockAbi() >= 1 ? ["w-ok", "d-refused"] : ["w-ok"],
    );
    expect(fs.existsSync(path.join(denied, "no"))).toBe(false);
  });
});
