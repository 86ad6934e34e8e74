/**
 * A classic-BPF emulator for seccomp filters: runs a program on a `seccomp_data` the
 * way the kernel does and counts the instructions executed; and the kernel's load-time
 * checks (bpf_check_classic + seccomp_check_filter), so a filter that passes here is
 * one the kernel accepts.
 *
 * @module
 */
import { type Action, decodeAction } from "./action.ts";
import { BPF, BPF_MAXINSNS, type Instruction, SECCOMP_DATA } from "./bpf.ts";

/** The input of a seccomp filter. Arguments are unsigned 64-bit values. */
export interface SeccompData {
  /** The syscall number as the filter sees it (x32: with 0x40000000). */
  readonly nr: number;
  /** AUDIT_ARCH_* of the calling ABI. */
  readonly arch: number;
  /** Instruction pointer (default 0). */
  readonly ip?: bigint;
  /** Up to six arguments (missing ones are 0). */
  readonly args?: readonly bigint[];
}

/** What a filter decided for one input. */
export interface EmulationResult {
  /** The 32-bit return value. */
  readonly value: number;
  /** The value decoded as the kernel reads it. */
  readonly action: Action;
  /** How many instructions ran (the RET included). */
  readonly executed: number;
  /** Whether any instruction loaded something other than nr or arch. */
  readonly loadedArgs: boolean;
}

/**
 * Reads the 32-bit word at `offset` of a seccomp_data (little-endian layout).
 *
 * @example
 * ```ts
 * import { seccompWord } from "@forge/seccomp";
 * seccompWord({ nr: 39, arch: 0xc000003e }, 0); // 39
 * ```
 */
export function seccompWord(d: SeccompData, offset: number): number {
  if (offset === SECCOMP_DATA.NR) return d.nr >>> 0;
  if (offset === SECCOMP_DATA.ARCH) return d.arch >>> 0;
  if (offset === SECCOMP_DATA.IP_LO) return Number(BigInt.asUintN(32, d.ip ?? 0n));
  if (offset === SECCOMP_DATA.IP_HI) return Number(BigInt.asUintN(32, (d.ip ?? 0n) >> 32n));
  const i = Math.floor((offset - SECCOMP_DATA.ARGS) / 8);
  const a = BigInt.asUintN(64, d.args?.[i] ?? 0n);
  return Number(offset % 8 === 0 ? a & 0xffffffffn : a >> 32n);
}

/**
 * Checks a program the way the kernel does when it is loaded. Returns the problems
 * (empty when the kernel would accept it).
 *
 * @example
 * ```ts
 * import { BPF, checkFilter, insn } from "@forge/seccomp";
 * checkFilter([insn(BPF.RET | BPF.K, 0x7fff0000)]); // []
 * ```
 */
export function checkFilter(program: readonly Instruction[]): string[] {
  const problems: string[] = [];
  const n = program.length;
  if (n === 0) return ["the program is empty"];
  if (n > BPF_MAXINSNS)
    problems.push(`the program has ${n} instructions; the kernel loads at most ${BPF_MAXINSNS}`);
  program.forEach((p, pc) => {
    const cls = p.code & 0x07;
    const where = `instruction ${pc}`;
    switch (p.code) {
      case BPF.LD | BPF.W | BPF.ABS:
        if (p.k >= SECCOMP_DATA.SIZE || p.k % 4 !== 0) {
          problems.push(`${where}: ld [${p.k}] is outside seccomp_data or not 4-byte aligned`);
        }
        return;
      case BPF.LD | BPF.W | BPF.LEN:
      case BPF.LDX | BPF.W | BPF.LEN:
      case BPF.LD | BPF.IMM:
      case BPF.LDX | BPF.IMM:
      case BPF.RET | BPF.K:
      case BPF.RET | BPF.A:
      case BPF.MISC | BPF.TAX:
      case BPF.MISC | BPF.TXA:
      case BPF.ALU | BPF.NEG:
        return;
      case BPF.LD | BPF.MEM:
      case BPF.LDX | BPF.MEM:
      case BPF.ST:
      case BPF.STX:
        if (p.k >= 16) problems.push(`${where}: scratch memory index ${p.k} is not below 16`);
        return;
      case BPF.JMP | BPF.JA:
        if (p.k >= n - pc - 1) problems.push(`${where}: ja +${p.k} jumps past the end`);
        return;
    }
    if (cls === BPF.ALU) {
      const op = p.code & 0xf0;
      const src = p.code & 0x08;
      const ok = [
        BPF.ADD,
        BPF.SUB,
        BPF.MUL,
        BPF.DIV,
        BPF.OR,
        BPF.AND,
        BPF.LSH,
        BPF.RSH,
        BPF.MOD,
        BPF.XOR,
      ];
      if (!ok.includes(op as never))
        problems.push(`${where}: unknown ALU opcode 0x${p.code.toString(16)}`);
      else if (src === BPF.K && (op === BPF.DIV || op === BPF.MOD) && p.k === 0)
        problems.push(`${where}: division by zero`);
      else if (src === BPF.K && (op === BPF.LSH || op === BPF.RSH) && p.k >= 32)
        problems.push(`${where}: shift by ${p.k}`);
      return;
    }
    if (cls === BPF.JMP) {
      const op = p.code & 0xf0;
      if (![BPF.JEQ, BPF.JGT, BPF.JGE, BPF.JSET].includes(op as never)) {
        problems.push(`${where}: unknown jump opcode 0x${p.code.toString(16)}`);
      } else if (pc + p.jt + 1 >= n || pc + p.jf + 1 >= n) {
        problems.push(`${where}: a conditional jump lands past the end`);
      }
      return;
    }
    problems.push(`${where}: opcode 0x${p.code.toString(16)} is not allowed in seccomp filters`);
  });
  const last = program[n - 1]!;
  if ((last.code & 0x07) !== BPF.RET)
    problems.push(`the last instruction (${n - 1}) is not a return`);
  return problems;
}

/**
 * Runs a filter on one input, as the kernel would, counting executed instructions.
 * Throws a RangeError when the program leaves its bounds (which {@link checkFilter}
 * rules out).
 *
 * @example
 * ```ts
 * import { BPF, emulate, insn } from "@forge/seccomp";
 * const r = emulate([insn(BPF.RET | BPF.K, 0x7fff0000)], { nr: 0, arch: 0xc000003e });
 * r.action.kind; // "allow"
 * ```
 */
export function emulate(program: readonly Instruction[], data: SeccompData): EmulationResult {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  let pc = 0;
  let executed = 0;
  let loadedArgs = false;
  const done = (v: number): EmulationResult => {
    const value = v >>> 0;
    return { value, action: decodeAction(value), executed, loadedArgs };
  };
  for (;;) {
    const p = program[pc];
    if (!p) throw new RangeError(`the program ran past its end at instruction ${pc}`);
    executed++;
    const k = p.k >>> 0;
    const cls = p.code & 0x07;
    if (cls === BPF.RET) return done((p.code & 0x18) === BPF.A ? a : k);
    if (cls === BPF.LD || cls === BPF.LDX) {
      const mode = p.code & 0xe0;
      let v: number;
      if (mode === BPF.ABS) {
        if (k !== SECCOMP_DATA.NR && k !== SECCOMP_DATA.ARCH) loadedArgs = true;
        v = seccompWord(data, k);
      } else if (mode === BPF.LEN) v = SECCOMP_DATA.SIZE;
      else if (mode === BPF.IMM) v = k;
      else if (mode === BPF.MEM) v = mem[k & 15]!;
      else throw new RangeError(`instruction ${pc}: unsupported load mode 0x${mode.toString(16)}`);
      if (cls === BPF.LD) a = v >>> 0;
      else x = v >>> 0;
      pc++;
      continue;
    }
    if (cls === BPF.ST || cls === BPF.STX) {
      mem[k & 15] = cls === BPF.ST ? a : x;
      pc++;
      continue;
    }
    if (cls === BPF.MISC) {
      if ((p.code & 0xf8) === BPF.TXA) a = x;
      else x = a;
      pc++;
      continue;
    }
    if (cls === BPF.ALU) {
      const op = p.code & 0xf0;
      const s = (p.code & 0x08) === BPF.X ? x : k;
      switch (op) {
        case BPF.ADD:
          a = (a + s) >>> 0;
          break;
        case BPF.SUB:
          a = (a - s) >>> 0;
          break;
        case BPF.MUL:
          a = Math.imul(a, s) >>> 0;
          break;
        case BPF.DIV:
          if (s === 0) return done(0);
          a = Math.floor(a / s) >>> 0;
          break;
        case BPF.MOD:
          if (s === 0) return done(0);
          a = (a % s) >>> 0;
          break;
        case BPF.AND:
          a = (a & s) >>> 0;
          break;
        case BPF.OR:
          a = (a | s) >>> 0;
          break;
        case BPF.XOR:
          a = (a ^ s) >>> 0;
          break;
        case BPF.LSH:
          a = (a << (s & 31)) >>> 0;
          break;
        case BPF.RSH:
          a = a >>> (s & 31);
          break;
        case BPF.NEG:
          a = -a >>> 0;
          break;
        default:
          throw new RangeError(`instruction ${pc}: unknown ALU op 0x${op.toString(16)}`);
      }
      pc++;
      continue;
    }
    if (cls === BPF.JMP) {
      const op = p.code & 0xf0;
      if (op === BPF.JA) {
        pc += 1 + k;
        continue;
      }
      const s = (p.code & 0x08) === BPF.X ? x : k;
      let taken: boolean;
      if (op === BPF.JEQ) taken = a === s;
      else if (op === BPF.JGT) taken = a > s;
      else if (op === BPF.JGE) taken = a >= s;
      else if (op === BPF.JSET) taken = (a & s) !== 0;
      else throw new RangeError(`instruction ${pc}: unknown jump op 0x${op.toString(16)}`);
      pc += 1 + (taken ? p.jt : p.jf);
      continue;
    }
    throw new RangeError(`instruction ${pc}: unknown opcode 0x${p.code.toString(16)}`);
  }
}
