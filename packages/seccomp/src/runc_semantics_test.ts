// Differential test of the runc model: for generated profiles made of the cases that
// trip libseccomp up, Forge's runc semantics (decide) must equal what runc loads,
// i.e. runc's -ENOSYS stub in front of libseccomp 2.5.4's exported BPF. Compared
// exactly: per (arch, number), the decision graph of the model against a graph read
// from the real BPF by symbolic execution (decisionDifferences), plus concrete calls
// through decide() and the emulator. Seeded; FORGE_FUZZ_SECONDS runs longer.
import { ARCHES, type Arch, syscallEntries } from "@forge/libc";
import { describe, expect, test } from "vitest";
import {
  libseccompAgreed,
  libseccompAvailable,
  libseccompCompile,
  libseccompWouldHang,
  runcEmulate,
  runcStub,
} from "./_libseccomp.ts";
import { decodeAction, formatAction, sameAction } from "./action.ts";
import { BPF, type Instruction } from "./bpf.ts";
import {
  DecisionBuilder,
  type DecisionNode,
  decisionDifferences,
  evaluateDecision,
} from "./decision.ts";
import { type Operator, ProfileError, type SeccompProfile, type SeccompRule } from "./profile.ts";
import { abiFor, decide, ENOSYS_ACTION, type ResolvedProfile, resolveProfile } from "./resolve.ts";
import { RUNC_BAD_ARCH_ACTION, runcDecisions, runcWarnings } from "./runc_semantics.ts";
import { prng } from "./verify.ts";

/** The graph a raw BPF program gives for (arch, nr), args symbolic. */
function bpfGraph(
  p: readonly Instruction[],
  arch: number,
  nr: number,
  b: DecisionBuilder,
): DecisionNode {
  type A = { c: number } | { off: number; mask: number };
  const memo = new Map<string, DecisionNode>();
  const run = (pc: number, a: A): DecisionNode => {
    const key = `${pc}.${"c" in a ? `c${a.c}` : `${a.off}/${a.mask}`}`;
    const have = memo.get(key);
    if (have) return have;
    const i = p[pc]!;
    let out: DecisionNode;
    if (i.code === (BPF.RET | BPF.K)) out = b.leaf(decodeAction(i.k >>> 0));
    else if (i.code === (BPF.LD | BPF.W | BPF.ABS)) {
      const k = i.k;
      out = run(
        pc + 1,
        k === 0 ? { c: nr >>> 0 } : k === 4 ? { c: arch >>> 0 } : { off: k, mask: 0xffffffff },
      );
    } else if (i.code === (BPF.ALU | BPF.AND | BPF.K)) {
      out = run(
        pc + 1,
        "c" in a ? { c: (a.c & i.k) >>> 0 } : { off: a.off, mask: (a.mask & i.k) >>> 0 },
      );
    } else if (i.code === (BPF.JMP | BPF.JA)) out = run(pc + 1 + i.k, a);
    else {
      const op = i.code & 0xf0;
      const wop = op === BPF.JEQ ? "eq" : op === BPF.JGT ? "gt" : op === BPF.JGE ? "ge" : "set";
      const t = () => run(pc + 1 + i.jt, a);
      const f = () => run(pc + 1 + i.jf, a);
      if ("c" in a) {
        const v = a.c;
        const k = i.k >>> 0;
        const holds =
          wop === "eq" ? v === k : wop === "gt" ? v > k : wop === "ge" ? v >= k : (v & k) !== 0;
        out = holds ? t() : f();
      } else {
        out = b.test(
          { arg: (a.off - 16) >> 3, hi: (a.off - 16) % 8 === 4 },
          wop,
          i.k,
          a.mask,
          t(),
          f(),
        );
      }
    }
    memo.set(key, out);
    return out;
  };
  return run(0, { c: 0 });
}

/** decide() as a graph over the arguments, for one (arch, nr). */
function modelGraph(
  r: ResolvedProfile,
  arch: number,
  nr: number,
  b: DecisionBuilder,
): DecisionNode {
  const n = nr >>> 0;
  const x32Bit = (n & 0x40000000) !== 0;
  const stub = r.abis.find(
    (a) =>
      a.auditArch === arch >>> 0 &&
      a.enosysAbove !== undefined &&
      (a.arch === "x86_64" ? !x32Bit : a.arch === "x32" ? x32Bit : true),
  );
  if (stub && n > stub.enosysAbove!) return b.leaf(ENOSYS_ACTION);
  const abi = abiFor(r, arch, nr);
  if (!abi) return b.leaf(RUNC_BAD_ARCH_ACTION);
  return abi.decisions.get(n) ?? b.leaf(r.defaultAction);
}

const OPS: Operator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];
const NAMES = [
  "read",
  "write",
  "mmap",
  "mprotect",
  "kill",
  "dup3",
  "ioctl",
  "socket",
  "bind",
  "connect",
  "sendto",
  "recvfrom",
  "accept",
  "accept4",
  "shmget",
  "semop",
  "msgsnd",
  "socketcall",
  "ipc",
  "clone",
  "personality",
  "open",
  "openat",
  "getpid",
  "fcntl",
  "prctl",
  "setsockopt",
  "recv",
];
const ACTIONS: [SeccompRule["action"], number | undefined][] = [
  ["SCMP_ACT_ALLOW", undefined],
  ["SCMP_ACT_ERRNO", undefined],
  ["SCMP_ACT_ERRNO", 13],
  ["SCMP_ACT_ERRNO", 38],
  ["SCMP_ACT_KILL", undefined],
  ["SCMP_ACT_KILL_PROCESS", undefined],
  ["SCMP_ACT_TRAP", undefined],
  ["SCMP_ACT_LOG", undefined],
  ["SCMP_ACT_TRACE", 7],
];

/** A profile built from the hard cases. */
function hardProfile(seed: number): { profile: SeccompProfile; target: Arch } {
  const rnd = prng(seed);
  const int = (n: number) => Number(rnd() % BigInt(n));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const target: Arch = int(3) === 0 ? "aarch64" : "x86_64";
  const value = (): bigint => {
    switch (int(8)) {
      case 0:
        return BigInt(int(8));
      case 1:
        return 0xffffffffn - BigInt(int(3));
      case 2:
        return (BigInt(int(4)) << 32n) | BigInt(int(8));
      case 3:
        return 0xdead000000000000n | BigInt(int(300));
      case 4:
        return 0xffffffffffffffffn - BigInt(int(2));
      case 5:
        return BigInt(int(4) + 1) << BigInt(int(40));
      case 6:
        return rnd() & 0xffffffffn;
      default:
        return BigInt(int(200));
    }
  };
  const [defName, defErrno] = pick(ACTIONS);
  const names = NAMES.filter(() => int(3) === 0).slice(0, 8);
  if (names.length === 0) names.push(pick(NAMES));
  const syscalls: SeccompRule[] = [];
  const count = 1 + int(7);
  for (let i = 0; i < count; i++) {
    const [action, errnoRet] = int(6) === 0 ? [defName, defErrno] : pick(ACTIONS);
    const n = int(4);
    const args: { index: number; op: Operator; value: string; valueTwo?: string }[] = [];
    for (let j = 0; j < n; j++) {
      const op = pick(OPS);
      const index: number = int(5) === 0 && args.length > 0 ? args[args.length - 1]!.index : int(4);
      args.push(
        op === "SCMP_CMP_MASKED_EQ"
          ? { index, op, value: value().toString(), valueTwo: value().toString() }
          : { index, op, value: value().toString() },
      );
    }
    syscalls.push({
      names: NAMES.filter(() => false).concat(names.filter(() => int(2) === 0).slice(0, 3), [
        pick(names),
      ]),
      action,
      ...(errnoRet !== undefined ? { errnoRet } : {}),
      ...(args.length ? { args } : {}),
    } as SeccompRule);
  }
  // Sometimes more than 32 names: runc then turns on libseccomp's binary tree.
  if (int(3) === 0) {
    const pool = syscallEntries(target).map(([n]) => n);
    const many = pool.filter(() => int(4) === 0).slice(0, 34 + int(40));
    const [action, errnoRet] = pick(ACTIONS);
    syscalls.splice(int(syscalls.length + 1), 0, {
      names: many,
      action,
      ...(errnoRet !== undefined ? { errnoRet } : {}),
    } as SeccompRule);
  }
  const arches =
    target === "x86_64"
      ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"].filter(
          (_, i) => i === 0 || int(3) !== 0,
        )
      : ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"].filter((_, i) => i === 0 || int(4) !== 0);
  if (int(4) === 0) arches.reverse();
  return {
    target,
    profile: {
      defaultAction: defName,
      ...(defErrno !== undefined ? { defaultErrnoRet: defErrno } : {}),
      architectures: arches,
      syscalls,
    },
  };
}

interface Tally {
  profiles: number;
  refused: number;
  hangs: number;
  graphs: number;
  calls: number;
  diffs: string[];
}

/** Compares the model with runc's filter for one profile. */
function compare(profile: SeccompProfile, target: Arch, t: Tally, seed: number): void {
  // libseccomp's tables lag the kernel's: leave out the names they disagree on.
  profile = libseccompAgreed(profile, target);
  if (libseccompWouldHang(profile)) {
    t.hangs++;
    return;
  }
  const builder = new DecisionBuilder();
  let r: ResolvedProfile | undefined;
  let modelErr = "";
  try {
    r = resolveProfile(profile, { arch: target, kernel: "6.1", semantics: "runc", builder });
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    modelErr = e.message;
    if (/loops forever/.test(modelErr)) {
      t.hangs++;
      return;
    }
  }
  const lib = libseccompCompile(profile, { arch: target, kernel: "6.1" });
  t.profiles++;
  if (lib.refused.length > 0 !== (r === undefined)) {
    t.diffs.push(
      `seed ${seed}: libseccomp refused [${lib.refused.join(", ")}], model: ${modelErr || "accepted"}`,
    );
    return;
  }
  if (!r) {
    t.refused++;
    return;
  }
  const ks = new Set<number>([
    0, 1, 0xffffffff, 0xfffffffe, 0x40000000, 0x3fffffff, 0x80000000, 0xbfffffff, 0x7fffffff,
  ]);
  for (const i of lib.program)
    if ((i.code & 0x07) === BPF.JMP) for (const d of [-1, 0, 1]) ks.add((i.k + d) >>> 0);
  for (const abi of r.abis) {
    for (const n of abi.decisions.keys()) for (const d of [-1, 0, 1]) ks.add((n + d) >>> 0);
    if (abi.enosysAbove !== undefined) for (const d of [0, 1]) ks.add((abi.enosysAbove + d) >>> 0);
  }
  for (const n of [...ks]) ks.add((n | 0x40000000) >>> 0);
  const arches = new Set<number>([
    ...r.abis.map((a) => a.auditArch),
    ARCHES.arm.auditArch,
    0x12345678,
  ]);
  const rnd = prng(seed);
  for (const arch of arches) {
    for (const nr of ks) {
      const stub = runcStub(lib, { arch, nr });
      const real = stub ? builder.leaf(stub) : bpfGraph(lib.program, arch, nr, builder);
      const model = modelGraph(r, arch, nr, builder);
      t.graphs++;
      const d = decisionDifferences(model, real, 2);
      for (const x of d)
        t.diffs.push(
          `seed ${seed} ${target} arch 0x${arch.toString(16)} nr 0x${nr.toString(16)}: model ${formatAction(x.left)}, runc ${formatAction(x.right)} at [${x.args.map((a) => `0x${a.toString(16)}`).join(", ")}] (${x.path.join(", ")})`,
        );
      // And through the public API, on concrete calls.
      for (let k = 0; k < 2; k++) {
        const args = [0, 1, 2, 3, 4, 5].map(() => (k === 0 ? 0n : rnd()));
        const want = runcEmulate(lib, { arch, nr, args });
        const got = decide(r, arch, nr, args);
        t.calls++;
        if (!sameAction(want, got))
          t.diffs.push(
            `seed ${seed} decide(0x${arch.toString(16)}, 0x${nr.toString(16)}): ${formatAction(got)}, runc ${formatAction(want)}`,
          );
        if (!sameAction(evaluateDecision(model, args), got))
          t.diffs.push(`seed ${seed}: modelGraph disagrees with decide`);
      }
    }
  }
}

const seconds = Number(process.env.FORGE_FUZZ_SECONDS ?? 0);

describe.skipIf(!libseccompAvailable())("runc semantics against runc + libseccomp 2.5.4", () => {
  test("generated hard profiles: zero differences", () => {
    const t: Tally = { profiles: 0, refused: 0, hangs: 0, graphs: 0, calls: 0, diffs: [] };
    const start = Date.now();
    const raw = process.env.FORGE_FUZZ_SEED ?? "20261207";
    const base = raw === "random" ? Date.now() % 1_000_000_007 : Number(raw) | 0;
    if (raw === "random") console.log(`runc differential: FORGE_FUZZ_SEED=${base}`);
    let seed = 0;
    for (; seed < 300 || (seconds > 0 && Date.now() - start < seconds * 1000); seed++) {
      const { profile, target } = hardProfile(base + seed);
      compare(profile, target, t, base + seed);
      if (t.diffs.length > 20) break;
      if (seconds === 0 && Date.now() - start > 15_000) break;
    }
    console.log(
      `runc differential: ${seed} profiles generated, ${t.profiles} compared (${t.refused} refused by both), ${t.hangs} skipped (libseccomp hangs), ${t.graphs} (arch, nr) graphs and ${t.calls} calls compared, ${t.diffs.length} differences`,
    );
    expect(t.diffs).toEqual([]);
    expect(t.graphs).toBeGreaterThan(10_000);
  });

  // Cases found by the differential test, kept as fixed regressions.
  const fixed: [string, Arch, SeccompProfile][] = [
    [
      // aarch64 has no open(2): libseccomp keeps a pseudo entry that heads the syscall
      // list, so no block reloads the number and every call gets the default action.
      "a pseudo syscall takes the accumulator reset (aarch64)",
      "aarch64",
      {
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_AARCH64"],
        syscalls: [
          { names: ["open"], action: "SCMP_ACT_ALLOW" },
          {
            names: ["read"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, value: 3, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
    ],
    [
      // semop has no direct syscall on i386: its pseudo entry does the same there.
      "semop's pseudo entry on i386",
      "x86_64",
      {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 13,
        architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
        syscalls: [
          { names: ["semop"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
          {
            names: ["ipc"],
            action: "SCMP_ACT_ERRNO",
            errnoRet: 38,
            args: [{ index: 1, value: "18446744073709551614", op: "SCMP_CMP_NE" }],
          },
        ],
      },
    ],
    [
      // libseccomp 2.5 keeps equal code apart when the accumulator states differ (test 50).
      "equal blocks under different accumulator states",
      "x86_64",
      {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 100,
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          {
            names: ["ptrace"],
            action: "SCMP_ACT_ALLOW",
            args: [
              { index: 0, value: 1, op: "SCMP_CMP_EQ" },
              { index: 1, value: 15, valueTwo: 2, op: "SCMP_CMP_MASKED_EQ" },
              { index: 2, value: 3, op: "SCMP_CMP_EQ" },
            ],
          },
          {
            names: ["ptrace"],
            action: "SCMP_ACT_ALLOW",
            args: [
              { index: 0, value: 1, op: "SCMP_CMP_EQ" },
              { index: 1, value: 15, valueTwo: 1, op: "SCMP_CMP_MASKED_EQ" },
            ],
          },
          {
            names: ["times"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }],
          },
          {
            names: ["times"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
    ],
  ];
  for (const [label, target, profile] of fixed) {
    test(`fixed case: ${label}`, () => {
      const t: Tally = { profiles: 0, refused: 0, hangs: 0, graphs: 0, calls: 0, diffs: [] };
      compare(profile, target, t, 0);
      expect(t.diffs).toEqual([]);
      expect(t.profiles).toBe(1);
    });
  }

  test("the pseudo-entry case decides as runc does: read always gets the default", () => {
    const r = resolveProfile(fixed[0]![2], { arch: "aarch64", semantics: "runc" });
    expect(decide(r, ARCHES.aarch64.auditArch, 63, [3n])).toEqual({ kind: "errno", data: 1 });
  });

  test("warnings name what runc does silently", () => {
    const w = runcWarnings({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["kill"], action: "SCMP_ACT_ERRNO" },
        {
          names: ["mmap"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 2, value: 4, op: "SCMP_CMP_EQ" },
            { index: 2, value: 1, op: "SCMP_CMP_EQ" },
            { index: 3, value: 0xf, valueTwo: 0x22, op: "SCMP_CMP_MASKED_EQ" },
          ],
        },
        { names: ["mmap"], action: "SCMP_ACT_LOG" },
      ],
    });
    expect(w.map((x) => x.pointer)).toEqual([
      "/syscalls/0/action",
      "/syscalls/1/args/1",
      "/syscalls/1/args/2/valueTwo",
      "/syscalls/1",
    ]);
  });

  test("the bad-arch action is KILL (thread) and -1 follows the stub", () => {
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [{ names: ["read", "getpid"], action: "SCMP_ACT_ALLOW" }],
    };
    const r = resolveProfile(p, { arch: "x86_64", semantics: "runc" });
    expect(decide(r, 0x12345678, 0, []).kind).toBe("kill_thread");
    // x86_64 alone: -1 has bit 30, skips the stub, libseccomp gives the default.
    expect(decide(r, ARCHES.x86_64.auditArch, -1, [])).toEqual({ kind: "errno", data: 1 });
    // i386: -1 is above the largest number the profile names.
    expect(decide(r, ARCHES.i386.auditArch, -1, [])).toEqual(ENOSYS_ACTION);
    expect(runcDecisions).toBeTypeOf("function");
  });
});
