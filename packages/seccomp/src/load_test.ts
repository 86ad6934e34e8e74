import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileSeccompForRun, isSeccompPath, loadProfile } from "./load.ts";

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

  it("tells a path from a name by the slash", () => {
    expect(isSeccompPath("./x.json")).toBe(true);
    expect(isSeccompPath("/etc/x")).toBe(true);
    expect(isSeccompPath("x.json")).toBe(false);
    expect(isSeccompPath("docker-default")).toBe(false);
  });
});
