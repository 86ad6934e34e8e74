import { describe, expect, it } from "vitest";
import { Writer } from "./_binary.ts";
import { WasmModuleError } from "./errors.ts";
import { BUDGET_EXPORT, instrumentModule } from "./instrument.ts";
import { Meter } from "./meter.ts";
import { inspectModule, limitMemory } from "./module_info.ts";

function section(id: number, body: Writer): number[] {
  const b = body.finish();
  return [...new Writer().byte(id).u32(b.length).finish(), ...b];
}

/**
 * A small module: imports sched_yield, declares memory (min 1, no max), exports
 * grow(n) -> memory.grow, count(n) -> loops n times, twice(n) -> count(n) + count(n)
 * through a call, and a table with an element pointing at count.
 */
function sample(opts: { max?: number; min?: number } = {}): Uint8Array {
  const body = (locals: number[][], code: number[]) => {
    const w = new Writer().u32(locals.length);
    for (const [n, t] of locals) w.u32(n!).byte(t!);
    const b = w.bytes(code).finish();
    return [...new Writer().u32(b.length).finish(), ...b];
  };
  const code = new Writer().u32(3);
  // grow: local.get 0; memory.grow 0
  code.bytes(body([], [0x20, 0, 0x40, 0, 0x0b]));
  // count: block loop l1++ ; br_if (l1 < l0) end end ; l1
  code.bytes(
    body(
      [[1, 0x7f]],
      [
        0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x41, 1, 0x6a, 0x21, 1, 0x20, 1, 0x20, 0, 0x49, 0x0d, 0,
        0x0b, 0x0b, 0x20, 1, 0x0b,
      ],
    ),
  );
  // twice: call sched_yield; drop; count(n) + count(n) (count is function index 2)
  code.bytes(body([], [0x10, 0, 0x1a, 0x20, 0, 0x10, 2, 0x20, 0, 0x10, 2, 0x6a, 0x0b]));
  const mem = new Writer()
    .u32(1)
    .byte(opts.max === undefined ? 0 : 1)
    .u32(opts.min ?? 1);
  if (opts.max !== undefined) mem.u32(opts.max);
  return Uint8Array.from([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, new Writer().u32(2).bytes([0x60, 1, 0x7f, 1, 0x7f]).bytes([0x60, 0, 1, 0x7f])),
    ...section(
      2,
      new Writer().u32(1).name("wasi_snapshot_preview1").name("sched_yield").byte(0).u32(1),
    ),
    ...section(3, new Writer().u32(3).u32(0).u32(0).u32(0)),
    ...section(4, new Writer().u32(1).byte(0x70).byte(0).u32(1)),
    ...section(5, mem),
    ...section(
      7,
      new Writer()
        .u32(4)
        .name("grow")
        .byte(0)
        .u32(1)
        .name("count")
        .byte(0)
        .u32(2)
        .name("twice")
        .byte(0)
        .u32(3)
        .name("memory")
        .byte(2)
        .u32(0),
    ),
    ...section(9, new Writer().u32(1).u32(0).bytes([0x41, 0, 0x0b]).u32(1).u32(2)),
    ...section(10, code),
  ]);
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
