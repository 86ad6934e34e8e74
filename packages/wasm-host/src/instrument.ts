import {
  BinaryError,
  inSection,
  insertSection,
  Reader,
  readSections,
  type Section,
  sectionReader,
  Writer,
  writeSections,
} from "./_binary.ts";
import { checkValid, toModuleError } from "./_util.ts";
import { WasmModuleError } from "./errors.ts";
import { readImportDesc } from "./module_info.ts";

/** The import the instrumented module calls when its budget runs out. */
export const INTERRUPT_IMPORT = { module: "forge:meter", name: "interrupt" } as const;
/** The exported mutable i32 global holding the remaining budget of the current slice. */
export const BUDGET_EXPORT = "__forge_budget";
/**
 * The export under which an instrumented module offers its start function: the start
 * section is removed so that the start function does not run, unmetered, inside
 * instantiation; the host calls this export right after instantiating, metered.
 */
export const START_EXPORT = "__forge_start";

/**
 * Adds metering to a module: at every function entry and every loop header the
 * module subtracts a static cost (the instructions of that straight-line region) from
 * an exported i32 global `__forge_budget`, and calls the import
 * `forge:meter.interrupt` when it drops below zero. The host uses it for a
 * deterministic fuel budget and for in-thread timeouts (the interrupt checks the
 * clock). Function indices shift by one; calls, exports, element segments and
 * `ref.func` are renumbered and the "name" section is dropped. A start function is
 * not started by instantiation any more but exported as `__forge_start`
 * ({@link START_EXPORT}) for the host to call first, metered (see {@link Meter.start}).
 *
 * Throws a {@link WasmModuleError} when the module is not one `WebAssembly.compile`
 * accepts (checked first: the rewrite never turns an invalid module into a valid one),
 * uses instructions the pass does not know (exception handling, GC) or exports
 * `__forge_budget` already.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { instrumentModule } from "@forge/wasm-host";
 * const metered = instrumentModule(fs.readFileSync("app.wasm"));
 * ```
 */
export function instrumentModule(bytes: Uint8Array): Uint8Array {
  checkValid(bytes);
  return instrumentValid(bytes);
}

/** {@link instrumentModule} for a module that passed the engine's validator already. */
export function instrumentValid(bytes: Uint8Array): Uint8Array {
  try {
    return instrument(bytes);
  } catch (e) {
    throw toModuleError(e, "cannot meter the module (for fuel or an in-thread timeout)");
  }
}

function instrument(bytes: Uint8Array): Uint8Array {
  const sections = readSections(bytes).filter(
    (s) => !(s.id === 0 && inSection(s, () => sectionReader(s).name()) === "name"),
  );
  const get = (id: number) => sections.find((s) => s.id === id);

  // 1. A type () -> () for the interrupt import.
  let typeSec = get(1);
  if (!typeSec) {
    typeSec = { id: 1, payload: new Writer().u32(0).finish() };
    insertSection(sections, typeSec);
  }
  const tr = sectionReader(typeSec);
  const nTypes = tr.count("types");
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
  const ir = sectionReader(importSec);
  const nImports = ir.count("imports");
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
    const r = sectionReader(globalSec);
    const n = r.count("globals");
    const w = new Writer().u32(n + 1);
    for (let i = 0; i < n; i++) {
      w.byte(r.byte()).byte(r.byte()); // valtype, mut
      w.bytes(rewriteExpr(r, shift));
    }
    w.byte(0x7f).byte(1).byte(0x41).byte(0).byte(0x0b);
    globalSec.payload = w.finish();
    budgetGlobal = importedGlobals + n;
  }

  // 4. The start function: deferred to an export (see START_EXPORT).
  const startAt = sections.findIndex((s) => s.id === 8);
  let startFn: number | undefined;
  if (startAt >= 0) {
    startFn = shift(sectionReader(sections[startAt]!).u32("the start function"));
    sections.splice(startAt, 1);
  }

  // 5. Exports: renumber functions, add the budget global (and the start function).
  let exportSec = get(7);
  if (!exportSec) {
    exportSec = { id: 7, payload: new Writer().u32(0).finish() };
    insertSection(sections, exportSec);
  }
  {
    const r = sectionReader(exportSec);
    const n = r.count("exports");
    const w = new Writer().u32(n + 1 + (startFn === undefined ? 0 : 1));
    for (let i = 0; i < n; i++) {
      const name = r.name();
      if (name === BUDGET_EXPORT || name === START_EXPORT)
        throw new WasmModuleError(
          `the module already exports "${name}", a name the metering pass adds; it may be instrumented twice`,
        );
      const kind = r.byte();
      const idx = r.u32();
      w.name(name)
        .byte(kind)
        .u32(kind === 0 ? shift(idx) : idx);
    }
    w.name(BUDGET_EXPORT).byte(3).u32(budgetGlobal);
    if (startFn !== undefined) w.name(START_EXPORT).byte(0).u32(startFn);
    exportSec.payload = w.finish();
  }

  // 6. Elements, code.
  for (const s of sections) {
    if (s.id === 9) s.payload = inSection(s, () => rewriteElements(s, shift));
    else if (s.id === 10)
      s.payload = inSection(s, () => rewriteCode(s, shift, budgetGlobal, interruptFn));
  }
  return writeSections(sections);
}

function rewriteElements(s: Section, shift: (f: number) => number): Uint8Array {
  const r = sectionReader(s);
  const n = r.count("element segments");
  const w = new Writer().u32(n);
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const flags = r.u32();
    w.u32(flags);
    if (flags > 7)
      throw new BinaryError(`unknown flags ${flags} of element segment ${i} at byte ${at}`, at);
    if ((flags & 3) === 2) w.u32(r.u32()); // table index
    if ((flags & 1) === 0) w.bytes(rewriteExpr(r, shift)); // active: offset
    if ((flags & 3) !== 0) w.byte(r.byte()); // elemkind / reftype
    const count = r.count(`the elements of segment ${i}`);
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

function unsupported(op: string, r: Reader): BinaryError {
  return new BinaryError(
    `instruction ${op} before byte ${r.offset} is not supported by the metering pass (exception handling and GC are not); run the module in a worker with a timeout and no fuel`,
    r.offset,
  );
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
      const n = r.count("br_table targets");
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 0x11:
    case 0x13:
      r.u32();
      r.u32();
      return;
    case 0x1c: {
      const n = r.count("select types");
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
      throw unsupported(`0xfc ${sub}`, r);
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
      throw unsupported(`0x${op.toString(16).padStart(2, "0")}`, r);
  }
}

interface Instr {
  start: number;
  end: number;
  op: number;
}

function rewriteCode(
  s: Section,
  shift: (f: number) => number,
  g: number,
  interruptFn: number,
): Uint8Array {
  const payload = s.payload;
  const r = sectionReader(s);
  const n = r.count("function bodies");
  const w = new Writer().u32(n);
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const bodyEnd = r.pos + size;
    if (bodyEnd > r.end)
      throw new BinaryError(`the body of function ${i} overruns the section`, r.offset);
    const bodyStart = r.pos;
    const nLocals = r.count(`the locals of function ${i}`);
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
    if (r.pos !== bodyEnd)
      throw new BinaryError(`the body of function ${i} overruns its size`, r.offset);
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
