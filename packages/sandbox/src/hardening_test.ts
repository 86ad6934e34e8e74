// Regression tests for issue 11's launcher items, each an attack that worked before the
// fix: the working directory through a magic link (item 6), the launcher's session
// keyring (item 8), a memory limit that killed the caller (item 11) and a sandbox that
// outlived its launcher's parent (item 12). They run through the built CLI as root and
// as uid 65534, with Landlock on and off (Landlock is the second wall, never the only).
import { execFileSync, spawn as spawnProcess, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORGE_CLI } from "./_probes.ts";
import { runSandbox } from "./_run_sandbox.ts";
import { loadProfile } from "./profile.ts";
import { Sandbox } from "./sandbox.ts";

const isRoot = process.getuid?.() === 0;
const cliBuilt = fs.existsSync(path.join(path.dirname(FORGE_CLI), "..", "dist", "main.js"));
const NOBODY = ["--reuid", "65534", "--regid", "65534", "--clear-groups"];
const users = isRoot ? (["root", "nobody"] as const) : (["caller"] as const);

function forge(args: string[], as: string, cwd?: string) {
  const argv = [process.execPath, FORGE_CLI, ...args];
  const r =
    as === "nobody"
      ? spawnSync("setpriv", [...NOBODY, ...argv], { encoding: "utf8", timeout: 30_000, cwd })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000, cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let tmp: string;
let bin: string;

/** Compiles a small static C program into tmp/bin. */
function cc(name: string, source: string): string {
  const src = path.join(tmp, `${name}.c`);
  const out = path.join(bin, name);
  fs.writeFileSync(src, source);
  execFileSync("cc", ["-O1", "-static", "-o", out, src], { stdio: ["ignore", "ignore", "pipe"] });
  return out;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-hardening-"));
  fs.chmodSync(tmp, 0o755);
  bin = path.join(tmp, "bin");
  fs.mkdirSync(bin, { mode: 0o755 });
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!cliBuilt)("the working directory stays inside the sandbox (item 6)", () => {
  for (const as of users) {
    for (const landlock of ["best-effort", "off"]) {
      it(`refuses --cwd through /proc magic links (${as}, Landlock ${landlock})`, () => {
        const r = forge(
          ["run", "--landlock", landlock, "--cwd", "/proc/1/cwd", "--", "/bin/ls", "../.."],
          as,
          tmp,
        );
        expect(r.code, r.out + r.err).toBe(125);
        expect(r.err).toMatch(/working directory \/proc\/1\/cwd.*ELOOP/);
        // A symlink to it, planted in a directory an earlier run could write.
        const work = fs.mkdtempSync(path.join(tmp, "w"));
        fs.chmodSync(work, 0o777);
        fs.symlinkSync("/proc/1/cwd", path.join(work, "esc"));
        fs.symlinkSync("/proc/self/root/..", path.join(work, "esc2"));
        fs.symlinkSync("/etc", path.join(work, "etc"));
        for (const link of ["esc", "esc2"]) {
          const p = forge(
            [
              "run",
              "--landlock",
              landlock,
              "--bind",
              `${work}:/w`,
              "--cwd",
              `/w/${link}`,
              "--",
              "/bin/ls",
              "../..",
            ],
            as,
            tmp,
          );
          expect(p.code, p.out + p.err).toBe(125);
          expect(p.err).toMatch(/ELOOP/);
        }
        // An ordinary absolute symlink resolves inside the sandbox's root.
        const ok = forge(
          [
            "run",
            "--landlock",
            landlock,
            "--bind",
            `${work}:/w`,
            "--cwd",
            "/w/etc",
            "--",
            "/bin/sh",
            "-c",
            "pwd -P; ls",
          ],
          as,
          tmp,
        );
        expect(ok.code, ok.err).toBe(0);
        expect(ok.out.split("\n")[0]).toBe("/etc");
      });
    }
  }

  it("gives the sandbox's PID 1 its root as working directory, not the launcher's", async () => {
    const box = Sandbox.start({
      argv: ["/bin/sleep", "10"],
      profile: loadProfile("default"),
      stdio: ["ignore", "ignore", "inherit"],
    });
    try {
      const cwd = fs.statSync(`/proc/${box.pid}/cwd`);
      const root = fs.statSync(`/proc/${box.pid}/root`);
      expect([cwd.dev, cwd.ino]).toEqual([root.dev, root.ino]);
    } finally {
      box.kill("SIGKILL");
      await box.wait();
    }
  });
});

describe.skipIf(!cliBuilt)("the launcher's session keyring (item 8)", () => {
  it.each(users)("is out of reach even with --seccomp unconfined (%s)", (as) => {
    const plant = cc(
      "plant",
      `#include <linux/keyctl.h>
       #include <sys/syscall.h>
       #include <unistd.h>
       int main(int argc, char **argv) {
         (void)argc;
         if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "forge-test-session") < 0) return 90;
         if (syscall(SYS_add_key, "user", "forge-probe-secret", "s3cret", 6, KEY_SPEC_SESSION_KEYRING) < 0) return 91;
         execv(argv[1], argv + 1);
         return 92;
       }`,
    );
    const search = cc(
      "search",
      `#include <errno.h>
       #include <linux/keyctl.h>
       #include <stdio.h>
       #include <sys/syscall.h>
       #include <unistd.h>
       int main(void) {
         long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", "forge-probe-secret", 0);
         char buf[64] = "";
         if (id >= 0) syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
         printf(id >= 0 ? "FOUND %s\\n" : "NOT FOUND\\n", buf);
         return 0;
       }`,
    );
    // The control: outside a sandbox the search finds the planted key.
    const direct = spawnSync(plant, [search], { encoding: "utf8" });
    expect(direct.stdout).toBe("FOUND s3cret\n");
    const argv = [
      process.execPath,
      FORGE_CLI,
      "run",
      "--seccomp",
      "unconfined",
      "--bind",
      `${bin}:/probe:ro`,
      "--",
      "/probe/search",
    ];
    const r =
      as === "nobody"
        ? spawnSync("setpriv", [...NOBODY, plant, ...argv], { encoding: "utf8", timeout: 30_000 })
        : spawnSync(plant, argv, { encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("NOT FOUND\n");
  });
});

describe("without a user namespace (found in review)", () => {
  it.skipIf(!isRoot)(
    "as root the sandbox still drops every capability, and says what it runs as",
    async () => {
      const base = loadProfile("default");
      const { out, r, box } = await runSandbox({
        argv: ["/bin/sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status"],
        profile: { ...base, name: "no-userns", namespaces: { ...base.namespaces, user: false } },
      });
      expect(r.status.exitCode).toBe(0);
      expect(out).toBe(
        "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n",
      );
      expect(box.warnings.join("\n")).toMatch(
        /no user namespace: the sandbox's uid 0 is the host's root/,
      );
    },
  );
});

describe("pseudo-terminals (found in review of item 9)", () => {
  it.each(isRoot ? [false, true] : [false])(
    "one sandbox holds at most 64 (devpts max=), leaving the kernel's pool to others (rootless: %s)",
    async (asNobody) => {
      // Before, one default sandbox opened 3071, every pty outside the host's reserve.
      const script =
        "import os\nn = 0\nfds = []\ntry:\n    while n < 200:\n        fds.append(os.openpty()); n += 1\nexcept OSError as e:\n    print(n, e.errno)\nelse:\n    print(n, 0)";
      const argv = [
        process.execPath,
        FORGE_CLI,
        "run",
        "--profile",
        "python-safe",
        "--",
        "python3",
        "-c",
        script,
      ];
      const r = asNobody
        ? spawnSync("setpriv", [...NOBODY, ...argv], { encoding: "utf8", timeout: 30_000 })
        : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe("64 28\n"); // ENOSPC after 64
    },
  );
});

describe("a memory limit never kills the caller (item 11)", () => {
  it.skipIf(!isRoot)(
    "through the library: the sandbox dies of OOM, this process lives",
    async () => {
      const box = Sandbox.start({
        argv: ["/bin/true"],
        profile: loadProfile("default"),
        limits: { memory: "64k" },
      });
      const r = await box.wait();
      expect(r.reason.kind).toBe("oom-kill");
      expect(r.status.signal).toBe("SIGKILL");
    },
  );

  it.skipIf(!isRoot || !cliBuilt)(
    "through the CLI: forge reports the OOM kill and writes the status",
    () => {
      const status = path.join(tmp, "oom.json");
      const r = forge(
        ["run", "--memory", "64k", "--json-status", status, "--", "/bin/true"],
        "root",
      );
      expect(r.code).toBe(137);
      expect(r.err).toMatch(/OOM killer: the memory limit of 64 KiB was reached/);
      expect(JSON.parse(fs.readFileSync(status, "utf8")).reason).toBe("oom-kill");
    },
  );
});

describe.skipIf(!cliBuilt)("--die-with-parent (item 12)", () => {
  it.each(users)("kills the sandbox when the process that started forge exits (%s)", async (as) => {
    const status = path.join(tmp, `dwp-${as}.json`);
    // A duration no other process uses marks the sandbox's sleep.
    const marker = `30.${process.pid}${as === "root" ? 1 : 2}`;
    fs.chmodSync(tmp, 0o777);
    const forgeCmd = [
      process.execPath,
      FORGE_CLI,
      "run",
      "--die-with-parent",
      "--json-status",
      status,
      "--",
      "/bin/sleep",
      marker,
    ];
    const inner = (as === "nobody" ? ["setpriv", ...NOBODY, ...forgeCmd] : forgeCmd)
      .map((a) => `'${a}'`)
      .join(" ");
    // sh starts forge in the background and waits; killing sh orphans forge.
    const sh = spawnProcess("/bin/sh", ["-c", `${inner} & wait`], { stdio: "ignore" });
    try {
      const until = Date.now() + 10_000;
      const sleepers = () =>
        fs.readdirSync("/proc").filter((p) => {
          try {
            return (
              /^\d+$/.test(p) &&
              fs.readFileSync(`/proc/${p}/cmdline`, "utf8") === `/bin/sleep\0${marker}\0`
            );
          } catch {
            return false;
          }
        });
      while (sleepers().length === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(sleepers().length, "the sandbox did not start").toBe(1);
      sh.kill("SIGKILL");
      while (!fs.existsSync(status) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      const record = JSON.parse(fs.readFileSync(status, "utf8"));
      expect(record).toMatchObject({ parentExited: true, signal: "SIGKILL" });
      expect(sleepers()).toEqual([]);
    } finally {
      sh.kill("SIGKILL");
      fs.chmodSync(tmp, 0o755);
    }
  });

  it("is off by default: without it the sandbox outlives the launcher's parent", async () => {
    // (bwrap's default too.) Checked through the library option instead of a second
    // orphaned process: a Sandbox without dieWithParent watches nothing.
    const box = Sandbox.start({ argv: ["/bin/true"], profile: loadProfile("default") });
    const r = await box.wait();
    expect(r.parentExited).toBeUndefined();
    expect(r.record.parentExited).toBeUndefined();
  });
});
