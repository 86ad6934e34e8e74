/**
 * Switch planning (private to the compiler): how to dispatch on one 32-bit value (the
 * syscall number, or an argument word compared with many constants) to the targets of
 * a piecewise-constant map, in the fewest BPF jumps and then the fewest executed.
 *
 * The plan is a `jge` tree whose leaves are blocks of consecutive segments; a block is
 * a libseccomp-style linear list: one test per segment that differs from the block's
 * background target (`jeq` for a single value, a range test otherwise), then the
 * background. A dynamic program over the segments picks the blocks exactly, in
 * O(segments · targets): a block costs its tests, each extra block one `jge`. So
 * isolated numbers cost one `jeq` each (never two bounds), runs of numbers with one
 * target cost one bound, and the result is never longer than a pure tree or a pure
 * list. The tree costs the same whatever its shape, so it is shaped for the shortest
 * worst path.
 *
 * @module
 */

/** One piece of the map: values `lo..hi` (inclusive) go to `target`. */
export interface Segment<T> {
  readonly lo: number;
  readonly hi: number;
  readonly target: T;
  /** How often the values are expected (balances the tree, orders lists); > 0. */
  readonly weight: number;
}

/** A test of a linear list: values `lo..hi` go to `target`. */
export interface ChainTest<T> {
  readonly lo: number;
  readonly hi: number;
  readonly target: T;
}

/** A dispatch plan over an interval of values. */
export type SwitchPlan<T> =
  | { readonly kind: "goto"; readonly target: T }
  | {
      readonly kind: "split";
      /** `jge at`: values >= at go `above`. */
      readonly at: number;
      readonly below: SwitchPlan<T>;
      readonly above: SwitchPlan<T>;
    }
  | {
      readonly kind: "chain";
      /** The values that reach the list. */
      readonly lo: number;
      readonly hi: number;
      readonly tests: readonly ChainTest<T>[];
      readonly otherwise: T;
    };

/**
 * Merges adjacent segments with the same target (they must be sorted and contiguous).
 *
 * @example
 * ```ts
 * mergeSegments([{ lo: 0, hi: 0, target: "a", weight: 1 }, { lo: 1, hi: 9, target: "a", weight: 1 }]).length; // 1
 * ```
 */
export function mergeSegments<T>(segs: readonly Segment<T>[]): Segment<T>[] {
  const out: Segment<T>[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.target === s.target && last.hi + 1 === s.lo) {
      out[out.length - 1] = {
        lo: last.lo,
        hi: s.hi,
        target: s.target,
        weight: last.weight + s.weight,
      };
    } else out.push(s);
  }
  return out;
}

/** The instructions a plan emits. */
export function planLength<T>(p: SwitchPlan<T>): number {
  switch (p.kind) {
    case "goto":
      return 0;
    case "split":
      return 1 + planLength(p.below) + planLength(p.above);
    case "chain":
      return p.tests.reduce((n, t) => n + chainTestLength(t, p.lo, p.hi), 0);
  }
}

/**
 * The most instructions a plan runs before it reaches a target, plus `extra(target)`
 * (what the target runs).
 */
export function planWorst<T>(p: SwitchPlan<T>, extra: (target: T) => number): number {
  switch (p.kind) {
    case "goto":
      return extra(p.target);
    case "split":
      return 1 + Math.max(planWorst(p.below, extra), planWorst(p.above, extra));
    case "chain": {
      let ran = 0;
      let worst = 0;
      for (const t of p.tests) {
        const n = chainTestLength(t, p.lo, p.hi);
        // A two-jump range test can leave after its first jump (to the next test).
        ran += n;
        worst = Math.max(worst, ran + extra(t.target));
      }
      return Math.max(worst, ran + extra(p.otherwise));
    }
  }
}

/** A chain test costs one jump for a single value or a range touching the block's edge, else two. */
export function chainTestLength(t: ChainTest<unknown>, lo: number, hi: number): number {
  return t.lo === t.hi || t.lo === lo || t.hi === hi ? 1 : 2;
}

/** Up to this many blocks the tree's worst path is minimised exactly (O(b² log b)). */
const MINIMAX_BLOCKS = 1024;

/** Cells (segments × candidate backgrounds) the block DP may use. */
const DP_CELLS = 4_000_000;

interface Block {
  readonly i: number;
  readonly j: number;
  readonly background: number;
}

/**
 * Plans the dispatch of sorted, contiguous segments: the fewest instructions; among
 * plans of equal length, the one with the most blocks (shorter lists, so fewer
 * instructions executed); the `jge` tree over the blocks has the shortest worst path
 * (then the best weight balance), counting `extra(target)` for what a target runs
 * itself; each list tests its heaviest segments first.
 *
 * @example
 * ```ts
 * const p = planSwitch([
 *   { lo: 0, hi: 4, target: "deny", weight: 1 },
 *   { lo: 5, hi: 5, target: "allow", weight: 1 },
 *   { lo: 6, hi: 0xffffffff, target: "deny", weight: 1 },
 * ]);
 * p.kind; // "chain": one jeq
 * ```
 */
export function planSwitch<T>(
  segments: readonly Segment<T>[],
  extra: (target: T) => number = () => 0,
): SwitchPlan<T> {
  const segs = mergeSegments(segments);
  const m = segs.length;
  if (m === 1) return { kind: "goto", target: segs[0]!.target };
  if (m === 2) {
    // One bound (the most common map: a single test).
    const [below, above] = [segs[0]!.target, segs[1]!.target];
    return {
      kind: "split",
      at: segs[1]!.lo,
      below: { kind: "goto", target: below },
      above: { kind: "goto", target: above },
    };
  }
  // Targets as small integers.
  const index = new Map<T, number>();
  const tOf = new Int32Array(m);
  segs.forEach((s, i) => {
    let t = index.get(s.target);
    if (t === undefined) {
      t = index.size;
      index.set(s.target, t);
    }
    tOf[i] = t;
  });
  const targets = [...index.keys()];
  const w = segs.map((g) => g.weight);
  const cost = segs.map((g) => (g.lo === g.hi ? 1 : 2));
  // Backgrounds considered: every target, or for huge maps the ones that would save
  // the most (a block whose background it lacks just tests every segment: still right).
  let candidates = targets.map((_, i) => i);
  if (m * targets.length > DP_CELLS) {
    const saved = new Float64Array(targets.length);
    for (let i = 0; i < m; i++) saved[tOf[i]!] += cost[i]!;
    candidates = candidates
      .sort((a, c) => saved[c]! - saved[a]!)
      .slice(0, Math.max(1, Math.floor(DP_CELLS / m)));
  }
  const nT = candidates.length;
  // One pass over the segments, for every possible background B of the block the
  // segment is in: len[B] = fewest instructions for the segments so far with the last
  // block's background B; a segment continues the block (free when its target is B,
  // else its test) or starts a new one behind one more jge. Ties prefer more blocks
  // (shorter lists run fewer instructions). O(segments * targets).
  let len = new Float64Array(nT);
  let blocks = new Float64Array(nT);
  let nextLen = new Float64Array(nT);
  let nextBlocks = new Float64Array(nT);
  /** split[s * nT + B]: segment s starts a block with background B. */
  const split = new Uint8Array(m * nT);
  /** The best background after segment s (where a block starting at s + 1 comes from). */
  const bestAfter = new Int32Array(m);
  const better = (l1: number, b1: number, l2: number, b2: number) =>
    l1 < l2 || (l1 === l2 && b1 > b2);
  for (let B = 0; B < nT; B++) {
    len[B] = tOf[0] === candidates[B] ? 0 : cost[0]!;
    blocks[B] = 1;
    split[B] = 1;
  }
  for (let s = 0; ; s++) {
    let best = 0;
    for (let B = 1; B < nT; B++)
      if (better(len[B]!, blocks[B]!, len[best]!, blocks[best]!)) best = B;
    bestAfter[s] = best;
    if (s === m - 1) break;
    const t = tOf[s + 1]!;
    const c = cost[s + 1]!;
    const splitLen = len[best]! + 1;
    const splitBlocks = blocks[best]! + 1;
    for (let B = 0; B < nT; B++) {
      const here = t === candidates[B] ? 0 : c;
      const l = len[B]! + here;
      const b = blocks[B]!;
      if (better(splitLen + here, splitBlocks, l, b)) {
        nextLen[B] = splitLen + here;
        nextBlocks[B] = splitBlocks;
        split[(s + 1) * nT + B] = 1;
      } else {
        nextLen[B] = l;
        nextBlocks[B] = b;
      }
    }
    [len, nextLen] = [nextLen, len];
    [blocks, nextBlocks] = [nextBlocks, blocks];
  }
  const chosen: Block[] = [];
  let B = bestAfter[m - 1]!;
  let j = m - 1;
  for (let s = m - 1; s >= 0; s--) {
    if (split[s * nT + B]) {
      chosen.push({ i: s, j, background: candidates[B]! });
      j = s - 1;
      if (s > 0) B = bestAfter[s - 1]!;
    }
  }
  chosen.reverse();
  const blockPlan = (b: Block): SwitchPlan<T> => {
    const lo = segs[b.i]!.lo;
    const hi = segs[b.j]!.hi;
    const tests: (ChainTest<T> & { weight: number })[] = [];
    for (let s = b.i; s <= b.j; s++) {
      if (tOf[s] === b.background) continue;
      const g = segs[s]!;
      tests.push({ lo: g.lo, hi: g.hi, target: g.target, weight: g.weight });
    }
    if (tests.length === 0) return { kind: "goto", target: targets[b.background]! };
    // Heavier values first (fewer executed); stable for equal weights (by value).
    tests.sort((a, c) => c.weight - a.weight || a.lo - c.lo);
    return {
      kind: "chain",
      lo,
      hi,
      tests: tests.map(({ lo, hi, target }) => ({ lo, hi, target })),
      otherwise: targets[b.background]!,
    };
  };
  const bw = chosen.map((b) => {
    let s = 0;
    for (let x = b.i; x <= b.j; x++) s += w[x]!;
    return s;
  });
  const prefix = [0];
  for (const x of bw) prefix.push(prefix[prefix.length - 1]! + x);
  const plans = chosen.map(blockPlan);
  // The jge tree over the blocks costs one jge per block but the first, whatever its
  // shape: shape it for the worst path (depth + the block's list) first, then for
  // weight balance. worst(a, z) is the best worst path over blocks a..z.
  const b = chosen.length;
  const exact = b <= MINIMAX_BLOCKS;
  const worstTable = exact ? new Uint32Array(b * b) : undefined;
  const worst = (a: number, z: number): number => worstTable![a * b + z]!;
  if (worstTable) {
    for (let a = 0; a < b; a++) worstTable[a * b + a] = planWorst(plans[a]!, extra);
    for (let len = 2; len <= b; len++) {
      for (let a = 0; a + len - 1 < b; a++) {
        const z = a + len - 1;
        // worst(a, s-1) grows with s and worst(s, z) shrinks: find where they cross.
        let lo = a + 1;
        let hi = z;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (worst(a, mid - 1) >= worst(mid, z)) hi = mid;
          else lo = mid + 1;
        }
        let best = Math.max(worst(a, lo - 1), worst(lo, z));
        if (lo > a + 1) best = Math.min(best, Math.max(worst(a, lo - 2), worst(lo - 1, z)));
        worstTable[a * b + z] = 1 + best;
      }
    }
  }
  const tree = (a: number, z: number): SwitchPlan<T> => {
    if (a === z) return plans[a]!;
    const half = (prefix[a]! + prefix[z + 1]!) / 2;
    let s = a + 1;
    let bestWorst = Number.POSITIVE_INFINITY;
    let bestGap = Number.POSITIVE_INFINITY;
    for (let x = a + 1; x <= z; x++) {
      const wst = exact ? Math.max(worst(a, x - 1), worst(x, z)) : 0;
      const gap = Math.abs(prefix[x]! - half);
      if (wst < bestWorst || (wst === bestWorst && gap < bestGap)) {
        bestWorst = wst;
        bestGap = gap;
        s = x;
      }
    }
    return {
      kind: "split",
      at: segs[chosen[s]!.i]!.lo,
      below: tree(a, s - 1),
      above: tree(s, z),
    };
  };
  return tree(0, chosen.length - 1);
}
