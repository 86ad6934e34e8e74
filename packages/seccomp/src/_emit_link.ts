/**
 * Emitting and linking BPF with symbolic labels (private to the compiler).
 *
 * Jumps name {@link Label}s. A label is either bound to an emitted instruction or is a
 * *return label*: the linker places a `ret` for it wherever jumps need one, so each
 * distinct action costs one `ret` per 256-instruction window that jumps to it, placed
 * right after the first jump (from the end) that reaches no copy, where the most
 * earlier jumps can reach it too.
 *
 * Linking is one backward pass (linear time): BPF jumps go forward only, so when an
 * instruction is placed every target is already placed at its final distance. A
 * conditional jump (8-bit offsets) to a target more than 255 instructions away gets a
 * stub right after it: a copy of the `ret` for return labels, else a `ja` (32-bit
 * offset) to the nearest copy of the target; later (earlier in the program) jumps
 * reuse the nearest stub in reach. Nothing falls into a stub: it follows a
 * conditional jump, whose both offsets are explicit.
 *
 * @module
 */
import { BPF, type Instruction } from "./bpf.ts";

/** A jump target. */
export class Label {
  /** For a return label, the value the `ret` returns. */
  readonly ret: number | undefined;
  readonly name: string | undefined;
  constructor(name?: string, ret?: number) {
    this.name = name;
    this.ret = ret === undefined ? undefined : ret >>> 0;
  }
}

interface Op {
  readonly code: number;
  readonly k: number;
  readonly jt?: Label;
  readonly jf?: Label;
}

const JMP_CONDITIONAL = (code: number) => (code & 0x07) === BPF.JMP && (code & 0xf0) !== BPF.JA;

/**
 * A program under construction.
 *
 * @example
 * ```ts
 * const p = new Program(100, (n) => new RangeError(`${n}`));
 * const allow = p.retLabel(0x7fff0000);
 * p.ld(0);
 * p.jmp(BPF.JEQ, 39, allow, p.retLabel(0x50001));
 * p.link().length; // 4: ld, jeq, and the two rets
 * ```
 */
export class Program {
  readonly #ops: Op[] = [];
  /** Labels bound to the op at each index. */
  readonly #at = new Map<number, Label[]>();
  readonly #bound = new Set<Label>();
  #pending: Label[] = [];
  readonly #rets = new Map<number, Label>();
  readonly #limit: number;
  readonly #tooLong: (n: number) => Error;

  /** Emitting more than `limit` instructions throws `tooLong(count)`. */
  constructor(limit: number, tooLong: (n: number) => Error) {
    this.#limit = limit;
    this.#tooLong = tooLong;
  }

  /** Instructions emitted so far (stubs added by linking not counted). */
  get length(): number {
    return this.#ops.length;
  }

  /** A fresh label to bind later. */
  label(name?: string): Label {
    return new Label(name);
  }

  /** The return label for a value (one per value). */
  retLabel(value: number): Label {
    const v = value >>> 0;
    let l = this.#rets.get(v);
    if (!l) {
      l = new Label(`ret 0x${v.toString(16)}`, v);
      this.#rets.set(v, l);
    }
    return l;
  }

  /** Binds a label to the next instruction emitted. */
  bind(l: Label): void {
    if (l.ret !== undefined) throw new Error(`internal: ${l.name} is placed by the linker`);
    if (this.#bound.has(l)) throw new Error(`internal: label ${l.name ?? "?"} bound twice`);
    this.#bound.add(l);
    this.#pending.push(l);
  }

  #emit(op: Op): void {
    if (this.#pending.length > 0) {
      this.#at.set(this.#ops.length, this.#pending);
      this.#pending = [];
    }
    this.#ops.push(op);
    if (this.#ops.length > this.#limit) throw this.#tooLong(this.#ops.length);
  }

  /** `ld [offset]` (a word of seccomp_data). */
  ld(offset: number): void {
    this.#emit({ code: BPF.LD | BPF.W | BPF.ABS, k: offset });
  }

  /** `and #k`. */
  and(k: number): void {
    this.#emit({ code: BPF.ALU | BPF.AND | BPF.K, k: k >>> 0 });
  }

  /** A conditional jump `op` (BPF.JEQ, JGT, JGE, JSET) against `k`. */
  jmp(op: number, k: number, jt: Label, jf: Label): void {
    this.#emit({ code: BPF.JMP | op | BPF.K, k: k >>> 0, jt, jf });
  }

  /** Resolves labels, placing `ret`s and trampolines (see the module doc). */
  link(): Instruction[] {
    if (this.#pending.length > 0) throw new Error("internal: a label is bound past the end");
    const ops = this.#ops;
    // Built back to front: rev[0] is the last instruction. A location is an index in rev.
    const rev: Instruction[] = [];
    const loc = new Map<Label, number>();
    const distance = (l: Label, at: number): number => {
      const r = loc.get(l);
      return r === undefined ? Number.POSITIVE_INFINITY : at - r - 1;
    };
    const stub = (l: Label): void => {
      if (l.ret !== undefined) rev.push({ code: BPF.RET | BPF.K, jt: 0, jf: 0, k: l.ret });
      else {
        const d = distance(l, rev.length);
        if (!Number.isFinite(d)) throw new Error(`internal: unbound label ${l.name ?? "?"}`);
        rev.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: d });
      }
      loc.set(l, rev.length - 1);
    };
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i]!;
      if (JMP_CONDITIONAL(op.code)) {
        const jt = op.jt!;
        const jf = op.jf!;
        const targets = jt === jf ? [jt] : [jt, jf];
        // Which targets are out of reach from where the jump lands (after its stubs)?
        let far = targets.filter((l) => distance(l, rev.length) > 255);
        if (far.length > 0 && far.length < targets.length) {
          far = targets.filter((l) => distance(l, rev.length + far.length) > 255);
        }
        for (const l of far) stub(l);
        const at = rev.length;
        rev.push({ code: op.code, jt: distance(jt, at), jf: distance(jf, at), k: op.k });
      } else {
        rev.push({ code: op.code, jt: 0, jf: 0, k: op.k });
      }
      for (const l of this.#at.get(i) ?? []) loc.set(l, rev.length - 1);
    }
    for (const l of this.#bound) {
      if (!loc.has(l)) throw new Error(`internal: label ${l.name ?? "?"} bound past the end`);
    }
    return rev.reverse();
  }
}
