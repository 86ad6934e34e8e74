/**
 * Sets of values of a 32-bit argument written as conditions that every seccomp engine
 * decides alike: one masked-equality test on the argument's low word per aligned block
 * of the set.
 *
 * Why: the kernel truncates `int` and `unsigned int` parameters (socket families, ioctl
 * commands, personality, open flags...) to their low 32 bits, while a 64-bit comparison
 * also reads the upper half, which the caller fills at will. `socket(40 | 1 << 32)` is
 * AF_VSOCK to the kernel but passes Docker's "family > 40". A test with a mask that has
 * no upper bits reads exactly what the kernel reads, on every ABI and at either compare
 * width (libseccomp compares 32 bits on x32, Forge 64). And because a set becomes plain
 * alternatives (one rule each, one condition each, all with the same action), it needs
 * no precedence between overlapping rules, which runc+libseccomp and Forge resolve
 * differently: an allow-list of the permitted values replaces "allow, except ...".
 *
 * @module
 */
import type { SeccompArg } from "./profile.ts";

/** An inclusive range of values, `[lo, hi]`. */
export type ValueRange = readonly [lo: number, hi: number];

const FULL = 0xffffffff;

function checkField(field: number): void {
  if (!Number.isInteger(field) || field < 1 || field > FULL || (field & (field + 1)) !== 0) {
    throw new RangeError(
      `field 0x${field.toString(16)} is not a low bit field (2^k - 1, 1 <= k <= 32)`,
    );
  }
}

/** Sorted, merged copies of the ranges; throws a RangeError for a range outside 0..field. */
function normalise(ranges: readonly ValueRange[], field: number): [number, number][] {
  const sorted = ranges
    .map(([lo, hi]): [number, number] => {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > field || lo > hi) {
        throw new RangeError(
          `range [${lo}, ${hi}] is not an ordered range within 0..0x${field.toString(16)}`,
        );
      }
      return [lo, hi];
    })
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/**
 * The aligned power-of-two blocks whose union is exactly `[lo, hi]`, as `[start, size]`,
 * in ascending order (at most two per bit of the width).
 *
 * @example
 * ```ts
 * import { alignedBlocks } from "@forge/seccomp";
 * alignedBlocks(41, 63); // [[41, 1], [42, 2], [44, 4], [48, 16]]
 * ```
 */
export function alignedBlocks(lo: number, hi: number): [start: number, size: number][] {
  const out: [number, number][] = [];
  let x = lo;
  while (x <= hi) {
    let size = 1;
    // Grow while x stays aligned and the block stays inside the range.
    while (x % (size * 2) === 0 && x + size * 2 - 1 <= hi) size *= 2;
    out.push([x, size]);
    x += size;
  }
  return out;
}

/**
 * Alternatives (one condition each) that hold exactly when the low word of argument
 * `index`, or its low bit `field` (e.g. 0xf for a socket's type without its flags), is
 * in one of `ranges`; the upper 32 bits and the bits above `field` never matter. Use one
 * rule per alternative, all with the same action. Throws a RangeError for a range
 * outside the field or one that covers all of it (that needs no condition).
 *
 * @example
 * ```ts
 * import { lowWordIn } from "@forge/seccomp";
 * lowWordIn(0, [[41, 43]]);
 * // [{ index: 0, op: "SCMP_CMP_MASKED_EQ", value: 4294967295, valueTwo: 41 },
 * //  { index: 0, op: "SCMP_CMP_MASKED_EQ", value: 4294967294, valueTwo: 42 }]
 * ```
 */
export function lowWordIn(
  index: number,
  ranges: readonly ValueRange[],
  field: number = FULL,
): SeccompArg[] {
  checkField(field);
  const merged = normalise(ranges, field);
  if (merged.length === 1 && merged[0]![0] === 0 && merged[0]![1] === field) {
    throw new RangeError(
      `ranges cover every value of field 0x${field.toString(16)}: no condition is needed`,
    );
  }
  const blocks = merged.flatMap(([lo, hi]) =>
    alignedBlocks(lo, hi).map(([start, size]) => ({
      index,
      op: "SCMP_CMP_MASKED_EQ" as const,
      // (field & ~(size - 1)) without 32-bit sign trouble.
      value: field - (size - 1),
      valueTwo: start,
    })),
  );
  const small = smallSetCover(index, merged, field);
  return small && small.length < blocks.length ? small : blocks;
}

/** Sets within 0..255 get a greedy cover by cubes (any fixed bits), often shorter. */
const SMALL_BITS = 8;

/**
 * A cover of a set of values below 2^SMALL_BITS by cubes (values with some bits fixed,
 * the rest free, the bits above the set's width fixed to 0), chosen greedily (most new
 * values first); undefined when the set is too wide. Cubes may overlap: every
 * alternative has the same action, so that changes nothing.
 */
function smallSetCover(
  index: number,
  ranges: readonly (readonly [number, number])[],
  field: number,
): SeccompArg[] | undefined {
  const top = ranges[ranges.length - 1]![1];
  let k = 0;
  while (2 ** k <= top) k++;
  if (k > SMALL_BITS || 2 ** k - 1 > field) return undefined;
  const width = 2 ** k;
  const inSet = new Uint8Array(width);
  for (const [lo, hi] of ranges) for (let v = lo; v <= hi; v++) inSet[v] = 1;
  // Every cube within the set: a mask m of fixed bits and a datum d inside it.
  const cubes: { m: number; d: number; members: number[] }[] = [];
  for (let m = 0; m < width; m++) {
    for (let d = 0; d < width; d++) {
      if ((d & ~m) !== 0) continue;
      const members: number[] = [];
      let ok = true;
      for (let v = d; v < width && ok; v++) {
        if ((v & m) !== d) continue;
        if (inSet[v]) members.push(v);
        else ok = false;
      }
      if (ok) cubes.push({ m, d, members });
    }
  }
  const covered = new Uint8Array(width);
  let left = inSet.reduce((a, b) => a + b, 0);
  const out: SeccompArg[] = [];
  while (left > 0) {
    let best = cubes[0]!;
    let gain = -1;
    for (const c of cubes) {
      const g = c.members.reduce((a, v) => a + (covered[v] ? 0 : 1), 0);
      if (g > gain) {
        best = c;
        gain = g;
      }
    }
    for (const v of best.members) if (!covered[v]) covered[v] = 1;
    left -= gain;
    // The bits above the set's width stay fixed at 0 within the field.
    out.push({
      index,
      op: "SCMP_CMP_MASKED_EQ",
      value: field - (width - 1) + best.m,
      valueTwo: best.d,
    });
  }
  return out;
}

/**
 * The ranges of `0..field` that leave out `values` (numbers outside the field are
 * ignored).
 *
 * @example
 * ```ts
 * import { rangesExcept } from "@forge/seccomp";
 * rangesExcept([0x5412, 0x541c]); // [[0, 0x5411], [0x5413, 0x541b], [0x541d, 0xffffffff]]
 * ```
 */
export function rangesExcept(values: readonly number[], field: number = FULL): [number, number][] {
  checkField(field);
  const out: [number, number][] = [];
  let next = 0;
  for (const v of [...new Set(values)].filter((v) => v >= 0 && v <= field).sort((a, b) => a - b)) {
    if (v > next) out.push([next, v - 1]);
    next = v + 1;
  }
  if (next <= field) out.push([next, field]);
  return out;
}

/**
 * Every combination of one alternative from each list (a rule per combination holds
 * exactly when each argument is in its set), e.g. a socket family set times a type set.
 *
 * @example
 * ```ts
 * import { everyCombination, lowWordIn } from "@forge/seccomp";
 * everyCombination(lowWordIn(0, [[1, 1]]), lowWordIn(1, [[1, 2]], 0xf)).length; // 2
 * ```
 */
export function everyCombination(...lists: readonly (readonly SeccompArg[])[]): SeccompArg[][] {
  return lists.reduce<SeccompArg[][]>(
    (acc, list) => acc.flatMap((combo) => list.map((a) => [...combo, a])),
    [[]],
  );
}
