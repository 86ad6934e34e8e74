import fc from "fast-check";
import { expect, test } from "vitest";
import {
  mergeSegments,
  planLength,
  planSwitch,
  type Segment,
  type SwitchPlan,
} from "./_emit_switch.ts";

const FULL = 0xffffffff;

function evaluate<T>(p: SwitchPlan<T>, x: number): T {
  switch (p.kind) {
    case "goto":
      return p.target;
    case "split":
      return evaluate(x >= p.at ? p.above : p.below, x);
    case "chain":
      for (const t of p.tests) if (t.lo <= x && x <= t.hi) return t.target;
      return p.otherwise;
  }
}

/** The length model the planner minimises: 1 per jge and single value, 2 per range test. */
function modelLength<T>(p: SwitchPlan<T>): number {
  switch (p.kind) {
    case "goto":
      return 0;
    case "split":
      return 1 + modelLength(p.below) + modelLength(p.above);
    case "chain":
      return p.tests.reduce((n, t) => n + (t.lo === t.hi ? 1 : 2), 0);
  }
}

/** The optimum of that model by brute force: every partition into blocks and background. */
function bruteForce(segs: readonly Segment<string>[]): number {
  const m = segs.length;
  const block = (i: number, j: number) => {
    let best = Number.POSITIVE_INFINITY;
    for (const b of new Set(segs.slice(i, j + 1).map((s) => s.target))) {
      let n = 0;
      for (let s = i; s <= j; s++)
        if (segs[s]!.target !== b) n += segs[s]!.lo === segs[s]!.hi ? 1 : 2;
      best = Math.min(best, n);
    }
    return best;
  };
  const memo = new Map<number, number>();
  const from = (i: number): number => {
    if (i === m) return -1;
    const have = memo.get(i);
    if (have !== undefined) return have;
    let best = Number.POSITIVE_INFINITY;
    for (let j = i; j < m; j++) best = Math.min(best, block(i, j) + 1 + from(j + 1));
    memo.set(i, best);
    return best;
  };
  return from(0);
}

/** Random maps of [0, FULL]: segment lengths (1 = a single value) and targets. */
const mapArb = fc
  .array(
    fc.record({
      len: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 })),
      target: fc.constantFrom("a", "b", "c", "d"),
    }),
    {
      minLength: 1,
      maxLength: 9,
    },
  )
  .map((parts) => {
    const segs: Segment<string>[] = [];
    let lo = 0;
    parts.forEach((p, i) => {
      const hi = i === parts.length - 1 ? FULL : lo + p.len - 1;
      segs.push({ lo, hi, target: p.target, weight: 1 });
      lo = hi + 1;
    });
    return mergeSegments(segs);
  });

test("plans decide as the map, and are as short as the best partition into lists", () => {
  fc.assert(
    fc.property(mapArb, (segs) => {
      const plan = planSwitch(segs);
      for (const s of segs)
        for (const x of [s.lo, s.hi, Math.floor((s.lo + s.hi) / 2)])
          expect(evaluate(plan, x)).toBe(s.target);
      expect(modelLength(plan)).toBe(bruteForce(segs));
      expect(planLength(plan)).toBeLessThanOrEqual(modelLength(plan));
      // Never longer than a pure range tree or a pure list over the whole map.
      expect(planLength(plan)).toBeLessThanOrEqual(segs.length - 1);
    }),
  );
});

test("isolated numbers cost one jeq each, runs one bound", () => {
  const segs: Segment<string>[] = [
    { lo: 0, hi: 4, target: "deny", weight: 1 },
    { lo: 5, hi: 5, target: "allow", weight: 1 },
    { lo: 6, hi: 8, target: "deny", weight: 1 },
    { lo: 9, hi: 9, target: "allow", weight: 1 },
    { lo: 10, hi: 99, target: "deny", weight: 1 },
    { lo: 100, hi: FULL, target: "allow", weight: 1 },
  ];
  // jeq 5, jeq 9 and one bound for 100.. (a pure tree needs 5).
  expect(planLength(planSwitch(segs))).toBe(3);
});

test("huge maps (too many targets for every background) still plan correctly", () => {
  // 4000 single values with 2000 targets between runs of one background.
  const segs: Segment<string>[] = [];
  let lo = 0;
  for (let i = 0; i < 4000; i++) {
    segs.push({ lo, hi: lo, target: `t${i % 2000}`, weight: 1 });
    segs.push({ lo: lo + 1, hi: lo + 9, target: "bg", weight: 1 });
    lo += 10;
  }
  segs.push({ lo, hi: FULL, target: "bg", weight: 1 });
  const plan = planSwitch(segs);
  for (const s of segs) expect(evaluate(plan, s.lo)).toBe(s.target);
  // One jeq per value: the background is the one that saves the most.
  expect(planLength(plan)).toBe(4000);
});
