import { ARCHES, type Arch } from "@forge/libc";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type Action, formatAction, sameAction } from "./action.ts";
import { BPF, BPF_MAXINSNS, type Instruction } from "./bpf.ts";
import { CompileError, compileProfile, compileResolved } from "./compile.ts";
import {
  DecisionBuilder,
  type DecisionNode,
  decisionConstants,
  type LeafNode,
  type TestNode,
  type WordOp,
} from "./decision.ts";
import { checkFilter, emulate } from "./emulator.ts";
import {
  OPERATORS,
  ProfileError,
  profileIssues,
  profileWarnings,
  type SeccompProfile,
  type SeccompRule,
} from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import { type AbiPlan, decide, type ResolvedProfile, resolveProfile } from "./resolve.ts";
import { prng, testVectors, type Vector, verifyFilter } from "./verify.ts";

const X64 = ARCHES.x86_64.auditArch;
const I386 = ARCHES.i386.auditArch;

describe("compiler", () => {
  for (const { name } of builtinProfiles()) {
    for (const arch of ["x86_64", "aarch64"] as const) {
      test(`${name} on ${arch}: loads, verifies, and keeps unconditional syscalls argument-free`, () => {
        const f = compileProfile(builtinProfile(name), { arch, kernel: "6.1" });
        expect(checkFilter(f.program)).toEqual([]);
        expect(f.program.length).toBeLessThanOrEqual(BPF_MAXINSNS);
        expect(verifyFilter(f.program, f.resolved).differences).toEqual([]);
        for (const abi of f.resolved.abis) {
          for (const nr of abi.names.keys()) {
            if (abi.decisions.get(nr)?.kind === "test") continue;
            // Constant-action cache: nothing but nr and arch on the path.
            expect(emulate(f.program, { nr, arch: abi.auditArch }).loadedArgs).toBe(false);
          }
        }
      });
    }
  }

  test("x32 numbers are never confused with x86_64 ones; uncovered ABIs are killed", () => {
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }],
    };
    const only64 = compileProfile(p, { arch: "x86_64", subArches: [] });
    expect(emulate(only64.program, { nr: 39, arch: X64 }).action.kind).toBe("allow");
    // The bad-arch action (its kind is the semantics' choice: runc leaves libseccomp's KILL).
    const bad = decide(only64.resolved, I386, 20, []);
    expect(bad.kind).toMatch(/^kill_/);
    expect(emulate(only64.program, { nr: 0x40000000 | 39, arch: X64 }).action).toEqual(bad);
    expect(emulate(only64.program, { nr: 20, arch: I386 }).action).toEqual(bad);
    const all = compileProfile(p, { arch: "x86_64", subArches: ["i386", "x32"] });
    expect(emulate(all.program, { nr: 0x40000000 | 39, arch: X64 }).action.kind).toBe("allow");
    expect(emulate(all.program, { nr: 0x40000000 | 40, arch: X64 }).action).toEqual({
      kind: "errno",
      data: 1,
    });
    expect(emulate(all.program, { nr: 20, arch: I386 }).action.kind).toBe("allow"); // i386 getpid
  });

  test("syscall -1 gets the default action, never the bad-arch one (tracers skip calls with it)", () => {
    // What libseccomp does on purpose; a filter without x32 used to KILL_PROCESS it.
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }],
    };
    const enosys = { kind: "errno", data: 38 };
    const variants: Arch[][] = [[], ["i386"], ["x32"], ["i386", "x32"]];
    for (const subArches of variants) {
      const f = compileProfile(p, { arch: "x86_64", subArches });
      const where = `x86_64 + [${subArches.join(", ")}]`;
      expect(emulate(f.program, { nr: -1, arch: X64 }).action, where).toEqual(enosys);
      expect(decide(f.resolved, X64, -1, []), where).toEqual(enosys);
      // The rest of the x32 range stays the bad-arch action unless x32 is covered.
      const x32 = subArches.includes("x32");
      for (const nr of [0x40000000, 0x40000000 | 39, 0x7fffffff, 0xfffffffe]) {
        const want = !x32 ? /^kill_/ : nr === (0x40000000 | 39) ? /^allow$/ : /^errno$/;
        const at = `${where} nr 0x${nr.toString(16)}`;
        expect(emulate(f.program, { nr, arch: X64 }).action.kind, at).toMatch(want);
        expect(decide(f.resolved, X64, nr, []).kind, at).toMatch(want);
      }
      // i386 -1: the default action where i386 is covered, else the bad-arch one.
      const i386 = emulate(f.program, { nr: -1, arch: I386 }).action;
      if (subArches.includes("i386")) expect(i386, where).toEqual(enosys);
      else expect(i386.kind, where).toMatch(/^kill_/);
    }
    const arm = compileProfile(p, { arch: "aarch64", subArches: ["arm"] });
    expect(emulate(arm.program, { nr: -1, arch: ARCHES.aarch64.auditArch }).action).toEqual(enosys);
    expect(emulate(arm.program, { nr: -1, arch: ARCHES.arm.auditArch }).action).toEqual(enosys);
  });

  test("32-bit ABIs ignore upper-half junk; 64-bit ABIs compare both halves", () => {
    const p = builtinProfile("default");
    const f = compileProfile(p, { arch: "x86_64", kernel: "6.1" });
    const tiocsti = 0x5412n;
    expect(
      emulate(f.program, { nr: 54, arch: I386, args: [1n, (0xdeadn << 32n) | tiocsti] }).action
        .kind,
    ).toBe("errno");
    expect(
      emulate(f.program, { nr: 16, arch: X64, args: [1n, (0xdeadn << 32n) | tiocsti] }).action.kind,
    ).toBe("errno");
    expect(emulate(f.program, { nr: 16, arch: X64, args: [1n, 0x5413n] }).action.kind).toBe(
      "allow",
    );
  });

  test("long jumps get trampolines and stay correct", () => {
    // Distinct errnos (no two numbers merge) and two long argument chains: the second
    // is placed after the first, out of the dispatch's reach.
    const names = ["read", "write", "openat", "close", "mmap", "prctl", "fcntl", "futex"];
    const syscalls: SeccompRule[] = [
      ...["ioctl", "socket"].flatMap((name, j) =>
        Array.from({ length: 300 }, (_, i) => ({
          names: [name],
          action: "SCMP_ACT_ALLOW" as const,
          args: [{ index: j, value: 1000 + 7 * i, op: "SCMP_CMP_EQ" as const }],
        })),
      ),
      ...names.map((n, i) => ({
        names: [n],
        action: "SCMP_ACT_ERRNO" as const,
        errnoRet: 100 + i,
      })),
    ];
    const f = compileProfile(
      { defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls },
      { arch: "x86_64", subArches: ["i386"] },
    );
    expect(f.program.length).toBeGreaterThan(600);
    expect(f.program.some((p) => p.code === (BPF.JMP | BPF.JA))).toBe(true);
    expect(checkFilter(f.program)).toEqual([]);
    expect(verifyFilter(f.program, f.resolved, { random: 2 }).differences).toEqual([]);
  });

  test("a graph that is just the default action costs nothing", () => {
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read", "write", "close"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["ioctl"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 1, value: 0x5401, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    const r = resolveProfile(p, { arch: "x86_64", subArches: ["i386"] });
    const base = compileResolved(r);
    // The same profile with the default's leaf given explicitly for other numbers.
    const defaultLeaf = new DecisionBuilder().leaf(r.defaultAction);
    const padded: ResolvedProfile = {
      ...r,
      abis: r.abis.map((abi): AbiPlan => {
        const decisions = new Map(abi.decisions);
        for (const nr of [2, 4, 5, 9, 60, 200])
          if (!decisions.has(nr)) decisions.set(nr, defaultLeaf);
        return { ...abi, decisions };
      }),
    };
    const same = compileResolved(padded);
    expect(same.program).toEqual(base.program);
  });

  test("rules on one argument merge into one dispatch on it, shared by the ABIs", () => {
    const values = Array.from({ length: 200 }, (_, i) => 0x5400 + 3 * i);
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        ...values.map((v) => ({
          names: ["ioctl"],
          action: "SCMP_ACT_ALLOW" as const,
          args: [{ index: 1, value: v, op: "SCMP_CMP_EQ" as const }],
        })),
      ],
    };
    const f = compileProfile(p, { arch: "x86_64", subArches: ["i386", "x32"] });
    expect(verifyFilter(f.program, f.resolved, { random: 2 }).differences).toEqual([]);
    // One chain of 200 compares for all three ABIs, not one per ABI (or 4 per rule).
    expect(f.program.length).toBeLessThan(values.length + 40);
    // A denied ioctl runs the chain once: one load of each word.
    const denied = emulate(f.program, { nr: 16, arch: X64, args: [0n, 0x5401n] });
    expect(denied.action.kind).toBe("errno");
    expect(denied.executed).toBeLessThan(values.length + 20);
  });

  test("unknown arches, nr -1 and the x32 boundary cost a few jumps and no argument loads", () => {
    const f = compileProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO" }],
      },
      { arch: "x86_64", subArches: [] },
    );
    // ld arch, jeq, ld nr, at most 3 dispatch jumps, 3 rets.
    expect(f.program.length).toBeLessThanOrEqual(9);
    expect(verifyFilter(f.program, f.resolved).differences).toEqual([]);
  });
});

/** Follows a program and reports an `ld` of the word A already holds unchanged. */
function redundantLoad(program: readonly Instruction[], v: Vector): number | undefined {
  let held: number | undefined;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    const p = program[pc]!;
    const cls = p.code & 0x07;
    if (cls === BPF.RET) return undefined;
    if (p.code === (BPF.LD | BPF.W | BPF.ABS)) {
      if (held === p.k && p.k >= 16) return pc;
      held = p.k;
      pc++;
      continue;
    }
    if (cls === BPF.JMP) {
      if ((p.code & 0xf0) === BPF.JA) {
        pc += 1 + p.k;
        continue;
      }
      // Only the branch taken matters: re-run the emulator's comparison.
      const a = emulateA(program, v, pc);
      const op = p.code & 0xf0;
      const taken =
        op === BPF.JEQ
          ? a === p.k
          : op === BPF.JGT
            ? a > p.k
            : op === BPF.JGE
              ? a >= p.k
              : (a & p.k) !== 0;
      pc += 1 + (taken ? p.jt : p.jf);
      continue;
    }
    held = undefined; // ALU and anything else changes A
    pc++;
  }
  return undefined;
}

/** The accumulator when execution reaches `stop` (a small re-implementation for the test). */
function emulateA(program: readonly Instruction[], v: Vector, stop: number): number {
  // The prefix of the program up to `stop`, then `ret A`: the emulator returns A.
  const prefix = program.slice(0, stop).map((p, i) => {
    if ((p.code & 0x07) !== BPF.JMP || (p.code & 0xf0) === BPF.JA) return p;
    // Jumps past `stop` cannot be on the path to it (jumps go forward); clamp them.
    const clamp = (off: number) => Math.min(off, stop - i - 1);
    return { ...p, jt: clamp(p.jt), jf: clamp(p.jf) };
  });
  const prog = [...prefix, { code: BPF.RET | BPF.A, jt: 0, jf: 0, k: 0 }];
  return emulate(prog, { nr: v.nr, arch: v.arch, args: v.args }).value;
}

/** Corner inputs of a syscall's graph: each word at each compared constant, its neighbours and complements. */
function cornerVectors(abi: AbiPlan, nr: number, d: DecisionNode, seed: number): Vector[] {
  const rnd = prng(seed);
  const consts = decisionConstants([d]);
  const cands = new Map<string, number[]>();
  for (const [key, set] of consts) {
    const out = new Set<number>([0, 1, 0xffffffff, 0x80000000]);
    for (const c of set) {
      for (const x of [c, c - 1, c + 1, ~c, c ^ 1, c & 0x7fffffff, c | 1]) out.add(x >>> 0);
    }
    cands.set(key, [...out]);
  }
  const pick = (xs: number[]) => xs[Number(rnd() % BigInt(xs.length))]!;
  const build = (fixed?: [string, number]): bigint[] => {
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    for (const [key, xs] of cands) {
      const val = fixed && fixed[0] === key ? fixed[1] : pick(xs);
      const i = Number(key.slice(0, -1));
      const cur = args[i]!;
      args[i] = key.endsWith("h")
        ? (cur & 0xffffffffn) | (BigInt(val) << 32n)
        : (cur & 0xffffffff00000000n) | BigInt(val);
    }
    return args;
  };
  const out: Vector[] = [];
  for (const [key, xs] of cands)
    for (const x of xs) out.push({ arch: abi.auditArch, nr, args: build([key, x]) });
  for (let i = 0; i < 24; i++) out.push({ arch: abi.auditArch, nr, args: build() });
  return out;
}

const FUZZ_NAMES = [
  "read",
  "ioctl",
  "socket",
  "clone",
  "personality",
  "mmap",
  "futex",
  "getpid",
  "fcntl",
  "kill",
  "openat",
  "prctl",
];
const u64Arb = fc.oneof(
  fc.bigInt({ min: 0n, max: 20n }),
  fc.constantFrom(
    0n,
    1n,
    0x5412n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    0x100000001n,
    0xffffffff00000000n,
    0xfffffffffffffffen,
    0xffffffffffffffffn,
    0xff00n,
    0xfffff000n,
    0xfffffffffffff000n,
    0x7e020000n,
    0x10n,
  ),
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
  fc.bigInt({ min: 0n, max: 20n }).map((x) => x | 0x500000000n),
);
const fuzzRule = fc.record({
  names: fc.subarray(FUZZ_NAMES, { minLength: 1, maxLength: 3 }),
  action: fc.constantFrom(
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
  ),
  errnoRet: fc.integer({ min: 1, max: 3 }),
  args: fc.array(
    fc.record({
      index: fc.integer({ min: 0, max: 2 }),
      op: fc.constantFrom(...OPERATORS),
      value: u64Arb,
      valueTwo: u64Arb,
    }),
    { maxLength: 3 },
  ),
});
const fuzzProfile = fc
  .record({
    defaultAction: fc.constantFrom(
      "SCMP_ACT_ALLOW",
      "SCMP_ACT_ERRNO",
      "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_LOG",
    ),
    rules: fc.array(fuzzRule, { maxLength: 8 }),
    target: fc.constantFrom("x86_64" as const, "aarch64" as const),
    subs: fc.subarray(["i386", "x32", "arm"] as Arch[]),
  })
  .map(({ defaultAction, rules, target, subs }) => {
    const profile: SeccompProfile = {
      defaultAction,
      syscalls: rules.map((r) => ({
        names: r.names,
        action: r.action,
        ...(r.action === "SCMP_ACT_ERRNO" || r.action === "SCMP_ACT_TRACE"
          ? { errnoRet: r.errnoRet }
          : {}),
        ...(r.args.length
          ? {
              args: r.args.map((a) => ({
                index: a.index,
                op: a.op,
                value: a.value.toString(),
                ...(a.op === "SCMP_CMP_MASKED_EQ" ? { valueTwo: a.valueTwo.toString() } : {}),
              })),
            }
          : {}),
      })),
    };
    const subArches = subs.filter((a) => (target === "x86_64" ? a !== "arm" : a === "arm"));
    return { profile, target, subArches };
  });

describe("compiler property", () => {
  test("random profiles: the filter decides as decide() on every corner input, both semantics", () => {
    let seed = 1;
    fc.assert(
      fc.property(fuzzProfile, ({ profile, target, subArches }) => {
        for (const semantics of ["runc", "strictest"] as const) {
          const opts = { arch: target, subArches, semantics, kernel: "6.1" };
          let r: ResolvedProfile;
          try {
            r = resolveProfile(profile, opts);
          } catch (e) {
            // A profile runc refuses (validation's business): compile its graphs anyway
            // where the semantics can build them.
            if (!(e instanceof ProfileError)) throw e;
            try {
              r = resolveProfile(profile, { ...opts, trusted: true });
            } catch {
              continue;
            }
          }
          let f: ReturnType<typeof compileResolved>;
          try {
            f = compileResolved(r);
          } catch (e) {
            if (e instanceof CompileError && /kernel loads at most/.test(e.message)) continue;
            throw e;
          }
          expect(checkFilter(f.program)).toEqual([]);
          const vectors = testVectors(r, { random: 2, seed: ++seed });
          for (const abi of r.abis)
            for (const [nr, d] of abi.decisions)
              if (d.kind === "test") vectors.push(...cornerVectors(abi, nr, d, ++seed));
          for (const v of vectors) {
            const want: Action = decide(r, v.arch, v.nr, v.args);
            const got = emulate(f.program, { nr: v.nr, arch: v.arch, args: v.args });
            if (!sameAction(want, got.action)) {
              throw new Error(
                `${semantics} ${target}+[${subArches}] arch 0x${v.arch.toString(16)} nr ${v.nr} args ${v.args.map((a) => `0x${a.toString(16)}`)}: decide ${formatAction(want)}, filter ${formatAction(got.action)}\n${JSON.stringify(profile)}`,
              );
            }
            // Unconditional answers never load an argument.
            const abi = r.abis.find(
              (a) =>
                a.auditArch === v.arch && v.nr >>> 0 >= a.nrRange[0] && v.nr >>> 0 <= a.nrRange[1],
            );
            if (abi?.decisions.get(v.nr >>> 0)?.kind !== "test") expect(got.loadedArgs).toBe(false);
          }
          // Each word is loaded once per path (spot-check the argument vectors).
          for (const v of vectors.filter((x) => x.args.some((a) => a !== 0n)).slice(0, 200)) {
            expect(redundantLoad(f.program, v)).toBeUndefined();
          }
        }
      }),
    );
  });
});

describe("profile validation", () => {
  test("every problem is listed with a JSON pointer", () => {
    const issues = profileIssues({
      defaultAction: "SCMP_ACT_NOPE",
      syscalls: [
        {
          names: ["opne"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 7, value: 1, op: "SCMP_CMP_EQQ" }],
        },
      ],
    });
    const pointers = issues.map((i) => i.pointer);
    expect(pointers).toContain("/defaultAction");
    expect(pointers).toContain("/syscalls/0/args/0/op");
    expect(pointers).toContain("/syscalls/0/args/0/index");
    expect(issues.find((i) => i.pointer === "/syscalls/0/args/0/op")!.message).toMatch(
      /unknown operator "SCMP_CMP_EQQ"; expected one of SCMP_CMP_NE/,
    );
    // An unknown syscall name is a warning, with the closest name (runc ignores it).
    expect(pointers).not.toContain("/syscalls/0/names/0");
    const warnings = profileWarnings({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["opne"], action: "SCMP_ACT_ERRNO" }],
    });
    expect(warnings.find((i) => i.pointer === "/syscalls/0/names/0")!.message).toMatch(
      /did you mean "open"/,
    );
  });

  test("compileProfile throws a ProfileError", () => {
    expect(() =>
      compileProfile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_NOPE" }],
      }),
    ).toThrow(ProfileError);
    // An unknown name alone compiles, with a warning.
    const f = compileProfile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["nope_call"], action: "SCMP_ACT_ERRNO" }],
    });
    expect(f.resolved.warnings.map((w) => w.pointer)).toEqual(["/syscalls/0/names/0"]);
  });
});

/** Raw graphs: each node's children are earlier nodes (a DAG with sharing) or leaves. */
const word32 = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom(0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xff00, 0x5412),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const mask32 = fc.oneof(
  fc.constant(0xffffffff),
  fc.constantFrom(0xfffffffe, 0xfffff000, 0xff00, 0x10, 1, 0x80000000, 0x7e020000),
  fc.integer({ min: 1, max: 0xffffffff }),
);
const rawGraph = fc.array(
  fc.record({
    arg: fc.integer({ min: 0, max: 2 }),
    hi: fc.boolean(),
    op: fc.constantFrom<WordOp>("eq", "gt", "ge", "set"),
    k: word32,
    mask: mask32,
    t: fc.integer({ min: -4, max: 40 }),
    f: fc.integer({ min: -4, max: 40 }),
  }),
  { minLength: 1, maxLength: 24 },
);

describe("compiler property on raw graphs", () => {
  test("any decision graphs (masked >, >=, set; impossible tests; sharing) compile to filters that decide as decide()", () => {
    const leafActions = [
      { kind: "allow" },
      { kind: "errno", data: 1 },
      { kind: "kill_process" },
      { kind: "log" },
    ] as const;
    fc.assert(
      fc.property(
        rawGraph,
        fc.constantFrom("x86_64" as const, "aarch64" as const),
        fc.constantFrom("runc" as const, "strictest" as const),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        (raw, target, semantics, picks) => {
          const b = new DecisionBuilder();
          const leaves: LeafNode[] = leafActions.map((a) => b.leaf(a));
          // Ids of our own, unique across the leaves and the raw nodes.
          let id = 1000;
          const nodes: DecisionNode[] = [];
          const child = (i: number, at: number): DecisionNode =>
            i < 0 || at === 0 ? leaves[(i + 4) % 4]! : nodes[i % at]!;
          raw.forEach((x, i) => {
            const n: TestNode = {
              kind: "test",
              id: id++,
              word: { arg: x.arg, hi: x.hi },
              op: x.op,
              k: x.k >>> 0,
              mask: x.mask >>> 0,
              t: child(x.t, i),
              f: child(x.f, i),
            };
            nodes.push(n);
          });
          const subArches: Arch[] = target === "x86_64" ? ["i386", "x32"] : ["arm"];
          const base = resolveProfile(
            { defaultAction: "SCMP_ACT_ERRNO", syscalls: [] },
            { arch: target, subArches, semantics, kernel: "6.1" },
          );
          const r: ResolvedProfile = {
            ...base,
            abis: base.abis.map((abi, ai): AbiPlan => {
              const decisions = new Map<number, DecisionNode>();
              const nrs = [...abi.names.keys()].sort((x, y) => x - y);
              picks.forEach((p, j) => {
                const nr = nrs[(p + 31 * ai) % nrs.length]!;
                decisions.set(nr, nodes[(p + j) % nodes.length]!);
              });
              // Two neighbours with one graph: one segment.
              decisions.set(nrs[0]!, nodes[nodes.length - 1]!);
              decisions.set(nrs[1]!, nodes[nodes.length - 1]!);
              return { ...abi, decisions };
            }),
          };
          const f = compileResolved(r);
          expect(checkFilter(f.program)).toEqual([]);
          const vectors = testVectors(r, { random: 1, seed: picks.length });
          for (const abi of r.abis)
            for (const [nr, d] of abi.decisions) vectors.push(...cornerVectors(abi, nr, d, nr + 1));
          for (const v of vectors) {
            const want = decide(r, v.arch, v.nr, v.args);
            const got = emulate(f.program, { nr: v.nr, arch: v.arch, args: v.args }).action;
            if (!sameAction(want, got)) {
              throw new Error(
                `${target} ${semantics} arch 0x${v.arch.toString(16)} nr ${v.nr} args ${v.args.map((a) => `0x${a.toString(16)}`)}: decide ${formatAction(want)}, filter ${formatAction(got)}\n${JSON.stringify(raw)}`,
              );
            }
          }
        },
      ),
    );
  });
});
