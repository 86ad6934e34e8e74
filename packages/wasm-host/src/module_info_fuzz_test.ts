// Fuzz targets of inspectModule and limitMemory (fast-check; seed and time budget from
// test/fuzz_setup.ts). Counterexamples found are fixed cases in module_info_test.ts.
import fs from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { kitchenSink, sample, threadsAndExceptions } from "./_test_modules.ts";
import { compileC } from "./_test_wasm.ts";
import { engineAccepts, expectUserError, wasmInputs } from "./_wasm_mutate.ts";
import { WasmModuleError } from "./errors.ts";
import { inspectModule, limitMemory, WASM_PAGE } from "./module_info.ts";

const seeds: Uint8Array[] = [sample(), sample({ max: 3 }), kitchenSink(), threadsAndExceptions()];
beforeAll(() => {
  seeds.push(fs.readFileSync(compileC("reactor", { reactor: true })));
  seeds.push(fs.readFileSync(compileC("limits")));
});

/** A hang is anything over 5 s (a synchronous call cannot be interrupted: measured). */
function timed<T>(f: () => T): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    expect(performance.now() - t0).toBeLessThan(5000);
  }
}

describe("inspectModule (fuzz)", () => {
  it("returns the shape or throws a WasmModuleError with a one-line message, for any bytes", () => {
    fc.assert(
      fc.property(wasmInputs(seeds), (bytes) => {
        try {
          timed(() => inspectModule(bytes));
        } catch (e) {
          expectUserError(e, [WasmModuleError]);
        }
      }),
    );
  });

  it("accepts exactly what WebAssembly.validate accepts", () => {
    fc.assert(
      fc.property(wasmInputs(seeds), (bytes) => {
        const valid = engineAccepts(bytes);
        let accepted = false;
        try {
          inspectModule(bytes);
          accepted = true;
        } catch (e) {
          expectUserError(e, [WasmModuleError]);
        }
        expect(accepted).toBe(valid);
      }),
    );
  });
});

describe("limitMemory (fuzz)", () => {
  it("rejects every invalid module, and what it accepts still validates with every memory capped", () => {
    const limits = fc.oneof(
      fc.integer({ min: WASM_PAGE, max: 2 ** 33 }),
      fc.constantFrom(WASM_PAGE, 2 * WASM_PAGE, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + WASM_PAGE, 2 ** 40),
    );
    fc.assert(
      fc.property(wasmInputs(seeds), limits, (bytes, limit) => {
        const valid = engineAccepts(bytes);
        let out: Uint8Array;
        try {
          out = timed(() => limitMemory(bytes, limit));
        } catch (e) {
          expectUserError(e, [WasmModuleError]);
          // A valid module is refused only for the documented reasons.
          if (valid) expect((e as Error).message).toMatch(/above the limit|64-bit memory/);
          return;
        }
        expect(valid).toBe(true);
        expect(engineAccepts(out)).toBe(true);
        const pages = Math.floor(limit / WASM_PAGE);
        for (const m of inspectModule(out).memories) {
          expect(m.max).toBeDefined();
          expect(m.max!).toBeLessThanOrEqual(pages);
        }
      }),
    );
  });
});
