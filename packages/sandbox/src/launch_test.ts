import { CLONE, FakeLibc } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { probeKernel } from "./doctor.ts";
import { cleanEnv, launch, namespaceFlags, planLaunch } from "./launch.ts";

async function run(
  argv: string[],
  opts: Parameters<typeof launch>[0] extends infer O ? Partial<O> : never = {},
) {
  const box = launch({ argv, stdio: ["ignore", "pipe", "pipe"], ...opts });
  let out = "";
  box.child.stdout!.on("data", (d) => (out += d));
  const st = await box.wait();
  await new Promise((r) => setImmediate(r));
  return { out, st };
}

describe("planLaunch", () => {
  it("orders id maps, the reaper and no_new_privs", () => {
    const plan = planLaunch({ argv: ["/bin/true"] });
    expect(plan.cloneFlags).toBe(namespaceFlags());
    const labels = plan.steps.map((s) => s.label);
    expect(labels[0]).toMatch(/PDEATHSIG/);
    expect(labels.findIndex((l) => l.includes("uid_map"))).toBeLessThan(
      labels.findIndex((l) => l.includes("PID 1")),
    );
    expect(plan.lateSteps.map((s) => s.label)).toEqual(["set no_new_privs"]);
  });

  it("skips what a namespace choice makes pointless", () => {
    const plan = planLaunch({ argv: ["/bin/true"], namespaces: { user: false, pid: false } });
    expect(plan.cloneFlags & (CLONE.NEWUSER | CLONE.NEWPID)).toBe(0);
    expect(plan.steps.some((s) => s.kind === "reaper" || s.label.includes("uid_map"))).toBe(false);
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
  it("runs a command in all six namespaces with no_new_privs", async () => {
    const { out, st } = await run([
      "/bin/sh",
      "-c",
      "echo $$; id -u; grep NoNewPrivs /proc/self/status; readlink /proc/self/ns/user",
    ]);
    expect(st.exitCode).toBe(0);
    const [pid, uid, nnp, userns] = out.trim().split("\n");
    expect(pid).toBe("2"); // PID 1 is the reaper
    expect(uid).toBe("0");
    expect(nnp).toMatch(/NoNewPrivs:\s+1/);
    expect(userns).not.toBe((await import("node:fs")).readlinkSync("/proc/self/ns/user"));
  });

  it("maps to the inside ids asked for", async () => {
    const { out } = await run(["/bin/sh", "-c", "id -u; id -g"], { uid: 1000, gid: 1000 });
    expect(out).toBe("1000\n1000\n");
  });

  it("passes the exit code and signals through", async () => {
    expect((await run(["/bin/sh", "-c", "exit 9"])).st.exitCode).toBe(9);
    expect((await run(["/bin/sh", "-c", "kill -KILL $$"])).st).toEqual({
      code: null,
      signal: "SIGKILL",
      exitCode: 137,
    });
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
