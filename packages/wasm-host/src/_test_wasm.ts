// Test helper: compiles the C programs in testdata/ with clang for wasm32-wasi, once per
// test run, into a temporary directory that is removed when the process exits.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach } from "vitest";
import { WasmHost } from "./wasm_host.ts";

export const TESTDATA = fileURLToPath(new URL("../testdata/", import.meta.url));
let dir: string | undefined;
const built = new Map<string, string>();

function cacheDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-wasm-test-"));
    const d = dir;
    process.on("exit", () => fs.rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** Removes the compiled programs now (call from afterAll). */
export function cleanCompiled(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  built.clear();
}

/**
 * Compiles testdata/<name>.c to wasm32-wasi (Debian's wasi-libc lives in /usr, so
 * `--sysroot=/usr`); `reactor` builds a library-style module without `_start`.
 */
export function compileC(
  name: string,
  opts: { reactor?: boolean; defines?: Record<string, string | number>; out?: string } = {},
): string {
  const key = JSON.stringify([name, opts]);
  const hit = built.get(key);
  if (hit && fs.existsSync(hit)) return hit;
  const out = path.join(cacheDir(), opts.out ?? `${name}${opts.reactor ? ".reactor" : ""}.wasm`);
  const args = [
    "--target=wasm32-wasi",
    "--sysroot=/usr",
    "-O1",
    "-o",
    out,
    path.join(TESTDATA, `${name}.c`),
  ];
  if (opts.reactor) args.push("-mexec-model=reactor");
  for (const [k, v] of Object.entries(opts.defines ?? {})) args.push(`-D${k}=${v}`);
  execFileSync("clang", args, { stdio: ["ignore", "ignore", "pipe"] });
  built.set(key, out);
  return out;
}

/** A fresh temporary directory; remove it with fs.rmSync in a finally/afterEach. */
export function tempDir(prefix = "forge-wasm-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Per-test fixtures shared by the host's test files: a fresh work directory for each
 * test, hosts made with `newHost` terminated after it, compiled programs removed at
 * the end.
 */
export function useHostFixtures(): {
  readonly work: string;
  newHost(opts?: ConstructorParameters<typeof WasmHost>[0]): WasmHost;
} {
  let work = "";
  const hosts: WasmHost[] = [];
  beforeEach(() => {
    work = tempDir();
  });
  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.terminate();
    fs.rmSync(work, { recursive: true, force: true });
  });
  afterAll(cleanCompiled);
  return {
    get work() {
      return work;
    },
    newHost(opts = {}) {
      const h = new WasmHost(opts);
      hosts.push(h);
      return h;
    },
  };
}
