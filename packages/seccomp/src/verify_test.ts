import { ARCHES } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { libseccompAvailable, libseccompCompile } from "./_libseccomp.ts";
import { actionValue } from "./action.ts";
import { argLo, BPF, encodeFilter, type Instruction, insn, SECCOMP_DATA } from "./bpf.ts";
import { compileProfile } from "./compile.ts";
import type { SeccompProfile } from "./profile.ts";
import { resolveProfile } from "./resolve.ts";
import { formatDifferences, testVectors, verifyBpf, verifyFilter } from "./verify.ts";

const X86_64 = ARCHES.x86_64.auditArch;
const ALLOW = actionValue({ kind: "allow" });
const EPERM = actionValue({ kind: "errno", data: 1 });
const KILL = actionValue({ kind: "kill_process" });

/** ERRNO by default; read allowed when fd == 5 (a 64-bit comparison). */
const READ5: SeccompProfile = {
  defaultAction: "SCMP_ACT_ERRNO",
  architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [
    {
      names: ["read"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 5, op: "SCMP_CMP_EQ" }],
    },
  ],
};

/** A hand-written filter for READ5 that compares the low word of fd only. */
function lowWordOnly(): Instruction[] {
  const J = BPF.JMP | BPF.JEQ | BPF.K;
  return [
    insn(BPF.LD | BPF.W | BPF.ABS, SECCOMP_DATA.ARCH), // 0
    insn(J, X86_64, 1, 0), // 1
    insn(BPF.RET | BPF.K, KILL), // 2
    insn(BPF.LD | BPF.W | BPF.ABS, SECCOMP_DATA.NR), // 3
    insn(BPF.JMP | BPF.JGE | BPF.K, 0x40000000, 0, 1), // 4: x32 numbers: -1 gets the default
    insn(J, 0xffffffff, 1, 6), // 5 -> 7 (default) else 12 (kill: x32 is not covered)
    insn(J, 0, 1, 0), // 6: read -> 8, else 7
    insn(BPF.RET | BPF.K, EPERM), // 7
    insn(BPF.LD | BPF.W | BPF.ABS, argLo(0)), // 8
    insn(J, 5, 0, 1), // 9
    insn(BPF.RET | BPF.K, ALLOW), // 10
    insn(BPF.RET | BPF.K, EPERM), // 11
    insn(BPF.RET | BPF.K, KILL), // 12
  ];
}

describe("test vectors", () => {
  test("every argument a rule tests gets upper-half junk and sign-extended values on 64-bit ABIs", () => {
    const r = resolveProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 1, value: 0x80045412, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
      { arch: "x86_64" },
    );
    const ioctl = testVectors(r).filter((v) => v.arch === X86_64 && v.nr === 16);
    const second = new Set(ioctl.map((v) => v.args[1]));
    expect(second.has(0x80045412n)).toBe(true);
    expect(second.has(0xdead000080045412n)).toBe(true);
    expect(second.has(0xffffffff80045412n)).toBe(true);
    // No input is checked twice.
    const keys = ioctl.map((v) => v.args.join(","));
    expect(new Set(keys).size).toBe(keys.length);
  });

  test("a filter that compares only the low word of a 64-bit rule is caught", () => {
    const r = resolveProfile(READ5, { arch: "x86_64" });
    const report = verifyFilter(lowWordOnly(), r);
    // (The hand-written filter has no ENOSYS stub and another bad-arch action than
    // runc's: only read's differences are looked at.)
    const reads = report.differences.filter((d) => d.vector.arch === X86_64 && d.vector.nr === 0);
    expect(reads.length).toBeGreaterThan(0);
    for (const d of reads) {
      expect(d.vector.args[0]! & 0xffffffffn).toBe(5n);
      expect(d.vector.args[0]! >> 32n).not.toBe(0n);
      expect(d.expected.kind).toBe("errno");
      expect(d.got.kind).toBe("allow");
    }
    expect(reads.some((d) => d.vector.args[0] === 0xdead000000000005n)).toBe(true);
    expect(reads.some((d) => d.vector.args[0] === 0xffffffff00000005n)).toBe(false); // 5 is not negative
    expect(formatDifferences(reads)).toMatch(
      /^x86_64 read\(0xdead000000000005(, 0x0)*\): profile says ERRNO\(1\), filter returns ALLOW$/m,
    );
  });
});

describe("verifyBpf: an external filter against a profile", () => {
  test("raw bytes of Forge's own filter match", () => {
    const f = compileProfile(READ5, { arch: "x86_64" });
    const report = verifyBpf(f.bytes, f.resolved);
    expect(report.loadProblems).toEqual([]);
    expect(report.length).toBe(f.program.length);
    expect(report.differences).toEqual([]);
  });

  test("differences and load problems of a wrong filter are listed", () => {
    const r = resolveProfile(READ5, { arch: "x86_64" });
    const report = verifyBpf(encodeFilter(lowWordOnly()), r);
    expect(report.loadProblems).toEqual([]);
    expect(report.differences.length).toBeGreaterThan(0);
    // A filter that runs past its end: the kernel refuses it; each input says so.
    const broken = verifyBpf([insn(BPF.LD | BPF.W | BPF.ABS, SECCOMP_DATA.NR)], r);
    expect(broken.loadProblems.join("; ")).toMatch(/not a return/);
    expect(broken.differences.length).toBe(broken.checked);
    expect(formatDifferences(broken.differences.slice(0, 1))).toMatch(
      /filter fails: the program ran past its end at instruction 1$/,
    );
    expect(() => verifyBpf(new Uint8Array(3), r)).toThrow(/multiple of 8 bytes/);
  });

  test.skipIf(!libseccompAvailable())("libseccomp's export of a runc profile matches it", () => {
    // An ALLOW default: runc prepends no ENOSYS stub, so libseccomp's filter is runc's.
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["ptrace", "kexec_load"], action: "SCMP_ACT_ERRNO" },
        {
          names: ["ioctl"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }],
        },
        {
          names: ["personality"],
          action: "SCMP_ACT_TRAP",
          args: [{ index: 0, value: 0xffffffff, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ" }],
        },
      ],
    };
    const lib = libseccompCompile(p, { arch: "x86_64" });
    expect(lib.refused).toEqual([]);
    const report = verifyBpf(encodeFilter(lib.program), resolveProfile(p, { arch: "x86_64" }));
    expect(report.loadProblems).toEqual([]);
    expect(formatDifferences(report.differences)).toBe("");
  });
});
