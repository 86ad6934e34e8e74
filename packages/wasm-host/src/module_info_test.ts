import { describe, expect, it } from "vitest";
import { moduleOf, sample, section } from "./_test_modules.ts";
import { WasmModuleError } from "./errors.ts";
import { BUDGET_EXPORT, instrumentModule } from "./instrument.ts";
import { Meter } from "./meter.ts";
import { inspectModule, limitMemory, WASM_PAGE } from "./module_info.ts";

/** The WasmModuleError `f` throws (fails the test if it throws nothing or anything else). */
function moduleError(f: () => unknown): WasmModuleError {
  try {
    f();
  } catch (e) {
    if (e instanceof WasmModuleError) {
      expect(e.message).not.toMatch(/[\n\r]/);
      return e;
    }
    throw new Error(`expected a WasmModuleError, got ${(e as Error)?.stack ?? String(e)}`);
  }
  throw new Error("expected a WasmModuleError, got a result");
}

/** `sample()` with the bytes `from` (found once) replaced by `to`. */
function patched(from: number[], to: number[]): Uint8Array {
  const b = Array.from(sample());
  const at = b.findIndex((_, i) => from.every((x, j) => b[i + j] === x));
  expect(at).toBeGreaterThan(0);
  b.splice(at, from.length, ...to);
  return Uint8Array.from(b);
}

const imports = (extra: Record<string, Record<string, unknown>> = {}) => ({
  wasi_snapshot_preview1: { sched_yield: () => 0 },
  ...extra,
});

describe("inspectModule", () => {
  it("lists imports, exports with signatures and memories", () => {
    const info = inspectModule(sample());
    expect(info.imports).toEqual([
      {
        module: "wasi_snapshot_preview1",
        name: "sched_yield",
        kind: "function",
        type: { params: [], results: ["i32"] },
      },
    ]);
    expect(info.exports.map((e) => `${e.name}:${e.kind}`)).toEqual([
      "grow:function",
      "count:function",
      "twice:function",
      "memory:memory",
    ]);
    expect(info.exports[0]!.type).toEqual({ params: ["i32"], results: ["i32"] });
    expect(info.memories).toEqual([
      { min: 1, max: undefined, shared: false, memory64: false, imported: false },
    ]);
  });
  it("rejects bytes that are not a module", () => {
    expect(() => inspectModule(new Uint8Array([1, 2, 3]))).toThrow(WasmModuleError);
  });

  // Regression cases from the fuzz targets (issue 13); the old output is in each title.
  it("reports invalid UTF-8 in a name with the section and byte (was: TypeError from TextDecoder)", () => {
    const types = section(1, [1, 0x60, 0, 0]);
    const cases: Array<[Uint8Array, RegExp, string]> = [
      [
        moduleOf(types, section(2, [1, 1, 0xff, 1, 0x61, 0, 0])),
        /the module name of import 0/,
        "import",
      ],
      [
        moduleOf(types, section(2, [1, 1, 0x61, 2, 0xc3, 0x28, 0, 0])),
        /the name of import 0/,
        "import",
      ],
      [moduleOf(section(7, [1, 1, 0x80, 0, 0])), /the name of export 0/, "export"],
      // found by the fuzz target: a custom section whose name is a lone continuation byte
      [Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 0, 2, 1, 128]), /the section name/, "custom"],
    ];
    for (const [bytes, what, sectionName] of cases) {
      const e = moduleError(() => inspectModule(bytes));
      expect(e.message).toMatch(/^not a valid WebAssembly module: /);
      expect(e.message).toMatch(/invalid UTF-8/);
      expect(e.message).toMatch(what);
      expect(e.section).toBe(sectionName);
      // the offset is the name's length byte, just before its first byte
      const first = bytes.findIndex((b, i) => i >= 8 && b >= 0x80 && bytes[i - 1]! < 0x80);
      expect(e.offset).toBe(first - 1);
      expect(e.message).toContain(`at byte ${e.offset}`);
    }
  });

  it("bounds every count by the bytes left and the 32-bit range (was: RangeError: Invalid array length)", () => {
    // 2^35 - 1 parameters: a 5-byte LEB128 whose last byte has bits above 2^32
    const huge = moduleOf(section(1, [1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x7f, 0]));
    const e1 = moduleError(() => inspectModule(huge));
    expect(e1.section).toBe("type");
    expect(e1.offset).toBe(huge.indexOf(0xff));
    expect(e1.message).toMatch(
      /the count of the parameters of type 0 at byte \d+: above 2\^32 - 1/,
    );
    // 2^32 - 1 imports, a valid u32, with nothing after it
    const many = moduleOf(section(2, [0xff, 0xff, 0xff, 0xff, 0x0f]));
    const e2 = moduleError(() => inspectModule(many));
    expect(e2.section).toBe("import");
    expect(e2.message).toMatch(
      /the count of imports at byte \d+ is 4294967295, but only 0 bytes follow/,
    );
    // a section size in 6 bytes
    const long = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0]);
    expect(moduleError(() => inspectModule(long)).message).toMatch(/longer than 5 bytes/);
  });

  it("rejects what WebAssembly.validate rejects, with the engine's reason (was: accepted)", () => {
    // found by the fuzz target: export "twice" (function 3) turned into a table export
    const bytes = patched(
      [0x74, 0x77, 0x69, 0x63, 0x65, 0, 3],
      [0x74, 0x77, 0x69, 0x63, 0x65, 1, 3],
    );
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(false);
    const e = moduleError(() => inspectModule(bytes));
    expect(e.section).toBe("export");
    expect(e.offset).toBeGreaterThan(0);
    expect(e.message).toContain(`at byte ${e.offset}`);
    // trailing bytes in the memory section
    const trailing = moduleOf(section(5, [1, 0, 1, 0xaa]));
    const t = moduleError(() => inspectModule(trailing));
    expect(t.section).toBe("memory");
    expect(t.message).toMatch(/1 byte is left over at the end of the section/);
  });
});

describe("limitMemory", () => {
  it("adds a maximum where none is declared, and memory.grow fails past it inside the module", async () => {
    const capped = limitMemory(sample(), 4 * 65536);
    expect(inspectModule(capped).memories[0]).toMatchObject({ min: 1, max: 4 });
    const { instance } = await WebAssembly.instantiate(
      capped as Uint8Array<ArrayBuffer>,
      imports(),
    );
    const grow = instance.exports.grow as (n: number) => number;
    expect(grow(2)).toBe(1);
    expect(grow(2)).toBe(-1);
    expect(grow(1)).toBe(3);
  });
  it("lowers a larger maximum, keeps a smaller one, rejects a too large minimum", () => {
    expect(inspectModule(limitMemory(sample({ max: 100 }), 8 * 65536)).memories[0]!.max).toBe(8);
    const small = sample({ max: 2 });
    expect(limitMemory(small, 8 * 65536)).toBe(small);
    expect(() => limitMemory(sample({ min: 10 }), 8 * 65536)).toThrow(
      /initial memory, above the limit/,
    );
    expect(() => limitMemory(sample(), 100)).toThrow(RangeError);
  });

  // Regression cases from the fuzz targets (issue 13): the rewrite never turns an invalid
  // module into a valid one, and never makes a valid one invalid.
  it("rejects invalid modules before rewriting them (was: returned bytes that validate)", () => {
    const invalid = [
      // a memory section with a trailing byte: the rewrite dropped it
      moduleOf(section(5, [1, 0, 1, 0xaa])),
      // a maximum of 2^32 - 1 pages, above the 65536 a 32-bit memory can have: lowered
      moduleOf(section(5, [1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f])),
    ];
    for (const bytes of invalid) {
      expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(false);
      const e = moduleError(() => limitMemory(bytes, 16 * WASM_PAGE));
      expect(e.message).toMatch(/^not a valid WebAssembly module: memory section: /);
      expect(e.section).toBe("memory");
    }
  });

  it("caps at 65536 pages when the limit is above 4 GiB (was: a maximum of 131072 pages, invalid)", () => {
    const capped = limitMemory(sample(), 8 * 2 ** 30);
    expect(WebAssembly.validate(capped as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(inspectModule(capped).memories[0]!.max).toBe(2 ** 32 / WASM_PAGE);
  });
});

describe("instrumentModule", () => {
  it("keeps behaviour, renumbers calls and tables, and meters deterministically", async () => {
    const bytes = instrumentModule(sample());
    const info = inspectModule(bytes);
    expect(info.exports.map((e) => e.name)).toContain(BUDGET_EXPORT);
    const run = async (fuel: number | undefined) => {
      const meter = new Meter();
      const { instance } = await WebAssembly.instantiate(
        bytes as Uint8Array<ArrayBuffer>,
        imports(meter.imports()),
      );
      meter.attach(instance);
      meter.begin(fuel, undefined);
      try {
        const v = (instance.exports.twice as (n: number) => number)(1000);
        return { v, used: meter.end() };
      } catch (e) {
        meter.end();
        throw e;
      }
    };
    const a = await run(undefined);
    const b = await run(undefined);
    expect(a.v).toBe(2000);
    expect(a.used).toBe(b.used);
    expect(a.used).toBeGreaterThan(2000);
    await expect(run(a.used - 1)).rejects.toMatchObject({ name: "WasmLimitError", limit: "fuel" });
    await expect(run(a.used)).resolves.toMatchObject({ v: 2000 });
  });
  it("stops a loop at a deadline in-thread", async () => {
    const bytes = instrumentModule(sample());
    const meter = new Meter();
    const { instance } = await WebAssembly.instantiate(
      bytes as Uint8Array<ArrayBuffer>,
      imports(meter.imports()),
    );
    meter.attach(instance);
    meter.begin(undefined, performance.now() - 1, 0);
    expect(() => (instance.exports.count as (n: number) => number)(2 ** 31 - 1)).toThrow(/timeout/);
    meter.end();
  });
});
