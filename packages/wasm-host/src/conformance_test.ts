// The WASI preview1 conformance corpus: programs from three toolchains (C with
// wasi-libc, Rust with std, AssemblyScript with @assemblyscript/wasi-shim), built by
// this test (cached by source hash, never committed), run through `forge wasm run`
// exactly as a user runs them, each with fixture directories made for it and removed
// after it. Every case's stdout, stderr and exit code are checked against what the
// WASI preview1 spec (and wasmtime, where the spec defers to POSIX) requires; every
// case is also run on node:wasi in the same run, and where node:wasi answers otherwise
// the case says so and which of the two the spec supports (see conformance_cases.ts).
// wasmtime is used too when a `wasmtime` binary is installed.
//
// FORGE_CONFORMANCE_PRINT=1 prints what each runtime produced instead of checking it;
// FORGE_CONFORMANCE_PRINT=/path/file.jsonl writes it there, one JSON object a line.
import fs from "node:fs";
import os from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram, toolchainMissing } from "./conformance_build.ts";
import { CASES, type ConformanceCase } from "./conformance_cases.ts";
import {
  cliStale,
  type RunResult,
  type Runtime,
  runCase,
  wasmtimeBinary,
} from "./conformance_run.ts";

const PRINT = process.env.FORGE_CONFORMANCE_PRINT;
const wasmtime = wasmtimeBinary();
if (!wasmtime) {
  console.log(
    "conformance: wasmtime not available (no wasmtime binary; PyPI is unreachable for the wheel): skipped",
  );
}

function specOf(c: ConformanceCase, wasm: string, who: Runtime) {
  return {
    timeoutMs: who === "node" && c.node?.hangs ? 5_000 : 30_000,
    wasm,
    name: c.program.replace(/\.\w+$/, ""),
    args: c.args,
    env: c.env,
    dirs: c.dirs,
    outside: c.outside,
    stdin: c.stdin,
    stdout: c.stdout,
    readAfter: Object.keys(c.hostAfter ?? {}),
  };
}

function check(c: ConformanceCase, r: RunResult, who: Runtime): void {
  const want =
    who === "node" && c.node?.hangs
      ? { stdout: r.stdout, stderr: r.stderr, exit: 137 }
      : who === "node" && c.node
        ? { ...c.expect, ...c.node }
        : who === "forge" && c.forge
          ? { ...c.expect, ...c.forge }
          : c.expect;
  if (want.stdoutMatch)
    expect.soft(r.stdout, `${c.id} on ${who}: stdout`).toMatch(want.stdoutMatch);
  else expect.soft(r.stdout, `${c.id} on ${who}: stdout`).toBe(want.stdout);
  if (want.stderrMatch)
    expect.soft(r.stderr, `${c.id} on ${who}: stderr`).toMatch(want.stderrMatch);
  else expect.soft(r.stderr, `${c.id} on ${who}: stderr`).toBe(want.stderr ?? "");
  expect.soft(r.exit, `${c.id} on ${who}: exit code`).toBe(want.exit ?? 0);
  if (who !== "node" || !c.node?.hostAfter)
    for (const [rel, v] of Object.entries(c.hostAfter ?? {}))
      expect.soft(r.files[rel], `${c.id} on ${who}: host file ${rel}`).toBe(v);
}

function print(c: ConformanceCase, who: Runtime, r: RunResult): void {
  if (PRINT !== "1") {
    fs.appendFileSync(PRINT!, `${JSON.stringify({ id: c.id, who, ...r })}\n`);
    return;
  }
  console.log(
    `----- ${c.id} [${who}] exit=${r.exit}\n${r.stdout}${r.stderr ? `--- stderr\n${r.stderr}` : ""}${
      Object.keys(r.files).length ? `--- files ${JSON.stringify(r.files)}\n` : ""
    }`,
  );
}

for (const c of CASES)
  if (c.forge)
    console.log(
      `conformance: ${c.id}: Forge knowingly differs from the spec's answer: ${c.forge.why}`,
    );

/** How many runs go at once: each is a node process that mostly waits. */
const PARALLEL = Math.max(4, os.availableParallelism() * 3);

/** Runs `f` over `items`, at most `limit` at a time. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  f: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Runs one case on every runtime available; forge's result first. */
async function runAll(c: ConformanceCase): Promise<Array<[Runtime, RunResult]>> {
  const wasm = buildProgram(c.toolchain, c.program);
  const who: Runtime[] = ["forge"];
  if (!c.node?.skip) who.push("node");
  if (wasmtime && !c.wasmtimeSkip) who.push("wasmtime");
  return Promise.all(
    who.map(async (w) => [w, await runCase(w, specOf(c, wasm, w))] as [Runtime, RunResult]),
  );
}

describe("WASI preview1 conformance corpus through `forge wasm run`", () => {
  const available = CASES.filter((c) => toolchainMissing(c.toolchain) === undefined);
  const results = new Map<string, Array<[Runtime, RunResult]> | Error>();

  // Build every program (or take it from the cache), then run every case on every
  // runtime in a pool; the tests below check the results one case each.
  beforeAll(async () => {
    const stale = cliStale();
    if (stale) throw new Error(`the corpus runs the built CLI: ${stale}`);
    for (const c of available) buildProgram(c.toolchain, c.program);
    await pool(available, PARALLEL, async (c) => {
      results.set(c.id, await runAll(c).catch((e: Error) => e));
    });
  }, 600_000);

  for (const tc of ["c", "rust", "as"] as const) {
    const missing = toolchainMissing(tc);
    const cases = CASES.filter((c) => c.toolchain === tc);
    if (missing)
      console.log(
        `conformance: ${tc} toolchain unavailable, ${cases.length} cases skipped: ${missing}`,
      );
    describe.skipIf(missing !== undefined)(`${tc} (${cases.length} cases)`, () => {
      for (const c of cases) {
        it(c.id, () => {
          const res = results.get(c.id);
          if (res instanceof Error) throw res;
          if (!res) throw new Error(`${c.id} did not run (see the beforeAll error)`);
          const forge = res[0]![1];
          for (const [who, r] of res) {
            const same =
              who !== "forge" &&
              r.stdout === forge.stdout &&
              r.stderr === forge.stderr &&
              r.exit === forge.exit;
            if (PRINT === "1")
              print(c, who, same ? { ...r, stdout: "(same as forge)\n", stderr: "" } : r);
            else if (PRINT) print(c, who, r);
            else check(c, r, who);
          }
        });
      }
    });
  }
});
