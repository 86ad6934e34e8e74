import { ARCHES } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { compileProfile } from "./compile.ts";
import { emulate } from "./emulator.ts";
import {
  exportJson,
  SPO_ARCHITECTURES,
  SPO_FLAGS,
  toKubeletJson,
  toOciFragment,
  toOciSeccomp,
  toSpoSeccompProfile,
} from "./export.ts";
import { parseProfileText, type SeccompProfile } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";

const OCI_KEYS = [
  "defaultAction",
  "defaultErrnoRet",
  "architectures",
  "flags",
  "listenerPath",
  "syscalls",
];
const RULE_KEYS = ["names", "action", "errnoRet", "args"];
const ARG_KEYS = ["index", "value", "valueTwo", "op"];
// The SeccompProfile CRD (api/seccompprofile/v1beta1): spec and its items.
const SPO_SPEC_KEYS = [
  "baseProfileName",
  "defaultAction",
  "architectures",
  "listenerPath",
  "listenerMetadata",
  "syscalls",
  "flags",
];
const SPO_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];
const SPO_OPS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

const keysWithin = (o: object, allowed: string[]) =>
  expect(Object.keys(o).filter((k) => !allowed.includes(k))).toEqual([]);

const BIG: SeccompProfile = {
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["amd64", "SCMP_ARCH_X86"],
  syscalls: [
    {
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 13,
      args: [{ index: 1, value: "18446744073709551615", op: "SCMP_CMP_EQ" }],
    },
    {
      names: ["personality"],
      action: "SCMP_ACT_ERRNO",
      args: [
        {
          index: 0,
          value: "0xffffffff00000000",
          valueTwo: "0x100000000",
          op: "SCMP_CMP_MASKED_EQ",
        },
      ],
    },
  ],
};

describe("OCI and kubelet exports", () => {
  test("every built-in profile exports to OCI JSON that compiles to the same filter", () => {
    for (const { name } of builtinProfiles()) {
      for (const arch of ["x86_64", "aarch64"] as const) {
        const p = builtinProfile(name);
        const frag = toOciFragment(p, { arch, kernel: "6.1" });
        const s = frag.linux.seccomp;
        keysWithin(frag, ["linux"]);
        keysWithin(frag.linux, ["seccomp"]);
        keysWithin(s, OCI_KEYS);
        for (const r of s.syscalls) {
          keysWithin(r, RULE_KEYS);
          for (const a of r.args ?? []) keysWithin(a, ARG_KEYS);
        }
        // Docker-only fields are resolved away; the result is a plain profile...
        const text = exportJson(frag);
        expect(text).not.toMatch(/"(archMap|includes|excludes|comment|minKernel)"/);
        // ...that the compiler turns into the very filter of the original.
        const back = (parseProfileText(text) as unknown as { linux: { seccomp: SeccompProfile } })
          .linux;
        const a = compileProfile(p, { arch, kernel: "6.1" });
        const b = compileProfile(back.seccomp, { arch, kernel: "6.1" });
        expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes)), `${name} on ${arch}`).toBe(true);
        expect(toKubeletJson(p, { arch, kernel: "6.1" })).toBe(exportJson(s));
      }
    }
  });

  test("docker-default keeps its rules excluded only on other architectures (clone)", () => {
    const s = toOciSeccomp(builtinProfile("docker-default"), { arch: "x86_64", kernel: "6.1" });
    expect(s.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const clone = s.syscalls.filter((r) => r.names.includes("clone"));
    expect(clone.length).toBeGreaterThan(0);
    // Without capabilities, clone is allowed only without namespace flags.
    const f = compileProfile(s, { arch: "x86_64", kernel: "6.1" });
    const run = (flags: bigint) =>
      emulate(f.program, { nr: 56, arch: ARCHES.x86_64.auditArch, args: [flags] }).action.kind;
    expect(run(0x11n /* SIGCHLD */)).toBe("allow");
    expect(run(0x10000000n /* CLONE_NEWUSER */)).toBe("errno");
    // With CAP_SYS_ADMIN the cap-gated rules apply instead.
    const admin = toOciSeccomp(builtinProfile("docker-default"), {
      arch: "x86_64",
      caps: ["CAP_SYS_ADMIN"],
      kernel: "6.1",
    });
    expect(admin.syscalls.some((r) => r.names.includes("mount"))).toBe(true);
    expect(s.syscalls.some((r) => r.names.includes("mount"))).toBe(false);
    expect(
      toOciSeccomp(builtinProfile("docker-default"), { arch: "aarch64" }).architectures,
    ).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
  });

  test("64-bit values are exact JSON integers; architectures get their SCMP_ARCH_* names", () => {
    const s = toOciSeccomp(BIG, { arch: "x86_64" });
    expect(s.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    expect(s.syscalls[0]!.args![0]!.value).toBe(18446744073709551615n);
    expect(s.syscalls[1]!.args![0]).toEqual({
      index: 0,
      value: 0xffffffff00000000n,
      valueTwo: 0x100000000,
      op: "SCMP_CMP_MASKED_EQ",
    });
    const text = toKubeletJson(BIG, { arch: "x86_64" });
    expect(text).toContain('"value": 18446744073709551615');
    expect(text).toContain('"value": 18446744069414584320');
    expect(text).not.toMatch(/"value": "/);
    expect(exportJson({ n: 1n, s: "1", a: [2n] })).toBe(
      '{\n  "n": 1,\n  "s": "1",\n  "a": [\n    2\n  ]\n}\n',
    );
  });
});

describe("Security Profiles Operator SeccompProfile", () => {
  test("built-in profiles give resources shaped to the v1beta1 CRD", () => {
    for (const { name } of builtinProfiles()) {
      const r = toSpoSeccompProfile(builtinProfile(name), `forge-${name}`, "apps", {
        arch: "x86_64",
        kernel: "6.1",
      });
      expect(r.apiVersion).toBe("security-profiles-operator.x-k8s.io/v1beta1");
      expect(r.kind).toBe("SeccompProfile");
      expect(r.metadata).toMatchObject({ name: `forge-${name}`, namespace: "apps" });
      keysWithin(r, ["apiVersion", "kind", "metadata", "spec"]);
      keysWithin(r.spec, SPO_SPEC_KEYS);
      expect(SPO_ACTIONS).toContain(r.spec.defaultAction);
      for (const a of r.spec.architectures ?? []) expect(SPO_ARCHITECTURES).toContain(a);
      for (const f of r.spec.flags ?? []) expect(SPO_FLAGS).toContain(f);
      for (const s of r.spec.syscalls) {
        keysWithin(s, RULE_KEYS);
        expect(s.names.length).toBeGreaterThan(0);
        expect(SPO_ACTIONS).toContain(s.action);
        if (s.errnoRet !== undefined) expect(s.errnoRet).toMatch(/^[0-9]+$/); // a string in the CRD
        expect((s.args ?? []).length).toBeLessThanOrEqual(6);
        for (const a of s.args ?? []) {
          keysWithin(a, ARG_KEYS);
          expect(SPO_OPS).toContain(a.op);
          expect(a.index).toBeGreaterThanOrEqual(0);
        }
      }
    }
    const noNs = toSpoSeccompProfile(builtinProfile("minimal"), "m");
    expect(noNs.metadata.namespace).toBeUndefined();
  });

  test("what the CRD cannot express is refused, not changed", () => {
    const errno13 = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 13, syscalls: [] };
    expect(() => toSpoSeccompProfile(errno13, "x")).toThrow(/no defaultErrnoRet/);
    const eperm = toSpoSeccompProfile({ ...errno13, defaultErrnoRet: 1 }, "x");
    expect("defaultErrnoRet" in eperm.spec).toBe(false);
    const listener = {
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"],
    };
    expect(() => toSpoSeccompProfile(listener, "x")).toThrow(
      /flag SECCOMP_FILTER_FLAG_NEW_LISTENER/,
    );
    const text = exportJson(toSpoSeccompProfile(BIG, "big", undefined, { arch: "x86_64" }));
    expect(text).toContain('"errnoRet": "13"');
    expect(text).toContain('"value": 18446744073709551615');
  });
});
