// Test helper of the conformance corpus (conformance_test.ts): builds the corpus's
// programs with the three toolchains into a cache keyed by the hash of the sources,
// the compiler's identity and the flags, so that a second run builds nothing. Binaries
// are never committed; the cache lives in node_modules/.cache/forge-conformance (or,
// when node_modules is not writable, forge-conformance-UID, mode 0700, in the OS temp dir).
import { type ExecFileSyncOptions, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The corpus's sources: testdata/conformance/{c,rust,as}. */
export const CORPUS_DIR = fileURLToPath(new URL("../testdata/conformance/", import.meta.url));
/** The monorepo root (for node_modules and the CLI). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The toolchains of the corpus. */
export type Toolchain = "c" | "rust" | "as";

/**
 * Why a toolchain cannot build here, or undefined when it can. Checked once per run.
 *
 * @example
 * ```ts
 * const why = toolchainMissing("rust");
 * if (why) console.log(`skipped: ${why}`);
 * ```
 */
export function toolchainMissing(tc: Toolchain): string | undefined {
  return identity(tc).missing;
}

/**
 * Builds (or finds in the cache) the module for `program` (a file name under the
 * toolchain's folder, e.g. "files.rs") and returns the .wasm path. Throws an Error
 * naming the program, the compiler and its output when the build fails.
 *
 * @example
 * ```ts
 * const wasm = buildProgram("rust", "files.rs");
 * ```
 */
export function buildProgram(tc: Toolchain, program: string): string {
  const id = identity(tc);
  if (id.missing) throw new Error(`${tc} toolchain unavailable: ${id.missing}`);
  const src = path.join(CORPUS_DIR, tc, program);
  const hash = createHash("sha256");
  hash.update(`${tc}\0${id.version}\0${JSON.stringify(FLAGS[tc])}\0`);
  for (const f of sourcesOf(src)) hash.update(`${path.basename(f)}\0`).update(fs.readFileSync(f));
  const out = path.join(
    cacheDir(),
    `${tc}-${program.replace(/\W/g, "_")}-${hash.digest("hex").slice(0, 16)}.wasm`,
  );
  if (fs.existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    compile(tc, src, tmp);
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const err = e as { stderr?: Buffer | string; stdout?: Buffer | string; message: string };
    const detail = `${err.stderr ?? ""}${err.stdout ?? ""}`.trim() || err.message;
    throw new Error(
      `building ${tc}/${program} failed (fix the program or the toolchain):\n${detail}`,
    );
  }
  return out;
}

const RUSTC = "/usr/bin/rustc";
const ASC = path.join(REPO_ROOT, "node_modules/assemblyscript/bin/asc.js");
// Relative to the repo root (asc's cwd): asc resolves the config's "lib" against it.
const AS_WASI = "node_modules/@assemblyscript/wasi-shim/asconfig.json";

const FLAGS: Record<Toolchain, string[]> = {
  c: ["--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-Wno-unused-result"],
  // RUSTC_BOOTSTRAP=1 unlocks std::os::wasi::fs (wasi_ext), unstable in Rust 1.63.
  // Panic messages name the source file: it is /corpus/rust/X.rs wherever the checkout
  // is (compile() adds --remap-path-prefix for the corpus directory).
  rust: [
    "--edition",
    "2021",
    "--target",
    "wasm32-wasi",
    "-O",
    "-C",
    "strip=debuginfo",
    "--remap-path-prefix=CORPUS_DIR=/corpus",
  ],
  as: ["--config", AS_WASI, "-O"],
};

function compile(tc: Toolchain, src: string, out: string): void {
  const opts: ExecFileSyncOptions = { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 };
  if (tc === "c") execFileSync("clang", [...FLAGS.c, "-o", out, src], opts);
  else if (tc === "rust")
    execFileSync(
      RUSTC,
      [...FLAGS.rust.map((f) => f.replace("CORPUS_DIR", CORPUS_DIR)), "-o", out, src],
      {
        ...opts,
        env: { ...process.env, RUSTC_BOOTSTRAP: "1" },
      },
    );
  else
    execFileSync(process.execPath, [ASC, src, ...FLAGS.as, "-o", out], { ...opts, cwd: REPO_ROOT });
}

/** The program plus what it includes (Rust include!, C #include "..."), for the hash. */
function sourcesOf(src: string): string[] {
  const text = fs.readFileSync(src, "utf8");
  const dir = path.dirname(src);
  const inc = [...text.matchAll(/include!\("([^"]+)"\)|#include "([^"]+)"/g)].map((m) =>
    path.join(dir, m[1] ?? m[2]!),
  );
  return [src, ...inc];
}

const ids = new Map<Toolchain, { version: string; missing?: string }>();

function identity(tc: Toolchain): { version: string; missing?: string } {
  let id = ids.get(tc);
  if (id) return id;
  try {
    if (tc === "c") {
      const v = execFileSync("clang", ["--version"], { encoding: "utf8" });
      if (
        !fs.existsSync("/usr/include/wasm32-wasi/stdio.h") &&
        !fs.existsSync("/usr/share/wasi-sysroot")
      )
        id = { version: v, missing: "no wasi-libc sysroot (apt-get install wasi-libc)" };
      else id = { version: v };
    } else if (tc === "rust") {
      if (!fs.existsSync(RUSTC))
        id = {
          version: "",
          missing: `${RUSTC} not found (apt-get install rustc libstd-rust-dev-wasm32)`,
        };
      else {
        const v = execFileSync(RUSTC, ["--version"], { encoding: "utf8" });
        const targets = execFileSync(RUSTC, ["--print", "sysroot"], { encoding: "utf8" }).trim();
        id = fs.existsSync(path.join(targets, "lib/rustlib/wasm32-wasi"))
          ? { version: v }
          : {
              version: v,
              missing: `${RUSTC} has no wasm32-wasi std (apt-get install libstd-rust-dev-wasm32)`,
            };
      }
    } else {
      if (!fs.existsSync(ASC) || !fs.existsSync(path.join(REPO_ROOT, AS_WASI)))
        id = {
          version: "",
          missing: "assemblyscript or @assemblyscript/wasi-shim not installed (npm install)",
        };
      else {
        const pkg = (p: string) =>
          JSON.parse(
            fs.readFileSync(path.join(REPO_ROOT, "node_modules", p, "package.json"), "utf8"),
          ).version;
        id = { version: `asc ${pkg("assemblyscript")} shim ${pkg("@assemblyscript/wasi-shim")}` };
      }
    }
  } catch (e) {
    id = { version: "", missing: (e as Error).message.split("\n")[0] };
  }
  ids.set(tc, id);
  return id;
}

let cache: string | undefined;

function cacheDir(): string {
  cache ??= cacheDirIn(path.join(REPO_ROOT, "node_modules/.cache"), os.tmpdir());
  return cache;
}

/**
 * The cache directory: `repoCache`/forge-conformance when it can be made writable, else
 * a directory of this user's alone in `tmp` (shared with the machine's other users, who
 * could otherwise plant a module there, under the name the hash makes predictable, that
 * the tests would then run): `tmp`/forge-conformance-UID, made mode 0700, refused when it
 * is a symlink, another user's, or writable by group or others.
 *
 * @example
 * ```ts
 * const dir = cacheDirIn("/repo/node_modules/.cache", os.tmpdir());
 * ```
 */
export function cacheDirIn(repoCache: string, tmp: string): string {
  const errors: string[] = [];
  try {
    const dir = path.join(repoCache, "forge-conformance");
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch (e) {
    errors.push((e as Error).message);
  }
  const uid = process.getuid?.() ?? -1;
  const dir = path.join(tmp, `forge-conformance-${uid}`);
  try {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || (uid !== -1 && st.uid !== uid) || (st.mode & 0o077) !== 0)
      throw new Error(
        `${dir} is not private (a symlink, another user's, or open to group or others): remove it`,
      );
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch (e) {
    errors.push((e as Error).message);
  }
  throw new Error(
    `no writable cache directory for the conformance corpus (node_modules/.cache or a private one in the temp dir): ${errors.join("; ")}`,
  );
}
