// Fuzz target of WasmHost load + run (fast-check; seed and time budget from
// test/fuzz_setup.ts): whatever the bytes, loadModule accepts only modules the engine
// accepts, and load and run end in a result or a documented error (WasmModuleError,
// WasmLimitError) within the timeout. Counterexamples found are fixed cases in
// wasm_host_test.ts.
import fs from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { command, sample } from "./_test_modules.ts";
import { cleanCompiled, compileC } from "./_test_wasm.ts";
import { engineAccepts, expectUserError, mutatedModules, wasmInputs } from "./_wasm_mutate.ts";
import { WasmLimitError, WasmModuleError } from "./errors.ts";
import { clearCompileCache, WasmHost } from "./wasm_host.ts";

const seeds: Uint8Array[] = [command(), sample()];
let devNull = -1;
beforeAll(() => {
  seeds.push(fs.readFileSync(compileC("limits")));
  seeds.push(fs.readFileSync(compileC("reactor", { reactor: true })));
  devNull = fs.openSync("/dev/null", "r+");
});
afterAll(() => {
  fs.closeSync(devNull);
  clearCompileCache();
  cleanCompiled();
});

describe("WasmHost load + run (fuzz)", () => {
  it("loads only what the engine accepts, and ends every load and run in a result or a documented error", async () => {
    const inputs = fc.oneof(
      { arbitrary: mutatedModules(seeds), weight: 4 },
      { arbitrary: wasmInputs(seeds), weight: 1 },
    );
    const limits = fc.record({
      memoryLimit: fc.constantFrom(64 * 1024, 1 << 20, 16 << 20, 8 * 2 ** 30),
      fuel: fc.option(fc.integer({ min: 0, max: 1_000_000 })),
    });
    await fc.assert(
      fc.asyncProperty(inputs, limits, async (bytes, { memoryLimit, fuel }) => {
        const timeoutMs = 200;
        const host = new WasmHost({ memoryLimit, timeoutMs, fuel: fuel ?? undefined, log() {} });
        const t0 = performance.now();
        try {
          let loaded = false;
          try {
            await host.loadModule("m", bytes, {
              wasi: { args: ["m"], stdio: [devNull, devNull, devNull] },
            });
            loaded = true;
          } catch (e) {
            expectUserError(e, [WasmModuleError]);
          }
          if (!engineAccepts(bytes)) expect(loaded).toBe(false);
          if (!loaded) return;
          try {
            await host.run("m");
          } catch (e) {
            expectUserError(e, [WasmModuleError, WasmLimitError]);
          }
        } finally {
          await host.terminate();
          // A hang is anything over 5 s (the run's own timeout is 200 ms).
          expect(performance.now() - t0).toBeLessThan(5000);
        }
      }),
    );
  });
});
