import {
  BinaryError,
  insertSection,
  Reader,
  readSections,
  type Section,
  Writer,
  writeSections,
} from "./_binary.ts";
import { WasmModuleError } from "./errors.ts";
import { readImportDesc } from "./module_info.ts";

/** The import the instrumented module calls when its budget runs out. */
export const INTERRUPT_IMPORT = { module: "forge:meter", name: "interrupt" } as const;
/** The exported mutable i32 global holding the remaining budget of the current slice. */
export const BUDGET_EXPORT = "__forge_budget";

/**
 * Adds metering to a module: at every function entry and every loop header the
 * module subtracts a static cost (the instructions of that straight-line region) from
 * an exported i32 global `__forge_budget`, and calls the import
 * `forge:meter.interrupt` when it drops below zero. The host uses it for a
 * deterministic fuel budget and for in-thread timeouts (the interrupt checks the
 * clock). Function indices shift by one; calls, exports, the start function, element
 * segments and `ref.func` are renumbered and the "name" section is dropped.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { instrumentModule } from "@forge/wasm-host";
 * const metered = instrumentModule(fs.readFileSync("app.wasm"));
 * ```
 */
export function instrumentModule(bytes: Uint8Array): Uint8Array {
  try {
    return instrument(bytes);
  } catch (e) {
    if (e instanceof BinaryError)
      throw new WasmModuleError(`cannot instrument the module for fuel/timeouts: ${e.message}`);
    throw e;
  }
}

function instrument(bytes: Uint8Array): Uint8Array {
  const sections = readSections(bytes).filter(
    (s) => !(s.id === 0 && new Reader(s.payload).name() === "name"),
  );
  const get = (id: number) => sections.find((s) => s.id === id);

  // 1. A type () -> () for the interrupt import.
  let typeSec = get(1);
  if (!typeSec) {
    typeSec = { id: 1, payload: new Writer().u32(0).finish() };
    insertSection(sections, typeSec);
  }
  const tr = new Reader(typeSec.payload);
  const nTypes = tr.u32();
  const typeIdx = nTypes;
  typeSec.payload = new Writer()
    .u32(nTypes + 1)
    .bytes(typeSec.payload.subarray(tr.pos))
    .bytes([0x60, 0, 0])
    .finish();

  // 2. Append the import; count imported functions and globals.
  let importSec = get(2);
  if (!importSec) {
    importSec = { id: 2, payload: new Writer().u32(0).finish() };
    insertSection(sections, importSec);
  }
  const ir = new Reader(importSec.payload);
  const nImports = ir.u32();
  const afterCount = ir.pos;
  let importedFuncs = 0;
  let importedGlobals = 0;
  for (let i = 0; i < nImports; i++) {
    ir.name();
    ir.name();
    const d = readImportDesc(ir);
    if (d.kind === 0) importedFuncs++;
    if (d.kind === 3) importedGlobals++;
  }
  importSec.payload = new Writer()
    .u32(nImports + 1)
    .bytes(importSec.payload.subarray(afterCount))
    .name(INTERRUPT_IMPORT.module)
    .name(INTERRUPT_IMPORT.name)
    .byte(0)
    .u32(typeIdx)
    .finish();
  const interruptFn = importedFuncs;
  const shift = (f: number) => (f >= importedFuncs ? f + 1 : f);

  // 3. The budget global.
  let globalSec = get(6);
  if (!globalSec) {
    globalSec = { id: 6, payload: new Writer().u32(0).finish() };
    insertSection(sections, globalSec);
  }
  let budgetGlobal: number;
  {
    const r = new Reader(globalSec.payload);
    const n = r.u32();
    const w = new Writer().u32(n + 1);
    for (let i = 0; i < n; i++) {
      w.byte(r.byte()).byte(r.byte()); // valtype, mut
      w.bytes(rewriteExpr(r, shift));
    }
    w.byte(0x7f).byte(1).byte(0x41).byte(0).byte(0x0b);
    globalSec.payload = w.finish();
    budgetGlobal = importedGlobals + n;
  }

  // 4. Exports: renumber functions, add the budget global.
  let exportSec = get(7);
  if (!exportSec) {
    exportSec = { id: 7, payload: new Writer().u32(0).finish() };
    insertSection(sections, exportSec);
  }
  {
    const r = new Reader(exportSec.payload);
    const n = r.u32();
    const w = new Writer().u32(n + 1);
    for (let i = 0; i < n; i++) {
      const name = r.name();
      if (name === BUDGET_EXPORT)
        throw new WasmModuleError(
          `the module already exports "${BUDGET_EXPORT}"; it may be instrumented twice`,
        );
      const kind = r.byte();
      const idx = r.u32();
      w.name(name)
        .byte(kind)
        .u32(kind === 0 ? shift(idx) : idx);
    }
    w.name(BUDGET_EXPORT).byte(3).u32(budgetGlobal);
    exportSec.payload = w.finish();
  }

  // 5. Start, elements, code.
  for (const s of sections) {
    if (s.id === 8) s.payload = new Writer().u32(shift(new Reader(s.payload).u32())).finish();
    else if (s.id === 9) s.payload = rewriteElements(s.payload, shift);
    else if (s.id === 10) s.payload = rewriteCode(s.payload, shift, budgetGlobal, interruptFn);
  }
  return writeSections(sections);
}

function rewriteElements(payload: Uint8Array, shift: (f: number) => number): Uint8Array {
  const r = new Reader(payload);
  const n = r.u32();
  const w = new Writer().u32(n);
  for (let i = 0; i < n; i++) {
    const flags = r.u32();
    w.u32(flags);
    if (flags > 7) throw new BinaryError(`unknown element segment flags ${flags}`);
    if ((flags & 3) === 2) w.u32(r.u32()); // table index
    if ((flags & 1) === 0) w.bytes(rewriteExpr(r, shift)); // active: offset
    if ((flags & 3) !== 0) w.byte(r.byte()); // elemkind / reftype
    const count = r.u32();
    w.u32(count);
    for (let j = 0; j < count; j++) {
      if (flags & 4) w.bytes(rewriteExpr(r, shift));
      else w.u32(shift(r.u32()));
    }
  }
  return w.finish();
}

/** Copies a constant expression up to and including its `end`, renumbering ref.func. */
function rewriteExpr(r: Reader, shift: (f: number) => number): Uint8Array {
  const w = new Writer();
  let depth = 0;
  for (;;) {
    const start = r.pos;
    const op = r.byte();
    if (op === 0xd2) {
      w.byte(op).u32(shift(r.u32()));
      continue;
    }
    if (op === 0x10 || op === 0x12) {
      w.byte(op).u32(shift(r.u32()));
      continue;
    }
    skipImmediates(op, r);
    w.bytes(r.buf.subarray(start, r.pos));
    if (op === 0x02 || op === 0x03 || op === 0x04) depth++;
    if (op === 0x0b) {
      if (depth === 0) return w.finish();
      depth--;
    }
  }
}

function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32();
  r.skipLeb();
}

function blockType(r: Reader): void {
  const b = r.peek();
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.byte();
  else r.skipLeb();
}

/** Skips the immediates of opcode `op` (already read). */
export function skipImmediates(op: number, r: Reader): void {
  if (op >= 0x45 && op <= 0xc4) return; // numeric, sign extension
  if (op >= 0x28 && op <= 0x3e) {
    memarg(r);
    return;
  }
  switch (op) {
    case 0x00:
    case 0x01:
    case 0x05:
    case 0x0b:
    case 0x0f:
    case 0x1a:
    case 0x1b:
    case 0xd1:
      return;
    case 0x02:
    case 0x03:
    case 0x04:
      blockType(r);
      return;
    case 0x0c:
    case 0x0d:
    case 0x10:
    case 0x12:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0xd2:
      r.u32();
      return;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 0x11:
    case 0x13:
      r.u32();
      r.u32();
      return;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) r.byte();
      return;
    }
    case 0x3f:
    case 0x40:
      r.u32();
      return;
    case 0x41:
    case 0x42:
      r.skipLeb();
      return;
    case 0x43:
      r.bytes(4);
      return;
    case 0x44:
      r.bytes(8);
      return;
    case 0xd0:
      blockType(r);
      return;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) return;
      if (sub === 8) {
        r.u32();
        r.u32();
        return;
      }
      if (sub === 10 || sub === 12 || sub === 14) {
        r.u32();
        r.u32();
        return;
      }
      if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) {
        r.u32();
        return;
      }
      throw new BinaryError(`unsupported instruction 0xfc ${sub}`);
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) {
        memarg(r);
        return;
      }
      if (sub === 12 || sub === 13) {
        r.bytes(16);
        return;
      }
      if (sub >= 21 && sub <= 34) {
        r.byte();
        return;
      }
      if (sub >= 84 && sub <= 91) {
        memarg(r);
        r.byte();
        return;
      }
      return;
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 3) {
        r.byte();
        return;
      }
      memarg(r);
      return;
    }
    default:
      throw new BinaryError(
        `unsupported instruction 0x${op.toString(16)} (exceptions and GC are not supported by the metering pass)`,
      );
  }
}

interface Instr {
  start: number;
  end: number;
  op: number;
}

function rewriteCode(
  payload: Uint8Array,
  shift: (f: number) => number,
  g: number,
  interruptFn: number,
): Uint8Array {
  const r = new Reader(payload);
  const n = r.u32();
  const w = new Writer().u32(n);
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const bodyEnd = r.pos + size;
    const bodyStart = r.pos;
    const nLocals = r.u32();
    for (let j = 0; j < nLocals; j++) {
      r.u32();
      r.byte();
    }
    const localsEnd = r.pos;
    // Pass 1: decode instructions and cost every metered region.
    const instrs: Instr[] = [];
    while (r.pos < bodyEnd) {
      const start = r.pos;
      const op = r.byte();
      skipImmediates(op, r);
      instrs.push({ start, end: r.pos, op });
    }
    if (r.pos !== bodyEnd) throw new BinaryError(`function ${i}: body overruns its size`);
    const cost = new Map<number, number>(); // instr index of region start (-1: entry) -> cost
    const regions: number[] = [-1]; // stack of enclosing metered regions
    const blocks: boolean[] = []; // per open block: is it a loop
    cost.set(-1, 0);
    instrs.forEach((ins, k) => {
      const top = regions[regions.length - 1]!;
      cost.set(top, cost.get(top)! + 1);
      if (ins.op === 0x03) {
        blocks.push(true);
        regions.push(k);
        cost.set(k, 0);
      } else if (ins.op === 0x02 || ins.op === 0x04) blocks.push(false);
      else if (ins.op === 0x0b && blocks.length > 0) {
        if (blocks.pop()) regions.pop();
      }
    });
    // Pass 2: emit.
    const b = new Writer();
    b.bytes(payload.subarray(bodyStart, localsEnd));
    const check = (c: number) => {
      b.byte(0x23)
        .u32(g)
        .byte(0x41)
        .s32(Math.min(c, 1 << 20))
        .byte(0x6b)
        .byte(0x24)
        .u32(g);
      b.byte(0x23)
        .u32(g)
        .byte(0x41)
        .byte(0)
        .byte(0x48)
        .byte(0x04)
        .byte(0x40)
        .byte(0x10)
        .u32(interruptFn)
        .byte(0x0b);
    };
    check(cost.get(-1)!);
    instrs.forEach((ins, k) => {
      if (ins.op === 0x10 || ins.op === 0x12 || ins.op === 0xd2) {
        const rr = new Reader(payload, ins.start + 1, ins.end);
        b.byte(ins.op).u32(shift(rr.u32()));
      } else b.bytes(payload.subarray(ins.start, ins.end));
      if (ins.op === 0x03) check(cost.get(k)!);
    });
    const body = b.finish();
    w.u32(body.length).bytes(body);
    r.pos = bodyEnd;
  }
  return w.finish();
}

export type { Section };
