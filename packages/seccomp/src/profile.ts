/**
 * The profile format: OCI runtime-spec `LinuxSeccomp` plus Docker's extensions
 * (archMap, includes/excludes), its JSON Schema (shipped as
 * `@forge/seccomp/seccomp_profile.schema.json`), exact parsing of 64-bit values, and
 * validation that lists every problem with a JSON pointer.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Ajv as AjvType, ErrorObject } from "ajv";
import { PROFILE_SCHEMA_TEXT } from "./embedded.generated.ts";
import { ALL_SYSCALL_NAMES } from "./syscall_names.generated.ts";

/** An argument comparison operator. */
export type Operator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

/** Every operator. */
export const OPERATORS: readonly Operator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

/** A 64-bit unsigned value as JSON allows it: a safe integer or a decimal/0x string. */
export type U64 = number | string | bigint;

/** One argument condition. For MASKED_EQ, `value` is the mask and `valueTwo` the datum (default 0, as in Go and runc). */
export interface SeccompArg {
  index: number;
  value: U64;
  valueTwo?: U64;
  op: Operator;
}

/** Docker's rule filter: applies by native architecture, capabilities and kernel version. */
export interface RuleFilter {
  arches?: string[] | null;
  caps?: string[] | null;
  minKernel?: string;
}

/** One rule: these syscalls get this action (when every condition holds). */
export interface SeccompRule {
  names?: string[] | null;
  /** Docker's older single-name form. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: RuleFilter | null;
  excludes?: RuleFilter | null;
}

/** A seccomp profile (OCI `linux.seccomp`, Docker seccomp JSON). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
  comment?: string;
}

/** One problem of a profile: where (a JSON pointer) and what. */
export interface ProfileIssue {
  readonly pointer: string;
  readonly message: string;
}

/**
 * A profile was rejected. `issues` lists every problem; the message has one line per
 * problem ("/syscalls/3/args/0/op: unknown operator ...").
 *
 * @example
 * ```ts
 * import { ProfileError, validateProfile } from "@forge/seccomp";
 * try {
 *   validateProfile({ defaultAction: "SCMP_ACT_NOPE" });
 * } catch (e) {
 *   if (e instanceof ProfileError) console.log(e.issues[0]!.pointer); // "/defaultAction"
 * }
 * ```
 */
export class ProfileError extends Error {
  override name = "ProfileError";
  readonly issues: readonly ProfileIssue[];
  constructor(issues: readonly ProfileIssue[], source?: string) {
    const head = `${source ? `${source}: ` : ""}invalid seccomp profile (${issues.length} problem${issues.length === 1 ? "" : "s"})`;
    super([head, ...issues.map((i) => `  ${i.pointer || "/"}: ${i.message}`)].join("\n"));
    this.issues = issues;
  }
}

let validator: ReturnType<AjvType["compile"]> | undefined;

/**
 * The profile JSON Schema (draft-07), as shipped in the package.
 *
 * @example
 * ```ts
 * import { profileSchema } from "@forge/seccomp";
 * console.log(profileSchema().title);
 * ```
 */
export function profileSchema(): Record<string, any> {
  return JSON.parse(PROFILE_SCHEMA_TEXT);
}

/**
 * Parses profile JSON text, keeping integers above 2^53 exact (they become strings,
 * which the schema accepts). Throws a ProfileError for malformed JSON.
 *
 * @example
 * ```ts
 * import { parseProfileText } from "@forge/seccomp";
 * const p = parseProfileText('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}');
 * p.syscalls![0]!.args![0]!.value; // "18446744073709551615"
 * ```
 */
export function parseProfileText(text: string, source?: string): SeccompProfile {
  // Quote long integer literals that follow ':' '[' or ',' outside strings.
  let out = "";
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inStr) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      continue;
    }
    if (c >= "0" && c <= "9") {
      let j = i;
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const lit = text.slice(i, j);
      out += /^[0-9]{16,}$/.test(lit) && !Number.isSafeInteger(Number(lit)) ? `"${lit}"` : lit;
      i = j - 1;
      continue;
    }
    out += c;
  }
  try {
    return JSON.parse(out) as SeccompProfile;
  } catch (e) {
    throw new ProfileError(
      [{ pointer: "", message: `not valid JSON: ${(e as Error).message}` }],
      source,
    );
  }
}

/**
 * Reads a 64-bit profile value (number, decimal or 0x string, bigint) exactly.
 * Throws a RangeError for a value that is not an exact unsigned 64-bit integer.
 *
 * @example
 * ```ts
 * import { u64 } from "@forge/seccomp";
 * u64("0xffffffffffffffff"); // 18446744073709551615n
 * ```
 */
export function u64(v: U64): bigint {
  if (typeof v === "bigint") {
    if (v < 0n || v > 0xffffffffffffffffn)
      throw new RangeError(`${v} is not an unsigned 64-bit value`);
    return v;
  }
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `${v} is not an exact unsigned integer; write values above 2^53 as strings`,
      );
    }
    return BigInt(v);
  }
  if (!/^(0|[1-9][0-9]{0,19}|0[xX][0-9a-fA-F]{1,16})$/.test(v)) {
    throw new RangeError(`"${v}" is not a decimal or 0x-hex unsigned 64-bit value`);
  }
  const b = BigInt(v);
  if (b > 0xffffffffffffffffn) throw new RangeError(`${v} does not fit in 64 bits`);
  return b;
}

function ajvMessage(e: ErrorObject): string {
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case "enum": {
      const what = e.instancePath.endsWith("/op")
        ? "operator"
        : /action|Action/.test(e.instancePath)
          ? "action"
          : /flags/.test(e.instancePath)
            ? "flag"
            : "value";
      return `unknown ${what} ${JSON.stringify(e.data)}; expected one of ${(p.allowedValues as string[]).join(", ")}`;
    }
    case "additionalProperties":
      return `unknown property "${p.additionalProperty}"; remove it or check its spelling`;
    case "required":
      return `missing required property "${p.missingProperty}"`;
    case "type":
      return `expected ${p.type}, got ${Array.isArray(e.data) ? "array" : e.data === null ? "null" : typeof e.data} ${JSON.stringify(e.data)}`;
    case "pattern":
      return `${JSON.stringify(e.data)} does not match ${p.pattern}`;
    case "minimum":
    case "maximum":
      return `${e.data} is out of range (${e.message})`;
    default:
      return e.message ?? e.keyword;
  }
}

function similar(name: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const n of ALL_SYSCALL_NAMES) {
    if (Math.abs(n.length - name.length) >= bestD) continue;
    const d = editDistance(name, n, bestD);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Checks a profile against the schema and the rules the schema cannot express
 * (known syscall names, exact 64-bit values, errnoRet only on ERRNO/TRACE, names
 * present). Returns every problem found; an empty list means valid.
 *
 * @example
 * ```ts
 * import { profileIssues } from "@forge/seccomp";
 * profileIssues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["opne"], action: "SCMP_ACT_ERRNO" }] });
 * // [{ pointer: "/syscalls/0/names/0", message: 'unknown syscall "opne" (on every architecture); did you mean "open"?' }]
 * ```
 */
export function profileIssues(profile: unknown): ProfileIssue[] {
  if (!validator) {
    // Loaded on first use: ajv costs ~30 ms of start-up that built-in profiles skip.
    const { Ajv } = createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvType };
    validator = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(profileSchema());
  }
  const issues: ProfileIssue[] = [];
  if (!validator(profile)) {
    for (const e of validator.errors ?? []) {
      // "type" errors on union-typed u64 fields repeat the pattern error; keep one.
      const issue = { pointer: e.instancePath, message: ajvMessage(e) };
      if (!issues.some((i) => i.pointer === issue.pointer && i.message === issue.message))
        issues.push(issue);
    }
  }
  if (typeof profile !== "object" || profile === null) return issues;
  const p = profile as SeccompProfile;
  if (
    p.defaultErrnoRet !== undefined &&
    !["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"].includes(p.defaultAction)
  ) {
    issues.push({
      pointer: "/defaultErrnoRet",
      message: `set, but defaultAction ${p.defaultAction} takes no errno; use SCMP_ACT_ERRNO`,
    });
  }
  (Array.isArray(p.syscalls) ? p.syscalls : []).forEach((r, i) => {
    if (typeof r !== "object" || r === null) return;
    const base = `/syscalls/${i}`;
    const names = Array.isArray(r.names) ? r.names : [];
    if (names.length === 0 && !r.name) {
      issues.push({ pointer: base, message: 'the rule names no syscall; add "names": [...]' });
    }
    const check = (n: unknown, ptr: string) => {
      if (typeof n === "string" && /^[a-z_][a-z0-9_]*$/.test(n) && !ALL_SYSCALL_NAMES.has(n)) {
        const s = similar(n);
        issues.push({
          pointer: ptr,
          message: `unknown syscall "${n}" (on every architecture)${s ? `; did you mean "${s}"?` : ""}`,
        });
      }
    };
    names.forEach((n, j) => {
      check(n, `${base}/names/${j}`);
    });
    if (r.name) check(r.name, `${base}/name`);
    if (r.errnoRet !== undefined && !["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"].includes(r.action)) {
      issues.push({
        pointer: `${base}/errnoRet`,
        message: `set, but action ${r.action} takes no errno; use SCMP_ACT_ERRNO`,
      });
    }
    (Array.isArray(r.args) ? r.args : []).forEach((a, j) => {
      if (typeof a !== "object" || a === null) return;
      for (const key of ["value", "valueTwo"] as const) {
        const v = a[key];
        if (v === undefined) continue;
        if (typeof v === "number" && (!Number.isSafeInteger(v) || v < 0)) {
          issues.push({
            pointer: `${base}/args/${j}/${key}`,
            message: `${v} is not an exact unsigned integer in JSON; write it as a string ("${v > 0 ? BigInt(Math.round(v)) : v}")`,
          });
        } else if (typeof v === "string") {
          try {
            u64(v);
          } catch (e) {
            if (/^(0|[1-9][0-9]*)$/.test(v))
              issues.push({ pointer: `${base}/args/${j}/${key}`, message: (e as Error).message });
          }
        }
      }
    });
  });
  return issues;
}

/**
 * Throws a {@link ProfileError} listing every problem unless the profile is valid;
 * returns it typed otherwise.
 *
 * @example
 * ```ts
 * import { validateProfile } from "@forge/seccomp";
 * const p = validateProfile({ defaultAction: "SCMP_ACT_ALLOW" });
 * ```
 */
export function validateProfile(profile: unknown, source?: string): SeccompProfile {
  const issues = profileIssues(profile);
  if (issues.length > 0) throw new ProfileError(issues, source);
  return profile as SeccompProfile;
}
