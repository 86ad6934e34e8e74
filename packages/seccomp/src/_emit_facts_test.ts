import fc from "fast-check";
import { expect, test } from "vitest";
import { factAssume, factDecides, TOP_FACT, type WordFact } from "./_emit_facts.ts";
import { testHolds, type WordOp } from "./decision.ts";

const word = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom(0, 1, 0x5412, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const mask = fc.oneof(
  fc.constant(0xffffffff),
  fc.constantFrom(1, 2, 0x10, 0xff, 0xff00, 0xfffff000, 0x7e020000, 0x80000000),
  fc.integer({ min: 1, max: 0xffffffff }),
);
const testArb = fc.record({
  op: fc.constantFrom<WordOp>("eq", "gt", "ge", "set"),
  k: word,
  mask,
  outcome: fc.boolean(),
});

function admits(f: WordFact, w: number): boolean {
  return f.lo <= w && w <= f.hi && (w & f.km) >>> 0 === f.kv && !f.ne.includes(w);
}

test("facts are sound: every word that took the tests is admitted, and decided tests hold for all of them", () => {
  fc.assert(
    fc.property(
      fc.array(testArb, { maxLength: 6 }),
      fc.array(word, { minLength: 20, maxLength: 60 }),
      testArb,
      (tests, sample, probe) => {
        // Candidate words: the sample and every constant of the tests, with neighbours.
        const words = new Set<number>(sample);
        for (const t of [...tests, probe]) for (const d of [-1, 0, 1]) words.add((t.k + d) >>> 0);
        let fact: WordFact | null = TOP_FACT;
        const taken: number[] = [];
        for (const t of tests) {
          // Only what a filter can see: the outcome a test can have given the tests above.
          const k = t.op === "eq" ? (t.k & t.mask) >>> 0 : t.k;
          if (fact === null) break;
          fact = factAssume(fact, t.op, k, t.mask, t.outcome);
          for (const w of words) if (testHolds(t.op, k, t.mask, w) !== t.outcome) words.delete(w);
          taken.push(k);
        }
        if (fact === null) {
          expect([...words]).toEqual([]);
          return;
        }
        for (const w of words) expect(admits(fact, w), `0x${w.toString(16)}`).toBe(true);
        const d = factDecides(fact, probe.op, probe.k, probe.mask);
        if (d !== undefined)
          for (const w of words)
            expect(testHolds(probe.op, probe.k, probe.mask, w), `0x${w.toString(16)}`).toBe(d);
      },
    ),
  );
});

test("what the compiler relies on is decided", () => {
  // a1.hi == 0 held: a second a1.hi == 0 holds, a1.hi == 1 does not.
  const hi0 = factAssume(TOP_FACT, "eq", 0, 0xffffffff, true)!;
  expect(factDecides(hi0, "eq", 0, 0xffffffff)).toBe(true);
  expect(factDecides(hi0, "eq", 1, 0xffffffff)).toBe(false);
  expect(factDecides(hi0, "gt", 0, 0xffffffff)).toBe(false);
  // a1.hi > 0 failed, so it is 0.
  expect(factAssume(TOP_FACT, "gt", 0, 0xffffffff, false)).toMatchObject({ lo: 0, hi: 0 });
  // (a0 & 0x7e020000) == 0 held: any one of those flags is clear.
  const flags = factAssume(TOP_FACT, "eq", 0, 0x7e020000, true)!;
  expect(factDecides(flags, "set", 0x10000000, 0xffffffff)).toBe(false);
  expect(factDecides(flags, "eq", 0x10000000, 0x10000000)).toBe(false);
  // A dead branch: x > 10 after x <= 5.
  const le5 = factAssume(TOP_FACT, "gt", 5, 0xffffffff, false)!;
  expect(factAssume(le5, "gt", 10, 0xffffffff, true)).toBeNull();
});
