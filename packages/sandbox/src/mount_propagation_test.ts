// Issue 11, item 2: nothing a sandbox mounts may reach the host's mount table, and
// nothing the host mounts later may reach the sandbox. A bind source that is a shared
// mount on the host (as / is under systemd) is the case that leaked: its clone joined
// the host's peer group, so a --tmpfs or --bind under it appeared on the host and
// stayed after exit. Real kernel; as root through the library, rootless through the
// built CLI (uid 65534). Every mount a test makes is removed in afterEach, whatever
// happened, and so is anything that leaked under the test's directory.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runSandbox } from "./_run_sandbox.ts";
import { launch } from "./launch.ts";
import { loadProfile } from "./profile.ts";
import type { SandboxOptions } from "./sandbox.ts";

const isRoot = process.getuid?.() === 0;
const CLI = path.resolve(import.meta.dirname, "../../cli/bin/forge.cjs");
const cliBuilt = fs.existsSync(path.resolve(CLI, "../../dist/bundle/run.js"));

/** Mount points of this mount namespace (mountinfo field 5, unescaped). */
function mountPoints(): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))),
    );
}
/** Says it is running (its binds are in place), waits for the host's mount, reports what it sees of it. */
const WAIT_FOR_HOST_MOUNT =
  ": > /w/ready; while [ ! -e /w/go ]; do sleep 0.02; done; ls -A /w/sub; grep -c ' /w/sub ' /proc/self/mountinfo";

/** Resolves once `file` exists (the sandbox's signal), or throws after 10 s. */
async function waitFor(file: string): Promise<void> {
  for (let i = 0; i < 1000 && !fs.existsSync(file); i++)
    await new Promise((r) => setTimeout(r, 10));
  if (!fs.existsSync(file)) throw new Error(`the sandbox never created ${file}`);
}

const under = (dir: string) => mountPoints().filter((m) => m === dir || m.startsWith(`${dir}/`));

let base = ""; // a temporary directory, bind-mounted on itself and made shared
let host = ""; // base/host: the shared mount a sandbox binds
let extra = ""; // base/extra: a second directory, bound under the first inside
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "forge-prop-"));
  fs.chmodSync(base, 0o755);
  host = path.join(base, "host");
  extra = path.join(base, "extra");
  for (const d of [host, extra, path.join(host, "sub"), path.join(host, "bin")]) {
    fs.mkdirSync(d, { recursive: true });
    fs.chmodSync(d, 0o777); // the sandbox's root is uid 65534 on the host
  }
  fs.writeFileSync(path.join(extra, "tool"), "#!/bin/sh\necho trojan\n", { mode: 0o755 });
  if (!isRoot) return;
  execFileSync("mount", ["--bind", host, host]);
  execFileSync("mount", ["--make-shared", host]);
});
afterEach(() => {
  // Deepest first; lazily, so that a busy mount cannot stop the clean-up.
  if (isRoot)
    for (const m of under(base).sort((a, b) => b.length - a.length)) {
      try {
        execFileSync("umount", ["-l", m]);
      } catch {
        // already gone
      }
    }
  fs.rmSync(base, { recursive: true, force: true });
});

/** Runs a sandbox of the default profile; resolves with its output. */
async function run(o: Omit<SandboxOptions, "profile">): Promise<{ code: number; out: string }> {
  const { all, r } = await runSandbox({
    profile: loadProfile("default"),
    timeoutMs: 20_000,
    landlock: "off", // what is checked here is the mount namespace alone
    ...o,
  });
  return { code: r.status.exitCode, out: all };
}

/** The propagation fields (shared:N, master:N, ...) of the sandbox's own mounts, from its mountinfo. */
const PROPAGATION_OF_MOUNTS =
  "sed -E 's/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ ([^ ]+) [^ ]+ ?(.*) - .*/\\1 [\\2]/' /proc/self/mountinfo";

describe.skipIf(!isRoot)("mount propagation (root, parent-cloned bind sources)", () => {
  it("the host's shared mount is shared before the sandbox runs (the premise)", () => {
    const line = fs
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[4] === host);
    expect(line).toMatch(/ shared:\d+ /);
  });

  it("keeps a tmpfs and a bind nested under a bind of a shared mount inside, and every mount private", async () => {
    const r = await run({
      argv: ["sh", "-c", `echo x > /w/sub/made-inside; /w/bin/tool; ${PROPAGATION_OF_MOUNTS}`],
      binds: [
        { src: host, dst: "/w" },
        { src: extra, dst: "/w/bin", readonly: true },
      ],
      tmpfs: [{ dst: "/w/sub", size: "1m" }],
    });
    expect(r.out).toContain("trojan\n"); // the nested bind is there inside
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n").slice(1);
    expect(lines.some((l) => l.startsWith("/w/sub "))).toBe(true);
    // No mount of the sandbox is in a peer group, nor the slave of one.
    expect(lines.filter((l) => /shared:|master:/.test(l))).toEqual([]);
    // The host sees none of it: no new mount, no file written to the tmpfs, no trojan.
    expect(under(base)).toEqual([host]);
    expect(fs.readdirSync(path.join(host, "sub"))).toEqual([]);
    expect(fs.readdirSync(path.join(host, "bin"))).toEqual([]);
  });

  it("does not show the sandbox a mount the host makes later under a bound directory", async () => {
    const go = path.join(host, "go");
    const box = run({
      argv: ["sh", "-c", WAIT_FOR_HOST_MOUNT],
      binds: [{ src: host, dst: "/w" }],
    });
    // Mount on the host while the sandbox runs (its binds are in place).
    await waitFor(path.join(host, "ready"));
    execFileSync("mount", [
      "-t",
      "tmpfs",
      "-o",
      "size=64k",
      "forge-prop-later",
      path.join(host, "sub"),
    ]);
    fs.writeFileSync(path.join(host, "sub", "host-mount-marker"), "");
    fs.writeFileSync(go, "");
    const r = await box;
    expect(r.out).not.toContain("host-mount-marker");
    expect(r.out.trim()).toBe("0");
  });

  it("keeps a payload's mounts inside when there is no new root (the second wall)", async () => {
    // Host root in a new mount namespace without a user namespace: its copy of a shared
    // mount is in the host's peer group until the child makes its tree private.
    const box = launch({
      argv: [
        "/bin/sh",
        "-c",
        `mount -t tmpfs -o size=64k forge-prop-payload ${host}/sub && echo mounted`,
      ],
      namespaces: { user: false, pid: false, cgroup: false, ipc: false, uts: false },
      net: "host",
      // As host root without a user namespace every other capability is dropped.
      capAdd: ["SYS_ADMIN"],
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    box.child.stdout!.on("data", (d) => (out += d));
    const closed = new Promise((r) => box.child.stdout!.once("close", r));
    const st = await box.wait();
    await closed;
    expect(out).toBe("mounted\n");
    expect(st.exitCode).toBe(0);
    expect(under(base)).toEqual([host]);
  });
});

describe.skipIf(!isRoot || !cliBuilt)("mount propagation (rootless, uid 65534, built CLI)", () => {
  /** `forge run` as uid 65534; resolves when it exits. */
  function forgeAsNobody(args: string[]) {
    return spawnSync(
      "setpriv",
      [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        process.execPath,
        CLI,
        "run",
        ...args,
      ],
      { encoding: "utf8", timeout: 30_000, cwd: "/" },
    );
  }

  it("keeps nested mounts inside and every mount private", () => {
    const r = forgeAsNobody([
      "--landlock",
      "off",
      "--bind",
      `${host}:/w`,
      "--bind",
      `${extra}:/w/bin:ro`,
      "--tmpfs",
      "/w/sub:1m",
      "--",
      "sh",
      "-c",
      `echo x > /w/sub/made-inside; /w/bin/tool; ${PROPAGATION_OF_MOUNTS}`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("trojan");
    expect(lines.some((l) => l.startsWith("/w/sub "))).toBe(true);
    expect(lines.slice(1).filter((l) => /shared:|master:/.test(l))).toEqual([]);
    expect(under(base)).toEqual([host]);
    expect(fs.readdirSync(path.join(host, "sub"))).toEqual([]);
    expect(fs.readdirSync(path.join(host, "bin"))).toEqual([]);
  });

  it("does not show the sandbox a mount the host makes later", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(
      "setpriv",
      [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        process.execPath,
        CLI,
        "run",
        "--bind",
        `${host}:/w`,
        "--",
        "sh",
        "-c",
        WAIT_FOR_HOST_MOUNT,
      ],
      { stdio: ["ignore", "pipe", "pipe"], cwd: "/" },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise((r) => child.once("close", r));
    try {
      await waitFor(path.join(host, "ready"));
      execFileSync("mount", [
        "-t",
        "tmpfs",
        "-o",
        "size=64k",
        "forge-prop-later",
        path.join(host, "sub"),
      ]);
      fs.writeFileSync(path.join(host, "sub", "host-mount-marker"), "");
      fs.writeFileSync(path.join(host, "go"), "");
      await exited;
    } finally {
      child.kill("SIGKILL");
    }
    expect(out).not.toContain("host-mount-marker");
    expect(out.trim()).toBe("0");
  });
});
