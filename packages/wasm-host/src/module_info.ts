import {
  BinaryError,
  inSection,
  type Limits,
  type Reader,
  readLimits,
  readSections,
  type Section,
  sectionReader,
  VALTYPES,
  Writer,
  writeLimits,
  writeSections,
} from "./_binary.ts";
import { checkValid, quoted, toModuleError } from "./_util.ts";
import { WasmModuleError } from "./errors.ts";

/** Bytes in a WebAssembly page. */
export const WASM_PAGE = 65536;

/** The most pages a 32-bit memory can have (4 GiB). */
const MAX_PAGES_32 = 65536;

/**
 * A function signature, e.g. `(i32, i32) -> (i32)`.
 *
 * @example
 * ```ts
 * import type { FuncType } from "@forge/wasm-host";
 * const t: FuncType = { params: ["i32"], results: [] };
 * ```
 */
export interface FuncType {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

/**
 * An import of a module.
 *
 * @example
 * ```ts
 * import type { WasmImport } from "@forge/wasm-host";
 * const i: WasmImport = { module: "wasi_snapshot_preview1", name: "fd_write", kind: "function" };
 * ```
 */
export interface WasmImport {
  readonly module: string;
  readonly name: string;
  readonly kind: "function" | "table" | "memory" | "global" | "tag";
  readonly type?: FuncType;
  readonly limits?: MemoryLimits;
}

/**
 * An export of a module.
 *
 * @example
 * ```ts
 * import type { WasmExport } from "@forge/wasm-host";
 * const e: WasmExport = { name: "_start", kind: "function", type: { params: [], results: [] } };
 * ```
 */
export interface WasmExport {
  readonly name: string;
  readonly kind: "function" | "table" | "memory" | "global" | "tag";
  readonly type?: FuncType;
}

/**
 * Memory limits in pages (65536 bytes); `max` undefined when the module declares none.
 *
 * @example
 * ```ts
 * import type { MemoryLimits } from "@forge/wasm-host";
 * const l: MemoryLimits = { min: 2, max: 4096, shared: false, memory64: false };
 * ```
 */
export interface MemoryLimits {
  readonly min: number;
  readonly max?: number;
  readonly shared: boolean;
  readonly memory64: boolean;
}

/**
 * What {@link inspectModule} finds in a module.
 *
 * @example
 * ```ts
 * import { inspectModule } from "@forge/wasm-host";
 * const info = inspectModule(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
 * console.log(info.exports.length); // 0
 * ```
 */
export interface ModuleShape {
  readonly imports: readonly WasmImport[];
  readonly exports: readonly WasmExport[];
  /** Memories (imported first, then defined), with their declared limits. */
  readonly memories: ReadonlyArray<MemoryLimits & { readonly imported: boolean }>;
  readonly customSections: readonly string[];
}

const KINDS = ["function", "table", "memory", "global", "tag"] as const;

function toLimits(l: Limits): MemoryLimits {
  return {
    min: Number(l.min),
    max: l.max === undefined ? undefined : Number(l.max),
    shared: l.shared,
    memory64: l.memory64,
  };
}

function readTypes(s: Section | undefined): (FuncType | undefined)[] {
  if (!s) return [];
  return inSection(s, () => {
    const r = sectionReader(s);
    const n = r.count("types");
    const out: (FuncType | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      const form = r.byte(`the form of type ${i}`);
      if (form !== 0x60) return out; // GC / rec types: signatures not shown
      const vt = () => VALTYPES[r.byte(`a value type of type ${i}`)] ?? "?";
      const params = Array.from({ length: r.count(`the parameters of type ${i}`) }, vt);
      const results = Array.from({ length: r.count(`the results of type ${i}`) }, vt);
      out.push({ params, results });
    }
    r.expectEnd();
    return out;
  });
}

export function readImportDesc(
  r: Reader,
  what = "an import",
): { kind: number; typeIdx?: number; limits?: Limits } {
  const at = r.offset;
  const kind = r.byte(`the kind of ${what}`);
  switch (kind) {
    case 0:
      return { kind, typeIdx: r.u32(`the type of ${what}`) };
    case 1:
      r.byte(`the element type of ${what}`);
      readLimits(r);
      return { kind };
    case 2:
      return { kind, limits: readLimits(r) };
    case 3:
      r.byte(`the type of ${what}`);
      r.byte(`the mutability of ${what}`);
      return { kind };
    case 4:
      r.byte(`the attribute of ${what}`);
      return { kind, typeIdx: r.u32(`the type of ${what}`) };
    default:
      throw new BinaryError(`unknown kind ${kind} of ${what} at byte ${at}`, at);
  }
}

/** The structure of a module (no engine validation): throws BinaryError. */
function readShape(bytes: Uint8Array): ModuleShape {
  const sections = readSections(bytes);
  const types = readTypes(sections.find((s) => s.id === 1));
  const imports: WasmImport[] = [];
  const memories: Array<MemoryLimits & { imported: boolean }> = [];
  const funcTypes: (FuncType | undefined)[] = [];
  const custom: string[] = [];
  const exports: WasmExport[] = [];
  for (const s of sections) {
    inSection(s, () => {
      const r = sectionReader(s);
      if (s.id === 0) custom.push(r.name("the section name"));
      else if (s.id === 2) {
        const n = r.count("imports");
        for (let i = 0; i < n; i++) {
          const module = r.name(`the module name of import ${i}`);
          const name = r.name(`the name of import ${i}`);
          const d = readImportDesc(r, `import ${i}`);
          const kind = KINDS[d.kind]!;
          if (d.kind === 0) funcTypes.push(types[d.typeIdx!]);
          if (d.limits) memories.push({ ...toLimits(d.limits), imported: true });
          imports.push({
            module,
            name,
            kind,
            ...(d.kind === 0 && types[d.typeIdx!] ? { type: types[d.typeIdx!] } : {}),
            ...(d.limits ? { limits: toLimits(d.limits) } : {}),
          });
        }
        r.expectEnd();
      } else if (s.id === 3) {
        const n = r.count("functions");
        for (let i = 0; i < n; i++) funcTypes.push(types[r.u32(`the type of function ${i}`)]);
        r.expectEnd();
      } else if (s.id === 5) {
        const n = r.count("memories");
        for (let i = 0; i < n; i++) memories.push({ ...toLimits(readLimits(r)), imported: false });
        r.expectEnd();
      } else if (s.id === 7) {
        const n = r.count("exports");
        for (let i = 0; i < n; i++) {
          const name = r.name(`the name of export ${i}`);
          const at = r.offset;
          const kind = r.byte(`the kind of export ${i}`);
          if (KINDS[kind] === undefined)
            throw new BinaryError(`unknown kind ${kind} of export ${i} at byte ${at}`, at);
          const idx = r.u32(`the index of export ${i}`);
          const type = kind === 0 ? funcTypes[idx] : undefined;
          exports.push({ name, kind: KINDS[kind], ...(type ? { type } : {}) });
        }
        r.expectEnd();
      }
    });
  }
  return { imports, exports, memories, customSections: custom };
}

/**
 * Lists a module's imports, exports (with function signatures) and memories. Throws a
 * {@link WasmModuleError} (with the section and byte) when the bytes are not a module
 * that `WebAssembly.compile` accepts, and nothing else.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { inspectModule } from "@forge/wasm-host";
 * const info = inspectModule(fs.readFileSync("app.wasm"));
 * for (const i of info.imports) console.log(`${i.module}.${i.name}`);
 * ```
 */
export function inspectModule(bytes: Uint8Array): ModuleShape {
  let shape: ModuleShape;
  try {
    shape = readShape(bytes);
  } catch (e) {
    throw toModuleError(e, "not a valid WebAssembly module");
  }
  checkValid(bytes);
  return shape;
}

/**
 * Rewrites every memory's declared limits so that it cannot grow beyond `maxBytes`
 * (rounded down to whole pages, at most the 4 GiB a 32-bit memory can address): a
 * missing maximum is added, a larger one lowered. `memory.grow` past the limit then
 * returns -1 inside the module. Throws a {@link WasmModuleError} when the module is not
 * one `WebAssembly.compile` accepts (checked first: the rewrite never turns an invalid
 * module into a valid one), when a memory's initial size already exceeds the limit or
 * the memory is 64-bit; a RangeError when `maxBytes` is below one page. Returns the
 * same bytes when nothing needs changing.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { limitMemory } from "@forge/wasm-host";
 * const capped = limitMemory(fs.readFileSync("app.wasm"), 64 * 1024 * 1024);
 * ```
 */
export function limitMemory(bytes: Uint8Array, maxBytes: number): Uint8Array {
  const limitPages = memoryLimitPages(maxBytes);
  checkValid(bytes);
  return capMemory(bytes, limitPages);
}

/** The page limit for `maxBytes` (at most 4 GiB, what a 32-bit memory can address). */
export function memoryLimitPages(maxBytes: number): number {
  const pages = Math.floor(maxBytes / WASM_PAGE);
  if (!(pages >= 1))
    throw new RangeError(`memory limit ${maxBytes} bytes is below one WebAssembly page (64 KiB)`);
  return Math.min(pages, MAX_PAGES_32);
}

/**
 * The memory Forge provides for an imported one: the declared initial size, at most the
 * rewritten maximum (the declared one capped at the limit), shared when declared so.
 */
export function importedMemory(
  limits: { readonly min: number; readonly max?: number; readonly shared: boolean },
  memoryLimit: number,
): WebAssembly.Memory {
  const maximum = Math.min(limits.max ?? Number.POSITIVE_INFINITY, memoryLimitPages(memoryLimit));
  return new WebAssembly.Memory({ initial: limits.min, maximum, shared: limits.shared });
}

/**
 * {@link limitMemory} for a module that passed the engine's validator already (the
 * host checks it once, in inspectModule): rewrites the limits to at most `limitPages`.
 */
export function capMemory(bytes: Uint8Array, limitPages: number): Uint8Array {
  try {
    return rewriteLimits(bytes, limitPages);
  } catch (e) {
    throw toModuleError(e, "not a valid WebAssembly module");
  }
}

function rewriteLimits(bytes: Uint8Array, limitPages: number): Uint8Array {
  const sections = readSections(bytes);
  let changed = false;
  const clamp = (l: Limits, where: string): Limits => {
    if (l.memory64) {
      throw new WasmModuleError(
        `${where} is a 64-bit memory, which Forge cannot limit yet; use a wasm32 module`,
      );
    }
    const min = Number(l.min);
    if (min > limitPages) {
      throw new WasmModuleError(
        `${where} declares ${min * 64} KiB initial memory, above the limit of ${limitPages * 64} KiB; raise the memory limit (--memory) or rebuild with a smaller initial memory`,
      );
    }
    if (l.max === undefined || Number(l.max) > limitPages) {
      changed = true;
      return { ...l, max: limitPages };
    }
    return l;
  };
  const out = sections.map((s) =>
    inSection(s, () => {
      if (s.id === 5) {
        const r = sectionReader(s);
        const n = r.count("memories");
        const w = new Writer().u32(n);
        for (let i = 0; i < n; i++) writeLimits(w, clamp(readLimits(r), `memory ${i}`));
        r.expectEnd();
        return { id: 5, payload: w.finish() };
      }
      if (s.id === 2) {
        const r = sectionReader(s);
        const n = r.count("imports");
        const w = new Writer().u32(n);
        for (let i = 0; i < n; i++) {
          const module = r.name(`the module name of import ${i}`);
          const name = r.name(`the name of import ${i}`);
          const start = r.pos;
          const d = readImportDesc(r, `import ${i}`);
          w.name(module).name(name);
          if (d.limits) {
            w.byte(2);
            writeLimits(w, clamp(d.limits, `imported memory ${quoted(module)}.${quoted(name)}`));
          } else w.bytes(s.payload.subarray(start, r.pos));
        }
        r.expectEnd();
        return { id: 2, payload: w.finish() };
      }
      return s;
    }),
  );
  return changed ? writeSections(out) : bytes;
}
