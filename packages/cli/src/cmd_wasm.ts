import path from "node:path";
import * as wasm from "@forge/sandbox/wasm";
import { many, parseCommandLine, parseDuration, parseInteger } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge wasm: run and inspect WebAssembly modules

Usage:
  forge wasm run [options] MODULE.wasm [-- ARGS...]
  forge wasm inspect [--json] MODULE.wasm

run: runs the module's _start with WASI preview1 (implemented by Forge, every call
checked and audited) with argv[0] = the module's name; stdio passes through and
forge exits with the module's exit code.

Options of run:
  --dir HOST:GUEST[:ro]  make directory HOST visible as GUEST (read-only with :ro);
                         repeatable; paths can never leave it
  --env K=V              give the module an environment variable (repeatable);
                         it sees no others
  --memory SIZE          linear memory limit, e.g. 64M, 1G (default 256M)
  --timeout DUR          stop the module after DUR (e.g. 10s, 500ms); exit 124
  --fuel N               deterministic budget of N metering units; exit 124 when spent

inspect: prints the module's sha256, size, memory limits, imports and exports.

Exit codes: the module's own; 124 timeout or fuel spent; 125 the module could not be
loaded; 134 the module trapped (unreachable, out-of-bounds access, stack overflow).

Examples:
  forge wasm run --dir ./data:/data:ro --env LANG=C tool.wasm -- /data/in.txt
  forge wasm inspect tool.wasm`;

const RUN_OPTIONS = {
  dir: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  memory: { type: "string" },
  timeout: { type: "string" },
  fuel: { type: "string" },
} as const;

/**
 * Parses a size such as `256M`, `1G`, `512K` or a number of bytes.
 *
 * @example
 * ```ts
 * parseSize("64M", "--memory"); // 67108864
 * ```
 */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?$/i.exec(text.trim());
  if (!m) throw new CliError(`${what}: expected a size such as 64M, 1G or 65536, got "${text}"`);
  const unit = (m[2] ?? "B").toUpperCase()[0];
  const mult = unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : 1;
  const n = Math.floor(Number(m[1]) * mult);
  if (n < 65536) throw new CliError(`${what}: ${text} is below one WebAssembly page (64K)`);
  if (n > 4 * 1024 ** 3)
    throw new CliError(`${what}: ${text} is above the 4G a wasm32 memory can address`);
  return n;
}

function parseDir(spec: string): { host: string; guest: string; readOnly: boolean } {
  const parts = spec.split(":");
  let readOnly = false;
  if (parts.length === 3 && (parts[2] === "ro" || parts[2] === "rw")) {
    readOnly = parts.pop() === "ro";
  }
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new CliError(`--dir: expected HOST:GUEST or HOST:GUEST:ro, got "${spec}"`);
  }
  return { host: path.resolve(parts[0]), guest: parts[1], readOnly };
}

function fmtType(t: { params: readonly string[]; results: readonly string[] } | undefined): string {
  return t ? ` (${t.params.join(", ")}) -> (${t.results.join(", ")})` : "";
}

function fmtLimits(l: { min: number; max?: number }): string {
  const kib = (p: number) => (p * 64 >= 1024 ? `${(p * 64) / 1024} MiB` : `${p * 64} KiB`);
  return `min ${l.min} pages (${kib(l.min)}), max ${l.max === undefined ? "none declared" : `${l.max} pages (${kib(l.max)})`}`;
}

/**
 * Why `forge wasm run` cannot run a module without `_start` (a reactor), with the
 * functions it exports, in one line.
 */
function reactorMessage(
  file: string,
  exports: ReadonlyArray<{ readonly name: string; readonly kind: string }>,
): string {
  const fns = exports
    .filter((e) => e.kind === "function" && e.name !== "_initialize")
    .map((e) => JSON.stringify(e.name.length > 60 ? `${e.name.slice(0, 59)}…` : e.name));
  const list =
    fns.length === 0
      ? "it exports no functions"
      : `it exports ${fns.slice(0, 10).join(", ")}${fns.length > 10 ? ` and ${fns.length - 10} more` : ""}`;
  return `${file} has no _start export: it is a reactor, a library whose exported functions are called one by one (${list}), not a command; "forge wasm run" runs only command modules (call a reactor's exports with WasmHost.call from @forge/wasm-host)`;
}

async function runCmd(argv: string[]): Promise<number> {
  const { values: v, command: rest } = parseCommandLine(argv, RUN_OPTIONS);
  const [file, ...more] = rest;
  if (!file)
    throw new CliError(
      'no module given; usage: forge wasm run [options] MODULE.wasm [-- ARGS...] (try "forge wasm --help")',
    );
  const args = more[0] === "--" ? more.slice(1) : more;
  const env: Record<string, string> = {};
  for (const kv of many(v.env)) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new CliError(`--env: expected K=V, got "${kv}"`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const preopens = many(v.dir).map(parseDir);
  const memoryLimit = v.memory ? parseSize(v.memory as string, "--memory") : undefined;
  const timeoutMs = v.timeout ? parseDuration(v.timeout as string, "--timeout") : undefined;
  const fuel = v.fuel
    ? parseInteger(v.fuel as string, "--fuel", 0, Number.MAX_SAFE_INTEGER)
    : undefined;
  const name = path.basename(file).replace(/\.wasm$/, "");
  const host = new wasm.WasmHost({ memoryLimit, timeoutMs, fuel });
  try {
    let info: Awaited<ReturnType<typeof host.loadModule>>;
    try {
      info = await host.loadModule(name, file, { wasi: { args: [name, ...args], env, preopens } });
    } catch (e) {
      if (e instanceof wasm.WasmModuleError || e instanceof TypeError)
        throw new CliError(e.message, 125);
      throw e;
    }
    if (!info.exports.some((e) => e.name === "_start" && e.kind === "function"))
      throw new CliError(reactorMessage(file, info.exports), 125);
    try {
      const { exitCode } = await host.run(name);
      return exitCode;
    } catch (e) {
      if (e instanceof wasm.WasmLimitError) {
        process.stderr.write(`forge: ${name}: ${e.message}\n`);
        return e.limit === "time" || e.limit === "fuel" ? 124 : 134;
      }
      if (e instanceof wasm.WasmModuleError) throw new CliError(e.message, 125);
      throw e;
    }
  } finally {
    await host.terminate();
  }
}

async function inspectCmd(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const files = argv.filter((a) => a !== "--json");
  const unknown = files.find((a) => a.startsWith("-"));
  if (unknown) throw new CliError(`unknown option "${unknown}" for forge wasm inspect`);
  if (files.length !== 1) throw new CliError("usage: forge wasm inspect [--json] MODULE.wasm");
  const file = files[0]!;
  const { readFile } = await import("node:fs/promises");
  const bytes = await readFile(file).catch((e: Error) => {
    throw new CliError(`cannot read ${file}: ${e.message}`, 1);
  });
  let shape: ReturnType<typeof wasm.inspectModule>;
  try {
    shape = wasm.inspectModule(bytes);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`, 1);
  }
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ file, sha256: hash, size: bytes.length, ...shape }, null, 2)}\n`,
    );
    return 0;
  }
  const out: string[] = [`module: ${file}`, `sha256: ${hash}`, `size: ${bytes.length} bytes`];
  if (shape.memories.length === 0) out.push("memory: none");
  shape.memories.forEach((m, i) => {
    out.push(
      `memory ${i}${m.imported ? " (imported)" : ""}: ${fmtLimits(m)}; Forge caps it at the --memory limit (default 256 MiB)`,
    );
  });
  out.push(`imports (${shape.imports.length}):`);
  for (const i of shape.imports)
    out.push(
      `  ${i.module}.${i.name}: ${i.kind}${fmtType(i.type)}${i.limits ? ` ${fmtLimits(i.limits)}` : ""}`,
    );
  out.push(`exports (${shape.exports.length}):`);
  for (const e of shape.exports) out.push(`  ${e.name}: ${e.kind}${fmtType(e.type)}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

/** `forge wasm run` and `forge wasm inspect`. */
export const command: Command = {
  summary: "run and inspect WebAssembly modules",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === "run") {
      if (rest[0] === "--help" || rest[0] === "-h") {
        process.stdout.write(`${HELP}\n`);
        return 0;
      }
      return runCmd(rest);
    }
    if (sub === "inspect") return inspectCmd(rest);
    throw new CliError(
      `unknown wasm sub-command "${sub ?? ""}"; use "run" or "inspect" (try "forge wasm --help")`,
    );
  },
};
