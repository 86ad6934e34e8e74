import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));
const isRoot = process.getuid?.() === 0;

interface ForgeOptions {
  asNobody?: boolean;
  input?: string;
  cwd?: string;
  env?: Record<string, string>;
}

function forge(args: string[], opts: ForgeOptions = {}) {
  const cmd = opts.asNobody ? "setpriv" : process.execPath;
  const argv = opts.asNobody
    ? ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, bin, ...args]
    : [bin, ...args];
  const r = spawnSync(cmd, argv, {
    encoding: "utf8",
    input: opts.input ?? "",
    timeout: 30_000,
    cwd: opts.cwd ?? os.tmpdir(),
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmps: string[] = [];
/** A fresh directory (mode 0755, or as given), removed after the test. */
function tmpdir(mode = 0o755, owner?: number): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-run-"));
  tmps.push(d);
  fs.chmodSync(d, mode);
  if (owner !== undefined) fs.chownSync(d, owner, owner);
  return d;
}
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** What a job would plant: a profile that turns the walls off. */
const PLANTED = JSON.stringify({
  name: "default",
  hostname: "pwned",
  seccomp: "unconfined",
  landlock: "off",
  capabilities: { add: ["SYS_ADMIN"] },
});
const PROBE = "grep -E '^(Seccomp|CapEff):' /proc/self/status; hostname";

describe.skipIf(!built || !isRoot)("forge run: trust boundaries (built CLI, as root)", () => {
  it("ignores a profile a job planted in the working directory (the bound checkout)", () => {
    const work = tmpdir(0o777);
    const planting = forge(
      [
        "run",
        "--bind",
        `${work}:/work`,
        "--cwd",
        "/work",
        "--",
        "sh",
        "-c",
        "mkdir -p /work/profiles && cat > /work/profiles/default.json && cp /work/profiles/default.json /work/profiles/planted.json",
      ],
      { cwd: work, input: PLANTED },
    );
    expect(planting.code).toBe(0);
    expect(fs.existsSync(path.join(work, "profiles", "default.json"))).toBe(true);
    const status = path.join(tmpdir(), "status.json");
    // The same command again: Forge's default profile, not the planted one.
    const next = forge(
      [
        "run",
        "--bind",
        `${work}:/work`,
        "--cwd",
        "/work",
        "--json-status",
        status,
        "--",
        "sh",
        "-c",
        PROBE,
      ],
      { cwd: work },
    );
    expect(next).toMatchObject({ code: 0, err: "" });
    expect(next.out).toMatch(/^Seccomp:\s+2$/m);
    expect(next.out).toMatch(/^CapEff:\s+0+$/m);
    expect(next.out).toMatch(/^forge$/m);
    expect(JSON.parse(fs.readFileSync(status, "utf8")).profile).toEqual({
      name: "default",
      file: "built-in",
    });
    const byName = forge(["run", "--profile", "planted", "--", "true"], { cwd: work });
    expect(byName.code).toBe(2);
    expect(byName.err).toMatch(
      /^forge: planted: no such profile; looked in \/etc\/forge\/profiles, the built-ins/,
    );
    // Given as a path, the file is what the caller asked for, and the status says which.
    const byPath = forge(
      ["run", "--profile", "./profiles/default.json", "--json-status", status, "--", "hostname"],
      { cwd: work },
    );
    expect(byPath.code).toBe(0);
    expect(byPath.out).toBe("pwned\n");
    expect(byPath.err).toMatch(
      /^forge: warning: keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: /m,
    );
    expect(JSON.parse(fs.readFileSync(status, "utf8")).profile).toEqual({
      name: "default",
      file: path.join(work, "profiles", "default.json"),
    });
  });

  it("takes a bare --seccomp name as a built-in only, never a file in the working directory", () => {
    const work = tmpdir();
    fs.writeFileSync(
      path.join(work, "strict"),
      JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW" }),
    );
    const r = forge(["run", "--seccomp", "strict", "--", "true"], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^forge: seccomp profile "strict": no built-in of that name \(built-in: .*\); a file is loaded only when given as a path, e\.g\. \.\/strict\n$/,
    );
    expect(forge(["run", "--seccomp", "./strict", "--", "true"], { cwd: work }).code).toBe(0);
  });

  it("replaces a symlink the payload put at the --json-status path instead of following it", () => {
    const work = tmpdir(0o777);
    const victimDir = tmpdir();
    const victim = path.join(victimDir, "victim");
    fs.writeFileSync(victim, "root:x:0:0:victim\n");
    fs.writeFileSync(path.join(work, "status.json"), "");
    const r = forge(
      [
        "run",
        "--bind",
        `${work}:/w`,
        "--cwd",
        "/w",
        "--json-status",
        "status.json",
        "--",
        "sh",
        "-c",
        `rm status.json; ln -s ${victim} status.json; exit 3`,
      ],
      { cwd: work },
    );
    expect(r).toMatchObject({ code: 3, err: "" });
    expect(fs.readFileSync(victim, "utf8")).toBe("root:x:0:0:victim\n");
    const st = fs.lstatSync(path.join(work, "status.json"));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o644);
    expect(JSON.parse(fs.readFileSync(path.join(work, "status.json"), "utf8"))).toMatchObject({
      reason: "exit",
      exitCode: 3,
      profile: { name: "default", file: "built-in" },
    });
    // No temporary file is left behind.
    expect(fs.readdirSync(work)).toEqual(["status.json"]);
  });

  it("writes into the directory it opened before the payload ran, not one swapped in later", () => {
    const work = tmpdir(0o777);
    fs.mkdirSync(path.join(work, "out"), { mode: 0o777 });
    fs.chmodSync(path.join(work, "out"), 0o777);
    const victimDir = tmpdir();
    fs.writeFileSync(path.join(victimDir, "status.json"), "victim\n");
    const r = forge(
      [
        "run",
        "--bind",
        `${work}:/w`,
        "--cwd",
        "/w",
        "--json-status",
        path.join(work, "out", "status.json"),
        "--",
        "sh",
        "-c",
        `mv out out.old && ln -s ${victimDir} out`,
      ],
      { cwd: work },
    );
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(fs.readFileSync(path.join(victimDir, "status.json"), "utf8")).toBe("victim\n");
    expect(fs.readdirSync(victimDir)).toEqual(["status.json"]);
    expect(
      JSON.parse(fs.readFileSync(path.join(work, "out.old", "status.json"), "utf8")),
    ).toMatchObject({ reason: "exit", exitCode: 0 });
  });

  it("reports an unwritable --json-status in one line after the run, keeping the exit status", () => {
    const missing = path.join(tmpdir(), "no", "such", "status.json");
    const r = forge(["run", "--json-status", missing, "--", "sh", "-c", "echo ran; exit 7"]);
    expect(r.code).toBe(7);
    expect(r.out).toBe("ran\n");
    expect(r.err).toBe(
      `forge: --json-status ${missing}: cannot open its directory ${path.dirname(missing)}: ENOENT (No such file or directory)\n`,
    );
    const dir = tmpdir();
    const onDir = forge(["run", "--json-status", dir, "--", "sh", "-c", "exit 5"]);
    expect(onDir.code).toBe(5);
    expect(onDir.err).toBe(
      `forge: --json-status ${dir}: cannot replace it with the new file: EISDIR (Is a directory)\n`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    // The temporary file made beside it is gone too.
    const leftovers = fs
      .readdirSync(path.dirname(dir))
      .filter((f) => f.startsWith(`.${path.basename(dir)}.`));
    expect(leftovers).toEqual([]);
  });

  it("warns, one line each, when --cap-add keeps a capability that undoes the walls", () => {
    const r = forge([
      "run",
      "--cap-add",
      "SYS_ADMIN",
      "--cap-add",
      "NET_BIND_SERVICE",
      "--",
      "true",
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /^forge: warning: keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: mount, umount and remount: read-only binds become writable, masked paths uncovered\n$/,
    );
    expect(forge(["run", "--cap-add", "NET_BIND_SERVICE", "--", "true"]).err).toBe("");
  });
});

describe.skipIf(!built || !isRoot)("forge run: trust boundaries (built CLI, as uid 65534)", () => {
  /** A config home owned by 65534 with forge/profiles in it, under a directory it can search. */
  function configHome(): { home: string; profiles: string } {
    const home = path.join(tmpdir(), "cfg");
    const profiles = path.join(home, "forge", "profiles");
    fs.mkdirSync(profiles, { recursive: true, mode: 0o755 });
    for (const d of [home, path.dirname(profiles), profiles]) fs.chownSync(d, 65534, 65534);
    return { home, profiles };
  }

  it("ignores a profile planted in the working directory", () => {
    const work = tmpdir(0o755, 65534);
    const { home } = configHome();
    const env = { XDG_CONFIG_HOME: home };
    const planting = forge(
      [
        "run",
        "--bind",
        `${work}:/work`,
        "--cwd",
        "/work",
        "--",
        "sh",
        "-c",
        "mkdir -p /work/profiles && cat > /work/profiles/default.json",
      ],
      { asNobody: true, cwd: work, input: PLANTED, env },
    );
    expect(planting.code).toBe(0);
    expect(fs.statSync(path.join(work, "profiles", "default.json")).uid).toBe(65534);
    const next = forge(
      ["run", "--bind", `${work}:/work`, "--cwd", "/work", "--", "sh", "-c", PROBE],
      { asNobody: true, cwd: work, env },
    );
    expect(next).toMatchObject({ code: 0, err: "" });
    expect(next.out).toMatch(/^Seccomp:\s+2$/m);
    expect(next.out).toMatch(/^CapEff:\s+0+$/m);
    expect(next.out).toMatch(/^forge$/m);
  });

  it("reads the user's own profile directory, and refuses a writable or foreign file there", () => {
    const { home, profiles } = configHome();
    const file = path.join(profiles, "mine.json");
    fs.writeFileSync(file, JSON.stringify({ name: "mine", hostname: "mine" }), { mode: 0o664 });
    fs.chmodSync(file, 0o664);
    fs.chownSync(file, 65534, 65534);
    const env = { XDG_CONFIG_HOME: home };
    const run = () =>
      forge(["run", "--profile", "mine", "--", "hostname"], { asNobody: true, env });
    expect(run()).toMatchObject({
      code: 2,
      err: `forge: ${file}: refused: the file is group-writable (mode 0664); fix: chmod go-w ${file}\n`,
    });
    fs.chmodSync(file, 0o644);
    expect(run()).toMatchObject({ code: 0, out: "mine\n" });
    fs.chownSync(file, 1234, 1234);
    expect(run()).toMatchObject({
      code: 2,
      err: `forge: ${file}: refused: the file is owned by uid 1234, not uid 65534 or root; fix: chown 65534 ${file}, or replace it with a copy you own\n`,
    });
    // The same file is never consulted as root: root's names come from /etc/forge/profiles only.
    expect(forge(["run", "--profile", "mine", "--", "true"], { env }).code).toBe(2);
  });
});

describe.skipIf(!built)(
  "forge run: bad input gets one line, faults keep the status (built CLI)",
  () => {
    const cpus = os.availableParallelism();

    it("waits out --timeout 597h (past Node's 2^31 ms timers) instead of firing at once", () => {
      const r = forge(["run", "--timeout", "597h", "--", "sh", "-c", "sleep 0.3; exit 3"]);
      expect(r).toMatchObject({ code: 3, err: "" });
    });

    it("says what to write for --memory -5M, a unit-less --timeout and --cpus above this machine's", () => {
      expect(forge(["run", "--memory", "-5M", "--", "true"])).toMatchObject({
        code: 2,
        err: 'forge: --memory needs a value, and the next word "-5M" starts with "-"; if that is the value, write --memory=-5M\n',
      });
      expect(forge(["run", "--memory=-5M", "--", "true"])).toMatchObject({
        code: 2,
        err: 'forge: invalid --memory "-5M": expected a number of bytes with an optional unit (256M, 1G, 512K) or "max"\n',
      });
      expect(forge(["run", "--timeout", "1", "--", "true"])).toMatchObject({
        code: 2,
        err: 'forge: --timeout: "1" has no unit; write 1s for seconds or 1ms for milliseconds\n',
      });
      expect(forge(["run", "--cpus", String(cpus + 97), "--", "true"])).toMatchObject({
        code: 2,
        err: `forge: --cpus: ${cpus + 97} is more than the ${cpus} CPU${cpus === 1 ? "" : "s"} this machine has; give at most ${cpus}, or leave --cpus out for no CPU limit\n`,
      });
    });

    it("refuses a --json-status that is no file name before the command runs", () => {
      for (const bad of ["", "dir/", "."]) {
        const r = forge(["run", "--json-status", bad, "--", "sh", "-c", "echo ran"]);
        expect(r.code, bad).toBe(2);
        expect(r.out).toBe("");
        expect(r.err).toBe(
          `forge: --json-status: ${JSON.stringify(bad)} is not a file name; give a path such as ./status.json\n`,
        );
      }
    });

    it("prints one warning line at most for --cap-add CAP_SYS_ADMIN, whichever seccomp profile", () => {
      const file = path.resolve(bin, "../../../seccomp/profiles/docker-default.json");
      for (const seccomp of ["default", "docker-default", ...(fs.existsSync(file) ? [file] : [])]) {
        const r = forge(["run", "--seccomp", seccomp, "--cap-add", "CAP_SYS_ADMIN", "--", "true"]);
        expect(r.code, seccomp).toBe(0);
        expect(r.err.split("\n").filter(Boolean), seccomp).toEqual([
          expect.stringMatching(/^forge: warning: keeping CAP_SYS_ADMIN lets the sandbox undo /),
        ]);
      }
    });

    it('names a profile\'s own timeout when it fires (it said "undefined ms")', () => {
      const dir = tmpdir();
      fs.writeFileSync(path.join(dir, "t.json"), JSON.stringify({ name: "t", timeout: "200ms" }));
      const r = forge(["run", "--profile", "./t.json", "--", "sleep", "30"], { cwd: dir });
      expect(r).toMatchObject({
        code: 124,
        err: "forge: timed out after 200ms; the sandbox was killed\n",
      });
    });

    it("never replaces a device or a FIFO with its --json-status (--json-status /dev/null)", () => {
      const fifo = path.join(tmpdir(), "fifo");
      spawnSync("mkfifo", [fifo]);
      const r = forge(["run", "--json-status", fifo, "--", "sh", "-c", "echo ran"]);
      expect(r).toMatchObject({
        code: 2,
        out: "",
        err: `forge: --json-status ${fifo}: it is a FIFO, not a file forge may replace; give the path of a regular file (or leave --json-status out)\n`,
      });
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    });

    it("passes arguments of any length, odd ones past 8 KiB included (regression)", () => {
      for (const n of [8191, 8192, 8193, 9001, 65_537]) {
        const arg = "a".repeat(n);
        const r = forge(["run", "--", "/bin/sh", "-c", 'printf %s "$1" | wc -c', "sh", arg]);
        expect(r, String(n)).toMatchObject({ code: 0, out: `${n}\n`, err: "" });
      }
    });

    it("shows no stack trace for a bad --bind, --hostname or --cwd: one line each", () => {
      for (const [args, err] of [
        [
          ["--bind", "/usr:/usr/../etc"],
          /^forge: bind destination in "\/usr:\/usr\/\.\.\/etc" must not contain "\." or "\.\." components: "\/usr\/\.\.\/etc"\n$/,
        ],
        [["--hostname", "a b"], /^forge: invalid hostname "a b": 1 to 64 letters/],
        [
          ["--cwd", "work"],
          /^forge: cwd: expected an absolute path inside the sandbox \(such as \/work\), got "work"\n$/,
        ],
        [
          ["--bind", "/usr:/x", "--bind", "/etc:/x"],
          /^forge: --bind \/usr:\/x and --bind \/etc:\/x both mount on \/x; give each its own destination\n$/,
        ],
        [
          ["--tmpfs", "/s", "--bind", "/etc:/s/", "--tmpfs", "/s:1m"],
          /^forge: --bind \/etc:\/s\/ and --tmpfs \/s both mount on \/s; give each its own destination\n$/,
        ],
        [
          ["--tmpfs", "/dev"],
          /^forge: tmpfs destination \/dev \(the tmpfs on \/dev from --tmpfs \/dev\) is already used by the minimal \/dev; give each mount its own destination\n$/,
        ],
      ] as const) {
        const r = forge(["run", ...args, "--", "true"]);
        expect(r.code, args.join(" ")).toBe(2);
        expect(r.err).toMatch(err);
      }
    });

    it("stops a payload that ignores SIGTERM with SIGKILL after --stop-timeout, and says so", async () => {
      const { spawn } = await import("node:child_process");
      for (const sig of ["SIGTERM", "SIGINT"] as const) {
        const child = spawn(
          process.execPath,
          [
            bin,
            "run",
            "--stop-timeout",
            "400ms",
            "--",
            "sh",
            "-c",
            "trap '' TERM INT; echo ready; exec sleep 3011",
          ],
          { stdio: ["ignore", "pipe", "pipe"], cwd: os.tmpdir() },
        );
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        const exited = new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
        const ready = await Promise.race([
          new Promise((res) => child.stdout.once("data", () => res(true))),
          exited.then(() => false),
        ]);
        expect(ready, err).toBe(true);
        const sent = Date.now();
        child.kill(sig);
        const code = await exited;
        expect(Date.now() - sent).toBeGreaterThanOrEqual(350);
        expect(code, sig).toBe(137);
        expect(err).toBe(
          `forge: the sandbox was still running 400ms after ${sig}; killed it with SIGKILL (--stop-timeout)\n`,
        );
      }
      // Nothing of it is left.
      const left = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, "utf8") === "sleep\u00003011\u0000";
          } catch {
            return false;
          }
        });
      expect(left).toEqual([]);
      expect(forge(["run", "--help"]).out).toMatch(/--stop-timeout DUR/);
    });

    it.skipIf(!isRoot || !fs.existsSync("/sys/fs/cgroup/pids/tasks"))(
      "removes the --cgroup-parent directories it made, and only those (cgroup v1, real)",
      () => {
        const top = `forge-parent-test-${process.pid}`;
        const dirs = () =>
          fs
            .readdirSync("/sys/fs/cgroup")
            .filter((h) => fs.existsSync(`/sys/fs/cgroup/${h}/${top}`));
        try {
          const r = forge(["run", "--cgroup-parent", `/${top}/a/b`, "--pids", "16", "--", "true"]);
          expect(r).toMatchObject({ code: 0, err: "" });
          expect(dirs()).toEqual([]);
          // A parent that was there before stays, and so does what is in it.
          fs.mkdirSync(`/sys/fs/cgroup/pids/${top}`);
          fs.mkdirSync(`/sys/fs/cgroup/pids/${top}/keep`);
          const again = forge([
            "run",
            "--cgroup-parent",
            `/${top}/a`,
            "--pids",
            "16",
            "--",
            "true",
          ]);
          expect(again).toMatchObject({ code: 0, err: "" });
          expect(dirs()).toEqual(["pids"]);
          const inside = fs.readdirSync(`/sys/fs/cgroup/pids/${top}`, { withFileTypes: true });
          expect(inside.filter((d) => d.isDirectory()).map((d) => d.name)).toEqual(["keep"]);
        } finally {
          for (const h of fs.readdirSync("/sys/fs/cgroup")) {
            for (const d of [`${top}/keep`, `${top}/a/b`, `${top}/a`, top])
              try {
                fs.rmdirSync(`/sys/fs/cgroup/${h}/${d}`);
              } catch {
                // not there
              }
          }
        }
      },
    );
  },
);

describe.skipIf(!built || !isRoot)("forge run: user flags over the profile's mounts", () => {
  /** /tmp's lines in the sandbox's mount table. */
  const tmpMounts = (out: string) => out.split("\n").filter((l) => l.split(" ")[1] === "/tmp");

  for (const asNobody of [false, true])
    it(`--tmpfs /tmp:SIZE and --bind X:/tmp replace the profile's /tmp${asNobody ? " (rootless)" : ""}`, () => {
      for (const profile of ["default", "python-safe"]) {
        const sized = forge(
          ["run", "--profile", profile, "--tmpfs", "/tmp:256m", "--", "cat", "/proc/self/mounts"],
          { asNobody },
        );
        // Rootless, python-safe warns that its limits cannot hold here: nothing else.
        const notWarnings = sized.err
          .split("\n")
          .filter((l) => l && !l.startsWith("forge: warning: "));
        expect(notWarnings, profile).toEqual([]);
        expect(sized.code).toBe(0);
        const lines = tmpMounts(sized.out);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^\S+ \/tmp tmpfs .*size=262144k/);
      }
      const dir = tmpdir();
      fs.writeFileSync(path.join(dir, "marker"), "from the host\n");
      fs.chmodSync(path.join(dir, "marker"), 0o644);
      const bound = forge(["run", "--bind", `${dir}:/tmp:ro`, "--", "cat", "/tmp/marker"], {
        asNobody,
      });
      expect(bound).toMatchObject({ code: 0, out: "from the host\n", err: "" });
    });

  it("replaces a profile's bind too, and checks the plan the same way (planRun)", async () => {
    const { planRun } = await import("./cmd_run.ts");
    expect(planRun(["--tmpfs", "/tmp:256m", "--bind", "/etc:/run", "--", "/bin/true"])).toEqual({
      warnings: [],
    });
    const r = forge([
      "run",
      "--bind",
      "/usr/share:/etc:ro",
      "--",
      "/bin/sh",
      "-c",
      "test -d /etc/doc && test ! -e /etc/passwd && echo replaced",
    ]);
    expect(r).toMatchObject({ code: 0, out: "replaced\n", err: "" });
  });
});

describe.skipIf(!built || !isRoot)("forge run: read-write binds as root (idmapped)", () => {
  it("writes a root-owned --bind: root's on the host, the sandbox's user inside", () => {
    const d = tmpdir();
    const r = forge([
      "run",
      "--bind",
      `${d}:/w`,
      "--",
      "/bin/sh",
      "-c",
      "echo hi > /w/f && stat -c '%u:%g' /w /w/f && id -u",
    ]);
    expect(r).toMatchObject({ code: 0, out: "0:0\n0:0\n0\n", err: "" });
    const st = fs.statSync(path.join(d, "f"));
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  // git is a CI requirement (.ci/run installs it): the test always runs.
  it('runs git status in a bound repository without "dubious ownership"', () => {
    const d = tmpdir();
    execFileSync("git", ["init", "-q", d]);
    fs.writeFileSync(path.join(d, "a"), "a\n");
    const r = forge([
      "run",
      "--bind",
      `${d}:/repo`,
      "--cwd",
      "/repo",
      "--",
      "git",
      "status",
      "--short",
    ]);
    expect(r.err).not.toMatch(/dubious/);
    expect(r).toMatchObject({ code: 0, out: "?? a\n", err: "" });
  });

  it("keeps a :ro bind read-only", () => {
    const d = tmpdir();
    const r = forge(["run", "--bind", `${d}:/r:ro`, "--", "/bin/sh", "-c", "touch /r/x"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/Read-only file system/);
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it("says in one line which path cannot be idmapped, why, and to use --id-map identity (ramfs)", () => {
    const d = path.join(tmpdir(), "ram");
    fs.mkdirSync(d);
    spawnSync("mount", ["-t", "ramfs", "none", d]);
    try {
      fs.chmodSync(d, 0o755);
      // The payload says nothing on stderr: forge's warning comes while it runs.
      const r = forge([
        "run",
        "--bind",
        `${d}:/w`,
        "--",
        "/bin/sh",
        "-c",
        "touch /w/x 2>/dev/null; echo $?",
      ]);
      // The bind is there as before: root's directory, not the sandbox's.
      expect(r).toMatchObject({ code: 0, out: "1\n" });
      expect(r.err).toBe(
        `forge: warning: --bind ${d}:/w: no idmapped mount for ${d}: ramfs (mounted at ${d}) does not support idmapped mounts on this kernel (EINVAL); the sandbox writes there as host uid 65534, not as its owner (uid 0); use --id-map identity, or chown the source to 65534\n`,
      );
      const identity = forge([
        "run",
        "--id-map",
        "identity",
        "--bind",
        `${d}:/w`,
        "--",
        "/bin/sh",
        "-c",
        "touch /w/x",
      ]);
      expect(identity).toMatchObject({ code: 0, err: "" });
      expect(fs.statSync(path.join(d, "x")).uid).toBe(0);
    } finally {
      spawnSync("umount", ["-l", d]);
    }
  });

  it("leaves rootless runs as they were (uid 65534: no idmap)", () => {
    const d = tmpdir(0o777);
    const r = forge(
      ["run", "--bind", `${d}:/w`, "--", "/bin/sh", "-c", "touch /w/f && stat -c '%u' /w /w/f"],
      { asNobody: true },
    );
    // The root-owned directory is nobody's inside; the file is the caller's (65534) outside.
    expect(r).toMatchObject({ code: 0, out: "65534\n0\n", err: "" });
    expect(fs.statSync(path.join(d, "f")).uid).toBe(65534);
  });
});

/** Every file under `dir` (on the host) with S_ISUID or S_ISGID, as "path mode". */
function setIdFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, name));
    if (st.mode & 0o6000) out.push(`${name} ${(st.mode & 0o7777).toString(8)}`);
  }
  return out;
}

const hasPython = fs.existsSync("/usr/bin/python3");
const hasCc = spawnSync("cc", ["--version"]).status === 0;

/**
 * Tries every way to leave a set-id file or a file capability in DIR (argv[1]), through
 * raw syscalls on x86_64 and i386 (int $0x80); prints "name errno" per attempt (0: done).
 */
const SETID_ATTEMPTS_C = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static char *low; /* below 4 GiB, for the i386 calls */
static int lowoff;
static const char *dir;
static void report(const char *name, long r) { printf("%s %d\n", name, r == -1 ? errno : r < 0 ? (int)-r : 0); }
static const char *at(const char *name) {
  static char buf[8][512];
  static int n;
  char *b = buf[n++ % 8];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}
static long lowstr(const char *s) {
  char *p = low + lowoff;
  lowoff += snprintf(p, 512, "%s", s) + 1;
  return (long)(uintptr_t)p;
}
static long int80(long nr, long a, long b, long c, long d, long e) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
  return r;
}
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  dir = argv[1];
  low = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) return 3;
  int fd = open(at("f"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return 4;
  close(fd);
  report("chmod_4755", syscall(SYS_chmod, at("f"), 04755));
  report("chmod_2755", syscall(SYS_chmod, at("f"), 02755));
  report("chmod_hi32_4755", syscall(SYS_chmod, at("f"), (1UL << 32) | 04755));
  fd = open(at("f"), O_RDONLY);
  report("fchmod_4755", syscall(SYS_fchmod, fd, 04755));
  report("fsetxattr_user", syscall(SYS_fsetxattr, fd, "user.forge", "1", 1, 0));
  close(fd);
  report("fchmodat_6755", syscall(SYS_fchmodat, AT_FDCWD, at("f"), 06755, 0));
  report("fchmodat2_4755", syscall(452, AT_FDCWD, at("f"), 04755, 0));
  report("open_creat_4755", syscall(SYS_open, at("o"), O_CREAT | O_WRONLY, 04755));
  report("openat_creat_2755", syscall(SYS_openat, AT_FDCWD, at("oa"), O_CREAT | O_WRONLY, 02755));
  report("creat_4755", syscall(SYS_creat, at("c"), 04755));
  report("mknod_4755", syscall(SYS_mknod, at("m"), S_IFREG | 04755, 0));
  report("mknodat_2755", syscall(SYS_mknodat, AT_FDCWD, at("ma"), S_IFREG | 02755, 0));
  long t = syscall(SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_WRONLY, 04755);
  report("open_tmpfile_4755", t);
  if (t >= 0) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%ld", t);
    linkat(AT_FDCWD, p, AT_FDCWD, at("tmp"), AT_SYMLINK_FOLLOW);
  }
  unsigned long long how[3] = {O_CREAT | O_WRONLY, 04755, 0}; /* struct open_how */
  report("openat2_creat_4755", syscall(SYS_openat2, AT_FDCWD, at("o2"), how, sizeof how));
  report("setxattr_user", syscall(SYS_setxattr, at("f"), "user.forge", "1", 1, 0));
  unsigned int cap[5] = {0x02000001, 1u << 7, 0, 0, 0}; /* vfs_cap_data v2: cap_setuid+ep */
  report("setxattr_fcap", syscall(SYS_setxattr, at("f"), "security.capability", cap, sizeof cap, 0));
  report("lsetxattr_user", syscall(SYS_lsetxattr, at("f"), "user.forge", "1", 1, 0));
  unsigned int params[30] = {0};
  report("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
  /* i386: chmod 15, fchmodat 306, open 5, creat 8, mknod 14, setxattr 226 */
  report("i386_chmod_4755", int80(15, lowstr(at("f")), 04755, 0, 0, 0));
  report("i386_fchmodat_2755", int80(306, AT_FDCWD, lowstr(at("f")), 02755, 0, 0));
  report("i386_open_creat_4755", int80(5, lowstr(at("i_o")), O_CREAT | O_WRONLY, 04755, 0, 0));
  report("i386_creat_4755", int80(8, lowstr(at("i_c")), 04755, 0, 0, 0));
  report("i386_mknod_4755", int80(14, lowstr(at("i_m")), S_IFREG | 04755, 0, 0, 0));
  long name = lowstr("user.forge");
  report("i386_setxattr_user", int80(226, lowstr(at("f")), name, name, 1, 0));
  /* What must keep working. */
  report("ok_chmod_755", syscall(SYS_chmod, at("f"), 0755));
  report("ok_openat_creat_644", syscall(SYS_openat, AT_FDCWD, at("plain"), O_CREAT | O_WRONLY, 0644));
  report("ok_i386_chmod_700", int80(15, lowstr(at("f")), 0700, 0, 0, 0));
  return 0;
}
`;

describe.skipIf(!built || !isRoot)(
  "forge run: the idmap guard (no set-id files, fcaps through an idmapped bind)",
  () => {
    it("refuses chmod 4755, chmod g+s, install -m 4755; chmod 755 works; no set-id file on the host", () => {
      const d = tmpdir();
      const r = forge([
        "run",
        "--bind",
        `${d}:/w`,
        "--",
        "/bin/sh",
        "-c",
        [
          "cd /w && echo hi > f && stat -c '%u:%g' f",
          "chmod 4755 f 2>/dev/null; echo chmod-4755 $?",
          "chmod g+s f 2>/dev/null; echo chmod-g+s $?",
          "chmod u+s,g+s f 2>/dev/null; echo chmod-ug+s $?",
          "install -m 4755 /bin/true t 2>/dev/null; echo install-4755 $?",
          "chmod 755 f; echo chmod-755 $?",
          "stat -c %a f",
        ].join("; "),
      ]);
      expect(r).toMatchObject({
        code: 0,
        out: "0:0\nchmod-4755 1\nchmod-g+s 1\nchmod-ug+s 1\ninstall-4755 1\nchmod-755 0\n755\n",
        err: "",
      });
      const st = fs.statSync(path.join(d, "f"));
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o755]);
      expect(setIdFiles(d)).toEqual([]);
    });

    it.skipIf(!hasPython)(
      "refuses os.open(O_CREAT, 0o4755) and every xattr write (security.capability too)",
      () => {
        const d = tmpdir();
        const py = [
          "import os",
          "def t(name, f):",
          "    try:",
          "        f()",
          "        print(name, 0)",
          "    except OSError as e:",
          "        print(name, e.errno)",
          "t('open', lambda: os.open('/w/p', os.O_CREAT | os.O_WRONLY, 0o4755))",
          "t('open-2755', lambda: os.open('/w/q', os.O_CREAT | os.O_WRONLY, 0o2755))",
          "t('open-644', lambda: os.close(os.open('/w/f', os.O_CREAT | os.O_WRONLY, 0o644)))",
          "t('user-xattr', lambda: os.setxattr('/w/f', 'user.forge', b'1'))",
          "cap = (0x02000001).to_bytes(4, 'little') + (1 << 7).to_bytes(4, 'little') + bytes(12)",
          "t('fcap', lambda: os.setxattr('/w/f', 'security.capability', cap))",
        ].join("\n");
        const r = forge(["run", "--bind", `${d}:/w`, "--", "/usr/bin/python3", "-c", py]);
        expect(r).toMatchObject({
          code: 0,
          out: "open 1\nopen-2755 1\nopen-644 0\nuser-xattr 1\nfcap 1\n",
          err: "",
        });
        // Even with CAP_SETFCAP kept (which would write a host-root file capability).
        const kept = forge([
          "run",
          "--cap-add",
          "SETFCAP",
          "--bind",
          `${d}:/w`,
          "--",
          "/usr/bin/python3",
          "-c",
          py,
        ]);
        expect(kept).toMatchObject({
          code: 0,
          out: "open 1\nopen-2755 1\nopen-644 0\nuser-xattr 1\nfcap 1\n",
        });
        expect(fs.readdirSync(d).sort()).toEqual(["f"]);
        // No extended attribute at all on the host's file.
        const xattrs = spawnSync(
          "/usr/bin/python3",
          ["-c", "import os, sys; print(os.listxattr(sys.argv[1]))", path.join(d, "f")],
          { encoding: "utf8" },
        );
        expect(xattrs.stdout).toBe("[]\n");
        expect(setIdFiles(d)).toEqual([]);
      },
    );

    it.skipIf(!hasCc)(
      "refuses raw set-id syscalls on x86_64 and i386, whatever the seccomp profile (unconfined too)",
      () => {
        const tools = tmpdir();
        fs.writeFileSync(path.join(tools, "setid.c"), SETID_ATTEMPTS_C);
        const cc = spawnSync(
          "cc",
          ["-O", "-o", path.join(tools, "setid"), path.join(tools, "setid.c")],
          { encoding: "utf8" },
        );
        expect(cc.stderr).toBe("");
        const expected = [
          "chmod_4755 1",
          "chmod_2755 1",
          "chmod_hi32_4755 1",
          "fchmod_4755 1",
          "fsetxattr_user 1",
          "fchmodat_6755 1",
          "fchmodat2_4755 1",
          "open_creat_4755 1",
          "openat_creat_2755 1",
          "creat_4755 1",
          "mknod_4755 1",
          "mknodat_2755 1",
          "open_tmpfile_4755 1",
          "openat2_creat_4755 38", // ENOSYS: libc falls back to openat
          "setxattr_user 1",
          "setxattr_fcap 1",
          "lsetxattr_user 1",
          "io_uring_setup 1",
          "i386_chmod_4755 1",
          "i386_fchmodat_2755 1",
          "i386_open_creat_4755 1",
          "i386_creat_4755 1",
          "i386_mknod_4755 1",
          "i386_setxattr_user 1",
          "ok_chmod_755 0",
          "ok_openat_creat_644 0",
          "ok_i386_chmod_700 0",
        ];
        for (const extra of [
          [],
          ["--seccomp", "unconfined"],
          ["--cap-add", "SETFCAP", "--cap-add", "FSETID"],
        ]) {
          const d = tmpdir();
          const r = forge([
            "run",
            ...extra,
            "--bind",
            `${tools}:/t:ro`,
            "--bind",
            `${d}:/w`,
            "--",
            "/t/setid",
            "/w",
          ]);
          expect({ extra, code: r.code, lines: r.out.trim().split("\n"), err: r.err }).toEqual({
            extra,
            code: 0,
            lines: expected,
            err: expect.stringMatching(/^(forge: warning: [^\n]*\n)*$/),
          });
          expect(setIdFiles(d), extra.join(" ")).toEqual([]);
          expect(fs.readdirSync(d).sort()).toEqual(["f", "plain"]);
        }
      },
    );

    it("is installed only with an idmapped read-write bind (not with --id-map identity, :ro, or rootless)", () => {
      const d = tmpdir();
      const filters = (args: string[], asNobody = false) =>
        forge(["run", ...args, "--", "/bin/grep", "^Seccomp_filters:", "/proc/self/status"], {
          asNobody,
        });
      const one = { code: 0, out: "Seccomp_filters:\t1\n", err: "" };
      expect(filters([])).toMatchObject(one);
      expect(filters(["--bind", `${d}:/w`])).toMatchObject({
        code: 0,
        out: "Seccomp_filters:\t2\n",
      });
      expect(filters(["--bind", `${d}:/w`, "--seccomp", "unconfined"])).toMatchObject({
        code: 0,
        out: "Seccomp_filters:\t1\n",
      });
      expect(filters(["--id-map", "identity", "--bind", `${d}:/w`])).toMatchObject(one);
      expect(filters(["--bind", `${d}:/w:ro`])).toMatchObject(one);
      expect(filters(["--bind", `${tmpdir(0o777)}:/w`], true)).toMatchObject(one);
      // Without the guard a file capability or set-id bit is the sandbox's to set again.
      const identity = forge([
        "run",
        "--id-map",
        "identity",
        "--bind",
        `${d}:/w`,
        "--",
        "/bin/sh",
        "-c",
        "touch /w/f && chmod 2644 /w/f && stat -c %a /w/f && chmod 644 /w/f",
      ]);
      expect(identity).toMatchObject({ code: 0, out: "2644\n", err: "" });
    });
  },
);

describe.skipIf(!built)("forge run: where things are", () => {
  it("says a command that is on the host is not bound into the sandbox, and the --bind to add", () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, "hello"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    const abs = forge(["run", "--", `${dir}/hello`]);
    expect(abs).toMatchObject({
      code: 127,
      out: "",
      err: `forge: cannot execute ${dir}/hello: no such file in the sandbox; it is on the host, but ${dir} is not bound into the sandbox: add --bind ${dir}:ro\n`,
    });
    expect(forge(["run", "--bind", `${dir}:ro`, "--", `${dir}/hello`])).toMatchObject({
      code: 0,
      out: "hi\n",
      err: "",
    });
    // Relative: resolved against the working directory inside, which the message names.
    const rel = forge(["run", "--", "./hello"], { cwd: dir });
    expect(rel).toMatchObject({
      code: 127,
      err: `forge: cannot execute ./hello: no such file in the sandbox, whose working directory is /; on the host it is ${dir}/hello: add --bind ${dir}:ro --cwd ${dir}\n`,
    });
    expect(
      forge(["run", "--bind", `${dir}:ro`, "--cwd", dir, "--", "./hello"], { cwd: dir }),
    ).toMatchObject({ code: 0, out: "hi\n", err: "" });
    expect(forge(["run", "--", "./nope"], { cwd: dir })).toMatchObject({
      code: 127,
      err: "forge: cannot execute ./nope: no such file or directory (the working directory inside the sandbox is /)\n",
    });
    // There, but its #! interpreter is not.
    fs.writeFileSync(path.join(dir, "odd"), "#!/no/such/interpreter\n", { mode: 0o755 });
    expect(forge(["run", "--bind", `${dir}:ro`, "--", `${dir}/odd`])).toMatchObject({
      code: 127,
      err: `forge: cannot execute ${dir}/odd: its interpreter /no/such/interpreter (its #! line) is not in the sandbox\n`,
    });
  });

  it("after a failed run, names a script argument that is on the host but not in the sandbox", () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, "job.sh"), "echo ran\n");
    fs.chmodSync(path.join(dir, "job.sh"), 0o644);
    const r = forge(["run", "--", "sh", "job.sh"], { cwd: dir });
    expect(r.code).not.toBe(0);
    const lines = r.err.trimEnd().split("\n");
    expect(lines.at(-1)).toBe(
      `forge: note: job.sh is not in the sandbox, whose working directory is /; on the host it is ${dir}/job.sh: add --bind ${dir}:ro --cwd ${dir}`,
    );
    const byPath = forge(["run", "--", "sh", `${dir}/job.sh`]);
    expect(byPath.err.trimEnd().split("\n").at(-1)).toBe(
      `forge: note: ${dir}/job.sh is not in the sandbox; it is on the host, but ${dir} is not bound into the sandbox: add --bind ${dir}:ro`,
    );
    expect(
      forge(["run", "--bind", `${dir}:ro`, "--cwd", dir, "--", "sh", "job.sh"], { cwd: dir }),
    ).toMatchObject({ code: 0, out: "ran\n", err: "" });
    // A run that succeeds gets no note, whatever its arguments name.
    expect(forge(["run", "--", "/bin/echo", "job.sh"], { cwd: dir })).toMatchObject({
      code: 0,
      err: "",
    });
  });

  it("says a --cwd that is on the host is not bound into the sandbox", () => {
    const dir = tmpdir();
    const r = forge(["run", "--cwd", dir, "--", "/bin/true"]);
    expect(r.code).toBe(125);
    expect(r.err).toMatch(
      new RegExp(
        `^forge: enter the working directory ${dir} .*: ENOENT \\(No such file or directory\\); ${dir} is on the host, but not bound into the sandbox: add --bind ${dir}:ro\n$`,
      ),
    );
  });
});

describe.skipIf(!built || !isRoot)("forge run: every warning fits a line", () => {
  const profiles = ["default", "minimal", "python-safe", "node-safe", "shell-readonly"];
  for (const asNobody of [false, true])
    for (const profile of profiles)
      it(`--profile ${profile}${asNobody ? ", rootless" : ", as root"}: at most 160 characters a warning, the cgroup one under 120 with its fix`, () => {
        const r = forge(["run", "--profile", profile, "--", "/bin/true"], { asNobody });
        expect(r.code).toBe(0);
        const lines = r.err.split("\n").filter(Boolean);
        for (const l of lines) {
          expect(l).toMatch(/^forge: warning: /);
          expect(l.length, l).toBeLessThanOrEqual(160);
        }
        const cgroup = lines.filter((l) => /cgroup|resource limits/.test(l));
        expect(cgroup.length).toBeLessThanOrEqual(1);
        for (const l of cgroup) {
          expect(l.length, l).toBeLessThan(120);
          expect(l).toMatch(/systemd-run --user --scope -p Delegate=yes|forge doctor/);
        }
      });

  it("--cap-add of each wall-breaking capability: one line of at most 160 characters each", async () => {
    const { WALL_BREAKING_CAPABILITIES } = await import("@forge/sandbox");
    const args = Object.keys(WALL_BREAKING_CAPABILITIES).flatMap((c) => ["--cap-add", c]);
    const r = forge(["run", ...args, "--", "/bin/true"]);
    const lines = r.err.split("\n").filter(Boolean);
    expect(lines).toHaveLength(Object.keys(WALL_BREAKING_CAPABILITIES).length);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(160);
  });
});

describe.skipIf(!fs.existsSync(bin))("forge: internal errors (a bundle that throws)", () => {
  /** bin/forge.cjs beside a bundle whose main throws `error`. */
  function broken(body: string): string {
    const dir = tmpdir();
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(path.join(dir, "dist", "bundle"), { recursive: true });
    fs.copyFileSync(bin, path.join(dir, "bin", "forge.cjs"));
    fs.writeFileSync(
      path.join(dir, "dist", "bundle", "forge.js"),
      `// forge-bundle ${"0".repeat(32)}\n(function (exports, require, module) { exports.main = async () => { ${body} }; })`,
    );
    return path.join(dir, "bin", "forge.cjs");
  }
  const runBin = (file: string, env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [file, "doctor"], {
      encoding: "utf8",
      env: { ...process.env, FORGE_DEBUG: "", ...env },
    });
    return { code: r.status, err: r.stderr };
  };

  it("prints one line without the stack unless FORGE_DEBUG=1", () => {
    for (const body of [
      'throw new TypeError("boom\\nsecond line")',
      'setTimeout(() => { throw new RangeError("late") }); return new Promise(() => {})',
      'Promise.reject(new Error("unhandled")); return new Promise((r) => setTimeout(() => r(0), 50))',
    ]) {
      const file = broken(body);
      const r = runBin(file);
      expect(r.code, body).toBe(125);
      expect(r.err, body).toMatch(
        /^forge: internal error: \w*Error: [^\n]+ \(a bug in forge; FORGE_DEBUG=1 shows where\)\n$/,
      );
      const debug = runBin(file, { FORGE_DEBUG: "1" });
      expect(debug.code).toBe(125);
      expect(debug.err).toMatch(/^forge: internal error: \w*Error: [\s\S]*\n {4}at /);
    }
  });
});

// ---- a terminal of its own: real interactive sessions, driven through tmux ----

const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
/** A tmux server of this test file's own (its socket), so that no other tmux is touched. */
const TMUX_SOCKET = `forge-tty-test-${process.pid}`;
let sessions = 0;

function tmux(...args: string[]): string {
  const r = spawnSync("tmux", ["-L", TMUX_SOCKET, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A shell's single quotes around a word. */
const sq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
/** `forge` as the shell in the tmux pane runs it (optionally as uid 65534). */
const forgeCmd = (asNobody = false) =>
  `${asNobody ? "setpriv --reuid 65534 --regid 65534 --clear-groups " : ""}${sq(process.execPath)} ${sq(bin)}`;

interface Pane {
  /** Types text (literally), then Enter unless `enter` is false. */
  type(text: string, enter?: boolean): void;
  /** Presses keys by tmux's names: "C-c", "C-z". */
  key(...keys: string[]): void;
  /** The pane's text, scrollback included, wrapped lines joined. */
  screen(): string;
  /** Resolves with the screen once it matches (rejects, showing it, if it never does). */
  see(re: RegExp): Promise<string>;
  resize(columns: number, rows: number): void;
}

/**
 * Runs `f` with a fresh tmux session (100x30) running bash with the prompt "outer$ ",
 * and kills the session afterwards, whatever happened (the server exits with its last
 * session).
 */
async function inTmux(f: (pane: Pane) => Promise<void>): Promise<void> {
  const name = `s${++sessions}`;
  tmux(
    "new-session",
    "-d",
    "-s",
    name,
    "-x",
    "100",
    "-y",
    "30",
    "env",
    "PS1=outer$ ",
    "HISTFILE=/dev/null",
    "bash",
    "--norc",
    "--noprofile",
  );
  const socket = tmux("display-message", "-p", "-t", name, "#{socket_path}").trim();
  const pane: Pane = {
    type: (text, enter = true) => {
      tmux("send-keys", "-t", name, "-l", text);
      if (enter) tmux("send-keys", "-t", name, "Enter");
    },
    key: (...keys) => {
      tmux("send-keys", "-t", name, ...keys);
    },
    screen: () => tmux("capture-pane", "-p", "-J", "-S", "-", "-t", name),
    see: async (re) => {
      // A bound, so that a failure shows the screen instead of hanging the run.
      for (let i = 0; i < 600; i++) {
        const s = pane.screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`not on the screen: ${re}\n${pane.screen()}`);
    },
    resize: (columns, rows) => {
      tmux("resize-window", "-t", name, "-x", String(columns), "-y", String(rows));
    },
  };
  try {
    await pane.see(/outer\$ $/m);
    await f(pane);
  } finally {
    try {
      tmux("kill-session", "-t", name);
    } catch {
      // gone with the server already
    }
    // The server ends with its last session; its socket file stays unless removed.
    fs.rmSync(socket, { force: true });
  }
}

/** A process by its exact argv (a unique `sleep N`), with what /proc/PID/stat says of it. */
function findProcess(
  argv: string[],
): { pid: number; state: string; foreground: boolean } | undefined {
  const want = `${argv.join("\0")}\0`;
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8") !== want) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // state, ppid, pgrp, session, tty_nr, tpgid: in the foreground when tpgid is its group.
      return { pid: Number(p), state: f[0]!, foreground: f[5] === f[2] };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Resolves once `ok` holds for the process with this argv (or its absence). */
async function processBecomes(
  argv: string[],
  ok: (p: ReturnType<typeof findProcess>) => boolean,
): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok(findProcess(argv))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `${argv.join(" ")}: never in the state asked for (${JSON.stringify(findProcess(argv))})`,
  );
}

describe.skipIf(!built || !isRoot || !hasTmux)("forge run: a terminal of its own (tmux)", () => {
  /** Shell words that print TAG=<forge's status> and TAG-same or TAG-changed (the mode). */
  const check = (tag: string) =>
    `echo ${tag}=$?; stty -g | cmp -s - before && echo ${tag}-same || echo ${tag}-changed`;

  it.each([
    ["as root", false, "1001"],
    ["as uid 65534", true, "1002"],
  ])(
    "gives an interactive shell job control, Ctrl-C, Ctrl-Z, fg and resizing (%s)",
    async (_, asNobody, n) => {
      const dir = tmpdir(0o777);
      await inTmux(async (pane) => {
        pane.type(`cd ${sq(dir)}; stty -g > before`);
        pane.type(
          `${forgeCmd(asNobody)} run --env 'PS1=inner$ ' -- /bin/bash --norc --noprofile; ${check("forge")}`,
        );
        await pane.see(/^inner\$ $/m);
        pane.type("tty; echo flags=$-");
        const s = await pane.see(/^flags=\w+$/m);
        expect(s).toMatch(/^\/dev\/pts\/\d+$/m);
        expect(s).toMatch(/^flags=\w*m\w*$/m); // monitor mode: job control
        expect(s).not.toMatch(/no job control|cannot set terminal process group/);
        // Ctrl-C interrupts the foreground job, and the shell goes on.
        const sleep = ["sleep", n];
        pane.type(`sleep ${n}`);
        await processBecomes(sleep, (p) => !!p?.foreground);
        pane.key("C-c");
        await processBecomes(sleep, (p) => p === undefined);
        pane.type("echo status=$?");
        await pane.see(/^status=130$/m);
        // Ctrl-Z stops it, fg resumes it (in the foreground again).
        pane.type(`sleep ${n}`);
        await processBecomes(sleep, (p) => !!p?.foreground && p.state !== "T");
        pane.key("C-z");
        await processBecomes(sleep, (p) => p?.state === "T");
        await pane.see(/Stopped\s+sleep/);
        pane.type("fg");
        await processBecomes(sleep, (p) => !!p?.foreground && p.state !== "T");
        pane.key("C-c");
        await processBecomes(sleep, (p) => p === undefined);
        // The window size follows the user's.
        pane.type(
          'until [ "$(stty size)" = "40 120" ]; do sleep 0.05; done; echo resized to $(stty size)',
        );
        pane.resize(120, 40);
        await pane.see(/^resized to 40 120$/m);
        // The command's status is forge's; the user's terminal mode is as it was.
        pane.type("exit 3");
        const end = await pane.see(/^forge-(same|changed)$/m);
        expect(end).toMatch(/^forge=3$/m);
        expect(end).toMatch(/^forge-same$/m);
      });
    },
  );

  it("restores the user's terminal after a timeout, SIGTERM, SIGHUP and a failed set-up", async () => {
    const dir = tmpdir(0o777);
    await inTmux(async (pane) => {
      pane.type(`cd ${sq(dir)}; stty -g > before`);
      pane.type(
        `${forgeCmd()} run --timeout 300ms -- /bin/bash --norc --noprofile; ${check("timeout")}`,
      );
      const t = await pane.see(/^timeout-(same|changed)$/m);
      expect(t).toMatch(/forge: timed out after 300ms; the sandbox was killed/);
      for (const [sig, n, code] of [
        ["SIGTERM", "1003", 143],
        ["SIGHUP", "1004", 129],
      ] as const) {
        pane.type(`${forgeCmd()} run -- sleep ${n}; ${check(sig)}`);
        await processBecomes(["sleep", n], (p) => !!p);
        const forgePid = findProcess([process.execPath, bin, "run", "--", "sleep", n])!.pid;
        process.kill(forgePid, sig);
        const s = await pane.see(new RegExp(`^${sig}-(same|changed)$`, "m"));
        expect(s).toMatch(new RegExp(`^${sig}=${code}$`, "m"));
      }
      pane.type(`${forgeCmd()} run -t --cwd /nonexistent -- /bin/true; ${check("setup")}`);
      pane.type(`${forgeCmd()} run -t -- /nonexistent; ${check("notfound")}`);
      const s = await pane.see(/^notfound-(same|changed)$/m);
      expect(s).toMatch(/^timeout=124$/m);
      expect(s).toMatch(/^setup=125$/m);
      expect(s).toMatch(/^notfound=127$/m);
      for (const tag of ["timeout", "SIGTERM", "SIGHUP", "setup", "notfound"])
        expect(s).toMatch(new RegExp(`^${tag}-same$`, "m"));
    });
  });

  it.skipIf(!fs.existsSync("/usr/bin/perl"))(
    "keeps TIOCSTI inside the sandbox's own terminal (seccomp off, so that the pty is the wall)",
    async () => {
      const dir = tmpdir(0o777);
      // Pushes a command into the input of the terminal it runs on.
      const inject = (file: string) =>
        `perl -e 'for (split //, $ARGV[0]) { my $c = $_; ioctl(STDIN, 0x5412, $c) or die "TIOCSTI: $!\\n" } print "pushed\\n"' ${sq(`touch ${file}\n`)}`;
      // A pushed command runs once the line that pushed it is done: the next line's
      // output means it has run (or never will).
      await inTmux(async (pane) => {
        pane.type(`cd ${sq(dir)}`);
        // Without forge, on this host, a push reaches the shell (else there is nothing to prove).
        if (fs.readFileSync("/proc/sys/dev/tty/legacy_tiocsti", "utf8").trim() !== "0") {
          pane.type(`${inject(`${dir}/outside`)}; echo pushed-outside`);
          await pane.see(/^pushed-outside$/m);
          pane.type("echo next-outside");
          await pane.see(/^next-outside$/m);
          expect(fs.existsSync(`${dir}/outside`)).toBe(true);
        }
        // In the sandbox: its own terminal takes the push; the user's shell never sees it.
        pane.type(
          `${forgeCmd()} run --seccomp unconfined -- ${inject(`${dir}/inside`)}; echo ran-inside`,
        );
        const s = await pane.see(/^ran-inside$/m);
        expect(s).toMatch(/^pushed$/m);
        pane.type("echo next-inside");
        await pane.see(/^next-inside$/m);
        expect(fs.existsSync(`${dir}/inside`)).toBe(false);
        // With Forge's default seccomp profile the push is refused outright.
        pane.type(`${forgeCmd()} run -- ${inject(`${dir}/inside`)}; echo status=$?`);
        const d = await pane.see(/^status=\d+$/m);
        expect(d).toMatch(/^TIOCSTI: Operation not permitted$/m);
        expect(d).toMatch(/^status=1$/m);
        pane.type("echo next-walled");
        await pane.see(/^next-walled$/m);
        expect(fs.existsSync(`${dir}/inside`)).toBe(false);
      });
    },
  );

  it("gives no terminal with --no-tty, and refuses -t with --no-tty", async () => {
    await inTmux(async (pane) => {
      pane.type(`${forgeCmd()} run --no-tty -- /bin/sh -c 'tty; echo status=$?'`);
      const s = await pane.see(/^status=\d+$/m);
      // The host's terminal has no name in the sandbox's own /dev/pts.
      expect(s).toMatch(/^not a tty\nstatus=1$/m);
    });
    expect(forge(["run", "-t", "--no-tty", "--", "/bin/true"])).toMatchObject({
      code: 2,
      err: "forge: --tty and --no-tty: give one of them (neither: a terminal when stdin, stdout and stderr are all terminals)\n",
    });
  });
});

describe.skipIf(!built || !isRoot)("forge run: a terminal without one (pipes)", () => {
  it("gives none by default when stdio is not a terminal, and one with -t (EOF at stdin's end)", () => {
    expect(forge(["run", "--", "/bin/sh", "-c", "tty; cat"], { input: "piped\n" })).toMatchObject({
      code: 0,
      out: "not a tty\npiped\n",
      err: "",
    });
    // The terminal echoes the line (whenever it comes) and cat repeats it; stdin's end is ^D.
    const r = forge(["run", "-t", "--", "/bin/sh", "-c", "tty; cat; exit 4"], { input: "piped\n" });
    expect(r).toMatchObject({ code: 4, err: "" });
    expect(r.out).toMatch(/^(piped\r\n)?\/dev\/pts\/0\r\n/m);
    expect(r.out.match(/^piped\r$/gm)).toHaveLength(2);
  });
});
