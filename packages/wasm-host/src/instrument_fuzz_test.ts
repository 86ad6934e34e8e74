// Fuzz target of instrumentModule (fast-check; seed and time budget from
// test/fuzz_setup.ts): the metering rewrite never turns an invalid module valid, and
// what it accepts still validates. Counterexamples found are fixed cases in
// instrument_test.ts.
import fs from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { kitchenSink, sample, threadsAndExceptions } from "./_test_modules.ts";
import { compileC } from "./_test_wasm.ts";
import { engineAccepts, expectUserError, wasmInputs } from "./_wasm_mutate.ts";
import { WasmModuleError } from "./errors.ts";
import { BUDGET_EXPORT, instrumentModule } from "./instrument.ts";
import { inspectModule, limitMemory } from "./module_info.ts";

const seeds: Uint8Array[] = [sample(), kitchenSink(), threadsAndExceptions()];
beforeAll(() => {
  seeds.push(fs.readFileSync(compileC("reactor", { reactor: true })));
  seeds.push(fs.readFileSync(compileC("limits")));
});

describe("instrumentModule (fuzz)", () => {
  it("rejects every invalid module, and what it accepts (after limitMemory too) still validates", () => {
    fc.assert(
      fc.property(wasmInputs(seeds), fc.boolean(), (bytes, limited) => {
        const valid = engineAccepts(bytes);
        let out: Uint8Array;
        const t0 = performance.now();
        try {
          out = instrumentModule(limited ? limitMemory(bytes, 1 << 30) : bytes);
        } catch (e) {
          expectUserError(e, [WasmModuleError]);
          // A valid module is refused only for the documented reasons.
          if (valid)
            expect((e as Error).message).toMatch(
              /above the limit|64-bit memory|not supported by the metering pass|already exports/,
            );
          return;
        } finally {
          expect(performance.now() - t0).toBeLessThan(5000);
        }
        expect(valid).toBe(true);
        expect(engineAccepts(out)).toBe(true);
        expect(inspectModule(out).exports.map((e) => e.name)).toContain(BUDGET_EXPORT);
      }),
    );
  });
});
