import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BUILTIN_PROFILE_DIR,
  listProfiles,
  loadProfile,
  ProfileError,
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
      expect(loadProfile(n, tmpdir()).name).toBe(n);
    }
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

  it("searches ./profiles before the built-ins, and takes paths", () => {
    const cwd = tmpdir();
    fs.mkdirSync(path.join(cwd, "profiles"));
    fs.writeFileSync(
      path.join(cwd, "profiles", "default.json"),
      JSON.stringify({ name: "default", description: "local" }),
    );
    expect(loadProfile("default", cwd).description).toBe("local");
    expect(loadProfile("./profiles/default.json", cwd).description).toBe("local");
    expect(listProfiles(cwd).find((p) => p.name === "default")!.file).toBe(
      path.join(cwd, "profiles", "default.json"),
    );
    expect(listProfiles(cwd).map((p) => p.name)).toContain("python-safe");
  });

  it("says what is wrong with a missing, unreadable or malformed file", () => {
    const cwd = tmpdir();
    expect(() => loadProfile("nope", cwd)).toThrow(
      /nope: no such profile; looked in \/etc\/forge\/profiles, .*profiles, .*\(try "forge profile list"\)/,
    );
    fs.writeFileSync(path.join(cwd, "broken.json"), "{ not json");
    expect(() => readProfileFile(path.join(cwd, "broken.json"))).toThrow(
      /broken\.json: not valid JSON/,
    );
    expect(() => readProfileFile(path.join(cwd, "missing.json"))).toThrow(
      /missing\.json: cannot read the profile: ENOENT/,
    );
    expect(() => loadProfile("../../etc", cwd)).toThrow(ProfileError);
  });
});
