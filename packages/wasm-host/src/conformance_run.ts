// Test helper of the conformance corpus (conformance_test.ts): lays out a case's
// fixture directories in a fresh temp dir, and runs a module the way a user would,
// through `forge wasm run` (a node process on packages/cli/dist/main.js), through
// node:wasi (preview1, same preopens, same args and env) and, when one is installed,
// through wasmtime.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CORPUS_DIR, REPO_ROOT } from "./conformance_build.ts";

/** A fixture tree: file contents, sub-directories, and symbolic links. */
export type Tree = {
  readonly [name: string]: string | { readonly dir: Tree } | { readonly symlink: string };
};

/** A preopened directory of a case: its guest name, its contents, read-only or not. */
export interface DirSpec {
  readonly guest: string;
  readonly tree?: Tree;
  readonly readOnly?: boolean;
}

/** How to run one module once. */
export interface RunSpec {
  readonly wasm: string;
  /** The module's file name in the run (argv[0] is derived from it): "<name>.wasm". */
  readonly name: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly dirs?: readonly DirSpec[];
  /** A sibling of the preopens that is NOT preopened (escape targets live here). */
  readonly outside?: Tree;
  readonly stdin?: string;
  /** Where stdout goes: a pipe (default) or a regular file. */
  readonly stdout?: "pipe" | "file";
  /** Kill the run after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Host paths (relative to the temp dir: "sb/x", "outside/secret") to read after the run. */
  readonly readAfter?: readonly string[];
}

/** What a run produced, with the temp dir's path replaced by `$ROOT`. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: number;
  /**
   * The `readAfter` paths after the run: file contents, "-> target" for a symlink,
   * "dir: a b" for a directory, null when missing.
   */
  readonly files: Readonly<Record<string, string | null>>;
}

/** The runtimes a case is run on. */
export type Runtime = "forge" | "node" | "wasmtime";

const CLI_MAIN = path.join(REPO_ROOT, "packages/cli/dist/main.js");
const NODE_RUNNER = path.join(CORPUS_DIR, "node_wasi_run.mjs");

/**
 * Why the built CLI cannot run the corpus (not built, or older than the sources it
 * would run), or undefined. The corpus runs what users run, so it needs `npx tsc -b`.
 *
 * @example
 * ```ts
 * const why = cliStale();
 * if (why) throw new Error(why);
 * ```
 */
export function cliStale(): string | undefined {
  if (!fs.existsSync(CLI_MAIN)) return `${CLI_MAIN} is missing: run "npx tsc -b" first`;
  const src = path.join(REPO_ROOT, "packages/wasm-host/src");
  const dist = path.join(REPO_ROOT, "packages/wasm-host/dist");
  for (const f of ["wasi.ts", "preopen.ts", "wasi_errno.ts"]) {
    const built = path.join(dist, f.replace(/\.ts$/, ".js"));
    if (
      !fs.existsSync(built) ||
      fs.statSync(built).mtimeMs < fs.statSync(path.join(src, f)).mtimeMs
    )
      return `packages/wasm-host/dist/${path.basename(built)} is older than src/${f}: run "npx tsc -b" first`;
  }
  return undefined;
}

/**
 * The wasmtime command when one is installed (a `wasmtime` binary on PATH), else
 * undefined. Python's wheel is not usable here (no PyPI), so usually undefined.
 *
 * @example
 * ```ts
 * if (!wasmtimeBinary()) console.log("wasmtime not available: skipped");
 * ```
 */
export function wasmtimeBinary(): string | undefined {
  try {
    execFileSync("wasmtime", ["--version"], { stdio: "ignore" });
    return "wasmtime";
  } catch {
    return undefined;
  }
}

/**
 * Runs `spec` on `runtime` in a fresh temp dir (removed afterwards, also on failure).
 *
 * @example
 * ```ts
 * const r = await runCase("forge", { wasm, args: ["basic"], dirs: [{ guest: "/sb" }] });
 * console.log(r.exit, r.stdout);
 * ```
 */
export async function runCase(runtime: Runtime, spec: RunSpec): Promise<RunResult> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `forge-conf-${runtime}-`));
  try {
    const dirs = (spec.dirs ?? []).map((d, i) => {
      const host = path.join(root, hostName(d.guest, i));
      fs.mkdirSync(host);
      lay(host, d.tree ?? {}, root);
      return { host, guest: d.guest, readOnly: d.readOnly ?? false };
    });
    if (spec.outside) {
      fs.mkdirSync(path.join(root, "outside"));
      lay(path.join(root, "outside"), spec.outside, root);
    }
    // A stable file name, so that argv[0] (and forge's messages) do not carry the cache hash.
    const wasm = path.join(root, `${spec.name}.wasm`);
    fs.copyFileSync(spec.wasm, wasm);
    const outFile = spec.stdout === "file" ? path.join(root, "stdout.txt") : undefined;
    const args = spec.args ?? [];
    const env = spec.env ?? {};
    let cmd: string;
    let argv: string[];
    if (runtime === "forge") {
      cmd = process.execPath;
      argv = [
        "--input-type=module",
        "-e",
        `import { main } from ${JSON.stringify(CLI_MAIN)}; process.exitCode = await main(process.argv.slice(1));`,
        "wasm",
        "run",
        ...dirs.flatMap((d) => ["--dir", `${d.host}:${d.guest}${d.readOnly ? ":ro" : ""}`]),
        ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        wasm,
        "--",
        ...args,
      ];
    } else if (runtime === "node") {
      cmd = process.execPath;
      argv = [
        "--no-warnings",
        NODE_RUNNER,
        JSON.stringify({
          wasm,
          args: [spec.name, ...args],
          env,
          preopens: Object.fromEntries(dirs.map((d) => [d.guest, d.host])),
        }),
      ];
    } else {
      cmd = "wasmtime";
      argv = [
        "run",
        ...dirs.flatMap((d) => ["--dir", `${d.host}::${d.guest}`]),
        ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        "--argv0",
        spec.name,
        wasm,
        ...args,
      ];
    }
    const r = await spawnCollect(
      cmd,
      argv,
      spec.stdin ?? "",
      outFile,
      root,
      spec.timeoutMs ?? 30_000,
    );
    const clean = (s: string) => s.split(root).join("$ROOT");
    const stdout = outFile ? fs.readFileSync(outFile, "utf8") : r.stdout;
    const files: Record<string, string | null> = {};
    for (const rel of spec.readAfter ?? []) files[rel] = describe(path.join(root, rel));
    return { stdout: clean(stdout), stderr: clean(r.stderr), exit: r.exit, files };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function describe(p: string): string | null {
  try {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return `-> ${fs.readlinkSync(p)}`;
    if (st.isDirectory()) return `dir: ${fs.readdirSync(p).sort().join(" ")}`;
    return fs.readFileSync(p, "utf8");
  } catch {
    return null;
  }
}

/** "/sb" → "sb", "/" → "root0", "." → "dot0". */
function hostName(guest: string, i: number): string {
  const n = guest.replace(/^\/+|\/+$/g, "").replace(/[^\w.-]/g, "_");
  return n && n !== "." && n !== "outside" ? n : `dir${i}`;
}

function lay(dir: string, tree: Tree, root: string): void {
  for (const [name, v] of Object.entries(tree)) {
    const p = path.join(dir, name);
    if (typeof v === "string") fs.writeFileSync(p, v);
    else if ("dir" in v) {
      fs.mkdirSync(p);
      lay(p, v.dir, root);
    } else fs.symlinkSync(v.symlink.replace("$ROOT", root), p);
  }
}

function spawnCollect(
  cmd: string,
  argv: string[],
  stdin: string,
  outFile: string | undefined,
  cwd: string,
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string; exit: number }> {
  return new Promise((resolve, reject) => {
    const outFd = outFile ? fs.openSync(outFile, "w") : undefined;
    const child = spawn(cmd, argv, {
      cwd,
      stdio: ["pipe", outFd ?? "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    if (outFd !== undefined) fs.closeSync(outFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.stdin?.on("error", () => {}); // the module may exit without reading
    child.stdin?.end(stdin);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exit: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1),
      });
    });
  });
}
