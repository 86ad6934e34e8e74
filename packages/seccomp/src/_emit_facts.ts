/**
 * What the tests taken on a path have established about one 32-bit word (private to
 * the compiler): an unsigned interval, known bits and a few excluded values. Used to
 * skip tests that an earlier test on the same word already decided
 * (`a1.hi == 0` after `a1.hi == 0` held; `a0 == 6` after `a0 == 5` held).
 *
 * Every operation is sound: a fact only ever describes a superset of the values that
 * can reach a point, so a test it decides is decided for every such value. Precision
 * is dropped where keeping it would cost (e.g. at most {@link NE_KEPT} excluded values).
 *
 * @module
 */
import type { WordOp } from "./decision.ts";

const FULL = 0xffffffff;

/** Excluded values kept per word (the oldest are forgotten: sound, less precise). */
export const NE_KEPT = 8;

/** What is known about a word: `lo <= w <= hi`, `(w & km) == kv`, `w` not in `ne`. */
export interface WordFact {
  readonly lo: number;
  readonly hi: number;
  /** Mask of the known bits. */
  readonly km: number;
  /** Their values (a subset of `km`). */
  readonly kv: number;
  /** Values the word is known not to have (inside [lo, hi], sorted). */
  readonly ne: readonly number[];
}

/** Nothing known. */
export const TOP_FACT: WordFact = { lo: 0, hi: FULL, km: 0, kv: 0, ne: [] };

/** The lowest set bit of a non-zero word. */
function lowBit(x: number): number {
  return (x & -x) >>> 0;
}

function singleBit(x: number): boolean {
  return x !== 0 && (x & (x - 1)) >>> 0 === 0;
}

/**
 * Whether `(w & mask) OP k` is decided by a fact: true or false for every word the
 * fact admits, else undefined.
 *
 * @example
 * ```ts
 * factDecides({ lo: 5, hi: 5, km: 0xffffffff, kv: 5, ne: [] }, "eq", 6, 0xffffffff); // false
 * ```
 */
export function factDecides(f: WordFact, op: WordOp, k: number, mask: number): boolean | undefined {
  k >>>= 0;
  mask >>>= 0;
  const unknown = ~f.km >>> 0;
  if ((mask & unknown) >>> 0 === 0) {
    // Every compared bit is known: the masked value is.
    const x = (f.kv & mask) >>> 0;
    switch (op) {
      case "eq":
        return x === k;
      case "gt":
        return x > k;
      case "ge":
        return x >= k;
      case "set":
        return (x & k) >>> 0 !== 0;
    }
  }
  switch (op) {
    case "eq":
      if ((k & ~mask) >>> 0 !== 0) return false;
      if (((k ^ f.kv) & mask & f.km) >>> 0 !== 0) return false;
      if (mask === FULL) {
        if (k < f.lo || k > f.hi) return false;
        if (f.ne.includes(k)) return false;
      } else if (k > f.hi) {
        // (w & mask) <= w <= hi.
        return false;
      }
      return undefined;
    case "gt":
    case "ge": {
      const above = op === "gt" ? (x: number) => x > k : (x: number) => x >= k;
      // (w & mask) <= w: an upper bound holds for the masked value too.
      if (!above(f.hi)) return false;
      if (mask === FULL && above(f.lo)) return true;
      return undefined;
    }
    case "set": {
      const kk = (k & mask) >>> 0;
      if (kk === 0) return false;
      if ((f.kv & f.km & kk) >>> 0 !== 0) return true;
      if ((kk & unknown) >>> 0 === 0) return false;
      if (f.hi < lowBit(kk)) return false;
      return undefined;
    }
  }
}

/**
 * The fact after a test on the word came out `outcome`, or null when no word the fact
 * admits can do that (the branch is dead).
 *
 * @example
 * ```ts
 * factAssume(TOP_FACT, "gt", 10, 0xffffffff, true)?.lo; // 11
 * ```
 */
export function factAssume(
  f: WordFact,
  op: WordOp,
  k: number,
  mask: number,
  outcome: boolean,
): WordFact | null {
  k >>>= 0;
  mask >>>= 0;
  let { lo, hi, km, kv } = f;
  let ne = f.ne;
  const setBits = (m: number, v: number): boolean => {
    // Contradiction with what is known?
    if (((v ^ kv) & m & km) >>> 0 !== 0) return false;
    km = (km | m) >>> 0;
    kv = ((kv & ~m) | (v & m)) >>> 0;
    return true;
  };
  switch (op) {
    case "eq":
      if (outcome) {
        if ((k & ~mask) >>> 0 !== 0) return null;
        if (!setBits(mask, k)) return null;
      } else if (mask === FULL) {
        if (!ne.includes(k)) ne = [...ne, k].slice(-NE_KEPT).sort((a, b) => a - b);
      } else if (singleBit(mask)) {
        // (w & bit) != k with k in {0, bit}: the bit is the other value.
        if (!setBits(mask, k === 0 ? mask : 0)) return null;
      }
      break;
    case "gt":
      if (outcome) {
        if (k === FULL) return null;
        lo = Math.max(lo, k + 1);
      } else if (mask === FULL) hi = Math.min(hi, k);
      break;
    case "ge":
      if (outcome) lo = Math.max(lo, k);
      else if (mask === FULL) {
        if (k === 0) return null;
        hi = Math.min(hi, k - 1);
      }
      break;
    case "set": {
      const kk = (k & mask) >>> 0;
      if (outcome) {
        if (kk === 0) return null;
        lo = Math.max(lo, lowBit(kk));
        if (singleBit(kk) && !setBits(kk, kk)) return null;
      } else if (!setBits(kk, 0)) return null;
      break;
    }
  }
  return normalize(lo, hi, km, kv, ne);
}

function normalize(
  lo: number,
  hi: number,
  km: number,
  kv: number,
  ne: readonly number[],
): WordFact | null {
  const ones = (kv & km) >>> 0;
  lo = Math.max(lo, ones);
  hi = Math.min(hi, (ones | ~km) >>> 0);
  while (lo <= hi && ne.includes(lo)) lo++;
  while (lo <= hi && ne.includes(hi)) hi--;
  if (lo > hi) return null;
  if (lo === hi) {
    if (((lo ^ kv) & km) >>> 0 !== 0) return null;
    return { lo, hi, km: FULL, kv: lo, ne: [] };
  }
  const kept = ne.filter((v) => v > lo && v < hi && ((v ^ kv) & km) >>> 0 === 0);
  return { lo, hi, km, kv: ones, ne: kept };
}

/** A short text of a fact, for memo keys ("" when nothing is known). */
export function factKey(f: WordFact | undefined): string {
  if (!f || (f.lo === 0 && f.hi === FULL && f.km === 0 && f.ne.length === 0)) return "";
  return `${f.lo},${f.hi},${f.km},${f.kv}${f.ne.length ? `,${f.ne.join(".")}` : ""}`;
}
