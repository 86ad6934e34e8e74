// The export's choice between the profile's rules, their precedence order and the
// disjoint rewrite, and its refusal, against a stand-in for runc's rule semantics that
// no reordering can satisfy: the last matching rule wins, and TRAP rules are lost.
// (The real model, runc_semantics.ts, is tested on its own; this one makes every
// branch of exportSeccomp reachable.) Only syscall-level classes are looked at here:
// what runc's filter adds outside the rules (ENOSYS stub, bad-arch action) is real
// runc's, see export_test.ts.
import { ARCHES } from "@forge/libc";
import { describe, expect, test, vi } from "vitest";
import { parseAction } from "./action.ts";
import type { DecisionNode } from "./decision.ts";
import { ExportError, exportJson, exportSeccomp, formatExportDifference } from "./export.ts";
import { parseProfileText, type SeccompProfile, u64 } from "./profile.ts";
import { resolveProfile } from "./resolve.ts";
import type { RuncDecisions, RuncInput } from "./runc_semantics.ts";

vi.mock("./runc_semantics.ts", async (importOriginal) => {
  const { syscallEntries } = await import("@forge/libc");
  const real = (await importOriginal()) as Record<string, unknown>;
  return {
    ...real,
    runcDecisions(input: RuncInput): RuncDecisions {
      const info = ARCHES[input.arch];
      const table = new Map(syscallEntries(input.arch));
      const bits: 32 | 64 = info.bits === 32 ? 32 : 64;
      const per = new Map<number, Parameters<typeof input.builder.firstMatch>[0][number][]>();
      for (const { rule } of [...input.rules].reverse()) {
        if (rule.action === "SCMP_ACT_TRAP") continue;
        const action = parseAction(rule.action, rule.errnoRet);
        const conditions = (rule.args ?? []).map((a) => ({
          index: a.index,
          op: a.op,
          value: u64(a.value),
          valueTwo: a.op === "SCMP_CMP_MASKED_EQ" ? u64(a.valueTwo ?? 0) : 0n,
        }));
        for (const name of rule.names ?? []) {
          const nr = table.get(name);
          if (nr === undefined) continue;
          const key = (nr | info.syscallBit) >>> 0;
          const list = per.get(key) ?? [];
          list.push({ conditions, action });
          per.set(key, list);
        }
      }
      const decisions = new Map<number, DecisionNode>();
      const def = input.builder.leaf(input.defaultAction);
      for (const [nr, l] of per) decisions.set(nr, input.builder.firstMatch(l, bits, def));
      return { decisions };
    },
  };
});

const BASE: SeccompProfile = {
  defaultAction: "SCMP_ACT_ALLOW",
  precedence: "strictest",
  architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [
    {
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO",
      args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }],
    },
    { names: ["ioctl"], action: "SCMP_ACT_LOG" },
  ],
};

describe("exportSeccomp against another runc", () => {
  test("the stand-in really is last-match-wins", () => {
    const r = resolveProfile({ ...BASE, precedence: "runc" }, { arch: "x86_64" });
    expect(r.abis[0]!.decisions.get(16)!.kind).toBe("leaf"); // the LOG rule, unconditional
  });

  test("when neither the rules nor their order decide alike, the disjoint rewrite does", () => {
    const e = exportSeccomp(BASE, { arch: "x86_64", kernel: "6.1", allowDifferences: true });
    expect(e.differences.filter((d) => d.scope === "syscall")).toEqual([]);
    expect(e.rules).toBe("disjoint");
    const rules = (parseProfileText(exportJson(e.seccomp)) as SeccompProfile).syscalls!;
    // LOG where the command is not TIOCSTI; ERRNO for TIOCSTI: no overlap, any order.
    expect(rules).toEqual([
      {
        names: ["ioctl"],
        action: "SCMP_ACT_ERRNO",
        args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }],
      },
      {
        names: ["ioctl"],
        action: "SCMP_ACT_LOG",
        args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_NE" }],
      },
    ]);
  });

  test("what runc cannot decide alike is refused, or written closest with every difference", () => {
    const trap: SeccompProfile = {
      ...BASE,
      syscalls: [
        ...BASE.syscalls!,
        {
          names: ["personality"],
          action: "SCMP_ACT_TRAP",
          args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    let err: unknown;
    try {
      exportSeccomp(trap, { arch: "x86_64", kernel: "6.1" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExportError);
    const ee = err as ExportError;
    expect(ee.message).toMatch(
      /^runc would decide \d+ class(es)? of calls differently from Forge \(the profile's "precedence": "strictest" is Forge's own, [^)]*\), e\.g\. personality \(x86_64\): args\[0\]\.hi == 0x0 && args\[0\]\.lo == 0x8: forge TRAP, runc ALLOW \(e\.g\. personality\(0x8\)\); pass allowDifferences/,
    );
    const e = exportSeccomp(trap, { arch: "x86_64", kernel: "6.1", allowDifferences: true });
    expect(e.rules).toBe("disjoint");
    expect(e.differences.filter((d) => d.scope === "syscall").map(formatExportDifference)).toEqual([
      "personality (x86_64): args[0].hi == 0x0 && args[0].lo == 0x8: forge TRAP, runc ALLOW (e.g. personality(0x8))",
    ]);
  });
});
