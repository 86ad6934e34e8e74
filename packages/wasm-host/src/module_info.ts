import {
  BinaryError,
  type Limits,
  Reader,
  readLimits,
  readSections,
  type Section,
  VALTYPES,
  Writer,
  writeLimits,
  writeSections,
} from "./_binary.ts";
import { WasmModuleError } from "./errors.ts";

/** Bytes in a WebAssembly page. */
export const WASM_PAGE = 65536;

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
  const r = new Reader(s.payload);
  const n = r.u32();
  const out: (FuncType | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const form = r.byte();
    if (form !== 0x60) return out; // GC / rec types: signatures not shown
    const vt = () => VALTYPES[r.byte()] ?? "?";
    const params = Array.from({ length: r.u32() }, vt);
    const results = Array.from({ length: r.u32() }, vt);
    out.push({ params, results });
  }
  return out;
}

export function readImportDesc(r: Reader): { kind: number; typeIdx?: number; limits?: Limits } {
  const kind = r.byte();
  switch (kind) {
    case 0:
      return { kind, typeIdx: r.u32() };
    case 1:
      r.byte();
      readLimits(r);
      return { kind };
    case 2:
      return { kind, limits: readLimits(r) };
    case 3:
      r.byte();
      r.byte();
      return { kind };
    case 4:
      r.byte();
      return { kind, typeIdx: r.u32() };
    default:
      throw new BinaryError(`unknown import kind ${kind}`);
  }
}

/**
 * Lists a module's imports, exports (with function signatures) and memories. Throws a
 * {@link WasmModuleError} when the bytes are not a WebAssembly module.
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
  try {
    const sections = readSections(bytes);
    const types = readTypes(sections.find((s) => s.id === 1));
    const imports: WasmImport[] = [];
    const memories: Array<MemoryLimits & { imported: boolean }> = [];
    const funcTypes: (FuncType | undefined)[] = [];
    const custom: string[] = [];
    for (const s of sections) {
      const r = new Reader(s.payload);
      if (s.id === 0) custom.push(r.name());
      else if (s.id === 2) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const d = readImportDesc(r);
          const kind = KINDS[d.kind]!;
          if (d.kind === 0) funcTypes.push(types[d.typeIdx!]);
          if (d.limits) memories.push({ ...toLimits(d.limits), imported: true });
          imports.push({
            module,
            name,
            kind,
            ...(d.kind === 0 ? { type: types[d.typeIdx!] } : {}),
            ...(d.limits ? { limits: toLimits(d.limits) } : {}),
          });
        }
      } else if (s.id === 3) {
        const n = r.u32();
        for (let i = 0; i < n; i++) funcTypes.push(types[r.u32()]);
      } else if (s.id === 5) {
        const n = r.u32();
        for (let i = 0; i < n; i++) memories.push({ ...toLimits(readLimits(r)), imported: false });
      }
    }
    const exports: WasmExport[] = [];
    const ex = sections.find((s) => s.id === 7);
    if (ex) {
      const r = new Reader(ex.payload);
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const name = r.name();
        const kind = r.byte();
        const idx = r.u32();
        const type = kind === 0 ? funcTypes[idx] : undefined;
        exports.push({ name, kind: KINDS[kind] ?? "function", ...(type ? { type } : {}) });
      }
    }
    return { imports, exports, memories, customSections: custom };
  } catch (e) {
    if (e instanceof BinaryError)
      throw new WasmModuleError(`not a valid WebAssembly module: ${e.message}`);
    throw e;
  }
}

/**
 * Rewrites every memory's declared limits so that it cannot grow beyond `maxBytes`
 * (rounded down to whole pages): a missing maximum is added, a larger one lowered.
 * `memory.grow` past the limit then returns -1 inside the module. Throws a
 * {@link WasmModuleError} when a memory's initial size already exceeds the limit or
 * the memory is 64-bit. Returns the same bytes when nothing needs changing.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { limitMemory } from "@forge/wasm-host";
 * const capped = limitMemory(fs.readFileSync("app.wasm"), 64 * 1024 * 1024);
 * ```
 */
export function limitMemory(bytes: Uint8Array, maxBytes: number): Uint8Array {
  const limitPages = Math.floor(maxBytes / WASM_PAGE);
  if (limitPages < 1)
    throw new RangeError(`memory limit ${maxBytes} bytes is below one WebAssembly page (64 KiB)`);
  let sections: Section[];
  try {
    sections = readSections(bytes);
  } catch (e) {
    throw new WasmModuleError(`not a valid WebAssembly module: ${(e as Error).message}`);
  }
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
  const out = sections.map((s) => {
    if (s.id === 5) {
      const r = new Reader(s.payload);
      const n = r.u32();
      const w = new Writer().u32(n);
      for (let i = 0; i < n; i++) writeLimits(w, clamp(readLimits(r), `memory ${i}`));
      return { id: 5, payload: w.finish() };
    }
    if (s.id === 2) {
      const r = new Reader(s.payload);
      const n = r.u32();
      const w = new Writer().u32(n);
      for (let i = 0; i < n; i++) {
        const module = r.name();
        const name = r.name();
        const start = r.pos;
        const d = readImportDesc(r);
        w.name(module).name(name);
        if (d.limits) {
          w.byte(2);
          writeLimits(w, clamp(d.limits, `imported memory ${module}.${name}`));
        } else w.bytes(s.payload.subarray(start, r.pos));
      }
      return { id: 2, payload: w.finish() };
    }
    return s;
  });
  return changed ? writeSections(out) : bytes;
}
