// bin/forge.cjs: the bundles and their code caches, as a cold `forge` loads them.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(pkg, "bin", "forge.cjs");
const bundles = path.join(pkg, "dist", "bundle");

interface Loaded {
  exports: { main(argv: string[]): Promise<number> };
  cacheUsed: boolean;
}
const { loadBundle } = createRequire(import.meta.url)(bin) as {
  loadBundle(file: string, options?: { ignoreCache?: boolean }): Loaded | undefined;
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of a bundle (and its cache) in a temporary folder, with `edit` applied. */
function copyBundle(
  name: string,
  edit: { source?: (s: string) => string; cache?: (b: Buffer) => Buffer },
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-bin-"));
  dirs.push(dir);
  const file = path.join(dir, `${name}.js`);
  const source = fs.readFileSync(path.join(bundles, `${name}.js`), "latin1");
  fs.writeFileSync(file, edit.source ? edit.source(source) : source, "latin1");
  const cache = fs.readFileSync(path.join(bundles, `${name}.js.cache`));
  fs.writeFileSync(`${file}.cache`, edit.cache ? edit.cache(cache) : cache);
  return file;
}

describe.skipIf(!fs.existsSync(path.join(bundles, "run.js")))("bin/forge.cjs", () => {
  it("loads each bundle with the code cache the build made for it", () => {
    for (const name of ["run", "forge"]) {
      const loaded = loadBundle(path.join(bundles, `${name}.js`));
      expect(loaded?.cacheUsed, name).toBe(true);
      expect(typeof loaded?.exports.main, name).toBe("function");
    }
  });

  it("ignores a cache made from another bundle (the id line differs)", async () => {
    const file = copyBundle("forge", {
      source: (s) => s.replace(/^\/\/ forge-bundle [0-9a-f]+/, `// forge-bundle ${"0".repeat(32)}`),
    });
    const loaded = loadBundle(file);
    expect(loaded?.cacheUsed).toBe(false);
    // The code still runs, compiled from source.
    const write = process.stdout.write;
    let out = "";
    process.stdout.write = ((s: string) => {
      out += s;
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await loaded?.exports.main(["--version"])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out).toBe("forge 0.1.0\n");
  });

  it("ignores a cache whose V8 header is damaged, and one that is cut short", () => {
    // (V8 checks its own header; it does not checksum the rest: see bin/forge.cjs.)
    const damaged = copyBundle("forge", {
      cache: (b) => {
        const c = Buffer.from(b);
        c.fill(0x5a, 44, 44 + 64);
        return c;
      },
    });
    expect(loadBundle(damaged)?.cacheUsed).toBe(false);
    const header = copyBundle("forge", { cache: (b) => b.subarray(0, 40) });
    expect(loadBundle(header)?.cacheUsed).toBe(false);
    const half = copyBundle("forge", { cache: (b) => b.subarray(0, b.length >> 1) });
    expect(loadBundle(half)?.cacheUsed).toBe(false);
  });

  it("ignores the cache of a bundle edited in place (same length, written after the cache)", () => {
    const file = copyBundle("forge", {});
    const source = fs.readFileSync(file, "latin1");
    const later = new Date(fs.statSync(`${file}.cache`).mtimeMs + 5000);
    fs.writeFileSync(file, source.replace('"forge 0.1.0', '"forge 6.6.6'), "latin1");
    fs.utimesSync(file, later, later);
    expect(fs.statSync(file).size).toBe(source.length);
    const loaded = loadBundle(file);
    expect(loaded?.cacheUsed).toBe(false);
  });

  it("says undefined for a bundle that is not there", () => {
    expect(loadBundle(path.join(os.tmpdir(), "no-such-forge-bundle.js"))).toBeUndefined();
  });

  it("exits 125, not 0, when a command's promise never settles", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-bin-"));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(path.join(dir, "dist", "bundle"), { recursive: true });
    fs.copyFileSync(bin, path.join(dir, "bin", "forge.cjs"));
    fs.writeFileSync(
      path.join(dir, "dist", "bundle", "forge.js"),
      `// forge-bundle ${"0".repeat(32)}\n(function (exports) { exports.main = () => new Promise(() => {}); })`,
    );
    const r = spawnSync(process.execPath, [path.join(dir, "bin", "forge.cjs"), "--version"], {
      encoding: "utf8",
    });
    expect(r).toMatchObject({
      status: 125,
      stderr: "forge: internal error: the command ended without a result\n",
    });
  });

  it("runs dist/main.js when the bundles are not built", () => {
    // A package folder with the bin and dist/main.js (a link: Node follows it to the
    // real file, whose imports then resolve as usual) and no dist/bundle.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-bin-"));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(path.join(dir, "dist"));
    fs.copyFileSync(bin, path.join(dir, "bin", "forge.cjs"));
    fs.symlinkSync(path.join(pkg, "dist", "main.js"), path.join(dir, "dist", "main.js"));
    const r = spawnSync(process.execPath, [path.join(dir, "bin", "forge.cjs"), "--version"], {
      encoding: "utf8",
    });
    expect(r).toMatchObject({ status: 0, stdout: "forge 0.1.0\n", stderr: "" });
  });
});
