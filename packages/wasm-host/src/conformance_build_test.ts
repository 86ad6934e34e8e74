// The conformance cache's temp-dir fallback: another local user must not be able to
// plant a module there (a shared world-writable forge-conformance in /tmp was used as is).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cacheDirIn } from "./conformance_build.ts";

let base: string;
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

function setup(): { repoCache: string; tmp: string } {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cachedir-"));
  // node_modules/.cache unusable: a regular file where the directory should be.
  const repoCache = path.join(base, "cache-file");
  fs.writeFileSync(repoCache, "");
  const tmp = path.join(base, "tmp");
  fs.mkdirSync(tmp);
  fs.chmodSync(tmp, 0o1777);
  return { repoCache, tmp };
}

describe("conformance cache directory", () => {
  it("falls back to a fresh private directory in the temp dir", () => {
    const { repoCache, tmp } = setup();
    const dir = cacheDirIn(repoCache, tmp);
    expect(path.dirname(dir)).toBe(tmp);
    const st = fs.lstatSync(dir);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid?.());
  });

  it("refuses a planted world-writable directory (with a module in it)", () => {
    const { repoCache, tmp } = setup();
    for (const name of ["forge-conformance", `forge-conformance-${process.getuid?.()}`]) {
      const planted = path.join(tmp, name);
      fs.mkdirSync(planted);
      fs.chmodSync(planted, 0o777);
      fs.writeFileSync(path.join(planted, "c-hello_c-0123456789abcdef.wasm"), "\0asm");
    }
    expect(() => cacheDirIn(repoCache, tmp)).toThrow(/not private/);
  });

  it("refuses a planted symlink", () => {
    const { repoCache, tmp } = setup();
    const elsewhere = path.join(base, "elsewhere");
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.join(tmp, `forge-conformance-${process.getuid?.()}`));
    expect(() => cacheDirIn(repoCache, tmp)).toThrow(/not private/);
  });

  it("refuses a directory owned by another user", () => {
    if (process.getuid?.() !== 0) return; // only root can make one for the test
    const { repoCache, tmp } = setup();
    const planted = path.join(tmp, "forge-conformance-0");
    fs.mkdirSync(planted, { mode: 0o700 });
    fs.chownSync(planted, 65534, 65534);
    expect(() => cacheDirIn(repoCache, tmp)).toThrow(/not private/);
  });
});
