import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { packageFile } from "./package_file.ts";

const libcRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An application's folder with a bundle in dist/ and files named like Forge's. */
function app(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-pkgfile-"));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, "dist"));
  fs.mkdirSync(path.join(dir, "prebuilds"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "my-app" }));
  fs.writeFileSync(path.join(dir, "prebuilds", "evil.so"), "not ours");
  return dir;
}

describe("packageFile", () => {
  it("finds a file of the package the calling module belongs to", () => {
    const url = pathToFileURL(path.join(libcRoot, "src", "native.ts")).href;
    expect(packageFile(url, "@forge/libc", "package.json")).toBe(
      path.join(libcRoot, "package.json"),
    );
  });

  it("decodes a percent-encoded module URL (a path with a space)", () => {
    const url = pathToFileURL("/tmp/a b/dist/x.js").href;
    expect(url).toContain("%20");
    expect(packageFile(url, "@forge/none", "f")).toBe("/tmp/a b/node_modules/@forge/none/f");
  });

  it("never takes a file of another package that happens to sit above the module", () => {
    const dir = app();
    const url = pathToFileURL(path.join(dir, "dist", "bundle.js")).href;
    // Not resolvable from there: where it would be installed, not the app's file.
    expect(packageFile(url, "@forge/libc", "prebuilds/evil.so")).toBe(
      path.join(dir, "node_modules", "@forge/libc", "prebuilds/evil.so"),
    );
    // Installed there: found by name.
    fs.mkdirSync(path.join(dir, "node_modules", "@forge"), { recursive: true });
    fs.symlinkSync(libcRoot, path.join(dir, "node_modules", "@forge", "libc"));
    expect(fs.realpathSync(packageFile(url, "@forge/libc", "package.json"))).toBe(
      path.join(libcRoot, "package.json"),
    );
  });
});
