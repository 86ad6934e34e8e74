/**
 * The compiler: a resolved profile to a seccomp-BPF program.
 *
 * Shape of the output:
 * 1. `ld [arch]`, one `jeq` per covered audit arch, else `ret KILL_PROCESS`;
 * 2. per audit arch, `ld [nr]` and a balanced binary search (`jge`) over the ranges
 *    of syscall numbers that share one constant action (x86_64 and x32 share one tree:
 *    x32 numbers sit above 0x40000000, so the two are never confused);
 * 3. leaves are `ret ACTION`, or, only for syscalls with argument rules, a block that
 *    checks the rules in precedence order (64-bit compares via both halves; low half
 *    only on 32-bit ABIs).
 * Unconditional syscalls therefore touch only nr and arch, which keeps them in the
 * kernel's constant-action cache. BPF jump offsets are 8 bits: longer jumps go
 * through inserted `ja` trampolines.
 *
 * @module
 */
import type { Arch } from "@forge/libc";
import { type Action, actionValue, SECCOMP_RET, sameAction } from "./action.ts";
import {
  argHi,
  argLo,
  BPF,
  BPF_MAXINSNS,
  encodeFilter,
  type Instruction,
  SECCOMP_DATA,
} from "./bpf.ts";
import { checkFilter } from "./emulator.ts";
import { formatProfileIssue } from "./profile.ts";
import {
  type AbiPlan,
  type Condition,
  NR_NONE,
  type ResolvedProfile,
  type ResolvedRule,
  type ResolveOptions,
  resolveProfile,
  truncateArg,
} from "./resolve.ts";

/** A compiled filter. */
export interface CompiledFilter {
  /** The native architecture it was compiled for. */
  readonly arch: Arch;
  readonly program: readonly Instruction[];
  /** The `struct sock_filter[]` bytes the kernel loads. */
  readonly bytes: Uint8Array;
  /** What the filter implements. */
  readonly resolved: ResolvedProfile;
  /** Overlapping rules with different actions (resolved by precedence). */
  readonly conflicts: readonly string[];
  /** The profile's warnings (`resolved.warnings`) as lines: "FILE:LINE:COLUMN: /pointer: ...". */
  readonly warnings?: readonly string[];
}

/** A compile-time failure that is not the profile's fault (e.g. too long a program). */
export class CompileError extends Error {
  override name = "CompileError";
}

/** Emitting stops past this many instructions (the exact count is reported up to here). */
const EMIT_LIMIT = 4 * BPF_MAXINSNS;

interface Label {
  readonly name?: string;
}

interface Op {
  code: number;
  k: number;
  /** Conditional jumps: targets; JA: `jt` is the target. */
  jt?: Label;
  jf?: Label;
}

class Emitter {
  readonly ops: Op[] = [];
  readonly bound = new Map<Label, Op>();
  #pending: Label[] = [];

  label(name?: string): Label {
    return name === undefined ? {} : { name };
  }
  bind(l: Label): void {
    this.#pending.push(l);
  }
  emit(op: Op): void {
    for (const l of this.#pending) this.bound.set(l, op);
    this.#pending = [];
    this.ops.push(op);
    // Far too long to load: stop here rather than build (and link) all of it.
    if (this.ops.length > EMIT_LIMIT) {
      throw new CompileError(
        `the filter has more than ${EMIT_LIMIT} instructions; the kernel loads at most ${BPF_MAXINSNS}. Merge rules or split the profile into stacked filters`,
      );
    }
  }
  ld(offset: number): void {
    this.emit({ code: BPF.LD | BPF.W | BPF.ABS, k: offset });
  }
  ret(value: number): void {
    this.emit({ code: BPF.RET | BPF.K, k: value >>> 0 });
  }
  jmp(op: number, k: number, jt: Label, jf: Label): void {
    this.emit({ code: BPF.JMP | op | BPF.K, k: k >>> 0, jt, jf });
  }
  and(k: number): void {
    this.emit({ code: BPF.ALU | BPF.AND | BPF.K, k: k >>> 0 });
  }

  /** Resolves labels, inserting `ja` trampolines for jumps longer than 255. */
  link(): Instruction[] {
    if (this.#pending.length > 0) throw new CompileError("internal: a label is bound past the end");
    const ops = this.ops;
    for (let round = 0; ; round++) {
      if (round > 64) throw new CompileError("internal: trampoline insertion does not converge");
      const pos = new Map<Op, number>();
      ops.forEach((o, i) => {
        pos.set(o, i);
      });
      const target = (l: Label, from: number): number => {
        const t = this.bound.get(l);
        const p = t === undefined ? undefined : pos.get(t);
        if (p === undefined) throw new CompileError(`internal: unbound label ${l.name ?? "?"}`);
        if (p <= from) throw new CompileError(`internal: backward jump to ${l.name ?? "?"}`);
        return p - from - 1;
      };
      let inserted = false;
      for (let i = 0; i < ops.length; i++) {
        const o = ops[i]!;
        if ((o.code & 0x07) !== BPF.JMP || (o.code & 0xf0) === BPF.JA || !o.jt || !o.jf) continue;
        const far: Label[] = [];
        if (target(o.jt, i) > 255) far.push(o.jt);
        if (target(o.jf, i) > 255 && o.jf !== o.jt) far.push(o.jf);
        if (far.length === 0) continue;
        // Trampolines right after the jump: nothing falls through into them.
        const tramps = far.map((l) => {
          const t: Op = { code: BPF.JMP | BPF.JA, k: 0, jt: l };
          const tl: Label = { name: `tramp-${l.name ?? ""}` };
          this.bound.set(tl, t);
          return [l, tl, t] as const;
        });
        ops.splice(i + 1, 0, ...tramps.map(([, , t]) => t));
        for (const [l, tl] of tramps) {
          if (o.jt === l) o.jt = tl;
          if (o.jf === l) o.jf = tl;
        }
        inserted = true;
        break;
      }
      if (inserted) continue;
      return ops.map((o, i) => {
        if ((o.code & 0x07) !== BPF.JMP) return { code: o.code, jt: 0, jf: 0, k: o.k >>> 0 };
        if ((o.code & 0xf0) === BPF.JA) return { code: o.code, jt: 0, jf: 0, k: target(o.jt!, i) };
        return { code: o.code, jt: target(o.jt!, i), jf: target(o.jf!, i), k: o.k >>> 0 };
      });
    }
  }
}

type Leaf =
  | { readonly kind: "ret"; readonly value: number }
  | {
      readonly kind: "rules";
      readonly abi: AbiPlan;
      readonly nr: number;
      readonly rules: readonly ResolvedRule[];
    };

interface Range {
  readonly start: number;
  readonly leaf: Leaf;
}

/** Condition codes after constant folding. */
type Folded = "true" | "false" | Condition;

function fold(c: Condition, bits: 32 | 64): Folded {
  const max = bits === 32 ? 0xffffffffn : 0xffffffffffffffffn;
  const v = truncateArg(c.value, bits);
  switch (c.op) {
    case "SCMP_CMP_GE":
      return v === 0n ? "true" : c;
    case "SCMP_CMP_LT":
      return v === 0n ? "false" : c;
    case "SCMP_CMP_LE":
      return v === max ? "true" : c;
    case "SCMP_CMP_GT":
      return v === max ? "false" : c;
    case "SCMP_CMP_MASKED_EQ": {
      const d = truncateArg(c.valueTwo, bits);
      if ((d & ~v & max) !== 0n) return "false";
      if (v === 0n) return "true";
      return c;
    }
    default:
      return c;
  }
}

/** The rules of a syscall that can still match, and whether the result is constant. */
function simplify(
  rules: readonly ResolvedRule[],
  bits: 32 | 64,
  def: Action,
): { live: { rule: ResolvedRule; conds: Condition[] }[]; constant?: number } {
  const live: { rule: ResolvedRule; conds: Condition[] }[] = [];
  for (const rule of rules) {
    const folded = rule.conditions.map((c) => fold(c, bits));
    if (folded.includes("false")) continue;
    const conds = folded.filter((f): f is Condition => f !== "true");
    live.push({ rule, conds });
    if (conds.length === 0) break; // everything after an unconditional rule is dead
  }
  // Trailing rules whose action is the default change nothing.
  while (live.length > 0 && sameAction(live[live.length - 1]!.rule.action, def)) live.pop();
  if (live.length === 0) return { live, constant: actionValue(def) };
  if (live[0]!.conds.length === 0) return { live, constant: actionValue(live[0]!.rule.action) };
  return { live };
}

function emitCondition(e: Emitter, c: Condition, bits: 32 | 64, pass: Label, fail: Label): void {
  const v = truncateArg(c.value, bits);
  const lo = Number(v & 0xffffffffn);
  const hi = Number(v >> 32n);
  const next = () => {
    const l = e.label();
    return l;
  };
  if (bits === 32) {
    e.ld(argLo(c.index));
    switch (c.op) {
      case "SCMP_CMP_EQ":
        e.jmp(BPF.JEQ, lo, pass, fail);
        return;
      case "SCMP_CMP_NE":
        e.jmp(BPF.JEQ, lo, fail, pass);
        return;
      case "SCMP_CMP_GT":
        e.jmp(BPF.JGT, lo, pass, fail);
        return;
      case "SCMP_CMP_GE":
        e.jmp(BPF.JGE, lo, pass, fail);
        return;
      case "SCMP_CMP_LT":
        e.jmp(BPF.JGE, lo, fail, pass);
        return;
      case "SCMP_CMP_LE":
        e.jmp(BPF.JGT, lo, fail, pass);
        return;
      case "SCMP_CMP_MASKED_EQ": {
        const d = Number(truncateArg(c.valueTwo, 32));
        if (lo !== 0xffffffff) e.and(lo);
        e.jmp(BPF.JEQ, d, pass, fail);
        return;
      }
    }
  }
  switch (c.op) {
    case "SCMP_CMP_EQ":
    case "SCMP_CMP_NE": {
      const [t, f] = c.op === "SCMP_CMP_EQ" ? [pass, fail] : [fail, pass];
      const l = next();
      e.ld(argHi(c.index));
      e.jmp(BPF.JEQ, hi, l, f);
      e.bind(l);
      e.ld(argLo(c.index));
      e.jmp(BPF.JEQ, lo, t, f);
      return;
    }
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE": {
      // GT/GE decide "above"; LT/LE are their negations.
      const above = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_GE";
      const [t, f] = above ? [pass, fail] : [fail, pass];
      const loOp = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_LE" ? BPF.JGT : BPF.JGE;
      e.ld(argHi(c.index));
      if (hi !== 0xffffffff) {
        const l = next();
        e.jmp(BPF.JGT, hi, t, l);
        e.bind(l);
      }
      if (hi !== 0) {
        const l = next();
        e.jmp(BPF.JEQ, hi, l, f);
        e.bind(l);
      }
      e.ld(argLo(c.index));
      e.jmp(loOp, lo, t, f);
      return;
    }
    case "SCMP_CMP_MASKED_EQ": {
      const d = truncateArg(c.valueTwo, 64);
      const [mHi, mLo] = [Number(v >> 32n), Number(v & 0xffffffffn)];
      const [dHi, dLo] = [Number(d >> 32n), Number(d & 0xffffffffn)];
      if (mHi !== 0) {
        const l = mLo !== 0 ? next() : pass;
        e.ld(argHi(c.index));
        if (mHi !== 0xffffffff) e.and(mHi);
        e.jmp(BPF.JEQ, dHi, l, fail);
        if (mLo === 0) return;
        e.bind(l);
      }
      e.ld(argLo(c.index));
      if (mLo !== 0xffffffff) e.and(mLo);
      e.jmp(BPF.JEQ, dLo, pass, fail);
      return;
    }
  }
}

function emitRules(e: Emitter, leaf: Extract<Leaf, { kind: "rules" }>, def: Action): void {
  const { live } = simplify(leaf.rules, leaf.abi.argBits, def);
  for (const { rule, conds } of live) {
    if (conds.length === 0) {
      // Unconditional: the rules after it were dropped by simplify().
      e.ret(actionValue(rule.action));
      return;
    }
    const failL = e.label(`rule${rule.source}-fail`);
    for (let i = 0; i < conds.length; i++) {
      const passL = e.label();
      emitCondition(e, conds[i]!, leaf.abi.argBits, passL, failL);
      e.bind(passL);
    }
    e.ret(actionValue(rule.action));
    e.bind(failL);
  }
  e.ret(actionValue(def));
}

function ranges(group: readonly AbiPlan[], r: ResolvedProfile): Range[] {
  const def = actionValue(r.defaultAction);
  const bad = actionValue(r.badArchAction);
  const points: Range[] = [];
  const push = (start: number, leaf: Leaf) => {
    if (points.length > 0 && points[points.length - 1]!.start === start) points.pop();
    const last = points[points.length - 1];
    if (last && last.leaf.kind === "ret" && leaf.kind === "ret" && last.leaf.value === leaf.value)
      return;
    points.push({ start, leaf });
  };
  const abis = [...group].sort((a, b) => a.nrRange[0] - b.nrRange[0]);
  let cursor = 0;
  for (const abi of abis) {
    const [lo, hi] = abi.nrRange;
    if (lo > cursor) push(cursor, { kind: "ret", value: bad });
    push(lo, { kind: "ret", value: def });
    const nrs = [...abi.rules.keys()].filter((n) => n >= lo && n <= hi).sort((a, b) => a - b);
    for (const nr of nrs) {
      const rules = abi.rules.get(nr)!;
      const s = simplify(rules, abi.argBits, r.defaultAction);
      push(
        nr,
        s.constant !== undefined
          ? { kind: "ret", value: s.constant }
          : { kind: "rules", abi, nr, rules },
      );
      if (nr < hi) push(nr + 1, { kind: "ret", value: def });
    }
    cursor = hi + 1;
  }
  // Number -1 is no call (tracers use it to skip one): the default action, never the
  // bad-arch one, even where no covered ABI owns it (x86_64 without x32), as libseccomp.
  if (cursor < NR_NONE) push(cursor, { kind: "ret", value: bad });
  if (cursor <= NR_NONE) push(NR_NONE, { kind: "ret", value: def });
  return points;
}

function emitTree(e: Emitter, rs: readonly Range[], i: number, j: number, def: Action): void {
  if (i === j) {
    const leaf = rs[i]!.leaf;
    if (leaf.kind === "ret") e.ret(leaf.value);
    else emitRules(e, leaf, def);
    return;
  }
  const mid = (i + j + 1) >> 1;
  const right = e.label(`nr>=${rs[mid]!.start}`);
  const left = e.label();
  e.jmp(BPF.JGE, rs[mid]!.start, right, left);
  e.bind(left);
  emitTree(e, rs, i, mid - 1, def);
  e.bind(right);
  emitTree(e, rs, mid, j, def);
}

/**
 * Compiles a resolved profile to BPF. Throws a {@link CompileError} when the result
 * would not load (longer than 4096 instructions).
 *
 * @example
 * ```ts
 * import { compileResolved, resolveProfile } from "@forge/seccomp";
 * const f = compileResolved(resolveProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" }));
 * f.program.length; // 7
 * ```
 */
export function compileResolved(r: ResolvedProfile): CompiledFilter {
  const e = new Emitter();
  // Group ABIs by audit arch, target's group first.
  const groups = new Map<number, AbiPlan[]>();
  for (const abi of r.abis) {
    const g = groups.get(abi.auditArch);
    if (g) g.push(abi);
    else groups.set(abi.auditArch, [abi]);
  }
  const entries = [...groups.entries()];
  const labels = entries.map(([a]) => e.label(`arch-0x${a.toString(16)}`));
  e.ld(SECCOMP_DATA.ARCH);
  entries.forEach(([audit], i) => {
    const next = e.label();
    e.jmp(BPF.JEQ, audit, labels[i]!, next);
    e.bind(next);
  });
  e.ret(actionValue(r.badArchAction));
  entries.forEach(([, group], i) => {
    e.bind(labels[i]!);
    e.ld(SECCOMP_DATA.NR);
    const rs = ranges(group, r);
    emitTree(e, rs, 0, rs.length - 1, r.defaultAction);
  });
  // Linking only adds trampolines: a program already too long is refused before it.
  if (e.ops.length > BPF_MAXINSNS) {
    throw new CompileError(
      `the filter has at least ${e.ops.length} instructions; the kernel loads at most ${BPF_MAXINSNS}. Merge rules or split the profile into stacked filters`,
    );
  }
  const program = e.link();
  if (program.length > BPF_MAXINSNS) {
    throw new CompileError(
      `the filter has ${program.length} instructions; the kernel loads at most ${BPF_MAXINSNS}. Merge rules or split the profile into stacked filters`,
    );
  }
  const problems = checkFilter(program);
  if (problems.length > 0)
    throw new CompileError(`internal: the compiled filter is invalid: ${problems.join("; ")}`);
  return {
    arch: r.target,
    program,
    bytes: encodeFilter(program),
    resolved: r,
    conflicts: r.conflicts,
    warnings: (r.warnings ?? []).map((w) => formatProfileIssue(w, r.source)),
  };
}

/**
 * Validates, resolves and compiles a profile for an architecture (default: the host's).
 * Throws a ProfileError listing every problem of a bad profile.
 *
 * @example
 * ```ts
 * import { compileProfile } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] }, { arch: "x86_64" });
 * console.log(f.bytes.length / 8, "instructions");
 * ```
 */
export function compileProfile(
  profile: unknown,
  opts: ResolveOptions = {},
  source?: string,
): CompiledFilter {
  return compileResolved(resolveProfile(profile, opts, source));
}

/** The return value for calls from an architecture a filter does not cover. */
export const BAD_ARCH_VALUE: number = SECCOMP_RET.KILL_PROCESS;
