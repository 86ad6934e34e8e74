import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BUILTIN_PROFILE_DIR,
  findProfile,
  listProfiles,
  loadProfile,
  ProfileError,
  profileSearchPath,
  readProfileFile,
  validateProfile,
} from "./profile.ts";

const tmps: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-profile-"));
  tmps.push(d);
  return d;
}
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("sandbox profiles", () => {
  it("ships the five built-ins, each valid", () => {
    const names = fs
      .readdirSync(BUILTIN_PROFILE_DIR)
      .map((f) => f.replace(/\.json$/, ""))
      .sort();
    expect(names).toEqual(["default", "minimal", "node-safe", "python-safe", "shell-readonly"]);
    for (const n of names) {
      expect(readProfileFile(path.join(BUILTIN_PROFILE_DIR, `${n}.json`)).name).toBe(n);
      expect(loadProfile(n, { cwd: tmpdir() }).name).toBe(n);
    }
  });

  it('says each built-in\'s tmpfs sizes as they are mounted ("an 8 MiB /tmp")', () => {
    // profile_promises_test.ts checks the descriptions on the real kernel; this catches a
    // size edited on one side only where that test cannot run.
    for (const n of ["default", "minimal", "node-safe", "python-safe", "shell-readonly"]) {
      const p = loadProfile(n);
      const said = [...(p.description ?? "").matchAll(/(\d+) MiB (\/[\w/]*\w)/g)];
      const mounted = (p.root?.tmpfs ?? []).map((t) => [t.dst, t.size]);
      for (const m of said) expect(mounted, `${n}: "${m[0]}"`).toContainEqual([m[2], `${m[1]}M`]);
    }
    expect(loadProfile("shell-readonly").description).toMatch(
      /8 MiB \/tmp and an 8 MiB \/dev\/shm/,
    );
  });

  it("lists every problem with its JSON pointer", () => {
    let err: ProfileError | undefined;
    try {
      validateProfile(
        {
          name: "Bad Name",
          net: "maybe",
          root: { binds: [{ src: "relative" }, { dst: "/x" }] },
          rlimits: { nofile: -1, bogus: 1 },
          extra: 1,
        },
        "bad.json",
      );
    } catch (e) {
      err = e as ProfileError;
    }
    expect(err).toBeInstanceOf(ProfileError);
    const got = err!.problems.map((p) => `${p.pointer}: ${p.message}`).sort();
    expect(got).toEqual(
      [
        ': unknown property "extra"',
        "/name: must match ^[a-z0-9][a-z0-9._-]*$",
        '/net: must be one of "none", "host"',
        "/root/binds/0/src: must be an absolute path",
        "/root/binds/1: must have required property 'src'",
        '/rlimits/bogus: unknown name "bogus"',
        '/rlimits/nofile: must be a whole number >= 0 or "unlimited"',
      ].sort(),
    );
    expect(err!.message.split("\n")[0]).toBe("bad.json: invalid profile:");
  });

  it("never searches the working directory: a file is loaded only when given as a path", () => {
    const cwd = tmpdir();
    const systemDir = path.join(tmpdir(), "none");
    fs.mkdirSync(path.join(cwd, "profiles"));
    for (const n of ["default", "planted"])
      fs.writeFileSync(
        path.join(cwd, "profiles", `${n}.json`),
        JSON.stringify({ name: n, description: "local", seccomp: "unconfined" }),
      );
    fs.writeFileSync(path.join(cwd, "default.json"), JSON.stringify({ name: "default" }));
    const opts = { cwd, systemDir, userDir: null };
    expect(findProfile("default", opts)).toMatchObject({
      file: "built-in",
      profile: { name: "default", seccomp: "default" },
    });
    expect(() => loadProfile("planted", opts)).toThrow(/planted: no such profile/);
    // A bare "x.json" is not a path either.
    expect(() => loadProfile("default.json", opts)).toThrow(
      "default.json: not a profile name; a file is loaded only when given as a path (./default.json)",
    );
    expect(findProfile("./profiles/default.json", opts)).toEqual({
      file: path.join(cwd, "profiles", "default.json"),
      profile: { name: "default", description: "local", seccomp: "unconfined" },
    });
    const listed = listProfiles(opts);
    expect(listed.profiles.find((p) => p.name === "default")).toMatchObject({ kind: "built-in" });
    expect(listed.profiles.map((p) => p.name)).not.toContain("planted");
    expect(listed.profiles.map((p) => p.name)).toContain("python-safe");
    expect(listed.dirs.map((d) => [d.kind, d.state])).toEqual([
      ["system", "absent"],
      ["built-in", "present"],
    ]);
  });

  it("resolves a profile's relative seccomp path against the profile's own directory", () => {
    const dir = tmpdir();
    fs.mkdirSync(path.join(dir, "p"));
    fs.writeFileSync(
      path.join(dir, "p", "x.json"),
      JSON.stringify({ name: "x", seccomp: "./strict.json" }),
    );
    expect(loadProfile("./p/x.json", { cwd: dir }).seccomp).toBe(
      path.join(dir, "p", "strict.json"),
    );
  });

  describe.skipIf(process.getuid?.() !== 0)("the system directory (as root)", () => {
    /** A root-owned system directory (mode 0755) with `files`, under a fresh temporary one. */
    function systemDir(files: Record<string, object>): string {
      const dir = path.join(tmpdir(), "etc-forge-profiles");
      fs.mkdirSync(dir, { mode: 0o755 });
      for (const [n, doc] of Object.entries(files))
        fs.writeFileSync(path.join(dir, `${n}.json`), JSON.stringify(doc), { mode: 0o644 });
      return dir;
    }

    it("comes first when its files and directories are root's and not group/other-writable", () => {
      const dir = systemDir({
        default: { name: "default", description: "site", seccomp: "./s.json" },
      });
      const found = findProfile("default", { systemDir: dir, userDir: null });
      expect(found.file).toBe(path.join(dir, "default.json"));
      expect(found.profile.description).toBe("site");
      expect(found.profile.seccomp).toBe(path.join(dir, "s.json"));
      expect(listProfiles({ systemDir: dir, userDir: null }).profiles[0]).toMatchObject({
        name: "default",
        kind: "system",
        description: "site",
      });
    });

    it("refuses a group-writable file, naming it, the reason and the fix (never falls back)", () => {
      const dir = systemDir({ default: { name: "default" } });
      const file = path.join(dir, "default.json");
      fs.chmodSync(file, 0o664);
      const opts = { systemDir: dir, userDir: null };
      expect(() => loadProfile("default", opts)).toThrow(
        `${file}: refused: the file is group-writable (mode 0664); fix: chmod go-w ${file}`,
      );
      expect(() => loadProfile("default", opts)).toThrow(ProfileError);
      fs.chmodSync(file, 0o646);
      expect(() => loadProfile("default", opts)).toThrow(
        /the file is other-writable \(mode 0646\)/,
      );
      expect(listProfiles(opts).profiles[0]).toMatchObject({
        name: "default",
        kind: "system",
        error: expect.stringMatching(/refused: the file is other-writable/),
      });
    });

    it("refuses a file owned by another user, and a directory on the way that is writable", () => {
      const dir = systemDir({ default: { name: "default" } });
      const file = path.join(dir, "default.json");
      const opts = { systemDir: dir, userDir: null };
      fs.chownSync(file, 65534, 65534);
      expect(() => loadProfile("default", opts)).toThrow(
        `${file}: refused: the file is owned by uid 65534, not root; fix: chown root ${file}`,
      );
      fs.chownSync(file, 0, 0);
      fs.chmodSync(dir, 0o775);
      // Even a name that is not there: someone else could have removed the admin's file.
      expect(() => loadProfile("minimal", opts)).toThrow(
        `${path.join(dir, "minimal.json")}: refused: the directory ${dir} is group-writable (mode 0775); fix: chmod go-w ${dir}`,
      );
      expect(listProfiles(opts).dirs[0]).toMatchObject({
        state: "refused",
        error: expect.stringMatching(/group-writable/),
      });
      fs.chmodSync(dir, 0o755);
      fs.chownSync(path.dirname(dir), 65534, 65534);
      expect(() => loadProfile("default", opts)).toThrow(
        `refused: the directory ${path.dirname(dir)} is owned by uid 65534, not root`,
      );
    });

    it("follows a symlink only when it and its target pass the same rule", () => {
      const dir = systemDir({});
      const elsewhere = tmpdir();
      fs.chmodSync(elsewhere, 0o755);
      fs.writeFileSync(path.join(elsewhere, "real.json"), JSON.stringify({ name: "real" }), {
        mode: 0o644,
      });
      fs.symlinkSync(path.join(elsewhere, "real.json"), path.join(dir, "linked.json"));
      const opts = { systemDir: dir, userDir: null };
      expect(findProfile("linked", opts).profile.name).toBe("real");
      // A target in a directory another user owns is refused (the link could be swapped there).
      fs.chownSync(elsewhere, 65534, 65534);
      expect(() => loadProfile("linked", opts)).toThrow(
        `refused: the directory ${elsewhere} is owned by uid 65534, not root`,
      );
      fs.chownSync(elsewhere, 0, 0);
      fs.lchownSync(path.join(dir, "linked.json"), 65534, 65534);
      expect(() => loadProfile("linked", opts)).toThrow(
        /linked\.json: refused: the symlink is owned by uid 65534, not root; fix: chown root /,
      );
    });

    it("reads the user's directory only when rootless, owned by the user or root", () => {
      const user = systemDir({ mine: { name: "mine" } });
      const none = path.join(tmpdir(), "none");
      // As root: the user's directory is not searched.
      expect(() => loadProfile("mine", { systemDir: none, userDir: user })).toThrow(
        /no such profile/,
      );
      const rootless = { systemDir: none, userDir: user, uid: 1234 };
      expect(findProfile("mine", rootless).file).toBe(path.join(user, "mine.json"));
      fs.chownSync(path.join(user, "mine.json"), 1234, 1234);
      expect(findProfile("mine", rootless).file).toBe(path.join(user, "mine.json"));
      fs.chownSync(path.join(user, "mine.json"), 4321, 4321);
      expect(() => loadProfile("mine", rootless)).toThrow(
        /refused: the file is owned by uid 4321, not uid 1234 or root; fix: chown 1234 .*mine\.json, or replace it with a copy you own/,
      );
      expect(profileSearchPath(rootless).map((d) => d.kind)).toEqual([
        "system",
        "user",
        "built-in",
      ]);
    });
  });

  it("says what is wrong with a missing, unreadable or malformed file", () => {
    const cwd = tmpdir();
    expect(() => loadProfile("nope", { cwd, userDir: null })).toThrow(
      'nope: no such profile; looked in /etc/forge/profiles, the built-ins (try "forge profile list"; a file needs a path, e.g. ./nope.json)',
    );
    fs.writeFileSync(path.join(cwd, "broken.json"), "{ not json");
    expect(() => readProfileFile(path.join(cwd, "broken.json"))).toThrow(
      /broken\.json: not valid JSON/,
    );
    expect(() => readProfileFile(path.join(cwd, "missing.json"))).toThrow(
      /missing\.json: cannot read the profile: ENOENT/,
    );
    expect(() => loadProfile("../../etc", { cwd })).toThrow(ProfileError);
  });
});

describe("validateProfile: everything a plan would refuse, with its JSON pointer", () => {
  /** The problems of a profile, as "pointer: message". */
  function problems(doc: Record<string, unknown>): string[] {
    try {
      validateProfile({ name: "x", ...doc }, "x.json");
    } catch (e) {
      if (e instanceof ProfileError) return e.problems.map((p) => `${p.pointer}: ${p.message}`);
      throw e;
    }
    return [];
  }

  it("refuses the hostname and the bind target forge run refused, in one line each", () => {
    expect(problems({ hostname: "a b" })).toEqual([
      '/hostname: invalid hostname "a b": 1 to 64 letters, digits, "." and "-", not starting or ending with "." or "-"',
    ]);
    let one: Error | undefined;
    try {
      validateProfile(
        { name: "x", root: { binds: [{ src: "/usr", dst: "/usr/../etc" }] } },
        "x.json",
      );
    } catch (e) {
      one = e as Error;
    }
    expect(one?.message).toBe(
      'x.json: /root/binds/0/dst: bind destination must not contain "." or ".." components: "/usr/../etc"',
    );
  });

  it("names both sides of a clash", () => {
    expect(
      problems({
        root: {
          binds: [
            { src: "/usr", dst: "/usr" },
            { src: "/etc", dst: "/usr" },
          ],
        },
      }),
    ).toEqual([
      "/root/binds/1/dst: bind destination /usr (the bind of /etc) is already used by the bind of /usr; give each mount its own destination",
    ]);
  });

  it("checks capabilities, seccomp, limits, timeout, environment, namespaces and tmpfs", () => {
    const got = problems({
      namespaces: { mount: false, uts: false },
      hostname: "box",
      root: { tmpfs: [{ dst: "/t", size: "0", inodes: 10 }] },
      capabilities: { add: ["NET_RAW", "CAP_NOPE"] },
      seccomp: "no-such-profile",
      limits: { memory: "lots", cpus: 0.0001, pids: 5_000_000 },
      timeout: "0s",
      env: { set: { "A=B": "1", OK: "fine" } },
      cwd: "/a\u0000b",
    });
    expect(got.map((p) => p.split(": ")[0])).toEqual([
      "/hostname",
      "/root",
      "/root/tmpfs/0/size",
      "/cwd",
      "/env/set/A=B",
      "/capabilities/add/1",
      "/seccomp",
      "/limits/memory",
      "/limits/cpus",
      "/limits/pids",
      "/timeout",
    ]);
    for (const p of got) expect(p).not.toMatch(/\n/);
    expect(got).toContain('/timeout: the duration must be more than zero, got "0s"');
    expect(problems({ timeout: "10" })).toEqual([
      "/timeout: must be a duration with its unit: 500ms, 10s, 2m or 1h",
    ]);
  });

  it("accepts the built-ins and a clean profile", () => {
    for (const n of ["default", "minimal", "node-safe", "python-safe", "shell-readonly"])
      expect(() => validateProfile(loadProfile(n), n)).not.toThrow();
    expect(problems({ hostname: "box", seccomp: "unconfined", timeout: "597h" })).toEqual([]);
  });
});
