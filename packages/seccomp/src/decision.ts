/**
 * Decision graphs: what a filter decides for one system call, as a DAG of tests on
 * 32-bit words of `struct seccomp_data` with actions at the leaves. Every semantics
 * (runc + libseccomp's, or Forge's "strictest action wins") is turned into one of
 * these per syscall; the compiler emits BPF from them, {@link evaluateDecision} is the
 * reference answer, and two graphs can be compared exactly ({@link decisionDifferences}).
 *
 * Nodes are hash-consed by a {@link DecisionBuilder}: equal sub-graphs are the same
 * object (with the same `id`), across all syscalls of a filter, so the compiler can
 * emit each once and jump to it.
 *
 * @module
 */
import { type Action, actionValue, decodeAction } from "./action.ts";
import type { Operator } from "./profile.ts";

/** A 32-bit word of a syscall argument. */
export interface ArgWord {
  /** Argument index 0..5. */
  readonly arg: number;
  /** The upper half (bits 32..63) instead of the lower. */
  readonly hi: boolean;
}

/** The comparison a test node makes: `(word & mask) OP k`, unsigned. */
export type WordOp = "eq" | "gt" | "ge" | "set";

/** A leaf: the filter returns this action. */
export interface LeafNode {
  readonly kind: "leaf";
  readonly id: number;
  readonly action: Action;
  /** `actionValue(action)`. */
  readonly value: number;
}

/**
 * A test: `(word & mask) OP k` (`set`: `(word & mask & k) != 0`, BPF's `jset`); on
 * true go to `t`, else to `f`.
 */
export interface TestNode {
  readonly kind: "test";
  readonly id: number;
  readonly word: ArgWord;
  readonly op: WordOp;
  readonly k: number;
  /** 0xffffffff when the word is compared whole. */
  readonly mask: number;
  readonly t: DecisionNode;
  readonly f: DecisionNode;
}

/** A node of a decision graph. */
export type DecisionNode = LeafNode | TestNode;

/** A condition on one whole argument (64-bit values), as in a profile rule. */
export interface ArgCondition {
  readonly index: number;
  readonly op: Operator;
  /** The compared value (MASKED_EQ: the mask). */
  readonly value: bigint;
  /** MASKED_EQ: the datum; else 0. */
  readonly valueTwo: bigint;
}

const FULL = 0xffffffff;

/**
 * Builds hash-consed decision graphs: `test(w, op, k, mask, t, f)` returns the one
 * node for that test and those children (or `t` itself when `t === f`).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, evaluateDecision } from "@forge/seccomp";
 * const b = new DecisionBuilder();
 * const allow = b.leaf({ kind: "allow" });
 * const deny = b.leaf({ kind: "errno", data: 1 });
 * const n = b.condition({ index: 1, op: "SCMP_CMP_EQ", value: 0x5412n, valueTwo: 0n }, 32, deny, allow);
 * evaluateDecision(n, [0n, 0x5412n]).kind; // "errno"
 * ```
 */
export class DecisionBuilder {
  #nodes = new Map<string, DecisionNode>();
  #next = 0;

  /** Number of distinct nodes made so far. */
  get size(): number {
    return this.#nodes.size;
  }

  /** The leaf for an action (one per action value). */
  leaf(action: Action): LeafNode {
    const value = actionValue(action) >>> 0;
    const key = `L${value}`;
    const have = this.#nodes.get(key);
    if (have) return have as LeafNode;
    const n: LeafNode = { kind: "leaf", id: this.#next++, action: decodeAction(value), value };
    this.#nodes.set(key, n);
    return n;
  }

  /** The node testing `(word & mask) OP k`. */
  test(
    word: ArgWord,
    op: WordOp,
    k: number,
    mask: number,
    t: DecisionNode,
    f: DecisionNode,
  ): DecisionNode {
    if (t === f) return t;
    k >>>= 0;
    mask >>>= 0;
    // Constant tests.
    if (op === "eq" && (k & ~mask) >>> 0 !== 0) return f;
    if (op === "eq" && mask === 0) return k === 0 ? t : f;
    if (op === "ge" && k === 0) return t;
    if (op === "gt" && k >= mask && mask === FULL) return f;
    if (op === "set" && (k & mask) >>> 0 === 0) return f;
    if (op === "set") {
      k = (k & mask) >>> 0;
      mask = FULL;
    }
    const key = `T${word.arg},${word.hi ? 1 : 0},${op},${k},${mask},${t.id},${f.id}`;
    const have = this.#nodes.get(key);
    if (have) return have;
    const n: TestNode = {
      kind: "test",
      id: this.#next++,
      word: { arg: word.arg, hi: word.hi },
      op,
      k,
      mask,
      t,
      f,
    };
    this.#nodes.set(key, n);
    return n;
  }

  /**
   * The graph of one argument condition: to `t` when it holds, else to `f`. `bits`
   * 32 compares the low word only (rule values taken modulo 2^32); 64 compares both.
   * MASKED_EQ compares `(arg & mask) == (datum & mask)`, as libseccomp does.
   */
  condition(c: ArgCondition, bits: 32 | 64, t: DecisionNode, f: DecisionNode): DecisionNode {
    const v = BigInt.asUintN(64, c.value);
    const lo = Number(v & 0xffffffffn);
    const hi = bits === 32 ? 0 : Number(v >> 32n);
    const L: ArgWord = { arg: c.index, hi: false };
    const H: ArgWord = { arg: c.index, hi: true };
    switch (c.op) {
      case "SCMP_CMP_EQ":
        return bits === 32
          ? this.test(L, "eq", lo, FULL, t, f)
          : this.test(H, "eq", hi, FULL, this.test(L, "eq", lo, FULL, t, f), f);
      case "SCMP_CMP_NE":
        return this.condition({ ...c, op: "SCMP_CMP_EQ" }, bits, f, t);
      case "SCMP_CMP_GT":
      case "SCMP_CMP_GE": {
        const op: WordOp = c.op === "SCMP_CMP_GT" ? "gt" : "ge";
        const low = this.test(L, op, lo, FULL, t, f);
        if (bits === 32) return low;
        return this.test(H, "gt", hi, FULL, t, this.test(H, "eq", hi, FULL, low, f));
      }
      case "SCMP_CMP_LT":
        return this.condition({ ...c, op: "SCMP_CMP_GE" }, bits, f, t);
      case "SCMP_CMP_LE":
        return this.condition({ ...c, op: "SCMP_CMP_GT" }, bits, f, t);
      case "SCMP_CMP_MASKED_EQ": {
        const d = BigInt.asUintN(64, c.valueTwo) & v;
        const dLo = Number(d & 0xffffffffn);
        const dHi = Number(d >> 32n);
        const low = this.test(L, "eq", dLo, lo, t, f);
        if (bits === 32) return low;
        return this.test(H, "eq", dHi, hi, low, f);
      }
    }
  }

  /** All conditions hold (AND, in order): `t`, else `f`. */
  all(
    conds: readonly ArgCondition[],
    bits: 32 | 64,
    t: DecisionNode,
    f: DecisionNode,
  ): DecisionNode {
    let n = t;
    for (let i = conds.length - 1; i >= 0; i--) n = this.condition(conds[i]!, bits, n, f);
    return n;
  }

  /**
   * First match wins: the action of the first rule whose conditions all hold, else
   * `otherwise`.
   */
  firstMatch(
    rules: readonly { readonly conditions: readonly ArgCondition[]; readonly action: Action }[],
    bits: 32 | 64,
    otherwise: DecisionNode,
  ): DecisionNode {
    let n = otherwise;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      n = this.all(r.conditions, bits, this.leaf(r.action), n);
    }
    return n;
  }
}

/** The 32-bit word of an argument list (missing arguments are 0). */
export function argWord(args: readonly bigint[], w: ArgWord): number {
  const v = BigInt.asUintN(64, args[w.arg] ?? 0n);
  return Number(w.hi ? v >> 32n : v & 0xffffffffn);
}

/**
 * Whether a test node's comparison holds for a word value.
 *
 * @example
 * ```ts
 * import { testHolds } from "@forge/seccomp";
 * testHolds("eq", 4, 0xc, 0x14); // true: (0x14 & 0xc) == 4
 * ```
 */
export function testHolds(op: WordOp, k: number, mask: number, word: number): boolean {
  const x = (word & mask) >>> 0;
  switch (op) {
    case "eq":
      return x === k >>> 0;
    case "gt":
      return x > k >>> 0;
    case "ge":
      return x >= k >>> 0;
    case "set":
      return (x & k) >>> 0 !== 0;
  }
}

/**
 * Follows a decision graph for the given arguments (64-bit values; missing ones 0).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, evaluateDecision } from "@forge/seccomp";
 * const b = new DecisionBuilder();
 * evaluateDecision(b.leaf({ kind: "allow" }), []).kind; // "allow"
 * ```
 */
export function evaluateDecision(n: DecisionNode, args: readonly bigint[]): Action {
  let cur = n;
  while (cur.kind === "test") {
    cur = testHolds(cur.op, cur.k, cur.mask, argWord(args, cur.word)) ? cur.t : cur.f;
  }
  return cur.action;
}

/** Every node reachable from `roots`, each once, parents before children. */
export function decisionNodes(roots: readonly DecisionNode[]): DecisionNode[] {
  const seen = new Set<number>();
  const post: DecisionNode[] = [];
  const visit = (root: DecisionNode) => {
    const stack: [DecisionNode, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [n, done] = stack.pop()!;
      if (done) {
        post.push(n);
        continue;
      }
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      stack.push([n, true]);
      if (n.kind === "test") stack.push([n.f, false], [n.t, false]);
    }
  };
  for (const r of roots) visit(r);
  return post.reverse();
}

/** The constants one word is compared with anywhere in a graph (for test vectors). */
export function decisionConstants(roots: readonly DecisionNode[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const n of decisionNodes(roots)) {
    if (n.kind !== "test") continue;
    const key = `${n.word.arg}${n.word.hi ? "h" : "l"}`;
    let s = out.get(key);
    if (!s) {
      s = new Set();
      out.set(key, s);
    }
    s.add(n.k);
    s.add(n.mask);
  }
  return out;
}

/** One class of inputs on which two graphs decide differently, with a witness. */
export interface DecisionDifference {
  /** Arguments that reach both answers (64-bit values). */
  readonly args: bigint[];
  readonly left: Action;
  readonly right: Action;
  /** The tests on the path, e.g. "args[1].lo == 0x5412". */
  readonly path: string[];
}

/** Candidate values of one word under constraints: the constants, their neighbours, masks. */
function candidates(
  cons: readonly { op: WordOp; k: number; mask: number; want: boolean }[],
): number[] {
  const out = new Set<number>([0, 1, FULL, 0x7fffffff, 0x80000000]);
  for (const c of cons) {
    for (const d of [-1, 0, 1]) out.add((c.k + d) >>> 0);
    out.add((c.k | (~c.mask >>> 0)) >>> 0);
    out.add((c.k ^ (c.mask & -c.mask)) >>> 0);
  }
  // Combine equality constraints (the value is forced) with masks of others.
  const eqs = cons.filter((c) => c.op === "eq" && c.want);
  if (eqs.length > 0) {
    let v = 0;
    for (const c of eqs) v = ((v & ~c.mask) | c.k) >>> 0;
    out.add(v);
    for (const c of cons) out.add((v ^ (c.mask & -c.mask)) >>> 0);
  }
  return [...out];
}

function describeTest(n: TestNode, want: boolean): string {
  const w = `args[${n.word.arg}].${n.word.hi ? "hi" : "lo"}`;
  const x = n.mask === FULL ? w : `(${w} & 0x${n.mask.toString(16)})`;
  const sym = { eq: ["==", "!="], gt: [">", "<="], ge: [">=", "<"], set: ["&", "!&"] }[n.op];
  return `${x} ${want ? sym[0] : sym[1]} 0x${n.k.toString(16)}`;
}

/**
 * The input classes on which two decision graphs give different actions: a product
 * walk over both graphs, keeping the tests taken on each word, with a witness found
 * for each class (classes whose constraints have no witness among the candidate
 * values are skipped, so every reported difference is real). At most `limit` results.
 *
 * @example
 * ```ts
 * import { DecisionBuilder, decisionDifferences } from "@forge/seccomp";
 * const b = new DecisionBuilder();
 * const d = b.test({ arg: 0, hi: false }, "eq", 5, 0xffffffff, b.leaf({ kind: "allow" }), b.leaf({ kind: "trap" }));
 * decisionDifferences(d, b.leaf({ kind: "allow" }))[0]?.args[0]; // not 5n
 * ```
 */
export function decisionDifferences(
  left: DecisionNode,
  right: DecisionNode,
  limit = 16,
): DecisionDifference[] {
  const out: DecisionDifference[] = [];
  type Con = { op: WordOp; k: number; mask: number; want: boolean };
  const cons = new Map<string, Con[]>();
  const path: string[] = [];
  const seen = new Set<string>();
  let budget = 200_000;
  const witness = (): bigint[] | undefined => {
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    for (const [key, list] of cons) {
      const found = candidates(list).find((v) =>
        list.every((c) => testHolds(c.op, c.k, c.mask, v) === c.want),
      );
      if (found === undefined) return undefined;
      const arg = Number(key.slice(0, -1));
      const hi = key.endsWith("h");
      const cur = BigInt.asUintN(64, args[arg]!);
      args[arg] = hi
        ? (cur & 0xffffffffn) | (BigInt(found) << 32n)
        : (cur & ~0xffffffffn) | BigInt(found);
    }
    return args;
  };
  const walk = (a: DecisionNode, b: DecisionNode): void => {
    if (out.length >= limit || --budget < 0) return;
    if (a === b) return;
    if (a.kind === "leaf" && b.kind === "leaf") {
      if (a.value === b.value) return;
      const w = witness();
      if (w) out.push({ args: w, left: a.action, right: b.action, path: [...path] });
      return;
    }
    // Memo on node pair plus constraints would be exact but large; pairs without
    // constraints repeat rarely. Key on the pair and the path.
    const key = `${a.id}/${b.id}/${path.join(";")}`;
    if (seen.has(key)) return;
    seen.add(key);
    const n = a.kind === "test" ? a : (b as TestNode);
    const wk = `${n.word.arg}${n.word.hi ? "h" : "l"}`;
    for (const want of [true, false]) {
      const list = cons.get(wk) ?? [];
      const con: Con = { op: n.op, k: n.k, mask: n.mask, want };
      cons.set(wk, [...list, con]);
      if (witness() !== undefined) {
        path.push(describeTest(n, want));
        const step = (x: DecisionNode): DecisionNode => {
          if (x.kind !== "test") return x;
          if (
            x.word.arg === n.word.arg &&
            x.word.hi === n.word.hi &&
            x.op === n.op &&
            x.k === n.k &&
            x.mask === n.mask
          )
            return want ? x.t : x.f;
          return x;
        };
        walk(a === n ? (want ? n.t : n.f) : step(a), b === n ? (want ? n.t : n.f) : step(b));
        path.pop();
      }
      if (list.length === 0) cons.delete(wk);
      else cons.set(wk, list);
    }
  };
  walk(left, right);
  return out;
}

/**
 * Renders a graph as indented text (for `forge seccomp explain` and test failures).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, formatDecision } from "@forge/seccomp";
 * formatDecision(new DecisionBuilder().leaf({ kind: "allow" })); // "ALLOW"
 * ```
 */
export function formatDecision(n: DecisionNode, indent = ""): string {
  if (n.kind === "leaf") return `${indent}${formatLeaf(n.action)}`;
  return [
    `${indent}if ${describeTest(n, true)}:`,
    formatDecision(n.t, `${indent}  `),
    `${indent}else:`,
    formatDecision(n.f, `${indent}  `),
  ].join("\n");
}

function formatLeaf(a: Action): string {
  switch (a.kind) {
    case "errno":
      return `ERRNO(${a.data})`;
    case "trace":
      return `TRACE(${a.data})`;
    default:
      return a.kind.toUpperCase();
  }
}
