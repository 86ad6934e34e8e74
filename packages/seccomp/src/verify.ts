/**
 * Verification: runs a filter in the emulator on every syscall number of every
 * covered ABI (and the numbers around them), on argument corner cases derived from
 * the rules (boundaries, masks, upper-half junk on every ABI, sign-extended negative
 * values) and random arguments, and compares each result with the reference semantics
 * ({@link decide}). The filter may be Forge's own ({@link verifyFilter}) or any other
 * one, e.g. libseccomp's `seccomp_export_bpf` output ({@link verifyBpf}).
 *
 * @module
 */
import { ARCHES } from "@forge/libc";
import { type Action, formatAction, sameAction } from "./action.ts";
import { decodeFilter, type Instruction } from "./bpf.ts";
import { checkFilter, emulate } from "./emulator.ts";
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
  /** What the filter returned (KILL_PROCESS when it failed to run, see `error`). */
  readonly got: Action;
  /** "x86_64 openat(...)": readable form of the input. */
  readonly call: string;
  /** The filter did not return for this input (it ran past its end, an unknown opcode...). */
  readonly error?: string;
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
/** Upper-half junk for 64-bit ABIs: an `int` argument the caller did not clear. */
const HI_JUNK = 0xdead000000000000n;

/** A 32-bit value sign-extended to 64 bits, as a negative `int` reaches a 64-bit register. */
function signExtended(v: bigint): bigint {
  return BigInt.asUintN(64, BigInt.asIntN(32, v & 0xffffffffn));
}

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
  if (abi.argBits === 64) {
    // 64-bit guards: every argument a rule tests, at each of its corners, also with junk
    // in the upper half (0xdead0000_xxxxxxxx) and sign-extended (0xffffffff_8xxxxxxx),
    // so that a filter comparing only the low word (or only 32 bits, as libseccomp does
    // on x32) is caught.
    for (const a of [...out]) {
      for (const i of byIndex.keys()) {
        const lo = a[i]! & 0xffffffffn;
        for (const v of [HI_JUNK | lo, signExtended(lo), lo]) {
          if (v === a[i]) continue;
          const b = [...a];
          b[i] = v;
          out.push(b);
        }
      }
    }
  }
  for (let k = 0; k < random; k++) out.push([rnd(), rnd(), rnd(), rnd(), rnd(), rnd()]);
  if (abi.argBits === 32) {
    // Upper halves set by the caller must not change a 32-bit ABI's decision.
    for (const a of [...out]) out.push(a.map((x) => BigInt.asUintN(64, (x & 0xffffffffn) | JUNK)));
    // Nor may sign extension of a negative int (what a compat wrapper hands on).
    for (const a of [...out]) {
      if (a.some((x) => (x & 0x80000000n) !== 0n)) out.push(a.map(signExtended));
    }
  }
  return dedupeVectors(out);
}

function dedupeVectors(list: bigint[][]): bigint[][] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = a.join(",");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
    let got: Action;
    try {
      got = emulate(program, { nr: v.nr, arch: v.arch, args: v.args }).action;
    } catch (e) {
      differences.push({
        vector: v,
        expected,
        got: { kind: "kill_process" },
        call: describeVector(r, v),
        error: (e as Error).message,
      });
      continue;
    }
    if (!sameAction(expected, got))
      differences.push({ vector: v, expected, got, call: describeVector(r, v) });
  }
  return { checked: vectors.length, differences };
}

/** What {@link verifyBpf} found: {@link VerifyReport} plus the kernel's load-time verdict. */
export interface BpfVerifyReport extends VerifyReport {
  /** Instructions in the filter. */
  readonly length: number;
  /**
   * Why the kernel would refuse to load the filter (see `checkFilter`); empty when it
   * would load it. A filter the kernel refuses enforces nothing, whatever it decides.
   */
  readonly loadProblems: readonly string[];
}

/**
 * Checks an external filter against a profile: raw `struct sock_filter` bytes
 * (little-endian, as libseccomp's `seccomp_export_bpf` or `forge seccomp compile
 * --format raw` write them) or decoded instructions, emulated on every
 * {@link testVectors} input and compared with {@link decide}. Throws a RangeError when
 * the bytes are not a whole number of instructions.
 *
 * @example
 * ```ts
 * import { compileProfile, resolveProfile, verifyBpf } from "@forge/seccomp";
 * const p = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] };
 * const bytes = compileProfile(p, { arch: "x86_64" }).bytes; // or libseccomp's export
 * const report = verifyBpf(bytes, resolveProfile(p, { arch: "x86_64" }));
 * report.differences.length; // 0
 * report.loadProblems.length; // 0
 * ```
 */
export function verifyBpf(
  filter: Uint8Array | readonly Instruction[],
  r: ResolvedProfile,
  opts: VectorOptions = {},
): BpfVerifyReport {
  const program = filter instanceof Uint8Array ? decodeFilter(filter) : filter;
  const loadProblems = checkFilter(program);
  return { ...verifyFilter(program, r, opts), length: program.length, loadProblems };
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
    .map((d) =>
      d.error !== undefined
        ? `${d.call}: profile says ${formatAction(d.expected)}, filter fails: ${d.error}`
        : `${d.call}: profile says ${formatAction(d.expected)}, filter returns ${formatAction(d.got)}`,
    )
    .join("\n");
}
