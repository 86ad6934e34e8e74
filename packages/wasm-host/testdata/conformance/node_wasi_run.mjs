// Runs a WASI preview1 command module with Node's built-in node:wasi, for the
// conformance corpus's comparison: argv[2] is JSON {wasm, args, env, preopens}.
// stdio are this process's own; the exit code is the module's.
import fs from "node:fs";
import { WASI } from "node:wasi";

const { wasm, args, env, preopens } = JSON.parse(process.argv[2]);
const wasi = new WASI({ version: "preview1", args, env, preopens, returnOnExit: true });
const module = await WebAssembly.compile(fs.readFileSync(wasm));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
try {
  process.exitCode = wasi.start(instance);
} catch (e) {
  // A trap (unreachable, out of bounds): report it the way forge does (exit 134).
  process.stderr.write(`node:wasi: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 134;
}
