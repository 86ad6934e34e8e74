import { spawnSync } from "node:child_process";
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
      /^forge: warning: keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: mount, umount and remount inside the sandbox: read-only binds become writable and masked paths can be uncovered\n$/,
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
          /^forge: bind destination \/x \(the bind of \/etc from --bind\) is already used by the bind of \/usr from --bind; give each mount its own destination\n$/,
        ],
        [
          ["--bind", "/opt:/usr"],
          /^forge: bind destination \/usr \(the bind of \/opt from --bind\) is already used by the bind of \/usr from profile default; give each mount its own destination\n$/,
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
