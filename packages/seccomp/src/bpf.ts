/**
 * Classic BPF as seccomp uses it: `struct sock_filter`, opcodes, the layout of
 * `struct seccomp_data`, and conversion to and from the kernel's byte format.
 *
 * @module
 */

/** One `struct sock_filter`: 16-bit opcode, 8-bit jump offsets, 32-bit constant. */
export interface Instruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** Opcode parts (include/uapi/linux/filter.h, bpf_common.h). */
export const BPF = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
  X: 0x08,
  A: 0x10,
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Largest program the kernel loads (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Byte offsets in `struct seccomp_data`. */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  IP_LO: 8,
  IP_HI: 12,
  /** Low half of argument i: ARGS + 8 * i (little-endian hosts). */
  ARGS: 16,
  SIZE: 64,
} as const;

/** Offset of the low 32 bits of argument `i` in `seccomp_data` (little-endian). */
export function argLo(i: number): number {
  return SECCOMP_DATA.ARGS + 8 * i;
}

/** Offset of the high 32 bits of argument `i` in `seccomp_data` (little-endian). */
export function argHi(i: number): number {
  return SECCOMP_DATA.ARGS + 8 * i + 4;
}

/**
 * Builds one instruction.
 *
 * @example
 * ```ts
 * import { BPF, insn } from "@forge/seccomp";
 * insn(BPF.RET | BPF.K, 0x7fff0000); // return ALLOW
 * ```
 */
export function insn(code: number, k = 0, jt = 0, jf = 0): Instruction {
  return { code, jt, jf, k: k >>> 0 };
}

/**
 * The little-endian `struct sock_filter[]` the kernel loads (8 bytes per instruction).
 *
 * @example
 * ```ts
 * import { BPF, encodeFilter, insn } from "@forge/seccomp";
 * encodeFilter([insn(BPF.RET | BPF.K, 0x7fff0000)]).length; // 8
 * ```
 */
export function encodeFilter(program: readonly Instruction[]): Uint8Array {
  const out = new Uint8Array(program.length * 8);
  const v = new DataView(out.buffer);
  program.forEach((p, i) => {
    v.setUint16(i * 8, p.code, true);
    v.setUint8(i * 8 + 2, p.jt);
    v.setUint8(i * 8 + 3, p.jf);
    v.setUint32(i * 8 + 4, p.k >>> 0, true);
  });
  return out;
}

/**
 * Reads a `struct sock_filter[]` (inverse of {@link encodeFilter}). Throws a
 * RangeError when the length is not a multiple of 8.
 *
 * @example
 * ```ts
 * import { decodeFilter, encodeFilter, insn } from "@forge/seccomp";
 * decodeFilter(encodeFilter([insn(6, 0)]))[0]!.code; // 6
 * ```
 */
export function decodeFilter(bytes: Uint8Array): Instruction[] {
  if (bytes.length % 8 !== 0) {
    throw new RangeError(`a BPF program is a multiple of 8 bytes; got ${bytes.length} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push({
      code: v.getUint16(o, true),
      jt: v.getUint8(o + 2),
      jf: v.getUint8(o + 3),
      k: v.getUint32(o + 4, true),
    });
  }
  return out;
}
