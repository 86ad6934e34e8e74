/**
 * Path specialisation of decision graphs (private to the compiler): rebuilds graphs
 * into a fresh {@link DecisionBuilder}, dropping every test that the tests above it on
 * the path already decide. A node shared by paths that know different things is split
 * into one copy per relevant context (memoised on the node and the facts about the
 * words its sub-graph tests), and the copies are hash-consed again, so equal results
 * stay one node across syscalls and ABIs.
 *
 * This is what merges the rules of one syscall: with rules `a1 == v_i` on a 64-bit
 * ABI, each rule tests `a1.hi == 0` then `a1.lo == v_i`; after the first `a1.hi == 0`
 * the others are decided, so the graph becomes one `a1.hi` test over one chain of
 * `a1.lo` tests (the same chain a 32-bit ABI has, so both share it).
 *
 * Bounded: past a step budget, or when the copies outgrow the input, the rest is
 * copied unchanged, which is always correct.
 *
 * @module
 */

import { factAssume, factDecides, factKey, TOP_FACT, type WordFact } from "./_emit_facts.ts";
import { DecisionBuilder, type DecisionNode, type TestNode } from "./decision.ts";

/**
 * Steps (nodes visited under a context) before the rest is copied unspecialised: a
 * fixed part plus a multiple of the input graphs' size (real profiles take at most
 * ~1.5 steps per node, random ones ~6).
 */
const STEP_BUDGET_FIXED = 20_000;
const STEP_BUDGET_PER_NODE = 8;
/**
 * Copies of nodes under different contexts can outgrow what they save: past this size
 * of the output (a fixed part plus a multiple of the input's), the rest is copied.
 */
const GROWTH_FIXED = 1000;
const GROWTH_PER_NODE = 1;

/** The slot (0..11) of an argument word: 2 * arg + (hi ? 1 : 0). */
export function wordSlot(w: { readonly arg: number; readonly hi: boolean }): number {
  return w.arg * 2 + (w.hi ? 1 : 0);
}

type Context = readonly (WordFact | undefined)[];
const EMPTY: Context = [];

/**
 * Specialises decision graphs along their paths into a builder of its own.
 *
 * @example
 * ```ts
 * const s = new Specializer(roots);
 * const simpler = s.specialize(roots[0]);
 * ```
 */
export class Specializer {
  /** The builder the results live in (leaves: `builder.leaf(action)`). */
  readonly builder = new DecisionBuilder();
  #memo = new Map<string, DecisionNode>();
  /** Facts interned as small numbers (memo keys stay short): by text, and by object. */
  #factIds = new Map<string, number>();
  #factOf = new WeakMap<WordFact, number>();
  #copied = new Map<DecisionNode, DecisionNode>();
  /**
   * Per input node: a number of its own (ids are unique only within one builder, and
   * callers may mix graphs of several) and the bit mask of the word slots its
   * sub-graph tests.
   */
  #info = new Map<DecisionNode, { readonly uid: number; readonly words: number }>();
  #steps = 0;
  readonly #budget: number;
  readonly #maxSize: number;

  constructor(roots: readonly DecisionNode[]) {
    // Children before parents (iterative: any depth).
    for (const root of roots) {
      const stack: [DecisionNode, boolean][] = [[root, false]];
      while (stack.length > 0) {
        const [n, done] = stack.pop()!;
        if (this.#info.has(n)) continue;
        if (n.kind === "leaf") {
          this.#info.set(n, { uid: this.#info.size, words: 0 });
        } else if (done) {
          const words =
            (1 << wordSlot(n.word)) | this.#info.get(n.t)!.words | this.#info.get(n.f)!.words;
          this.#info.set(n, { uid: this.#info.size, words });
        } else stack.push([n, true], [n.f, false], [n.t, false]);
      }
    }
    this.#budget = STEP_BUDGET_FIXED + STEP_BUDGET_PER_NODE * this.#info.size;
    this.#maxSize = GROWTH_FIXED + GROWTH_PER_NODE * this.#info.size;
  }

  /** Distinct nodes of the input graphs. */
  get inputSize(): number {
    return this.#info.size;
  }

  /** Steps taken so far (nodes visited under a context). */
  get steps(): number {
    return this.#steps;
  }

  /** The graph of `root` with every test decided by the tests above it removed. */
  specialize(root: DecisionNode): DecisionNode {
    // Iterative (an explicit stack): rule chains are thousands of tests deep, and deep
    // JavaScript recursion is slow (every frame is deoptimised when code changes).
    interface Frame {
      readonly n: TestNode;
      readonly key: string;
      /** The contexts of the branches that can be taken (undefined: dead). */
      readonly tCtx: Context | undefined;
      readonly fCtx: Context | undefined;
      t?: DecisionNode;
      f?: DecisionNode;
      /** 0: t next, 1: computing t, 2: computing f. */
      phase: 0 | 1 | 2;
    }
    const stack: Frame[] = [];
    /** The result for `start` under `ctx`, or undefined after pushing a frame for it. */
    const open = (start: DecisionNode, ctx: Context): DecisionNode | undefined => {
      let n = start;
      for (;;) {
        if (n.kind === "leaf") return this.builder.leaf(n.action);
        if (++this.#steps > this.#budget || this.builder.size > this.#maxSize) return this.copy(n);
        const fact = ctx[wordSlot(n.word)] ?? TOP_FACT;
        const d = factDecides(fact, n.op, n.k, n.mask);
        if (d === undefined) break;
        n = d ? n.t : n.f;
      }
      const info = this.#info.get(n);
      if (info === undefined) return this.copy(n);
      let key = `${info.uid}`;
      for (let s = 0; s < 12; s++) {
        const f = ctx[s];
        if (f && (info.words >> s) & 1) {
          const id = this.#factId(f);
          if (id > 0) key += `|${s}:${id}`;
        }
      }
      const have = this.#memo.get(key);
      if (have) return have;
      const slot = wordSlot(n.word);
      const fact = ctx[slot] ?? TOP_FACT;
      const ft = factAssume(fact, n.op, n.k, n.mask, true);
      const ff = factAssume(fact, n.op, n.k, n.mask, false);
      if (ft === null && ff === null) return this.copy(n); // unreachable: anything is right
      const under = (f: WordFact): Context => {
        const c = ctx.slice();
        c[slot] = f;
        return c;
      };
      stack.push({
        n,
        key,
        tCtx: ft ? under(ft) : undefined,
        fCtx: ff ? under(ff) : undefined,
        phase: 0,
      });
      return undefined;
    };
    const first = open(root, EMPTY);
    if (first) return first;
    for (;;) {
      const top = stack[stack.length - 1]!;
      if (top.phase === 0) {
        top.phase = 1;
        if (top.tCtx) {
          const r = open(top.n.t, top.tCtx);
          if (!r) continue;
          top.t = r;
        }
      }
      if (top.phase === 1) {
        top.phase = 2;
        if (top.fCtx) {
          const r = open(top.n.f, top.fCtx);
          if (!r) continue;
          top.f = r;
        }
      }
      stack.pop();
      const { n } = top;
      const out = !top.tCtx
        ? top.f!
        : !top.fCtx
          ? top.t!
          : this.builder.test(n.word, n.op, n.k, n.mask, top.t!, top.f!);
      this.#memo.set(top.key, out);
      const parent = stack[stack.length - 1];
      if (!parent) return out;
      if (parent.phase === 1) parent.t = out;
      else parent.f = out;
    }
  }

  /** A number for a fact (equal facts, equal numbers; 0: nothing known). */
  #factId(f: WordFact): number {
    let id = this.#factOf.get(f);
    if (id === undefined) {
      const text = factKey(f);
      id = text === "" ? 0 : this.#factIds.get(text);
      if (id === undefined) {
        id = this.#factIds.size + 1;
        this.#factIds.set(text, id);
      }
      this.#factOf.set(f, id);
    }
    return id;
  }

  /** The graph of `root` unchanged, in this builder (iterative: any depth). */
  copy(root: DecisionNode): DecisionNode {
    const have = this.#copied.get(root);
    if (have) return have;
    // Children before parents, stopping at nodes already copied.
    const stack: [DecisionNode, boolean][] = [[root, false]];
    const seen = new Set<DecisionNode>();
    while (stack.length > 0) {
      const [n, done] = stack.pop()!;
      if (this.#copied.has(n)) continue;
      if (n.kind === "leaf") {
        this.#copied.set(n, this.builder.leaf(n.action));
        continue;
      }
      if (done) {
        const t = this.#copied.get(n.t)!;
        const f = this.#copied.get(n.f)!;
        this.#copied.set(n, this.builder.test(n.word, n.op, n.k, n.mask, t, f));
        continue;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push([n, true], [n.f, false], [n.t, false]);
    }
    return this.#copied.get(root)!;
  }
}
