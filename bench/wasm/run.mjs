// bench/wasm: Forge's WASI host (@forge/wasm-host, every call checked by the policy and
// audited) beside node:wasi, in the same process and run. Prints medians and ratios;
// it never asserts on time.
//
//   npx tsc -b packages/wasm-host && node bench/wasm/run.mjs
//
// Rows: instantiation, fd_write throughput, the compute kernel unmetered and metered
// (what an in-thread timeout costs: the same loop with metering, beside node:wasi and
// beside Forge unmetered), and the overhead of one WasmHost.call in-thread, metered
// and with worker isolation (beside a direct call of the export of a node:wasi
// instance; a worker call has no node:wasi peer, so it stands beside the in-thread one).
//
// The three C programs beside this file are compiled with clang (wasm32-wasi, Debian's
// wasi-libc in /usr) into a temporary directory that is removed at the end.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { WasiHost, WasmHost } from "../../packages/wasm-host/dist/mod.js";
import { median } from "../_stats.mjs";

process.removeAllListeners("warning"); // node:wasi's ExperimentalWarning
const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-bench-wasm-"));
/** A number from the environment (REPS, WRITES, GRID tune the run). */
function envNumber(name, fallback) {
  const v = process.env[name];
  return v === undefined ? fallback : Number(v);
}
const REPS = envNumber("REPS", 15);
const WRITES = envNumber("WRITES", 100_000);
const GRID = envNumber("GRID", 300);
const CALLS = envNumber("CALLS", 10_000);
const WORKER_CALLS = envNumber("WORKER_CALLS", 1_000);

function build(name, extra = []) {
  const out = path.join(tmp, `${name}.wasm`);
  execFileSync("clang", [
    "--target=wasm32-wasi",
    "--sysroot=/usr",
    "-O2",
    ...extra,
    "-o",
    out,
    path.join(here, `${name}.c`),
  ]);
  return out;
}

async function measure(fn) {
  await fn(); // warm-up
  const times = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Measures two contenders alternately (A B A B ...), so both see the same heap and JIT state. */
async function measurePair(fa, fb) {
  await fa();
  await fb();
  const ta = [];
  const tb = [];
  for (let i = 0; i < REPS; i++) {
    for (const [f, out] of i % 2
      ? [
          [fb, tb],
          [fa, ta],
        ]
      : [
          [fa, ta],
          [fb, tb],
        ]) {
      const t = performance.now();
      await f();
      out.push(performance.now() - t);
    }
  }
  return [median(ta), median(tb)];
}

try {
  const write = build("bench_write");
  const kernel = build("bench_kernel", ["-mexec-model=reactor"]);
  const empty = build("bench_empty");
  const devnull = fs.openSync("/dev/null", "w");
  const compiled = {
    write: await WebAssembly.compile(fs.readFileSync(write)),
    kernel: await WebAssembly.compile(fs.readFileSync(kernel)),
    empty: await WebAssembly.compile(fs.readFileSync(empty)),
  };

  const nodeRun = async (module, args, stdout = devnull) => {
    const wasi = new WASI({ version: "preview1", args, stdout, returnOnExit: true });
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    return wasi.start(instance);
  };

  const host = new WasmHost(); // default policy, audit on (coalescing), 256 MiB limit
  await host.loadModule("write", write, {
    wasi: { args: ["write", String(WRITES)], stdio: [0, devnull, 2] },
  });
  await host.loadModule("kernel", kernel);
  await host.loadModule("empty", empty, { wasi: { args: ["empty"], stdio: [0, devnull, 2] } });
  const everyCall = new WasmHost();
  await everyCall.loadModule("write", write, {
    wasi: { args: ["write", String(WRITES)], stdio: [0, devnull, 2], auditMode: "every-call" },
  });
  await everyCall.loadModule("unbuffered", write, {
    wasi: { args: ["write", String(WRITES)], stdio: [0, devnull, 2], coalesceStdout: false },
  });

  // The same kernel with an in-thread timeout (so metered), and in a worker.
  const metered = new WasmHost({ timeoutMs: 600_000 });
  await metered.loadModule("kernel", kernel);
  if (!metered.module("kernel").metered) throw new Error("the timed host did not meter");
  const worker = new WasmHost({ isolation: "worker" });
  await worker.loadModule("kernel", kernel);

  const nodeKernel = await WebAssembly.instantiate(
    compiled.kernel,
    new WASI({ version: "preview1" }).getImportObject(),
  );
  const expected = nodeKernel.exports.kernel(GRID);
  for (const h of [host, metered, worker])
    if ((await h.call("kernel", "kernel", [GRID])) !== expected)
      throw new Error("kernel results differ");

  const rows = [];
  const row = (name, unit, forge, node, target, peer = "node:wasi") =>
    rows.push({ name, unit, forge, node, peer, ratio: forge / node, target });
  // Instantiation first: it is the most sensitive to the garbage the other runs leave.
  {
    // Instantiate: a fresh WASI context plus an instance of the same compiled module,
    // through the same WebAssembly.instantiate call on both sides.
    const N = 2000;
    const [f, n] = await measurePair(
      async () => {
        for (let i = 0; i < N; i++) {
          const wasi = new WasiHost({
            subject: "wasm:empty",
            policy: host.policy,
            args: ["empty"],
            stdio: [0, devnull, 2],
          });
          await WebAssembly.instantiate(compiled.empty, wasi.imports());
          wasi.close();
        }
      },
      async () => {
        for (let i = 0; i < N; i++) {
          const wasi = new WASI({
            version: "preview1",
            args: ["empty"],
            stdout: devnull,
            returnOnExit: true,
          });
          await WebAssembly.instantiate(compiled.empty, wasi.getImportObject());
        }
      },
    );
    row(
      "instantiate (WASI context + instance)",
      "µs/instance",
      (f / N) * 1000,
      (n / N) * 1000,
      "< 1.0",
    );
  }
  {
    const [f, n] = await measurePair(
      () => host.run("write"),
      () => nodeRun(compiled.write, ["write", String(WRITES)]),
    );
    const u = await measure(() => everyCall.run("unbuffered"));
    const e = await measure(() => everyCall.run("write"));
    row(`fd_write x${WRITES} (64 B), default`, "ms", f, n, "≤ 1.5");
    row(`fd_write x${WRITES}, coalesceStdout off`, "ms", u, n, "(info)");
    row(`fd_write x${WRITES}, audit every call`, "ms", e, n, "(info)");
  }
  {
    const [f, n] = await measurePair(
      () => host.call("kernel", "kernel", [GRID]),
      () => nodeKernel.exports.kernel(GRID),
    );
    row(`compute kernel (mandelbrot ${GRID}²)`, "ms", f, n, "≈ 1.0");
  }
  {
    // What an in-thread timeout costs: the same loop, metered, beside node:wasi and
    // beside Forge unmetered (measured in the same alternation).
    const [m, n] = await measurePair(
      () => metered.call("kernel", "kernel", [GRID]),
      () => nodeKernel.exports.kernel(GRID),
    );
    const [m2, u] = await measurePair(
      () => metered.call("kernel", "kernel", [GRID]),
      () => host.call("kernel", "kernel", [GRID]),
    );
    row(`compute kernel, metered (in-thread timeout)`, "ms", m, n, "(info)");
    row(`compute kernel, metered vs unmetered`, "ms", m2, u, "(info)", "forge unmetered");
  }
  {
    // Call overhead: one WasmHost.call of an export that returns its argument.
    const nop = nodeKernel.exports.nop;
    const [f, n] = await measurePair(
      async () => {
        for (let i = 0; i < CALLS; i++) await host.call("kernel", "nop", [i]);
      },
      async () => {
        for (let i = 0; i < CALLS; i++) await nop(i);
      },
    );
    const [fm, n2] = await measurePair(
      async () => {
        for (let i = 0; i < CALLS; i++) await metered.call("kernel", "nop", [i]);
      },
      async () => {
        for (let i = 0; i < CALLS; i++) await nop(i);
      },
    );
    const [w, t] = await measurePair(
      async () => {
        for (let i = 0; i < WORKER_CALLS; i++) await worker.call("kernel", "nop", [i]);
      },
      async () => {
        for (let i = 0; i < WORKER_CALLS; i++) await host.call("kernel", "nop", [i]);
      },
    );
    const us = (ms, n) => (ms / n) * 1000;
    row("call overhead, in-thread", "µs/call", us(f, CALLS), us(n, CALLS), "(info)");
    row("call overhead, in-thread metered", "µs/call", us(fm, CALLS), us(n2, CALLS), "(info)");
    row(
      "call overhead, worker isolation",
      "µs/call",
      us(w, WORKER_CALLS),
      us(t, WORKER_CALLS),
      "(info)",
      "forge in-thread",
    );
  }
  {
    // End to end: instantiate, run _start, exit; Forge also audits (proc_exit, wasm.exit).
    const N = 100;
    const [f, n] = await measurePair(
      async () => {
        for (let i = 0; i < N; i++) await host.run("empty");
      },
      async () => {
        for (let i = 0; i < N; i++) await nodeRun(compiled.empty, ["empty"]);
      },
    );
    row(
      "run empty command end to end, audited",
      "µs/run",
      (f / N) * 1000,
      (n / N) * 1000,
      "(info)",
    );
  }
  await host.terminate();
  await everyCall.terminate();
  await metered.terminate();
  await worker.terminate();
  fs.closeSync(devnull);

  console.log(
    `bench/wasm: Forge (@forge/wasm-host) vs node:wasi, median of ${REPS} runs, Node ${process.version}\n`,
  );
  const w = Math.max(...rows.map((r) => r.name.length));
  const pw = Math.max(...rows.map((r) => r.peer.length));
  console.log(
    `${"benchmark".padEnd(w)}  ${"forge".padStart(10)}  ${"peer".padEnd(pw)}  ${"peer value".padStart(10)}  ${"ratio".padStart(6)}  target`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${r.forge.toFixed(2).padStart(10)}  ${r.peer.padEnd(pw)}  ${r.node.toFixed(2).padStart(10)}  ${r.ratio.toFixed(2).padStart(6)}  ${r.target}  (${r.unit})`,
    );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
