import path from "node:path";
import * as wasm from "@forge/sandbox/wasm";
import { many, parseCommandLine, parseDuration, parseInteger, shown } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge wasm: run and inspect WebAssembly modules

Usage:
  forge wasm run [options] MODULE.wasm [-- ARGS...]
  forge wasm run --invoke NAME [options] MODULE.wasm [-- CALL-ARGS...]
  forge wasm inspect [--json] MODULE.wasm

run: runs the module's _start with WASI preview1 (implemented by Forge, every call
checked and audited) with argv[0] = the module's name; stdio passes through and
forge exits with the module's exit code. With --invoke, calls one exported function
instead (a reactor module has no _start) and prints what it returns.

Options of run:
  --dir HOST:GUEST[:ro]  make directory HOST visible as GUEST (read-only with :ro);
                         repeatable; paths can never leave it
  --env K=V              give the module an environment variable (repeatable);
                         it sees no others
  --invoke NAME          call the exported function NAME (after the module's
                         _initialize) with CALL-ARGS as its arguments, one per
                         parameter: whole numbers for i32/i64, numbers for f32/f64;
                         prints its result (nothing for none) and exits 0
  --policy FILE          check every call against the @forge/policy document in FILE
                         (JSON) instead of letting the module use all it was given;
                         needs --identity
  --identity ID          the identity of --policy FILE the module runs as
  --audit FILE           write the audit trail to FILE as it happens: JSON lines,
                         hash-chained (verify with verifyAuditChain of
                         @forge/policy); a log already there is continued
  --memory SIZE          linear memory limit, e.g. 64M, 1G (default 256M)
  --timeout DURATION     stop the module after DURATION (e.g. 10s, 500ms); exit 124
  --fuel N               deterministic budget of N metering units; exit 124 when spent

inspect: prints the module's sha256, size, memory limits, imports and exports.

Exit codes: the module's own (0 after --invoke); 124 timeout or fuel spent; 125 the
module could not be loaded; 134 the module trapped (unreachable, out-of-bounds
access, stack overflow); 2 a bad option.

Examples:
  forge wasm run --dir ./data:/data:ro --env LANG=C tool.wasm -- /data/in.txt
  forge wasm run --invoke add lib.wasm -- 2 3
  forge wasm run --policy policy.json --identity tool --audit audit.jsonl tool.wasm
  forge wasm inspect tool.wasm`;

const RUN_OPTIONS = {
  dir: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  invoke: { type: "string" },
  policy: { type: "string" },
  identity: { type: "string" },
  audit: { type: "string" },
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
  return `${file} has no _start export: it is a reactor, a library whose exported functions are called one by one (${list}), not a command; call one with --invoke NAME (forge wasm run --invoke NAME ${file} -- ARGS...)`;
}

const I32 = { min: -(2n ** 31n), max: 2n ** 32n - 1n };
const I64 = { min: -(2n ** 63n), max: 2n ** 64n - 1n };

/**
 * The arguments of `--invoke NAME` as the export's parameter types need them: i32 and
 * i64 take whole numbers (signed or unsigned range; i64 as a BigInt), f32 and f64 any
 * number. A wrong count or value is a usage error naming --invoke.
 *
 * invokeArgs("add", { params: ["i32", "i64"] }, ["2", "3"]) is [2, 3n].
 */
function invokeArgs(
  fn: string,
  type: { readonly params: readonly string[] },
  args: readonly string[],
): Array<number | bigint> {
  const what = `--invoke ${shown(fn).slice(1, -1)}`;
  const sig = type.params.length ? ` (${type.params.join(", ")})` : "";
  if (args.length !== type.params.length)
    throw new CliError(
      `${what}: the function takes ${type.params.length} argument${type.params.length === 1 ? "" : "s"}${sig}, got ${args.length}; give them after the module (MODULE.wasm -- ARGS...)`,
    );
  return type.params.map((t, i) => {
    const a = args[i]!;
    const at = `${what}: argument ${i + 1}, ${shown(a)},`;
    if (t === "i32" || t === "i64") {
      const r = t === "i32" ? I32 : I64;
      if (!/^[+-]?\d+$/.test(a.trim()))
        throw new CliError(`${at} is not an ${t}: expected a whole number such as 42 or -7`);
      const n = BigInt(a.trim());
      if (n < r.min || n > r.max)
        throw new CliError(`${at} is out of the ${t} range (${r.min} to ${r.max})`);
      // Above the signed range: the same bits, as the engine takes them.
      if (t === "i64") return BigInt.asIntN(64, n);
      return Number(BigInt.asIntN(32, n));
    }
    if (t === "f32" || t === "f64") {
      const s = a.trim().toLowerCase();
      if (s === "nan") return Number.NaN;
      if (/^[+-]?inf(inity)?$/.test(s))
        return s.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      const x = s === "" ? Number.NaN : Number(s);
      if (Number.isNaN(x))
        throw new CliError(`${at} is not an ${t}: expected a number such as 1.5, -2e3, inf or nan`);
      return x;
    }
    throw new CliError(
      `${what}: parameter ${i + 1} is a ${t}, which forge wasm run cannot pass; call the function from @forge/wasm-host instead`,
    );
  });
}

/** A call's result as printed: one value per line part, BigInts in decimal. */
function formatResult(r: unknown): string {
  if (r === undefined) return "";
  const one = (x: unknown) => (typeof x === "bigint" ? x.toString() : String(x));
  return `${Array.isArray(r) ? r.map(one).join(" ") : one(r)}\n`;
}

/** Loads `--policy FILE` for `--identity ID` (both or neither), recording to `audit`. */
async function loadPolicy(
  file: string | undefined,
  identity: string | undefined,
  audit: wasm.AuditLog | undefined,
): Promise<wasm.Policy | undefined> {
  if (file === undefined && identity === undefined) return undefined;
  if (file === undefined)
    throw new CliError(
      "--identity needs --policy FILE: the policy document the identity is defined in",
    );
  if (identity === undefined)
    throw new CliError(
      `--policy needs --identity ID: which identity of ${shown(file)} the module runs as`,
    );
  let policy: wasm.Policy;
  try {
    policy = await wasm.Policy.fromFile(file, { audit });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.name === "PolicyError") throw new CliError(`--policy: ${err.message}`);
    throw new CliError(`--policy: cannot read ${shown(file)}: ${err.message}`);
  }
  if (!policy.identity(identity)) {
    const ids = (policy.toDocument().identities ?? []).map((i) => shown(i.id));
    const have =
      ids.length === 0
        ? "it defines none"
        : `it defines ${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ` and ${ids.length - 10} more` : ""}`;
    throw new CliError(
      `--identity: ${shown(identity)} is not an identity of ${shown(file)}; ${have}`,
    );
  }
  return policy;
}

/** Opens `--audit FILE`: lines are written as they happen, none kept in memory. */
function openAudit(file: string | undefined): wasm.AuditLog | undefined {
  if (file === undefined) return undefined;
  try {
    return new wasm.AuditLog({ destination: path.resolve(file), keep: 0 });
  } catch (e) {
    throw new CliError(`--audit: ${(e as Error).message}`);
  }
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
    if (i <= 0) throw new CliError(`--env: expected K=V, got ${shown(kv)}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const preopens = many(v.dir).map(parseDir);
  const memoryLimit =
    v.memory !== undefined ? parseSize(v.memory as string, "--memory") : undefined;
  const timeoutMs =
    v.timeout !== undefined ? parseDuration(v.timeout as string, "--timeout") : undefined;
  const fuel =
    v.fuel !== undefined
      ? parseInteger(v.fuel as string, "--fuel", 1, Number.MAX_SAFE_INTEGER)
      : undefined;
  const invoke = v.invoke as string | undefined;
  if (invoke !== undefined && invoke === "")
    throw new CliError("--invoke: expected the name of an exported function, got an empty name");
  const audit = openAudit(v.audit as string | undefined);
  try {
    const policy = await loadPolicy(
      v.policy as string | undefined,
      v.identity as string | undefined,
      audit,
    );
    const name = path.basename(file).replace(/\.wasm$/, "");
    const subject = policy ? (v.identity as string) : undefined;
    const host = new wasm.WasmHost({ memoryLimit, timeoutMs, fuel, policy, audit });
    try {
      return await runModule(host, { file, name, subject, args, env, preopens, invoke });
    } finally {
      await host.terminate();
      if (policy && subject !== undefined) {
        const q = policy.quarantined(subject);
        if (q)
          process.stderr.write(`forge: ${name}: the policy quarantined ${subject}: ${q.reason}\n`);
      }
    }
  } finally {
    audit?.close();
  }
}

async function runModule(
  host: wasm.WasmHost,
  o: {
    file: string;
    name: string;
    subject?: string;
    args: string[];
    env: Record<string, string>;
    preopens: Array<{ host: string; guest: string; readOnly: boolean }>;
    invoke?: string;
  },
): Promise<number> {
  const { file, name, invoke } = o;
  let info: Awaited<ReturnType<typeof host.loadModule>>;
  try {
    info = await host.loadModule(name, file, {
      subject: o.subject,
      wasi: {
        args: invoke === undefined ? [name, ...o.args] : [name],
        env: o.env,
        preopens: o.preopens,
        // Timestamps to the nanosecond (utimensat), as wasmtime sets them.
        timeOps: wasm.nativeTimeOps(),
      },
    });
  } catch (e) {
    if (e instanceof wasm.WasmModuleError || e instanceof TypeError)
      throw new CliError(e.message, 125);
    throw e;
  }
  let callArgs: Array<number | bigint> = [];
  if (invoke !== undefined) {
    const fn = info.exports.find((e) => e.name === invoke && e.kind === "function");
    if (!fn) {
      const fns = info.exports
        .filter((e) => e.kind === "function" && e.name !== "_initialize")
        .map((e) => shown(e.name));
      const list =
        fns.length === 0
          ? "it exports no functions"
          : `it exports ${fns.slice(0, 10).join(", ")}${fns.length > 10 ? ` and ${fns.length - 10} more` : ""}`;
      throw new CliError(`--invoke: ${file} has no exported function ${shown(invoke)}; ${list}`);
    }
    callArgs = invokeArgs(invoke, fn.type ?? { params: [] }, o.args);
  } else if (!info.exports.some((e) => e.name === "_start" && e.kind === "function"))
    throw new CliError(reactorMessage(file, info.exports), 125);
  try {
    if (invoke === undefined) return (await host.run(name)).exitCode;
    const r = await host.call(name, invoke, callArgs);
    process.stdout.write(formatResult(r));
    return 0;
  } catch (e) {
    if (e instanceof wasm.WasiExit) return e.code;
    if (e instanceof wasm.WasmLimitError) {
      process.stderr.write(`forge: ${name}: ${e.message}\n`);
      return e.limit === "time" || e.limit === "fuel" ? 124 : 134;
    }
    if (e instanceof wasm.WasmModuleError) throw new CliError(e.message, 125);
    throw e;
  }
}

/**
 * A name from a module as one safe line: names are arbitrary UTF-8, so one with
 * control characters (escape sequences that would drive the terminal), quotes,
 * backslashes or invisible code points is shown JSON-quoted, with escapes.
 */
function safeName(name: string): string {
  return /^[\p{L}\p{N}\p{P}\p{S}]+$/u.test(name) && !/["\\]/.test(name)
    ? name
    : JSON.stringify(name).replace(
        /[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      );
}

async function inspectCmd(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
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
  const out: string[] = [
    `module: ${safeName(file)}`,
    `sha256: ${hash}`,
    `size: ${bytes.length} bytes`,
  ];
  if (shape.memories.length === 0) out.push("memory: none");
  shape.memories.forEach((m, i) => {
    out.push(
      `memory ${i}${m.imported ? " (imported)" : ""}: ${fmtLimits(m)}; Forge caps it at the --memory limit (default 256 MiB)`,
    );
  });
  out.push(`imports (${shape.imports.length}):`);
  for (const i of shape.imports)
    out.push(
      `  ${safeName(i.module)}.${safeName(i.name)}: ${i.kind}${fmtType(i.type)}${i.limits ? ` ${fmtLimits(i.limits)}` : ""}`,
    );
  out.push(`exports (${shape.exports.length}):`);
  for (const e of shape.exports) out.push(`  ${safeName(e.name)}: ${e.kind}${fmtType(e.type)}`);
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
