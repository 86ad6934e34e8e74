import { describe, expect, it } from "vitest";
import { Writer } from "./_binary.ts";
import { body, command, moduleOf, sample, section } from "./_test_modules.ts";
import { WasmLimitError, WasmModuleError } from "./errors.ts";
import { BUDGET_EXPORT, instrumentModule, START_EXPORT } from "./instrument.ts";
import { Meter } from "./meter.ts";
import { inspectModule } from "./module_info.ts";

const valid = (b: Uint8Array) => WebAssembly.validate(b as Uint8Array<ArrayBuffer>);

/** Runs command()'s `_start` (metered when `meter` is given); resolves to its exit code. */
function runCommand(bytes: Uint8Array, meter?: Meter, fuel?: number): number {
  let code = -1;
  const exit = new Error("exit");
  const imports: WebAssembly.Imports = {
    env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }) },
    wasi_snapshot_preview1: {
      proc_exit: (c: number) => {
        code = c;
        throw exit;
      },
    },
    ...(meter?.imports() ?? {}),
  };
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>),
    imports,
  );
  if (meter) {
    meter.attach(instance);
    meter.begin(fuel, undefined);
  }
  try {
    meter?.start(instance);
    (instance.exports._start as () => void)();
  } catch (e) {
    if (e !== exit) throw e;
  } finally {
    meter?.end();
  }
  return code;
}

describe("instrumentModule", () => {
  // Regression cases from the fuzz target (issue 13): invalid modules that the rewrite
  // used to turn into valid ones.
  it("rejects invalid modules before rewriting them (was: returned bytes that validate)", () => {
    const b = Array.from(sample());
    const blockAt = b.findIndex((x, i) => x === 0x02 && b[i + 1] === 0x40 && b[i + 2] === 0x03);
    const cases: Array<[string, Uint8Array]> = [
      // a global section of 0 globals and 7 more bytes: the rewrite dropped them
      [
        "global",
        Uint8Array.from([
          0, 97, 115, 109, 1, 0, 0, 0, 6, 8, 0, 38, 250, 83, 79, 116, 19, 91, 0, 3, 1, 117, 2,
        ]),
      ],
      // an element section of 0 segments and 3 more bytes
      ["element", Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 9, 5, 0, 77, 126, 109, 23])],
      // a block whose type index (2) is one past the types: the type the pass appends made it exist
      ["code", Uint8Array.from(b.map((x, i) => (i === blockAt + 1 ? 2 : x)))],
    ];
    for (const [sectionName, bytes] of cases) {
      expect(valid(bytes)).toBe(false);
      let error: unknown;
      try {
        instrumentModule(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WasmModuleError);
      expect((error as WasmModuleError).section).toBe(sectionName);
      expect((error as WasmModuleError).message).toMatch(/^not a valid WebAssembly module: /);
    }
  });

  it("defers the start function to an export the host runs metered (was: unmetered, a loop in it hung)", () => {
    const plain = command();
    const metered = instrumentModule(plain);
    expect(valid(metered)).toBe(true);
    expect(inspectModule(plain).exports.map((e) => e.name)).not.toContain(START_EXPORT);
    const names = inspectModule(metered).exports.map((e) => e.name);
    expect(names).toContain(START_EXPORT);
    expect(names).toContain(BUDGET_EXPORT);
    // the same behaviour: the start function sets the count _start runs to
    const expected = runCommand(plain);
    expect(expected).toBeGreaterThan(1);
    expect(runCommand(metered, new Meter())).toBe(expected);

    // a start function that never returns ends at the fuel limit
    const loop = moduleOf(
      section(1, new Writer().u32(1).bytes([0x60, 0, 0])),
      section(3, new Writer().u32(2).u32(0).u32(0)),
      section(7, new Writer().u32(1).name("_start").byte(0).u32(1)),
      section(8, new Writer().u32(0)),
      section(
        10,
        new Writer()
          .u32(2)
          .bytes(body([], [0x03, 0x40, 0x0c, 0, 0x0b, 0x0b]))
          .bytes(body([], [0x0b])),
      ),
    );
    const m = new Meter();
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(instrumentModule(loop) as Uint8Array<ArrayBuffer>),
      m.imports(),
    );
    m.attach(instance);
    m.begin(100_000, undefined);
    expect(() => m.start(instance)).toThrow(WasmLimitError);
    m.end();
  });

  it("refuses a module that already exports a name the pass adds", () => {
    const twice = moduleOf(
      section(1, new Writer().u32(1).bytes([0x60, 0, 0])),
      section(3, new Writer().u32(1).u32(0)),
      section(7, new Writer().u32(1).name(START_EXPORT).byte(0).u32(0)),
      section(10, new Writer().u32(1).bytes(body([], [0x0b]))),
    );
    expect(() => instrumentModule(twice)).toThrow(/already exports "__forge_start"/);
  });
});
