/**
 * Verification: runs a filter in the emulator on every syscall number of every
 * covered ABI (and the numbers around them), on argument corner cases derived from
 * the rules (boundaries, masks, upper-half junk on 32-bit ABIs) and random
 * arguments, and compares each result with the reference semantics ({@link decide}).
 *
 * @module
 */
import { ARCHES } from "@forge/libc";
import { type Action, formatAction, sameAction } from "./action.ts";
import type { Instruction } from "./bpf.ts";
import { emulate } from "./emulator.ts";
import {
  type AbiPlan,
  type Condition,
  cornerValues,
  decide,
  type ResolvedProfile,
} from "./resolve.ts";

/** One test input. */
export interface Vector {
  readonly arch: number;
  readonly nr: number;
  readonly args: readonly bigint[];
}

/** One input where the filter and the profile disagree. */
export interface Difference {
  readonly vector: Vector;
  readonly expected: Action;
  readonly got: Action;
  /** "x86_64 openat(...)": readable form of the input. */
  readonly call: string;
}

/** What {@link verifyFilter} found. */
export interface VerifyReport {
  readonly checked: number;
  readonly differences: readonly Difference[];
}

/** Options for the generated inputs. */
export interface VectorOptions {
  /** Random argument vectors per syscall with rules (default 8). */
  readonly random?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
}

/**
 * A small deterministic PRNG (xorshift64*) returning unsigned 64-bit values.
 *
 * @example
 * ```ts
 * import { prng } from "@forge/seccomp";
 * const next = prng(42);
 * typeof next(); // "bigint"
 * ```
 */
export function prng(seed: number): () => bigint {
  let s = BigInt(seed) | 1n;
  return () => {
    s ^= s >> 12n;
    s ^= BigInt.asUintN(64, s << 25n);
    s ^= s >> 27n;
    return BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn);
  };
}

const JUNK = 0xdeadbeef00000000n;

function argVectors(
  abi: AbiPlan,
  conds: readonly Condition[],
  rnd: () => bigint,
  random: number,
): bigint[][] {
  const out: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  const byIndex = new Map<number, bigint[]>();
  for (const c of conds) {
    if (!byIndex.has(c.index)) byIndex.set(c.index, []);
  }
  for (const i of byIndex.keys()) {
    byIndex.set(
      i,
      cornerValues(
        conds.filter((c) => c.index === i),
        abi.argBits,
      ),
    );
  }
  const pick = (list: bigint[]) => list[Number(rnd() % BigInt(list.length))]!;
  for (const [i, values] of byIndex) {
    for (const v of values) {
      // This index at a corner, the others at random corners of their own.
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      for (const [j, other] of byIndex) args[j] = j === i ? v : pick(other);
      out.push(args);
    }
  }
  for (let k = 0; k < random; k++) out.push([rnd(), rnd(), rnd(), rnd(), rnd(), rnd()]);
  if (abi.argBits === 32) {
    // Upper halves set by the caller must not change a 32-bit ABI's decision.
    for (const a of [...out]) out.push(a.map((x) => BigInt.asUintN(64, (x & 0xffffffffn) | JUNK)));
  }
  return out;
}

/**
 * The inputs {@link verifyFilter} checks: every number of every covered ABI and the
 * boundaries between ABIs, argument corner cases for syscalls with rules, and calls
 * from architectures the filter does not cover.
 *
 * @example
 * ```ts
 * import { resolveProfile, testVectors } from "@forge/seccomp";
 * const r = resolveProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "aarch64" });
 * testVectors(r).length > 400; // true
 * ```
 */
export function testVectors(r: ResolvedProfile, opts: VectorOptions = {}): Vector[] {
  const rnd = prng(opts.seed ?? 1);
  const random = opts.random ?? 8;
  const out: Vector[] = [];
  const covered = new Set(r.abis.map((a) => a.auditArch));
  for (const info of Object.values(ARCHES)) {
    if (!covered.has(info.auditArch >>> 0))
      out.push({ arch: info.auditArch >>> 0, nr: 0, args: [] });
  }
  out.push({ arch: 0, nr: 0, args: [] }, { arch: 0xffffffff, nr: 1, args: [] });
  const extremes = [
    0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xbfffffff, 0xffffffff,
  ];
  for (const abi of r.abis) {
    const nrs = new Set<number>(extremes);
    const base = abi.nrRange[0];
    const maxNr = Math.max(
      ...[...abi.names.keys()].filter((n) => n - base < 0x10000).map((n) => n - base),
    );
    for (let n = 0; n <= maxNr + 64; n++) nrs.add(base + n);
    for (const n of abi.names.keys()) {
      nrs.add(n);
      nrs.add(n + 1);
    }
    for (const nr of nrs) {
      const rules = abi.rules.get(nr >>> 0);
      if (!rules || rules.every((x) => x.conditions.length === 0)) {
        out.push({ arch: abi.auditArch, nr: nr >>> 0, args: [0n, 0n, 0n, 0n, 0n, 0n] });
        out.push({
          arch: abi.auditArch,
          nr: nr >>> 0,
          args: [rnd(), rnd(), rnd(), rnd(), rnd(), rnd()],
        });
        continue;
      }
      for (const args of argVectors(
        abi,
        rules.flatMap((x) => x.conditions),
        rnd,
        random,
      )) {
        out.push({ arch: abi.auditArch, nr: nr >>> 0, args });
      }
    }
  }
  return out;
}

/**
 * Describes an input: "x86_64 socket(0x28, 0x1, ...)" or "arch 0x0 nr 0".
 *
 * @example
 * ```ts
 * import { describeVector, resolveProfile } from "@forge/seccomp";
 * const r = resolveProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" });
 * describeVector(r, { arch: 0xc000003e, nr: 39, args: [] }); // "x86_64 getpid()"
 * ```
 */
export function describeVector(r: ResolvedProfile, v: Vector): string {
  const abi = r.abis.find(
    (a) => a.auditArch === v.arch && v.nr >= a.nrRange[0] && v.nr <= a.nrRange[1],
  );
  const name =
    abi?.names.get(v.nr) ??
    `nr ${v.nr >>> 0}${v.nr >= 0x40000000 ? ` (0x${(v.nr >>> 0).toString(16)})` : ""}`;
  const args =
    v.args.length && v.args.some((a) => a !== 0n)
      ? v.args.map((a) => `0x${a.toString(16)}`).join(", ")
      : "";
  return `${abi ? abi.arch : `arch 0x${(v.arch >>> 0).toString(16)}`} ${name}(${args})`;
}

/**
 * Checks that a program implements a resolved profile on all {@link testVectors}.
 *
 * @example
 * ```ts
 * import { compileProfile, verifyFilter } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }, { arch: "x86_64" });
 * verifyFilter(f.program, f.resolved).differences.length; // 0
 * ```
 */
export function verifyFilter(
  program: readonly Instruction[],
  r: ResolvedProfile,
  opts: VectorOptions = {},
): VerifyReport {
  const differences: Difference[] = [];
  const vectors = testVectors(r, opts);
  for (const v of vectors) {
    const expected = decide(r, v.arch, v.nr, v.args);
    const got = emulate(program, { nr: v.nr, arch: v.arch, args: v.args }).action;
    if (!sameAction(expected, got))
      differences.push({ vector: v, expected, got, call: describeVector(r, v) });
  }
  return { checked: vectors.length, differences };
}

/**
 * One line per difference: "x86_64 socket(0x28): profile says ERRNO(1), filter returns ALLOW".
 *
 * @example
 * ```ts
 * import { formatDifferences } from "@forge/seccomp";
 * formatDifferences([]); // ""
 * ```
 */
export function formatDifferences(ds: readonly Difference[]): string {
  return ds
    .map(
      (d) =>
        `${d.call}: profile says ${formatAction(d.expected)}, filter returns ${formatAction(d.got)}`,
    )
    .join("\n");
}
