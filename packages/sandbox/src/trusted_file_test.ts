import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkTrustedDir, readTrustedFile, UntrustedFileError } from "./trusted_file.ts";

const me = process.getuid?.() ?? 0;
const owners = [me, 0];
const tmps: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-trusted-"));
  tmps.push(d);
  return d;
}
afterEach(() => {
  for (const d of tmps.splice(0)) {
    fs.chmodSync(d, 0o700);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function refusal(f: () => unknown): UntrustedFileError {
  try {
    f();
  } catch (e) {
    if (e instanceof UntrustedFileError) return e;
    throw e;
  }
  throw new Error("expected an UntrustedFileError");
}

describe("readTrustedFile", () => {
  it("reads a file whose owner and directories pass, and says undefined when it is absent", () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, "a.json"), "{}", { mode: 0o644 });
    expect(readTrustedFile(path.join(d, "a.json"), { owners })).toBe("{}");
    expect(readTrustedFile(path.join(d, "b.json"), { owners })).toBeUndefined();
    expect(readTrustedFile(path.join(d, "no", "dir", "b.json"), { owners })).toBeUndefined();
    // A file where a directory was expected: nothing there.
    expect(readTrustedFile(path.join(d, "a.json", "b.json"), { owners })).toBeUndefined();
    expect(() => readTrustedFile("relative.json")).toThrow(TypeError);
  });

  it("allows a sticky directory on the way (as /tmp), but not as the file's own directory", () => {
    const d = tmpdir();
    fs.mkdirSync(path.join(d, "sub"));
    fs.writeFileSync(path.join(d, "sub", "a.json"), "1", { mode: 0o644 });
    fs.writeFileSync(path.join(d, "b.json"), "2", { mode: 0o644 });
    fs.chmodSync(d, 0o1777);
    expect(readTrustedFile(path.join(d, "sub", "a.json"), { owners })).toBe("1");
    const e = refusal(() => readTrustedFile(path.join(d, "b.json"), { owners }));
    expect(e.message).toBe(
      `${path.join(d, "b.json")}: refused: the directory ${d} is other-writable (mode 01777); fix: chmod go-w ${d}`,
    );
    expect(e.culprit).toBe(d);
    expect(checkTrustedDir(path.join(d, "sub"), { owners })).toBe(true);
    expect(() => checkTrustedDir(d, { owners })).toThrow(UntrustedFileError);
    expect(checkTrustedDir(path.join(d, "missing"), { owners })).toBe(false);
  });

  it("follows relative and absolute symlinks by the same rule, and stops at a loop", () => {
    const d = tmpdir();
    fs.mkdirSync(path.join(d, "real"));
    fs.writeFileSync(path.join(d, "real", "a.json"), "x", { mode: 0o600 });
    fs.mkdirSync(path.join(d, "sub"));
    fs.symlinkSync("../real/a.json", path.join(d, "sub", "rel.json"));
    fs.symlinkSync(path.join(d, "real"), path.join(d, "dirlink"));
    expect(readTrustedFile(path.join(d, "sub", "rel.json"), { owners })).toBe("x");
    expect(readTrustedFile(path.join(d, "dirlink", "a.json"), { owners })).toBe("x");
    fs.symlinkSync("loop2", path.join(d, "loop1"));
    fs.symlinkSync("loop1", path.join(d, "loop2"));
    expect(refusal(() => readTrustedFile(path.join(d, "loop1"), { owners })).reason).toBe(
      "part of a loop",
    );
    // A dangling symlink: nothing there.
    fs.symlinkSync("nowhere", path.join(d, "dangling.json"));
    expect(readTrustedFile(path.join(d, "dangling.json"), { owners })).toBeUndefined();
  });

  it("refuses what is not a regular file without opening it for long (a FIFO does not block)", () => {
    const d = tmpdir();
    execFileSync("mkfifo", [path.join(d, "fifo.json")]);
    fs.mkdirSync(path.join(d, "dir.json"));
    expect(refusal(() => readTrustedFile(path.join(d, "fifo.json"), { owners })).reason).toBe(
      "not a regular file",
    );
    expect(refusal(() => readTrustedFile(path.join(d, "dir.json"), { owners })).reason).toBe(
      "not a regular file",
    );
  });

  it("refuses a file or directory of another owner", () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, "a.json"), "x", { mode: 0o644 });
    const other = me === 0 ? [4321] : [0];
    const e = refusal(() => readTrustedFile(path.join(d, "a.json"), { owners: other }));
    expect(e.message).toMatch(/^\S+a\.json: refused: the directory \S+ is owned by uid \d+, not /);
  });
});
