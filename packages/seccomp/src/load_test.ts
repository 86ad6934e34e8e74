import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileSeccompForRun, isSeccompPath, loadProfile } from "./load.ts";
import { ProfileError } from "./profile.ts";

const ALLOW_ALL = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW" });

/** Runs `f` in a fresh working directory holding `files`, and removes it after. */
function inDir<T>(files: Record<string, string>, f: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-seccomp-load-"));
  const cwd = process.cwd();
  try {
    for (const [n, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), text);
    process.chdir(dir);
    return f(dir);
  } finally {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("loadProfile", () => {
  it("takes a bare name as a built-in only, never as a file in the working directory", () => {
    inDir({ strict: ALLOW_ALL, "strict.json": ALLOW_ALL, default: ALLOW_ALL }, () => {
      expect(() => loadProfile("strict")).toThrow(
        /^seccomp profile "strict": no built-in of that name \(built-in: default, .*\); a file is loaded only when given as a path, e\.g\. \.\/strict$/,
      );
      expect(() => loadProfile("strict.json")).toThrow(/e\.g\. \.\/strict\.json$/);
      expect(() => compileSeccompForRun("strict")).toThrow(RangeError);
      // A built-in's name wins over a file of that name, as before.
      expect(loadProfile("default").profile.defaultAction).not.toBe("SCMP_ACT_ALLOW");
      // Given as a path, the file is read.
      expect(loadProfile("./strict").profile.defaultAction).toBe("SCMP_ACT_ALLOW");
      expect(loadProfile("./strict.json").source).toBe("./strict.json");
    });
  });

  it("says which file is missing", () => {
    inDir({}, (dir) => {
      expect(() => loadProfile(path.join(dir, "nope.json"))).toThrow(
        `seccomp profile "${path.join(dir, "nope.json")}": no such file; built-in: default,`,
      );
    });
  });

  it("refuses what cannot be a profile file in one line, without reading it all", () => {
    expect(() => loadProfile("/dev/zero")).toThrow(
      /^seccomp profile "\/dev\/zero": larger than 16 MiB; a profile is a small JSON file$/,
    );
    inDir({}, (dir) => {
      expect(() => loadProfile(`${dir}/`)).toThrow(/: cannot read it \(EISDIR\); built-in: /);
    });
  });

  it("a bad file: the ProfileError forge run shows (FILE:LINE:COLUMN, pointers)", () => {
    inDir(
      {
        "bad.json": '{\n  "defaultAction": {"toString": 1},\n  "defaultErrnoRet": 1\n}\n',
        "broken.json": '{"defaultAction": "SCMP_ACT_ALLOW",}',
      },
      () => {
        expect(() => compileSeccompForRun("./bad.json")).toThrow(ProfileError);
        expect(() => compileSeccompForRun("./bad.json")).toThrow(
          /^\.\/bad\.json: invalid seccomp profile \(1 problem\)\n {2}\.\/bad\.json:2:20: \/defaultAction: expected an action name \(a string\), got an object/,
        );
        expect(() => compileSeccompForRun("./broken.json")).toThrow(
          /^\.\/broken\.json:1:36: not valid JSON: a trailing comma is not allowed in JSON; remove the "," before "}"$/,
        );
      },
    );
  });

  it("tells a path from a name by the slash", () => {
    expect(isSeccompPath("./x.json")).toBe(true);
    expect(isSeccompPath("/etc/x")).toBe(true);
    expect(isSeccompPath("x.json")).toBe(false);
    expect(isSeccompPath("docker-default")).toBe(false);
  });
});
