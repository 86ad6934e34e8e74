import { describe, expect, it } from "vitest";
import { AuditLog } from "./audit_log.ts";
import { Policy } from "./policy.ts";
import { PolicyError, parsePolicyDocument } from "./policy_document.ts";
import { meetsTrust, trustRank } from "./trust_level.ts";

const doc = {
  version: 1 as const,
  quarantineAfter: 3,
  identities: [
    {
      id: "plugin:a",
      trustLevel: "Standard" as const,
      capabilities: { syscalls: ["fd_*"], resources: ["fd:*"] },
    },
    { id: "plugin:core", trustLevel: "Core" as const },
    { id: "plugin:low", trustLevel: "Limited" as const, quarantineAfter: 1 },
    {
      id: "plugin:q",
      trustLevel: "Quarantined" as const,
      capabilities: { syscalls: ["*"], resources: ["**"] },
    },
  ],
  rules: [
    { id: "no-exec", actions: ["proc_exec"], decision: "quarantine" as const },
    {
      id: "ro-etc",
      actions: ["path_open"],
      resources: ["/etc/**"],
      args: [{ arg: "write", op: "eq" as const, value: true }],
      decision: "deny" as const,
      errno: "EROFS",
    },
    {
      id: "etc",
      actions: ["path_open"],
      resources: ["/etc/**"],
      minTrust: "Standard" as const,
      decision: "allow" as const,
    },
    {
      id: "creat",
      actions: ["path_open"],
      resources: ["/tmp/*"],
      args: [{ arg: "oflags", op: "maskedEq" as const, mask: 1, value: 1 }],
      decision: "allow" as const,
    },
  ],
};

describe("Policy.evaluate", () => {
  it("allows through capabilities and denies by default", () => {
    const p = new Policy(doc);
    expect(p.evaluate({ subject: "plugin:a", action: "fd_write", resource: "fd:1" })).toMatchObject(
      { effect: "allow", rule: "capabilities" },
    );
    expect(
      p.evaluate({ subject: "plugin:a", action: "sock_send", resource: "fd:1" }),
    ).toMatchObject({ effect: "deny", errno: "EACCES", rule: "default" });
  });
  it("denies unknown identities and Quarantined trust", () => {
    const p = new Policy(doc);
    expect(p.evaluate({ subject: "nobody", action: "fd_write" })).toMatchObject({
      effect: "deny",
      rule: "unknown-identity",
    });
    expect(p.evaluate({ subject: "plugin:q", action: "fd_write", resource: "fd:1" })).toMatchObject(
      { effect: "deny", rule: "trust-level" },
    );
  });
  it("applies rules in order with argument constraints and trust minimums", () => {
    const p = new Policy({ ...doc, quarantineAfter: 0 });
    expect(
      p.evaluate({
        subject: "plugin:core",
        action: "path_open",
        resource: "/etc/passwd",
        args: { write: true },
      }),
    ).toMatchObject({ effect: "deny", errno: "EROFS", rule: "rule:ro-etc" });
    expect(
      p.evaluate({
        subject: "plugin:core",
        action: "path_open",
        resource: "/etc/passwd",
        args: { write: false },
      }),
    ).toMatchObject({ effect: "allow", rule: "rule:etc" });
    expect(
      p.evaluate({
        subject: "plugin:low",
        action: "path_open",
        resource: "/etc/passwd",
        args: { write: false },
      }).effect,
    ).not.toBe("allow");
    expect(
      p.evaluate({
        subject: "plugin:core",
        action: "path_open",
        resource: "/tmp/x",
        args: { oflags: 9 },
      }).effect,
    ).toBe("allow");
    expect(
      p.evaluate({
        subject: "plugin:core",
        action: "path_open",
        resource: "/tmp/x",
        args: { oflags: 8 },
      }).effect,
    ).toBe("deny");
    expect(
      p.evaluate({
        subject: "plugin:core",
        action: "path_open",
        resource: "/tmp/a/x",
        args: { oflags: 1 },
      }).effect,
    ).toBe("deny");
  });
  it("quarantines on a quarantine rule and after repeated denials", () => {
    const audit = new AuditLog();
    const p = new Policy(doc, { audit });
    const seen: string[] = [];
    p.onQuarantine((r) => seen.push(r.subject));
    expect(p.evaluate({ subject: "plugin:core", action: "proc_exec" }).effect).toBe("quarantine");
    expect(p.evaluate({ subject: "plugin:core", action: "fd_write" })).toMatchObject({
      effect: "deny",
      rule: "quarantined",
      errno: "EPERM",
    });
    expect(p.evaluate({ subject: "plugin:low", action: "x" }).effect).toBe("quarantine");
    p.evaluate({ subject: "plugin:a", action: "x" });
    p.evaluate({ subject: "plugin:a", action: "x" });
    expect(p.quarantined("plugin:a")).toBeUndefined();
    expect(p.evaluate({ subject: "plugin:a", action: "x" }).effect).toBe("quarantine");
    expect(seen).toEqual(["plugin:core", "plugin:low", "plugin:a"]);
    expect(p.release("plugin:a")).toBe(true);
    expect(p.evaluate({ subject: "plugin:a", action: "fd_read", resource: "fd:0" }).effect).toBe(
      "allow",
    );
    const kinds = audit.entries().map((e) => e.event.kind);
    expect(kinds).toContain("quarantine");
    expect(kinds).toContain("quarantine.release");
    expect(audit.verifySelf().ok).toBe(true);
  });
  it("bumps its generation on every change that can alter a decision", () => {
    const p = new Policy(doc);
    const g0 = p.generation;
    expect(p.cacheable).toBe(false); // rules with argument constraints
    p.quarantine("plugin:a", "x");
    expect(p.generation).toBeGreaterThan(g0);
    const g1 = p.generation;
    p.release("plugin:a");
    p.setIdentity({ id: "n", trustLevel: "Core" });
    expect(p.generation).toBeGreaterThan(g1 + 1);
    expect(new Policy({ version: 1 }).cacheable).toBe(true);
  });
  it("audits identity and rule changes", () => {
    const audit = new AuditLog();
    const p = new Policy({ version: 1 }, { audit });
    p.setIdentity({ id: "x", trustLevel: "Limited" });
    p.setIdentity({ id: "x", trustLevel: "Standard", capabilities: { syscalls: ["a"] } });
    p.addRule({ id: "r", actions: ["b"], decision: "allow" });
    expect(p.evaluate({ subject: "x", action: "b" }).effect).toBe("allow");
    expect(p.evaluate({ subject: "x", action: "a" }).effect).toBe("allow");
    p.removeRule("r");
    expect(p.evaluate({ subject: "x", action: "b" }).effect).toBe("deny");
    expect(audit.entries().map((e) => e.event.kind)).toEqual([
      "identity.add",
      "identity.change",
      "rule.add",
      "rule.remove",
      "decision",
    ]);
    expect(p.toDocument().identities?.[0]?.trustLevel).toBe("Standard");
  });
});

describe("policy documents", () => {
  it("reports problems with JSON pointers", () => {
    const bad = {
      version: 1,
      rules: [
        { id: "a", decision: "allow" },
        { id: "b", decision: "maybe" },
      ],
    };
    try {
      parsePolicyDocument(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).pointer).toBe("/rules/1/decision");
      expect((e as PolicyError).message).toMatch(/\/rules\/1\/decision must be one of/);
    }
    expect(() =>
      parsePolicyDocument({ version: 1, identities: [{ id: "a", trustLevel: "Root" }] }),
    ).toThrow(/\/identities\/0\/trustLevel/);
    expect(() => parsePolicyDocument({ version: 1, extra: 1 })).toThrow(
      /\/extra is not a known property/,
    );
    expect(() =>
      parsePolicyDocument({
        version: 1,
        identities: [
          { id: "a", trustLevel: "Core" },
          { id: "a", trustLevel: "Core" },
        ],
      }),
    ).toThrow(/\/identities\/1\/id duplicates/);
    expect(() =>
      parsePolicyDocument({
        version: 1,
        rules: [{ id: "a", decision: "allow", args: [{ arg: "x", op: "in" }] }],
      }),
    ).toThrow(/\/rules\/0\/args\/0\/values is required/);
    expect(() => parsePolicyDocument("{")).toThrow(/not valid JSON/);
  });
  it("orders trust levels", () => {
    expect(trustRank("Core")).toBe(0);
    expect(meetsTrust("Trusted", "Standard")).toBe(true);
    expect(meetsTrust("Limited", "Standard")).toBe(false);
    expect(() => trustRank("Root" as never)).toThrow(TypeError);
  });
});
