import { ARCHES } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { disjointRules } from "./_disjoint_rules.ts";
import { compileProfile } from "./compile.ts";
import { DecisionBuilder } from "./decision.ts";
import { emulate } from "./emulator.ts";
import {
  ExportError,
  exportDifferences,
  exportJson,
  exportSeccomp,
  formatExportDifference,
  minKernelRules,
  SPO_ARCHITECTURES,
  SPO_FLAGS,
  spoSeccompProfile,
  toKubeletJson,
  toOciFragment,
  toOciSeccomp,
  toSpoSeccompProfile,
} from "./export.ts";
import { parseProfileOrResource } from "./import_k8s.ts";
import { parseProfileText, type SeccompProfile } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import { resolveProfile } from "./resolve.ts";

const OCI_KEYS = [
  "defaultAction",
  "defaultErrnoRet",
  "architectures",
  "flags",
  "listenerPath",
  "listenerMetadata",
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
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
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

/** Allow ioctl, except TIOCSTI: a narrow deny carved out of a broad allow. */
const TIOCSTI_STRICTEST: SeccompProfile = {
  defaultAction: "SCMP_ACT_ERRNO",
  precedence: "strictest",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  syscalls: [
    { names: ["ioctl", "read"], action: "SCMP_ACT_ALLOW" },
    {
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO",
      args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }],
    },
    {
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 0xffff0000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    {
      names: ["personality"],
      action: "SCMP_ACT_TRAP",
      args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
    },
  ],
};

describe("exports decide as Forge does (checked)", () => {
  test("differences are classes of calls with a witness, one line each", () => {
    const builder = new DecisionBuilder();
    const forge = resolveProfile(TIOCSTI_STRICTEST, { arch: "x86_64", builder });
    // The same rules, enforced by runc in the profile's order (the allow rule first).
    const runc = resolveProfile(TIOCSTI_STRICTEST, { arch: "x86_64", builder, semantics: "runc" });
    const lines = exportDifferences(forge, runc).map(formatExportDifference);
    expect(lines).toContain(
      "ioctl (x86_64): args[1].hi == 0x0 && args[1].lo == 0x5412: forge ERRNO(1), runc ALLOW (e.g. ioctl(0, 0x5412))",
    );
    expect(lines).toContain(
      "ioctl (i386): args[1].lo == 0x5412: forge ERRNO(1), runc ALLOW (e.g. ioctl(0, 0x5412))",
    );
    expect(lines.some((l) => /^personality \(x86_64\): .*forge TRAP, runc ALLOW/.test(l))).toBe(
      true,
    );
    expect(exportDifferences(forge, forge)).toEqual([]);
  });

  test('a "strictest" profile is exported as rules runc decides alike, without "precedence"', () => {
    for (const arch of ["x86_64", "aarch64"] as const) {
      const e = exportSeccomp(TIOCSTI_STRICTEST, { arch, kernel: "6.1", allowDifferences: true });
      // Every syscall's rules decide alike; what may remain is runc's own, outside the
      // rules: its ENOSYS stub and its bad-arch action, which Forge's strictest
      // semantics does not have.
      expect(
        e.differences.filter((d) => d.scope === "syscall").map(formatExportDifference),
      ).toEqual([]);
      expect(e.semantics).toBe("strictest");
      expect(e.rules).not.toBe("as-is");
      const text = exportJson(e.seccomp);
      expect(text).not.toContain("precedence");
      // Read back as runc reads it: the same differences, no more.
      const back = parseProfileText(text);
      const builder = new DecisionBuilder();
      const forge = resolveProfile(TIOCSTI_STRICTEST, { arch, builder, kernel: "6.1" });
      const runc = resolveProfile(back, { arch, builder, kernel: "6.1", semantics: "runc" });
      expect(exportDifferences(forge, runc)).toEqual(e.differences);
      // Without allowDifferences, any difference is a refusal that says why.
      if (e.differences.length > 0) {
        expect(() => exportSeccomp(TIOCSTI_STRICTEST, { arch, kernel: "6.1" })).toThrow(
          ExportError,
        );
        try {
          exportSeccomp(TIOCSTI_STRICTEST, { arch, kernel: "6.1" });
        } catch (err) {
          expect((err as ExportError).reason).toMatch(/ENOSYS|other architectures/);
        }
      }
    }
  });

  test("a profile with runc's semantics is exported as it is", () => {
    const p: SeccompProfile = { ...TIOCSTI_STRICTEST, precedence: "runc" };
    const e = exportSeccomp(p, { arch: "x86_64" });
    expect(e.rules).toBe("as-is");
    expect(e.seccomp.syscalls.map((r) => r.action)).toEqual(
      (p.syscalls ?? []).map((r) => r.action),
    );
    expect(exportJson(e.seccomp)).not.toContain("precedence");
  });

  test("the disjoint rewrite decides alike under every precedence", () => {
    const rules = disjointRules(TIOCSTI_STRICTEST.syscalls!, { kind: "errno", data: 1 })!;
    expect(rules).toBeDefined();
    // ioctl: allowed when the command is not TIOCSTI; no ERRNO rule (it is the default).
    expect(rules).toContainEqual({
      names: ["ioctl"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_NE" }],
    });
    expect(rules.some((r) => r.action === "SCMP_ACT_ERRNO")).toBe(false);
    const rewritten: SeccompProfile = { ...TIOCSTI_STRICTEST, syscalls: rules };
    for (const semantics of ["runc", "strictest"] as const) {
      const builder = new DecisionBuilder();
      const forge = resolveProfile(TIOCSTI_STRICTEST, { arch: "x86_64", builder });
      const other = resolveProfile(
        { ...rewritten, precedence: semantics },
        { arch: "x86_64", builder },
      );
      const syscallLevel = (ds: ReturnType<typeof exportDifferences>) =>
        ds.filter((d) => d.scope === "syscall").map(formatExportDifference);
      expect(syscallLevel(exportDifferences(forge, other))).toEqual([]);
      // On 64-bit ABIs no two rules with different actions overlap: reversed, they decide
      // the same. (On i386 values are compared modulo 2^32, and the rules' order matters.)
      const only64 = { arch: "x86_64" as const, builder, subArches: [] };
      const reversed = resolveProfile(
        { ...rewritten, precedence: semantics, syscalls: [...rules].reverse() },
        only64,
      );
      expect(
        syscallLevel(exportDifferences(resolveProfile(TIOCSTI_STRICTEST, only64), reversed)),
      ).toEqual([]);
    }
  });

  test("listenerPath and listenerMetadata are kept; precedence never appears", () => {
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/seccomp-agent.sock",
      listenerMetadata: "agent=forge",
      precedence: "runc",
      syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }],
    };
    const s = toOciSeccomp(p, { arch: "x86_64" });
    expect(s.listenerPath).toBe("/run/seccomp-agent.sock");
    expect(s.listenerMetadata).toBe("agent=forge");
    expect("precedence" in s).toBe(false);
    const k8s = toSpoSeccompProfile(p, "agent", undefined, { arch: "x86_64" });
    expect(k8s.spec.listenerMetadata).toBe("agent=forge");
    expect(exportJson(k8s)).not.toContain("precedence");
  });

  test("minKernel includes are resolved for the kernel given, and listed", () => {
    const p = builtinProfile("docker-default");
    const old = minKernelRules(p, { arch: "x86_64", kernel: "4.4" });
    const fresh = minKernelRules(p, { arch: "x86_64", kernel: "7.0" });
    // Docker allows ptrace (and process_vm_*) from Linux 4.8 on.
    const ptrace = (list: typeof old) => list.find((r) => r.names.includes("ptrace"));
    expect(ptrace(old)).toMatchObject({ minKernel: "4.8", kept: false });
    expect(ptrace(fresh)).toMatchObject({ minKernel: "4.8", kept: true });
    const allowsPtrace = (kernel: string) =>
      toOciSeccomp(p, { arch: "x86_64", kernel }).syscalls.some(
        (r) => r.names.includes("ptrace") && r.action === "SCMP_ACT_ALLOW",
      );
    expect(allowsPtrace("4.4")).toBe(false);
    expect(allowsPtrace("7.0")).toBe(true);
  });

  test("ExportError says how many classes differ and shows the first", () => {
    const e = new ExportError([
      {
        arch: "x86_64",
        syscall: "ioctl",
        path: ["args[1].lo == 0x5412"],
        forge: { kind: "errno", data: 1 },
        runc: { kind: "allow" },
        example: "ioctl(0, 0x5412)",
        scope: "syscall",
      },
    ]);
    expect(e.name).toBe("ExportError");
    expect(e.message).toBe(
      "runc would decide 1 class of calls differently from Forge, e.g. ioctl (x86_64): args[1].lo == 0x5412: forge ERRNO(1), runc ALLOW (e.g. ioctl(0, 0x5412)); pass allowDifferences to get the closest runc profile and the list",
    );
  });
});

describe("k8s round trip: export k8s, read it back, compile", () => {
  /** A resource as block YAML, the way kubectl prints it (sequences at their key's indentation). */
  function toYaml(v: unknown, indent = ""): string {
    const scalar = (x: unknown) =>
      typeof x === "string"
        ? /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(x) && !/^(true|false|null|yes|no)$/i.test(x)
          ? x
          : JSON.stringify(x)
        : String(x);
    if (Array.isArray(v)) {
      if (v.length === 0) return " []\n";
      return `\n${v
        .map((x) =>
          typeof x === "object" && x !== null
            ? `${indent}- ${toYaml(x, `${indent}  `).trimStart()}`
            : `${indent}- ${scalar(x)}\n`,
        )
        .join("")}`;
    }
    if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v);
      if (entries.length === 0) return " {}\n";
      return `\n${entries
        .map(([k, x]) =>
          Array.isArray(x)
            ? `${indent}${k}:${toYaml(x, indent)}`
            : typeof x === "object" && x !== null
              ? `${indent}${k}:${toYaml(x, `${indent}  `)}`
              : `${indent}${k}: ${scalar(x)}\n`,
        )
        .join("")}`;
    }
    return ` ${scalar(v)}\n`;
  }

  test("every built-in: the resource (JSON and YAML) compiles to the bytes of the source", () => {
    for (const { name } of builtinProfiles()) {
      for (const arch of ["x86_64", "aarch64"] as const) {
        const p = builtinProfile(name);
        const res = toSpoSeccompProfile(p, `forge-${name}`, "apps", { arch, kernel: "6.1" });
        const json = exportJson(res);
        const yaml = `# kubectl get seccompprofile forge-${name} -o yaml\n---${toYaml(JSON.parse(json.replace(/: ([0-9]{16,})/g, ': "$1"')))}`;
        const want = compileProfile(p, { arch, kernel: "6.1" }).bytes;
        for (const [text, file] of [
          [json, "r.json"],
          [yaml, "r.yaml"],
        ] as const) {
          const back = parseProfileOrResource(text, file);
          expect(back.format).toBe("k8s");
          const got = compileProfile(back.profile, { arch, kernel: "6.1" }).bytes;
          expect(Buffer.from(got).equals(Buffer.from(want)), `${name} ${arch} ${file}`).toBe(true);
        }
      }
    }
  });

  test("64-bit values and errnoRet strings survive the round trip", () => {
    const res = spoSeccompProfile(toOciSeccomp(BIG, { arch: "x86_64" }), "big");
    const back = parseProfileOrResource(exportJson(res), "big.json").profile;
    expect(back.syscalls![0]!.errnoRet).toBe(13);
    expect(back.syscalls![0]!.args![0]!.value).toBe("18446744073709551615");
    const a = compileProfile(BIG, { arch: "x86_64" }).bytes;
    const b = compileProfile(back, { arch: "x86_64" }).bytes;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
