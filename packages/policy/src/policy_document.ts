import { Ajv, type ErrorObject } from "ajv";
import type { CapabilitySet } from "./capability_set.ts";
import { POLICY_SCHEMA } from "./policy_schema.ts";
import type { TrustLevel } from "./trust_level.ts";

/**
 * An argument constraint of a rule: `args[arg] <op> value`.
 *
 * @example
 * ```ts
 * import type { ArgConstraint } from "@forge/policy";
 * const noCreate: ArgConstraint = { arg: "oflags", op: "maskedEq", mask: 1, value: 0 };
 * ```
 */
export interface ArgConstraint {
  /** The argument's name (object args) or index (array args). */
  readonly arg: string | number;
  readonly op:
    | "eq"
    | "ne"
    | "lt"
    | "le"
    | "gt"
    | "ge"
    | "maskedEq"
    | "in"
    | "notIn"
    | "glob"
    | "prefix"
    | "regex";
  readonly value?: string | number | boolean;
  readonly values?: ReadonlyArray<string | number | boolean>;
  /** For `maskedEq`: `(arg & mask) === value`. */
  readonly mask?: number;
}

/**
 * A rule: when subject, action, resource, trust and arguments all match, it decides.
 * Rules are tried in order; the first match wins.
 *
 * @example
 * ```ts
 * import type { PolicyRule } from "@forge/policy";
 * const r: PolicyRule = { id: "ro-data", actions: ["path_open"], resources: ["/data/**"], decision: "allow" };
 * ```
 */
export interface PolicyRule {
  readonly id: string;
  readonly description?: string;
  /** Subject id patterns (default: any). */
  readonly subjects?: readonly string[];
  /** Action patterns (default: any). */
  readonly actions?: readonly string[];
  /** Resource patterns (default: any). */
  readonly resources?: readonly string[];
  /** The subject must be at least this trusted. */
  readonly minTrust?: TrustLevel;
  /** The subject's capability set must also grant the action and resource. */
  readonly requireCapability?: boolean;
  readonly args?: readonly ArgConstraint[];
  readonly decision: "allow" | "deny" | "quarantine";
  /** The errno of a deny (default: the document's defaultErrno). */
  readonly errno?: string;
}

/**
 * An identity: who a subject is, how trusted, and what it may do.
 *
 * @example
 * ```ts
 * import type { IdentityDoc } from "@forge/policy";
 * const id: IdentityDoc = { id: "plugin:hello", trustLevel: "Standard" };
 * ```
 */
export interface IdentityDoc {
  readonly id: string;
  readonly description?: string;
  readonly trustLevel: TrustLevel;
  readonly capabilities?: Partial<CapabilitySet>;
  /** Denials after which this subject is quarantined (0: never; default: the document's). */
  readonly quarantineAfter?: number;
}

/**
 * A policy document (JSON), validated against {@link POLICY_SCHEMA}.
 *
 * @example
 * ```ts
 * import type { PolicyDocument } from "@forge/policy";
 * const doc: PolicyDocument = { version: 1, identities: [{ id: "a", trustLevel: "Limited" }], rules: [] };
 * ```
 */
export interface PolicyDocument {
  readonly version: 1;
  readonly description?: string;
  /** What happens when no rule and no capability matches (default "deny"). */
  readonly defaultDecision?: "allow" | "deny";
  /** The errno of a default deny (default "EACCES"). */
  readonly defaultErrno?: string;
  /** Denials after which a subject is quarantined (0 or absent: never). */
  readonly quarantineAfter?: number;
  readonly identities?: readonly IdentityDoc[];
  readonly rules?: readonly PolicyRule[];
}

/**
 * A policy document is invalid. `pointer` is the JSON pointer of the first problem
 * ("/rules/2/decision"), `problems` lists all of them.
 *
 * @example
 * ```ts
 * import { parsePolicyDocument, PolicyError } from "@forge/policy";
 * try {
 *   parsePolicyDocument('{"version":1,"rules":[{"id":"x","decision":"maybe"}]}');
 * } catch (e) {
 *   if (e instanceof PolicyError) console.log(e.pointer); // "/rules/0/decision"
 * }
 * ```
 */
export class PolicyError extends Error {
  override name = "PolicyError";
  /** JSON pointer of the first problem ("" for the document itself). */
  readonly pointer: string;
  /** Every problem found, each with its pointer. */
  readonly problems: ReadonlyArray<{ readonly pointer: string; readonly message: string }>;

  constructor(
    message: string,
    pointer: string,
    problems: ReadonlyArray<{ pointer: string; message: string }> = [],
  ) {
    super(message);
    this.pointer = pointer;
    this.problems = problems.length ? problems : [{ pointer, message }];
  }
}

let validator: ReturnType<Ajv["compile"]> | undefined;

function validate(doc: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(POLICY_SCHEMA);
  }
  return validator(doc) ? [] : [...(validator.errors ?? [])];
}

/**
 * Parses and validates a policy document (a JSON string or an already parsed value).
 * Throws a {@link PolicyError} naming the JSON pointer of each problem, including
 * semantic ones (duplicate identity ids, a bad regex).
 *
 * @example
 * ```ts
 * import { parsePolicyDocument } from "@forge/policy";
 * const doc = parsePolicyDocument('{"version":1,"rules":[{"id":"all","decision":"allow"}]}');
 * ```
 */
export function parsePolicyDocument(input: string | unknown, source = "policy"): PolicyDocument {
  let doc: unknown = input;
  if (typeof input === "string") {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new PolicyError(`${source}: not valid JSON: ${(e as Error).message}`, "");
    }
  }
  const errors = validate(doc);
  const problems = errors.map((e) => {
    let pointer = e.instancePath;
    let message = e.message ?? "is invalid";
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${pointer}/${extra}`;
      message = "is not a known property; remove it or check its spelling";
    } else if (e.keyword === "enum") {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    } else if (e.keyword === "required") {
      pointer = `${pointer}/${(e.params as { missingProperty: string }).missingProperty}`;
      message = "is required";
    }
    return { pointer, message };
  });
  const d = doc as PolicyDocument;
  if (problems.length === 0) {
    const seen = new Set<string>();
    d.identities?.forEach((id, i) => {
      if (seen.has(id.id)) {
        problems.push({
          pointer: `/identities/${i}/id`,
          message: `duplicates identity "${id.id}"`,
        });
      }
      seen.add(id.id);
    });
    const rules = new Set<string>();
    d.rules?.forEach((r, i) => {
      if (rules.has(r.id))
        problems.push({ pointer: `/rules/${i}/id`, message: `duplicates rule "${r.id}"` });
      rules.add(r.id);
      r.args?.forEach((a, j) => {
        if (a.op === "regex") {
          try {
            new RegExp(String(a.value));
          } catch (e) {
            problems.push({
              pointer: `/rules/${i}/args/${j}/value`,
              message: `is not a valid regex: ${(e as Error).message}`,
            });
          }
        }
      });
    });
  }
  if (problems.length > 0) {
    // Prefer the most specific problem (ajv reports if/then failures at the parent too).
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new PolicyError(
      `${source}: ${first.pointer || "(document)"} ${first.message}${more}`,
      first.pointer,
      problems,
    );
  }
  return d;
}
