import { describe, expect, test } from "vitest";
import { alignedBlocks, everyCombination, lowWordIn, rangesExcept } from "./cover.ts";
import type { SeccompArg } from "./profile.ts";
import { u64 } from "./profile.ts";
import { conditionHolds } from "./resolve.ts";
import { prng } from "./verify.ts";

const holds = (alts: readonly SeccompArg[], x: bigint, bits: 32 | 64) =>
  alts.some((a) =>
    conditionHolds(
      { index: a.index, op: a.op, value: u64(a.value), valueTwo: u64(a.valueTwo ?? 0) },
      x,
      bits,
    ),
  );

describe("aligned blocks", () => {
  test("cover a range exactly, each block aligned to its size", () => {
    for (const [lo, hi] of [
      [0, 0],
      [0, 63],
      [41, 63],
      [0x5413, 0x541b],
      [0x541d, 0xffffffff],
      [1, 0xfffffffe],
    ] as const) {
      const blocks = alignedBlocks(lo, hi);
      let next = lo;
      for (const [start, size] of blocks) {
        expect(start).toBe(next);
        expect(start % size).toBe(0);
        expect(Number.isInteger(Math.log2(size))).toBe(true);
        next = start + size;
      }
      expect(next).toBe(hi + 1);
      expect(blocks.length).toBeLessThanOrEqual(64);
    }
  });
});

describe("lowWordIn", () => {
  test("holds exactly for the values in the ranges, whatever the upper 32 bits hold", () => {
    const ranges = [
      [0, 16],
      [18, 39],
      [41, 63],
    ] as const;
    const alts = lowWordIn(0, ranges);
    const inSet = (v: number) => ranges.some(([lo, hi]) => v >= lo && v <= hi);
    for (let v = 0; v < 300; v++) {
      for (const hi of [0n, 1n << 32n, 0xdead00000000n, 0xffffffff00000000n]) {
        for (const bits of [32, 64] as const)
          expect(holds(alts, hi | BigInt(v), bits), `${v} hi 0x${hi.toString(16)}`).toBe(inSet(v));
      }
    }
    // Only masked equality, masks without upper bits, datums inside their masks.
    for (const a of alts) {
      expect(a.op).toBe("SCMP_CMP_MASKED_EQ");
      expect(u64(a.value)).toBeLessThanOrEqual(0xffffffffn);
      expect(u64(a.valueTwo!) & ~u64(a.value)).toBe(0n);
    }
  });

  test("the complement of two ioctl commands, checked on random 64-bit values", () => {
    const bad = [0x5412, 0x541c];
    const alts = lowWordIn(1, rangesExcept(bad));
    expect(alts.length).toBeLessThanOrEqual(40);
    const next = prng(7);
    const samples = [0x5412n, 0x541cn, 0x5413n, 0x5411n, 0x541dn, 0xffffffffn, 0n, 0x80045430n];
    for (let i = 0; i < 3000; i++) samples.push(next());
    for (const s of samples) {
      for (const hi of [0n, 0xffffffff00000000n, 0xdead00000000n]) {
        const x = BigInt.asUintN(64, (s & 0xffffffffn) | hi);
        expect(holds(alts, x, 64)).toBe(!bad.includes(Number(x & 0xffffffffn)));
      }
    }
  });

  test("a low bit field ignores the bits above it", () => {
    const alts = lowWordIn(1, rangesExcept([3], 0xf), 0xf); // socket type other than SOCK_RAW
    for (let t = 0; t < 0x100; t++) {
      for (const flags of [0n, 0x800n, 0x80000n, 1n << 40n])
        expect(holds(alts, BigInt(t) | flags, 64)).toBe((t & 0xf) !== 3);
    }
  });

  test("refuses what it cannot write, saying why", () => {
    expect(() => lowWordIn(0, [[0, 0xffffffff]])).toThrow(/cover every value.*no condition/);
    expect(() => lowWordIn(0, [[5, 3]])).toThrow(/range \[5, 3\] is not an ordered range/);
    expect(() => lowWordIn(0, [[0, 16]], 0xf)).toThrow(/within 0\.\.0xf/);
    expect(() => lowWordIn(0, [[0, 1]], 0xe)).toThrow(/0xe is not a low bit field/);
  });
});

describe("rangesExcept and everyCombination", () => {
  test("ranges around the excluded values; combinations of alternatives", () => {
    expect(rangesExcept([0x5412, 0x541c])).toEqual([
      [0, 0x5411],
      [0x5413, 0x541b],
      [0x541d, 0xffffffff],
    ]);
    expect(rangesExcept([0, 15, 99], 0xf)).toEqual([[1, 14]]);
    const a = lowWordIn(0, [[1, 1]]);
    const b = lowWordIn(1, [[1, 2]], 0xf);
    expect(everyCombination(a, b)).toEqual(b.map((y) => [a[0], y]));
    expect(everyCombination()).toEqual([[]]);
  });
});
