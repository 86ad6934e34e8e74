import { ARCHES, type Arch } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { BPF_MAXINSNS } from "./bpf.ts";
import { compileProfile } from "./compile.ts";
import { checkFilter, emulate } from "./emulator.ts";
import { ProfileError, profileIssues, profileWarnings } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import { decide } from "./resolve.ts";
import { verifyFilter } from "./verify.ts";

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
            const rules = abi.rules.get(nr);
            if (rules?.some((r) => r.conditions.length > 0)) continue;
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
    expect(emulate(only64.program, { nr: 0x40000000 | 39, arch: X64 }).action.kind).toBe(
      "kill_process",
    );
    expect(emulate(only64.program, { nr: 20, arch: I386 }).action.kind).toBe("kill_process");
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
        const want = !x32 ? "kill_process" : nr === (0x40000000 | 39) ? "allow" : "errno";
        const at = `${where} nr 0x${nr.toString(16)}`;
        expect(emulate(f.program, { nr, arch: X64 }).action.kind, at).toBe(want);
        expect(decide(f.resolved, X64, nr, []).kind, at).toBe(want);
      }
      // i386 -1: the default action where i386 is covered, else the bad-arch one.
      const i386 = emulate(f.program, { nr: -1, arch: I386 }).action;
      if (subArches.includes("i386")) expect(i386, where).toEqual(enosys);
      else expect(i386.kind, where).toBe("kill_process");
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
    const names = [
      "read",
      "write",
      "openat",
      "close",
      "mmap",
      "ioctl",
      "socket",
      "prctl",
      "fcntl",
      "futex",
    ];
    const syscalls = names.flatMap((n) =>
      Array.from({ length: 12 }, (_, i) => ({
        names: [n],
        action: "SCMP_ACT_ALLOW",
        args: [
          { index: i % 6, value: `${1000 + i}`, op: "SCMP_CMP_GT" as const },
          { index: (i + 1) % 6, value: `${0x100000000 + i}`, op: "SCMP_CMP_NE" as const },
        ],
      })),
    );
    const f = compileProfile(
      { defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls },
      { arch: "x86_64", subArches: ["i386"] },
    );
    expect(f.program.length).toBeGreaterThan(512);
    expect(f.program.some((p) => p.code === 0x05)).toBe(true); // ja
    expect(checkFilter(f.program)).toEqual([]);
    expect(verifyFilter(f.program, f.resolved, { random: 2 }).differences).toEqual([]);
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
