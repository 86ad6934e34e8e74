// Real-kernel tests on cgroup v2. Placement (CLONE_INTO_CGROUP), cgroup.kill,
// cgroup.freeze and clean-up need no controllers, so they run on any cgroup2 mount
// (on this hybrid host: /sys/fs/cgroup/unified). Limits need the v2 memory, pids and
// cpu controllers; where the host binds them to v1 those tests are skipped with the reason.
import fs from "node:fs";
import { type ChildHandle, spawn } from "@forge/libc";
import { afterEach, describe, expect, it } from "vitest";
import { type CgroupHandle, createCgroup } from "./cgroup.ts";
import { endReason } from "./end_reason.ts";
import { type CgroupLayout, detectCgroupLayout, mountDir } from "./layout.ts";
import { parseCpus } from "./limits.ts";

const detected = detectCgroupLayout();
const isRoot = process.getuid?.() === 0;
/** The host's cgroup2 mount seen as a pure v2 host (v1 hierarchies ignored). */
const v2Only: CgroupLayout | undefined = detected.v2
  ? { ...detected, kind: "v2", v1: {} }
  : undefined;
const noV2 = !isRoot || !v2Only;
const why = !isRoot
  ? "skipped: needs root"
  : !v2Only
    ? "skipped: no cgroup2 mount on this host"
    : "";
const lacking = ["memory", "pids", "cpu"].filter((c) => !detected.v2?.controllers.includes(c));
const noLimits = noV2 || lacking.length > 0;
const limitsWhy =
  why ||
  (lacking.length
    ? `skipped: the cgroup2 mount ${detected.v2?.mount} offers no ${lacking.join(", ")} controller (bound to v1 on this ${detected.kind} host)`
    : "");
const PY = "/usr/bin/python3";

const handles: CgroupHandle[] = [];
const children: ChildHandle[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGKILL");
    await c.wait();
  }
  for (const h of handles.splice(0)) await h.dispose();
});
const until = async (cond: () => boolean, ms: number) => {
  for (let t = 0; t < ms && !cond(); t += 20) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

describe("cgroup v2 on the real kernel", () => {
  it.skipIf(noV2)(`CLONE_INTO_CGROUP: the child is born in the leaf ${why}`, async () => {
    const cg = createCgroup({}, { layout: v2Only! });
    handles.push(cg);
    expect(cg.version).toBe("v2");
    const p = cg.placement();
    expect(p.beforeStart).toBeUndefined();
    expect(p.cgroupFd).toBeGreaterThan(2);
    const child = spawn({
      argv: ["/bin/cat", "/proc/self/cgroup"],
      ...p,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
    });
    expect((await child.wait()).exitCode).toBe(0);
    const line = out.split("\n").find((l) => l.startsWith("0::"))!;
    const v2 = v2Only!.v2!;
    expect(mountDir(v2.mount, v2.mountRoot, line.slice(3))).toBe(cg.v2Path);
  });

  it.skipIf(noV2)(`cgroup.freeze, cgroup.kill and dispose ${why}`, async () => {
    const cg = createCgroup({}, { layout: v2Only! });
    handles.push(cg);
    const child = spawn({
      argv: ["/bin/sh", "-c", "sleep 60 & sleep 60 & wait"],
      ...cg.placement(),
      stdio: ["ignore", "ignore", "ignore"],
    });
    children.push(child);
    expect(await until(() => cg.procs().length === 3, 5000)).toBe(true);
    cg.freeze();
    expect(fs.readFileSync(`${cg.v2Path}/cgroup.events`, "utf8")).toMatch(/frozen 1/);
    cg.thaw();
    expect(fs.readFileSync(`${cg.v2Path}/cgroup.events`, "utf8")).toMatch(/frozen 0/);
    cg.kill();
    expect((await child.wait()).signal).toBe("SIGKILL");
    await cg.dispose();
    expect(fs.existsSync(cg.v2Path!)).toBe(false);
  });

  it.skipIf(noV2)(`no leaked v2 cgroups after 200 create/dispose cycles ${why}`, async () => {
    const paths: string[] = [];
    for (let i = 0; i < 200; i++) {
      const cg = createCgroup({}, { layout: v2Only! });
      paths.push(cg.v2Path!);
      await cg.dispose();
    }
    expect(paths.filter((p) => fs.existsSync(p))).toEqual([]);
  });

  it.skipIf(noLimits || !fs.existsSync(PY))(
    `a fork bomb stops at pids.max ${limitsWhy}`,
    async () => {
      const cg = createCgroup({ pids: 32, cpu: parseCpus("0.5") }, { layout: v2Only! });
      handles.push(cg);
      const bomb =
        "import os, time\nd = time.monotonic() + 30\nwhile time.monotonic() < d:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.005)\nos._exit(0)";
      const child = spawn({
        argv: [PY, "-c", bomb],
        ...cg.placement(),
        stdio: ["ignore", "ignore", "ignore"],
      });
      children.push(child);
      try {
        expect(await until(() => (cg.stats().pids?.maxHits ?? 0) > 0, 20_000)).toBe(true);
        expect(cg.stats().pids!.current).toBeLessThanOrEqual(32);
      } finally {
        cg.kill();
      }
      expect((await child.wait()).signal).toBe("SIGKILL");
    },
  );

  it.skipIf(noLimits || !fs.existsSync(PY))(
    `a memory bomb is OOM-killed and the status says so ${limitsWhy}`,
    async () => {
      const limits = { memory: 64 * 2 ** 20, swap: 0, pids: 8, oomGroupKill: true };
      const cg = createCgroup(limits, { layout: v2Only!, mode: "best-effort" });
      handles.push(cg);
      const child = spawn({
        argv: [PY, "-c", "x = []\nwhile True:\n    x.append(b'x' * (4 << 20))"],
        ...cg.placement(),
        stdio: ["ignore", "ignore", "ignore"],
      });
      children.push(child);
      const exit = await child.wait();
      const stats = cg.stats();
      expect(stats.memory!.oomKill).toBeGreaterThanOrEqual(1);
      expect(endReason(exit, { stats, limits }).kind).toBe("oom-kill");
    },
  );

  it.skipIf(noLimits)(`a CPU spinner limited to 5% gets about 5% ${limitsWhy}`, async () => {
    const cg = createCgroup({ cpu: parseCpus("0.05") }, { layout: v2Only! });
    handles.push(cg);
    const child = spawn({
      argv: ["/bin/sh", "-c", "while :; do :; done"],
      ...cg.placement(),
      stdio: ["ignore", "ignore", "ignore"],
    });
    children.push(child);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 2000));
    const share = cg.stats().cpu!.usageUsec / (Number(process.hrtime.bigint() - t0) / 1000);
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.2);
  });
});
