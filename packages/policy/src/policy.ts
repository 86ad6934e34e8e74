import { globMatcher } from "./_util.ts";
import type { AuditLog } from "./audit_log.ts";
import { CapabilityMatcher, type CapabilitySet } from "./capability_set.ts";
import {
  type ArgConstraint,
  type IdentityDoc,
  type PolicyDocument,
  type PolicyRule,
  parsePolicyDocument,
} from "./policy_document.ts";
import { meetsTrust, type TrustLevel, trustRank } from "./trust_level.ts";

/**
 * A request to evaluate: who (`subject`), does what (`action`, e.g. "path_open"), to
 * what (`resource`, e.g. "/data/x" or "fd:1"), with which arguments.
 *
 * @example
 * ```ts
 * import type { PolicyRequest } from "@forge/policy";
 * const r: PolicyRequest = { subject: "wasm:app", action: "fd_write", resource: "fd:1" };
 * ```
 */
export interface PolicyRequest {
  readonly subject: string;
  readonly action: string;
  readonly resource?: string;
  readonly args?: Readonly<Record<string, unknown>> | readonly unknown[];
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * A decision: allow, deny with an errno name, or quarantine the subject (which also
 * denies). `rule` names what decided ("rule:<id>", "capabilities", "default",
 * "quarantined", "unknown-identity").
 *
 * @example
 * ```ts
 * import type { Decision } from "@forge/policy";
 * const d: Decision = { effect: "deny", errno: "EACCES", rule: "default", reason: "no rule allows it" };
 * ```
 */
export interface Decision {
  readonly effect: "allow" | "deny" | "quarantine";
  /** For deny and quarantine: the errno name ("EACCES", "EPERM"). */
  readonly errno?: string;
  readonly rule: string;
  readonly reason: string;
}

/**
 * A subject known to the policy.
 *
 * @example
 * ```ts
 * import type { Identity } from "@forge/policy";
 * const i: Identity = { id: "plugin:a", trustLevel: "Standard", capabilities: { syscalls: [], resources: [], apis: [], custom: {} } };
 * ```
 */
export interface Identity {
  readonly id: string;
  readonly trustLevel: TrustLevel;
  readonly capabilities: CapabilitySet;
  readonly quarantineAfter?: number;
}

/**
 * Why and when a subject was quarantined.
 *
 * @example
 * ```ts
 * import { Policy } from "@forge/policy";
 * const p = new Policy();
 * p.quarantine("plugin:a", "test");
 * console.log(p.quarantined("plugin:a")?.reason); // "test"
 * ```
 */
export interface QuarantineRecord {
  readonly subject: string;
  readonly reason: string;
  readonly since: string;
}

/**
 * Options of a {@link Policy}.
 *
 * @example
 * ```ts
 * import { AuditLog, Policy, type PolicyOptions } from "@forge/policy";
 * const opts: PolicyOptions = { audit: new AuditLog(), auditDecisions: "deny" };
 * const p = new Policy({ version: 1 }, opts);
 * ```
 */
export interface PolicyOptions {
  /** Where decisions and quarantines are recorded. */
  readonly audit?: AuditLog;
  /**
   * Which decisions `evaluate` records itself: "all", "deny" (denials and
   * quarantines, the default) or "none" (the caller audits, e.g. after executing).
   */
  readonly auditDecisions?: "all" | "deny" | "none";
}

interface CompiledRule {
  readonly rule: PolicyRule;
  readonly subject: (s: string) => boolean;
  readonly action: (s: string) => boolean;
  readonly resource: (s: string) => boolean;
  readonly args: ReadonlyArray<(args: PolicyRequest["args"]) => boolean>;
}

interface IdentityState {
  readonly identity: Identity;
  readonly caps: CapabilityMatcher;
  denials: number;
}

const ANY = () => true;

function anyGlob(patterns: readonly string[] | undefined): (s: string) => boolean {
  if (!patterns || patterns.length === 0 || patterns.includes("**") || patterns.includes("*"))
    return ANY;
  const ms = patterns.map(globMatcher);
  if (ms.length === 1) return ms[0]!;
  return (s) => ms.some((m) => m(s));
}

function argValue(args: PolicyRequest["args"], key: string | number): unknown {
  if (!args) return undefined;
  if (Array.isArray(args)) return typeof key === "number" ? args[key] : undefined;
  return (args as Record<string, unknown>)[String(key)];
}

function num(v: unknown): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}

function compileArg(c: ArgConstraint): (args: PolicyRequest["args"]) => boolean {
  const get = (a: PolicyRequest["args"]) => argValue(a, c.arg);
  const cmp = (f: (a: number, b: number) => boolean) => (a: PolicyRequest["args"]) => {
    const v = num(get(a));
    const w = num(c.value);
    return v !== undefined && w !== undefined && f(Number(v), Number(w));
  };
  switch (c.op) {
    case "eq":
      return (a) => {
        const v = get(a);
        return typeof v === "bigint" ? Number(v) === c.value : v === c.value;
      };
    case "ne":
      return (a) => {
        const v = get(a);
        return typeof v === "bigint" ? Number(v) !== c.value : v !== c.value;
      };
    case "lt":
      return cmp((x, y) => x < y);
    case "le":
      return cmp((x, y) => x <= y);
    case "gt":
      return cmp((x, y) => x > y);
    case "ge":
      return cmp((x, y) => x >= y);
    case "maskedEq": {
      const mask = BigInt(c.mask ?? 0);
      const want = BigInt(Number(c.value ?? 0));
      return (a) => {
        const v = num(get(a));
        return v !== undefined && (BigInt(v) & mask) === want;
      };
    }
    case "in":
      return (a) => (c.values ?? []).includes(get(a) as never);
    case "notIn":
      return (a) => !(c.values ?? []).includes(get(a) as never);
    case "glob": {
      const m = globMatcher(String(c.value));
      return (a) => {
        const v = get(a);
        return typeof v === "string" && m(v);
      };
    }
    case "prefix":
      return (a) => {
        const v = get(a);
        return typeof v === "string" && v.startsWith(String(c.value));
      };
    case "regex": {
      const rx = new RegExp(String(c.value));
      return (a) => {
        const v = get(a);
        return typeof v === "string" && rx.test(v);
      };
    }
    default:
      throw new TypeError(`unknown argument operator "${String((c as ArgConstraint).op)}"`);
  }
}

function toIdentity(d: IdentityDoc): Identity {
  const caps: CapabilitySet = {
    syscalls: d.capabilities?.syscalls ?? [],
    resources: d.capabilities?.resources ?? [],
    apis: d.capabilities?.apis ?? [],
    custom: d.capabilities?.custom ?? {},
  };
  return {
    id: d.id,
    trustLevel: d.trustLevel,
    capabilities: caps,
    quarantineAfter: d.quarantineAfter,
  };
}

/**
 * The zero-trust policy graph: identities with trust levels and capability sets, ordered
 * rules with argument constraints, and quarantine state. {@link Policy.evaluate} turns a
 * request into a decision; unknown subjects and unmatched requests are denied.
 *
 * Evaluation order: quarantined subject → deny; unknown identity → deny; trust level
 * Quarantined → deny; the first matching rule decides; else the identity's capability
 * set allows (actions "host:<api>" are matched against its `apis`, others against
 * `syscalls` and `resources`); else the default (deny with `defaultErrno`). Each deny counts toward the
 * subject's `quarantineAfter`; reaching it turns the deny into a quarantine.
 *
 * @example
 * ```ts
 * import { Policy } from "@forge/policy";
 * const p = new Policy({
 *   version: 1,
 *   identities: [{ id: "wasm:app", trustLevel: "Standard", capabilities: { syscalls: ["fd_write"], resources: ["fd:1"] } }],
 *   rules: [{ id: "no-exec", actions: ["proc_exec"], decision: "quarantine" }],
 * });
 * p.evaluate({ subject: "wasm:app", action: "fd_write", resource: "fd:1" }).effect; // "allow"
 * p.evaluate({ subject: "wasm:app", action: "fd_write", resource: "fd:2" }).effect; // "deny"
 * ```
 */
export class Policy {
  readonly #identities = new Map<string, IdentityState>();
  #rules: CompiledRule[] = [];
  readonly #quarantine = new Map<string, QuarantineRecord>();
  readonly #listeners = new Set<(r: QuarantineRecord) => void>();
  readonly #decisionListeners = new Set<(req: PolicyRequest, d: Decision) => void>();
  #doc: PolicyDocument;
  /** Where decisions are recorded (may be undefined). */
  readonly audit: AuditLog | undefined;
  readonly #auditDecisions: "all" | "deny" | "none";
  #generation = 0;

  constructor(doc: PolicyDocument | string = { version: 1 }, opts: PolicyOptions = {}) {
    this.#doc = parsePolicyDocument(doc);
    this.audit = opts.audit;
    this.#auditDecisions = opts.auditDecisions ?? "deny";
    for (const id of this.#doc.identities ?? []) this.#setIdentity(toIdentity(id));
    this.#rules = (this.#doc.rules ?? []).map((r) => this.#compile(r));
  }

  /** Loads a policy from a JSON file. Throws a PolicyError naming the pointer on bad input. */
  static async fromFile(path: string, opts?: PolicyOptions): Promise<Policy> {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(path, "utf8");
    return new Policy(parsePolicyDocument(text, path), opts);
  }

  #compile(rule: PolicyRule): CompiledRule {
    return {
      rule,
      subject: anyGlob(rule.subjects),
      action: anyGlob(rule.actions),
      resource: anyGlob(rule.resources),
      args: (rule.args ?? []).map(compileArg),
    };
  }

  #setIdentity(identity: Identity): void {
    trustRank(identity.trustLevel);
    this.#generation++;
    const prev = this.#identities.get(identity.id);
    this.#identities.set(identity.id, {
      identity,
      caps: new CapabilityMatcher(identity.capabilities),
      denials: prev?.denials ?? 0,
    });
  }

  /** The document this policy was built from, with identities and rules added since. */
  toDocument(): PolicyDocument {
    return {
      ...this.#doc,
      identities: [...this.#identities.values()].map(({ identity: i }) => ({
        id: i.id,
        trustLevel: i.trustLevel,
        capabilities: { ...i.capabilities },
        ...(i.quarantineAfter !== undefined ? { quarantineAfter: i.quarantineAfter } : {}),
      })),
      rules: this.#rules.map((r) => r.rule),
    };
  }

  /** Adds or replaces an identity (audited as "identity.set"). */
  setIdentity(
    identity: Omit<Identity, "capabilities"> & { capabilities?: Partial<CapabilitySet> },
  ): void {
    const full = toIdentity(identity as IdentityDoc);
    const before = this.#identities.get(full.id)?.identity;
    this.#setIdentity(full);
    this.audit?.append({
      kind: before ? "identity.change" : "identity.add",
      subject: full.id,
      trustLevel: full.trustLevel,
      capabilities: full.capabilities,
      ...(before
        ? { before: { trustLevel: before.trustLevel, capabilities: before.capabilities } }
        : {}),
    });
  }

  /** Removes an identity (audited). */
  removeIdentity(id: string): void {
    if (this.#identities.delete(id)) {
      this.#generation++;
      this.audit?.append({ kind: "identity.remove", subject: id });
    }
  }

  /** An identity by id. */
  identity(id: string): Identity | undefined {
    return this.#identities.get(id)?.identity;
  }

  /** Inserts a rule (at the front by default, so it takes precedence). Audited. */
  addRule(rule: PolicyRule, position: "first" | "last" = "first"): void {
    parsePolicyDocument({ version: 1, rules: [rule] }, "rule");
    if (this.#rules.some((r) => r.rule.id === rule.id)) {
      throw new TypeError(`rule "${rule.id}" already exists; remove it first or pick another id`);
    }
    const c = this.#compile(rule);
    this.#generation++;
    if (position === "first") this.#rules.unshift(c);
    else this.#rules.push(c);
    this.audit?.append({ kind: "rule.add", rule });
  }

  /** Removes a rule by id (audited). */
  removeRule(id: string): boolean {
    const n = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.rule.id !== id);
    if (this.#rules.length === n) return false;
    this.#generation++;
    this.audit?.append({ kind: "rule.remove", rule: id });
    return true;
  }

  /** Puts a subject in quarantine: every later request of it is denied (EPERM). Audited. */
  quarantine(subject: string, reason: string): QuarantineRecord {
    const existing = this.#quarantine.get(subject);
    if (existing) return existing;
    const rec: QuarantineRecord = { subject, reason, since: new Date().toISOString() };
    this.#generation++;
    this.#quarantine.set(subject, rec);
    this.audit?.append({ kind: "quarantine", subject, reason });
    for (const l of this.#listeners) l(rec);
    return rec;
  }

  /** Lifts a quarantine (audited); returns whether the subject was quarantined. */
  release(subject: string, reason = "released"): boolean {
    if (!this.#quarantine.delete(subject)) return false;
    this.#generation++;
    const st = this.#identities.get(subject);
    if (st) st.denials = 0;
    this.audit?.append({ kind: "quarantine.release", subject, reason });
    return true;
  }

  /** The quarantine record of a subject, if quarantined. */
  quarantined(subject: string): QuarantineRecord | undefined {
    return this.#quarantine.get(subject);
  }

  /** Every quarantined subject. */
  quarantinedSubjects(): QuarantineRecord[] {
    return [...this.#quarantine.values()];
  }

  /** Calls `fn` whenever a subject is quarantined; returns an unsubscribe function. */
  onQuarantine(fn: (r: QuarantineRecord) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Calls `fn` after every decision; returns an unsubscribe function. */
  onDecision(fn: (req: PolicyRequest, d: Decision) => void): () => void {
    this.#generation++;
    this.#decisionListeners.add(fn);
    return () => this.#decisionListeners.delete(fn);
  }

  /**
   * Changes whenever a decision could change (identities, rules, quarantine). Callers
   * may cache an allow for (subject, action, resource) while it stays the same and
   * {@link Policy.cacheable} is true.
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Whether allow decisions may be cached per (subject, action, resource): no rule
   * looks at arguments, allowed decisions are not audited by the policy itself and no
   * decision listener is registered.
   */
  get cacheable(): boolean {
    return (
      this.#auditDecisions !== "all" &&
      this.#decisionListeners.size === 0 &&
      !this.#rules.some((r) => r.args.length > 0)
    );
  }

  /** Evaluates a request into a decision (see the class doc for the order). */
  evaluate(req: PolicyRequest): Decision {
    const d = this.#decide(req);
    const final = d.effect === "deny" ? this.#countDenial(req.subject, d) : d;
    if (final.effect === "quarantine") this.quarantine(req.subject, final.reason);
    if (
      this.audit &&
      (this.#auditDecisions === "all" ||
        (this.#auditDecisions === "deny" && final.effect !== "allow"))
    ) {
      this.audit.append(decisionEvent(req, final));
    }
    if (this.#decisionListeners.size) for (const l of this.#decisionListeners) l(req, final);
    return final;
  }

  #countDenial(subject: string, d: Decision): Decision {
    const st = this.#identities.get(subject);
    if (!st) return d;
    st.denials++;
    const limit = st.identity.quarantineAfter ?? this.#doc.quarantineAfter ?? 0;
    if (limit > 0 && st.denials >= limit) {
      return {
        effect: "quarantine",
        errno: "EPERM",
        rule: d.rule,
        reason: `${d.reason}; ${st.denials} denial(s) reached quarantineAfter=${limit}`,
      };
    }
    return d;
  }

  #decide(req: PolicyRequest): Decision {
    const q = this.#quarantine.get(req.subject);
    if (q)
      return {
        effect: "deny",
        errno: "EPERM",
        rule: "quarantined",
        reason: `subject is quarantined: ${q.reason}`,
      };
    const st = this.#identities.get(req.subject);
    if (!st) {
      return {
        effect: "deny",
        errno: "EACCES",
        rule: "unknown-identity",
        reason: `no identity "${req.subject}" in the policy`,
      };
    }
    const { identity } = st;
    if (identity.trustLevel === "Quarantined") {
      return {
        effect: "deny",
        errno: "EPERM",
        rule: "trust-level",
        reason: "identity has trust level Quarantined",
      };
    }
    const resource = req.resource ?? "";
    for (const c of this.#rules) {
      if (!c.subject(req.subject) || !c.action(req.action) || !c.resource(resource)) continue;
      const r = c.rule;
      if (r.minTrust && !meetsTrust(identity.trustLevel, r.minTrust)) continue;
      if (r.requireCapability && !st.caps.allows(req.action, resource)) continue;
      if (c.args.length && !c.args.every((f) => f(req.args))) continue;
      if (r.decision === "allow")
        return {
          effect: "allow",
          rule: `rule:${r.id}`,
          reason: r.description ?? `rule ${r.id} allows it`,
        };
      return {
        effect: r.decision,
        errno:
          r.errno ?? (r.decision === "quarantine" ? "EPERM" : (this.#doc.defaultErrno ?? "EACCES")),
        rule: `rule:${r.id}`,
        reason:
          r.description ??
          `rule ${r.id} ${r.decision === "deny" ? "denies" : "quarantines on"} ${req.action}`,
      };
    }
    const granted = req.action.startsWith("host:")
      ? st.caps.allowsApi(req.action.slice(5))
      : st.caps.allows(req.action, resource);
    if (granted) {
      return {
        effect: "allow",
        rule: "capabilities",
        reason: `capability set of ${identity.id} grants it`,
      };
    }
    if (this.#doc.defaultDecision === "allow")
      return { effect: "allow", rule: "default", reason: "default decision is allow" };
    return {
      effect: "deny",
      errno: this.#doc.defaultErrno ?? "EACCES",
      rule: "default",
      reason: `no rule or capability of ${identity.id} allows ${req.action}${resource ? ` on ${resource}` : ""}`,
    };
  }
}

/**
 * The audit event of a decision.
 *
 * @example
 * ```ts
 * import { decisionEvent } from "@forge/policy";
 * const e = decisionEvent({ subject: "a", action: "x" }, { effect: "allow", rule: "default", reason: "" });
 * console.log(e.kind); // "decision"
 * ```
 */
export function decisionEvent(
  req: PolicyRequest,
  d: Decision,
): { kind: string; [k: string]: unknown } {
  return {
    kind: "decision",
    subject: req.subject,
    action: req.action,
    resource: req.resource,
    args: req.args,
    effect: d.effect,
    errno: d.errno,
    rule: d.rule,
    reason: d.reason,
  };
}
