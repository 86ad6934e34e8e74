/**
 * The profile format: OCI runtime-spec `LinuxSeccomp` plus Docker's extensions
 * (archMap, includes/excludes), its JSON Schema (shipped as
 * `@forge/seccomp/seccomp_profile.schema.json`), strict parsing of profile text
 * (errors at FILE:LINE:COLUMN, 64-bit values exact), and validation that lists every
 * problem with a JSON pointer and a sentence saying how to fix it.
 *
 * What a profile may contain follows what runc (and Docker's loader) do with it:
 * - Refused, as runc or Docker refuse them: unknown actions, operators, flags and
 *   architecture names; SCMP_ACT_NOTIFY as the default action or for `write`; both
 *   `architectures` and `archMap`; both `name` and `names` in a rule.
 * - Refused because they cannot mean what they say: values that are not exact
 *   unsigned 64-bit integers (JSON numbers above 2^53 in the text are kept exact),
 *   argument indexes outside 0..5, errnos outside 0..65535, an errno on an action that
 *   takes none, a rule with no syscall, unknown properties, duplicate keys in the text
 *   (JSON readers disagree on which counts), nesting deeper than 64 levels, cycles.
 * - Warned about, and loaded as runc loads them: unknown syscall names (runc ignores
 *   them; the warning names the closest known one), an empty `syscalls` list, a
 *   MASKED_EQ whose datum has bits outside its mask (never matches under Forge;
 *   libseccomp masks the datum), LT 0 and GT 2^64-1 (never match), and (see
 *   `resolveProfile`) architectures none of which the target can run.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Ajv as AjvType, ErrorObject } from "ajv";
import {
  JsonSyntaxError,
  MAX_DEPTH,
  MAX_ITEMS,
  parseJson,
  pointerSegment,
  positionIn,
  sharePositions,
  withPositions,
} from "./_json.ts";
import { ACTION_NAMES } from "./action.ts";
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
  /**
   * Forge's opt-in: "strictest" decides overlapping rules by the most restrictive
   * matching action (as stacked filters are). Default "runc": exactly what runc and
   * libseccomp decide. runc ignores this field, so `forge seccomp export` refuses a
   * "strictest" profile whose decisions runc would not reproduce.
   */
  precedence?: "runc" | "strictest";
  syscalls?: SeccompRule[] | null;
  comment?: string;
}

/**
 * One problem of a profile: where (a JSON pointer, and the line and column when the
 * profile was parsed from text) and what, as a sentence that says how to fix it.
 */
export interface ProfileIssue {
  readonly pointer: string;
  readonly message: string;
  /** 1-based line of the value in the profile's text, when known. */
  readonly line?: number;
  /** 1-based column (in characters) of the value in the profile's text, when known. */
  readonly column?: number;
}

/** How many problems a {@link ProfileError} message lists (`issues` has them all). */
const LISTED = 20;

/**
 * One issue as a line: `FILE:LINE:COLUMN: /pointer: message` when the position is
 * known, else `FILE: /pointer: message` (without FILE when `source` is not given).
 *
 * @example
 * ```ts
 * import { formatProfileIssue } from "@forge/seccomp";
 * formatProfileIssue({ pointer: "/syscalls/0/action", message: "unknown action", line: 4, column: 35 }, "p.json");
 * // "p.json:4:35: /syscalls/0/action: unknown action"
 * ```
 */
export function formatProfileIssue(issue: ProfileIssue, source?: string): string {
  const where =
    issue.line !== undefined
      ? `${source ? `${source}:` : ""}${issue.line}:${issue.column ?? 1}: `
      : source
        ? `${source}: `
        : "";
  return `${where}${shownPointer(issue.pointer)}: ${issue.message}`;
}

/** A pointer as one readable line: control characters escaped, long keys cut. */
function shownPointer(pointer: string): string {
  if (pointer === "") return "/";
  return pointer
    .split("/")
    .map((seg) => {
      const cut = seg.length > 60 ? `${seg.slice(0, 60)}...` : seg;
      let shown = "";
      for (const c of cut) {
        const n = c.charCodeAt(0);
        shown +=
          n < 0x20 || n === 0x7f || n === 0x2028 || n === 0x2029
            ? `\\u${n.toString(16).padStart(4, "0")}`
            : c;
      }
      return shown;
    })
    .join("/");
}

/**
 * A profile was rejected. `issues` lists every problem; the message has a head line
 * and one line per problem (the first 20): "/syscalls/3/args/0/op: unknown operator
 * ...", prefixed with FILE:LINE:COLUMN when the profile was parsed from text.
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
    const n = issues.length;
    const head = `${source ? `${source}: ` : ""}invalid seccomp profile (${n} problem${n === 1 ? "" : "s"})`;
    const lines = issues
      .slice(0, LISTED)
      .map((i) =>
        i.line !== undefined ? `  ${formatProfileIssue(i, source)}` : `  ${formatProfileIssue(i)}`,
      );
    if (n > LISTED)
      lines.push(`  ... and ${n - LISTED} more problem${n - LISTED === 1 ? "" : "s"}`);
    super([head, ...lines].join("\n"));
    this.issues = issues;
  }
}

/**
 * Profile text is not valid JSON (or nests too deep, or holds too many items). A
 * {@link ProfileError} (its `name` too) with one issue, whose message is one line:
 * `FILE:LINE:COLUMN: not valid JSON: what; how to fix it`. The issue's pointer is the
 * value that was being read.
 *
 * @example
 * ```ts
 * import { ProfileSyntaxError, parseProfileText } from "@forge/seccomp";
 * try {
 *   parseProfileText('{"defaultAction": "SCMP_ACT_ALLOW",}', "p.json");
 * } catch (e) {
 *   if (e instanceof ProfileSyntaxError) console.log(e.message);
 *   // p.json:1:36: not valid JSON: a trailing comma is not allowed in JSON; remove the "," before "}"
 * }
 * ```
 */
export class ProfileSyntaxError extends ProfileError {
  readonly line: number;
  readonly column: number;
  /**
   * `limit`: the text is JSON, but nests deeper than 64 levels or has an array or
   * object of more than 10,000 entries (the message then does not say "not valid JSON").
   */
  constructor(
    issue: ProfileIssue & { line: number; column: number },
    source?: string,
    limit = false,
  ) {
    super([issue], source);
    this.line = issue.line;
    this.column = issue.column;
    this.message = `${source ? `${source}:` : ""}${issue.line}:${issue.column}: ${limit ? "" : "not valid JSON: "}${issue.message}`;
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
 * Parses profile text strictly (RFC 8259). Integers above 2^53 are kept exact (they
 * become decimal strings, which the schema accepts where a 64-bit value goes). A
 * "__proto__" key is an ordinary (unknown) property. Throws a
 * {@link ProfileSyntaxError} (`FILE:LINE:COLUMN: not valid JSON: ...`) for malformed
 * text, duplicate keys or nesting deeper than 64 levels. The positions of the values
 * are kept, so that the problems validation finds later say line and column too.
 *
 * @example
 * ```ts
 * import { parseProfileText } from "@forge/seccomp";
 * const p = parseProfileText('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}');
 * p.syscalls![0]!.args![0]!.value; // "18446744073709551615"
 * ```
 */
export function parseProfileText(text: string, source?: string): SeccompProfile {
  if (typeof text !== "string") throw new TypeError("parseProfileText: the text must be a string");
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const { line, column } = positionIn(text, e.offset);
    throw new ProfileSyntaxError(
      { pointer: e.pointer, message: e.message, line, column },
      source,
      e.limit,
    );
  }
  if (typeof value !== "object" || value === null) {
    // Valid JSON, but no document: say where the value is (an object keeps positions).
    const { line, column } = positionIn(text, text.length - text.trimStart().length);
    throw new ProfileError(
      [
        {
          pointer: "",
          message: `expected a profile, a JSON object such as {"defaultAction": "SCMP_ACT_ERRNO"}, got ${describe(value)}`,
          line,
          column,
        },
      ],
      source,
    );
  }
  return value as SeccompProfile;
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
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19}|0[xX][0-9a-fA-F]{1,16})$/.test(v)) {
    throw new RangeError(`${show(v)} is not a decimal or 0x-hex unsigned 64-bit value`);
  }
  const b = BigInt(v);
  if (b > 0xffffffffffffffffn) throw new RangeError(`${v} does not fit in 64 bits`);
  return b;
}

// ---- showing values in messages (bounded, never throws) ----

/** A value as JSON-like text of about `budget` characters at most, cut between tokens. */
function show(v: unknown, budget = 60): string {
  const str = (x: string, max: number) =>
    JSON.stringify(x.length > max ? `${x.slice(0, max)}...` : x);
  if (typeof v === "string") return str(v, budget);
  let out = "";
  const put = (s: string) => {
    if (out.length + s.length > budget) return false;
    out += s;
    return true;
  };
  const walk = (x: unknown, depth: number): boolean => {
    switch (typeof x) {
      case "string":
        return put(str(x, 24));
      case "number":
      case "boolean":
        return put(String(x));
      case "bigint":
        return put(`${x}n`);
      case "undefined":
        return put("null");
      case "function":
      case "symbol":
        return put(`<${typeof x}>`);
    }
    if (x === null) return put("null");
    if (depth > 3) return put(Array.isArray(x) ? "[...]" : "{...}");
    if (Array.isArray(x)) {
      if (!put("[")) return false;
      for (let i = 0; i < x.length; i++) {
        if ((i > 0 && !put(",")) || !walk(x[i], depth + 1)) return false;
      }
      return put("]");
    }
    if (!put("{")) return false;
    let first = true;
    for (const k of Object.keys(x as object)) {
      if ((!first && !put(",")) || !walk(k, depth + 1) || !put(":")) return false;
      first = false;
      if (!walk((x as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return put("}");
  };
  try {
    if (!walk(v, 0)) return `${out}...`;
  } catch {
    return "<unreadable>";
  }
  return out;
}

/** "an object {...}", "a string \"x\"", "null"... */
function describe(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `an array ${show(v)}`;
  if (typeof v === "object") return `an object ${show(v)}`;
  return `a ${typeof v} ${show(v)}`;
}

// ---- suggestions ----

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

/** The closest of `known` to `name` (same spelling but for case first), if close. */
function closest(name: string, known: Iterable<string>, maxDistance = 2): string | undefined {
  if (name.length > 64) return undefined;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const n of known) {
    if (n.toLowerCase() === lower) return n;
    if (Math.abs(n.length - name.length) >= bestD) continue;
    const d = editDistance(lower, n.toLowerCase(), bestD);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}

/** Other spellings of architectures (Go's, the kernel's) to the SCMP_ARCH_ name. */
const ARCH_SPELLINGS: Record<string, string> = {
  amd64: "SCMP_ARCH_X86_64",
  x86_64: "SCMP_ARCH_X86_64",
  x64: "SCMP_ARCH_X86_64",
  "386": "SCMP_ARCH_X86",
  i386: "SCMP_ARCH_X86",
  i686: "SCMP_ARCH_X86",
  x86: "SCMP_ARCH_X86",
  x32: "SCMP_ARCH_X32",
  arm64: "SCMP_ARCH_AARCH64",
  aarch64: "SCMP_ARCH_AARCH64",
  arm: "SCMP_ARCH_ARM",
  loong64: "SCMP_ARCH_LOONGARCH64",
  mipsle: "SCMP_ARCH_MIPSEL",
  mips64le: "SCMP_ARCH_MIPSEL64",
  ppc64le: "SCMP_ARCH_PPC64LE",
  riscv64: "SCMP_ARCH_RISCV64",
  s390x: "SCMP_ARCH_S390X",
};

// ---- snapshot: plain data, read once ----

/** A value where a 64-bit argument value goes: a bigint there is kept exact. */
const U64_SLOT = /\/args\/\d+\/(value|valueTwo)$/;
const OMIT = Symbol("omit");

function thrownText(e: unknown): string {
  try {
    const m = (e as { message?: unknown })?.message;
    return typeof m === "string" ? show(m).slice(1, -1) : "an exception";
  } catch {
    return "an exception";
  }
}

/**
 * Copies `input` into plain JSON data, reading every property once (a getter or a
 * Proxy cannot answer the validator one thing and the compiler another). Problems
 * that JSON cannot have (cycles, functions, throwing getters, too deep) are issues.
 */
function snapshot(input: unknown): { value: unknown; issues: ProfileIssue[] } {
  const issues: ProfileIssue[] = [];
  const ancestors = new Set<object>();
  const walk = (v: unknown, ptr: string, depth: number): unknown => {
    switch (typeof v) {
      case "string":
      case "boolean":
      case "number":
        return v;
      case "bigint": {
        if (U64_SLOT.test(ptr)) return v.toString();
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v.toString();
      }
      case "undefined":
        return null;
      case "function":
      case "symbol":
        issues.push({ pointer: ptr, message: `expected a JSON value, got a ${typeof v}` });
        return null;
    }
    if (v === null) return null;
    const o = v as object;
    if (ancestors.has(o)) {
      issues.push({
        pointer: ptr,
        message: "refers to itself (a cycle); a profile is a tree of plain values",
      });
      return null;
    }
    if (depth >= MAX_DEPTH) {
      issues.push({
        pointer: ptr,
        message: `nested deeper than ${MAX_DEPTH} levels; a seccomp profile needs 6`,
      });
      return null;
    }
    ancestors.add(o);
    try {
      const isArray = Array.isArray(o);
      const keys: (string | number)[] = isArray
        ? Array.from({ length: Math.min((o as unknown[]).length, MAX_ITEMS + 1) }, (_, i) => i)
        : Object.keys(o);
      if (keys.length > MAX_ITEMS) {
        issues.push({
          pointer: ptr,
          message: `has more than ${MAX_ITEMS} ${isArray ? "items" : "properties"}; a seccomp profile needs far fewer`,
        });
        return null;
      }
      const out: Record<string, unknown> | unknown[] = isArray ? [] : {};
      for (const k of keys) {
        const p = `${ptr}/${pointerSegment(k)}`;
        let x: unknown;
        try {
          x = (o as Record<string | number, unknown>)[k];
        } catch (e) {
          issues.push({
            pointer: p,
            message: `could not be read (${thrownText(e)}); pass plain data`,
          });
          x = null;
        }
        const y = x === undefined && !isArray ? OMIT : walk(x, p, depth + 1);
        if (y === OMIT) continue;
        if (isArray) (out as unknown[]).push(y);
        else
          Object.defineProperty(out, k, {
            value: y,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      return out;
    } catch (e) {
      issues.push({
        pointer: ptr,
        message: `could not be read (${thrownText(e)}); pass plain data`,
      });
      return null;
    } finally {
      ancestors.delete(o);
    }
  };
  const value = walk(input, "", 0);
  return { value, issues };
}

// ---- schema problems as sentences ----

const REQUIRED_HINT: Record<string, string> = {
  defaultAction: '; add e.g. "defaultAction": "SCMP_ACT_ERRNO"',
  action: '; add e.g. "action": "SCMP_ACT_ALLOW"',
  index: '; add the argument\'s position, 0 to 5, e.g. "index": 1',
  value: '; add the value to compare with, e.g. "value": 0',
  op: '; add e.g. "op": "SCMP_CMP_EQ"',
  architecture: '; add e.g. "architecture": "SCMP_ARCH_X86_64"',
};

const TYPE_WORDS: Record<string, string> = {
  integer: "an integer",
  number: "a number",
  string: "a string",
  array: "an array",
  object: "an object",
  null: "null",
  boolean: "true or false",
};

function typeText(types: unknown): string {
  const list = (Array.isArray(types) ? types : String(types).split(",")).map(
    (t) => TYPE_WORDS[String(t)] ?? String(t),
  );
  return list.join(" or ");
}

/** What a place of the document holds, from its JSON pointer. */
type Slot =
  | "action"
  | "operator"
  | "flag"
  | "architecture"
  | "errno"
  | "index"
  | "u64"
  | "syscall"
  | "capability"
  | "kernel"
  | "other";

function slotOf(pointer: string): Slot {
  if (/^\/defaultAction$|^\/syscalls\/\d+\/action$/.test(pointer)) return "action";
  if (/^\/syscalls\/\d+\/args\/\d+\/op$/.test(pointer)) return "operator";
  if (/^\/flags\/\d+$/.test(pointer)) return "flag";
  if (/^\/architectures\/\d+$|^\/archMap\/\d+\/(architecture|subArchitectures\/\d+)$/.test(pointer))
    return "architecture";
  if (/^\/defaultErrnoRet$|^\/syscalls\/\d+\/errnoRet$/.test(pointer)) return "errno";
  if (/^\/syscalls\/\d+\/args\/\d+\/index$/.test(pointer)) return "index";
  if (/^\/syscalls\/\d+\/args\/\d+\/(value|valueTwo)$/.test(pointer)) return "u64";
  if (/^\/syscalls\/\d+\/(names\/\d+|name)$/.test(pointer)) return "syscall";
  if (/^\/syscalls\/\d+\/(includes|excludes)\/caps\/\d+$/.test(pointer)) return "capability";
  if (/^\/syscalls\/\d+\/(includes|excludes)\/minKernel$/.test(pointer)) return "kernel";
  return "other";
}

/** What a slot takes, for "expected ..., got ..." and "out of range" sentences. */
const SLOT_TAKES: Partial<Record<Slot, string>> = {
  errno: "an errno, an integer from 0 to 65535 (e.g. 1 for EPERM)",
  index: "an argument index, an integer from 0 to 5",
  u64: 'an unsigned 64-bit integer: a number, or a decimal or 0x string such as "0xffffffffffffffff" above 2^53',
  syscall: 'a syscall name such as "read"',
  capability: 'a capability name such as "CAP_SYS_ADMIN"',
  kernel: 'a kernel version such as "5.8"',
};

function enumIssue(slot: Slot, data: unknown, allowed: string[]): string {
  const kind = slot === "other" ? "value" : slot;
  const article = /^[aeiou]/.test(kind) ? "an" : "a";
  if (typeof data !== "string") {
    return `expected ${article} ${kind} name (a string), got ${describe(data)}; use one of ${allowed.join(", ")}`;
  }
  const suggestion =
    (slot === "architecture"
      ? ARCH_SPELLINGS[data.toLowerCase().replace(/^scmp_arch_/, "")]
      : undefined) ?? closest(data, allowed);
  return `unknown ${kind} ${show(data)}; expected one of ${allowed.join(", ")}${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
}

function unknownProperty(key: string, known: string[]): string {
  const s = closest(key, known);
  const shown = show(key);
  if (s && s.toLowerCase() === key.toLowerCase())
    return `unknown property ${shown}; did you mean "${s}"? (names are case-sensitive)`;
  if (s) return `unknown property ${shown}; did you mean "${s}"?`;
  return `unknown property ${shown}; remove it (known here: ${known.join(", ")})`;
}

function schemaIssue(e: ErrorObject): ProfileIssue {
  const p = e.params as Record<string, unknown>;
  const pointer = e.instancePath;
  const data = e.data;
  const slot = slotOf(pointer);
  const shown = show(data);
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      return { pointer: `${pointer}/${pointerSegment(key)}`, message: unknownProperty(key, known) };
    }
    case "required": {
      const name = String(p.missingProperty);
      return {
        pointer,
        message: `missing required property "${name}"${REQUIRED_HINT[name] ?? ""}`,
      };
    }
    case "enum":
      return { pointer, message: enumIssue(slot, data, p.allowedValues as string[]) };
    case "type":
      return {
        pointer,
        message: `expected ${SLOT_TAKES[slot] ?? typeText(p.type)}, got ${describe(data)}`,
      };
    case "pattern": {
      if (slot === "u64") {
        const s = String(data);
        const tooBig = /^[0-9]{21,}$/.test(s) || /^0[xX][0-9a-fA-F]{17,}$/.test(s);
        return {
          pointer,
          message: tooBig
            ? `${shown} does not fit in 64 bits (the largest value is 18446744073709551615, "0xffffffffffffffff")`
            : `${shown} is not an unsigned 64-bit value; write a decimal or 0x-hex number, e.g. 21523 or "0x5413"`,
        };
      }
      if (slot === "syscall") {
        const lower = String(data).toLowerCase().trim();
        const guess = ALL_SYSCALL_NAMES.has(lower) ? lower : closest(lower, ALL_SYSCALL_NAMES);
        return {
          pointer,
          message: `${shown} is not a syscall name (lowercase letters, digits and "_")${guess ? `; did you mean "${guess}"?` : ""}`,
        };
      }
      if (slot === "capability" || slot === "kernel")
        return { pointer, message: `${shown} is not ${SLOT_TAKES[slot]}` };
      return { pointer, message: `${shown} does not match ${String(p.pattern)}` };
    }
    case "minimum":
    case "maximum": {
      if (slot === "index")
        return {
          pointer,
          message: `argument index ${shown} is out of range; a syscall has arguments 0 to 5`,
        };
      if (slot === "errno")
        return { pointer, message: `${shown} is out of range; an errno is 0 to 65535` };
      if (slot === "u64")
        return {
          pointer,
          message: `${shown} is negative; an argument value is 0 to 18446744073709551615`,
        };
      return { pointer, message: `${shown} is out of range (${e.message ?? e.keyword})` };
    }
    default:
      return { pointer, message: `${e.message ?? `fails the schema's "${e.keyword}" rule`}` };
  }
}

/** Numbers JSON cannot hold (1e400 reads as Infinity), which the schema lets through. */
function nonFinite(v: unknown, ptr: string, out: ProfileIssue[]): void {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      const takes = SLOT_TAKES[slotOf(ptr)];
      out.push({
        pointer: ptr,
        message: `${Number.isNaN(v) ? "NaN is not a number JSON can hold" : "the number is out of the range JSON numbers hold (beyond ±1.8e308)"}${takes ? `; expected ${takes}` : ""}`,
      });
    }
    return;
  }
  if (typeof v !== "object" || v === null) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) nonFinite(v[i], `${ptr}/${i}`, out);
  } else
    for (const k of Object.keys(v)) nonFinite((v as Json)[k], `${ptr}/${pointerSegment(k)}`, out);
}

function schemaIssues(value: unknown): ProfileIssue[] {
  if (!validator) {
    // Loaded on first use: ajv costs ~30 ms of start-up that built-in profiles skip.
    const { Ajv } = createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvType };
    validator = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(profileSchema());
  }
  if (validator(value)) return [];
  return (validator.errors ?? []).map(schemaIssue);
}

// ---- what the schema cannot say ----

const ACTIONS: ReadonlySet<string> = new Set(ACTION_NAMES);
const TAKES_ERRNO: ReadonlySet<string> = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);
const SYSCALL_NAME = /^[a-z_][a-z0-9_]*$/;
const U64_MAX = 0xffffffffffffffffn;
/** Unknown syscall names get a suggestion up to this many (each costs a scan of the table). */
const SUGGESTED = 200;

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const hex = (v: bigint) => `0x${v.toString(16)}`;

function tryU64(v: unknown): bigint | undefined {
  try {
    return u64(v as U64);
  } catch {
    return undefined;
  }
}

/** Errors and warnings the schema cannot express, on the parts that are well-typed. */
function semanticIssues(s: Json, errors: ProfileIssue[], warnings: ProfileIssue[]): void {
  const def =
    typeof s.defaultAction === "string" && ACTIONS.has(s.defaultAction)
      ? s.defaultAction
      : undefined;
  if (def === "SCMP_ACT_NOTIFY") {
    errors.push({
      pointer: "/defaultAction",
      message:
        "SCMP_ACT_NOTIFY cannot be the default action (runc refuses it too: every call, the runtime's own included, would wait for a supervisor); use SCMP_ACT_ERRNO and SCMP_ACT_NOTIFY rules for the calls to supervise",
    });
  }
  if (s.defaultErrnoRet !== undefined && def && !TAKES_ERRNO.has(def)) {
    errors.push({
      pointer: "/defaultErrnoRet",
      message: `set, but defaultAction ${def} takes no errno; remove it or use SCMP_ACT_ERRNO`,
    });
  }
  if (
    Array.isArray(s.architectures) &&
    s.architectures.length > 0 &&
    Array.isArray(s.archMap) &&
    s.archMap.length > 0
  ) {
    errors.push({
      pointer: "/archMap",
      message:
        'both "architectures" and "archMap" are set (Docker refuses this too); keep "architectures" (OCI) or "archMap" (Docker), not both',
    });
  }
  if (Array.isArray(s.syscalls) && s.syscalls.length === 0) {
    warnings.push({
      pointer: "/syscalls",
      message: `the list is empty: every syscall gets the default action ${def ?? "(defaultAction)"}; add rules, or remove "syscalls" if that is what you mean`,
    });
  }
  let suggested = 0;
  (Array.isArray(s.syscalls) ? s.syscalls : []).forEach((r, i) => {
    if (!isObject(r)) return;
    const base = `/syscalls/${i}`;
    const names = Array.isArray(r.names) ? r.names : [];
    const action = typeof r.action === "string" && ACTIONS.has(r.action) ? r.action : undefined;
    const single = typeof r.name === "string" && r.name !== "" ? r.name : undefined;
    if (names.length === 0 && single === undefined) {
      errors.push({ pointer: base, message: 'the rule names no syscall; add "names": [...]' });
    }
    if (single !== undefined && names.length > 0) {
      errors.push({
        pointer: `${base}/name`,
        message:
          'both "name" and "names" are set (Docker refuses this too); move the name into "names"',
      });
    }
    if (r.errnoRet !== undefined && action && !TAKES_ERRNO.has(action)) {
      errors.push({
        pointer: `${base}/errnoRet`,
        message: `set, but action ${action} takes no errno; remove it or use SCMP_ACT_ERRNO`,
      });
    }
    const each = (n: unknown, ptr: string) => {
      if (typeof n !== "string" || !SYSCALL_NAME.test(n)) return;
      if (action === "SCMP_ACT_NOTIFY" && n === "write") {
        errors.push({
          pointer: ptr,
          message:
            "SCMP_ACT_NOTIFY cannot be used for write (runc refuses it: the runtime writes the listener to its parent after loading the filter); give write another action",
        });
      }
      if (!ALL_SYSCALL_NAMES.has(n)) {
        const s2 = suggested++ < SUGGESTED ? closest(n, ALL_SYSCALL_NAMES) : undefined;
        warnings.push({
          pointer: ptr,
          message: `unknown syscall ${show(n)} on every architecture: ignored, as runc does${s2 ? `; did you mean "${s2}"?` : ""}`,
        });
      }
    };
    names.forEach((n, j) => {
      each(n, `${base}/names/${j}`);
    });
    if (single !== undefined) each(single, `${base}/name`);
    (Array.isArray(r.args) ? r.args : []).forEach((a, j) => {
      if (!isObject(a)) return;
      const at = `${base}/args/${j}`;
      const values: Partial<Record<"value" | "valueTwo", bigint>> = {};
      for (const key of ["value", "valueTwo"] as const) {
        const v = a[key];
        if (v === undefined) continue;
        if (typeof v === "number" && Number.isInteger(v) && v >= 0 && !Number.isSafeInteger(v)) {
          errors.push({
            pointer: `${at}/${key}`,
            message: `${v} is above 2^53, where JSON numbers are not exact; write it as a string ("${BigInt(v)}") or as "0x${BigInt(v).toString(16)}"`,
          });
          continue;
        }
        if (typeof v === "string" && /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) > U64_MAX) {
          errors.push({
            pointer: `${at}/${key}`,
            message: `${v} does not fit in 64 bits (the largest value is 18446744073709551615, "0xffffffffffffffff")`,
          });
          continue;
        }
        const b = tryU64(v);
        if (b !== undefined) values[key] = b;
      }
      const m = values.value;
      if (m === undefined) return;
      if (a.op === "SCMP_CMP_MASKED_EQ" && values.valueTwo !== undefined) {
        const d = values.valueTwo;
        const stray = d & ~m & U64_MAX;
        if (stray !== 0n) {
          warnings.push({
            pointer: `${at}/valueTwo`,
            message: `${hex(d)} has bits outside the mask ${hex(m)}; they are ignored: the condition is (arg & ${hex(m)}) == ${hex(d & m)}, as runc and libseccomp decide it; clear the bits outside the mask`,
          });
        }
      } else if (a.op === "SCMP_CMP_LT" && m === 0n) {
        warnings.push({
          pointer: at,
          message: "SCMP_CMP_LT 0 never matches (no value is below 0), so the rule never applies",
        });
      } else if (a.op === "SCMP_CMP_GT" && m === U64_MAX) {
        warnings.push({
          pointer: at,
          message:
            "SCMP_CMP_GT 0xffffffffffffffff never matches (no value is above it), so the rule never applies",
        });
      }
    });
  });
}

/** What {@link checkProfile} found. */
export interface ProfileCheck {
  /** Problems that make the profile unusable (a {@link ProfileError} lists them). */
  readonly errors: readonly ProfileIssue[];
  /** What runc loads but is likely a mistake (the profile is used as runc would). */
  readonly warnings: readonly ProfileIssue[];
  /** The profile as plain data, read once, when there are no errors. */
  readonly profile?: SeccompProfile;
}

/**
 * Checks a profile (parsed text or an object): against the schema, and the rules the
 * schema cannot express (see the module documentation for what is refused and what
 * is warned about). Never throws for any input; every issue has a JSON pointer, and
 * line and column when the profile came from {@link parseProfileText}.
 *
 * @example
 * ```ts
 * import { checkProfile } from "@forge/seccomp";
 * const c = checkProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["opne"], action: "SCMP_ACT_ERRNO" }] });
 * c.errors; // []
 * c.warnings[0]!.message; // 'unknown syscall "opne" on every architecture: ignored, as runc does; did you mean "open"?'
 * ```
 */
export function checkProfile(input: unknown): ProfileCheck {
  const snap = snapshot(input);
  if (snap.issues.length > 0) return { errors: withPositions(input, snap.issues), warnings: [] };
  const errors: ProfileIssue[] = [];
  const warnings: ProfileIssue[] = [];
  const seen = new Set<string>();
  nonFinite(snap.value, "", errors);
  for (const e of errors) seen.add(e.pointer);
  for (const issue of schemaIssues(snap.value)) {
    // One problem per place: ajv may say "type" and "minimum" about one value.
    if (seen.has(issue.pointer)) continue;
    seen.add(issue.pointer);
    errors.push(issue);
  }
  if (isObject(snap.value)) {
    const more: ProfileIssue[] = [];
    semanticIssues(snap.value, more, warnings);
    for (const issue of more) if (!seen.has(issue.pointer)) errors.push(issue);
  }
  sharePositions(input, snap.value);
  return {
    errors: withPositions(input, errors),
    warnings: withPositions(input, warnings),
    ...(errors.length === 0 ? { profile: snap.value as SeccompProfile } : {}),
  };
}

/**
 * Every problem that makes a profile unusable; an empty list means valid. See
 * {@link checkProfile} for the warnings too.
 *
 * @example
 * ```ts
 * import { profileIssues } from "@forge/seccomp";
 * profileIssues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALOW" }] });
 * // [{ pointer: "/syscalls/0/action", message: 'unknown action "SCMP_ACT_ALOW"; expected one of ...; did you mean "SCMP_ACT_ALLOW"?' }]
 * ```
 */
export function profileIssues(profile: unknown): ProfileIssue[] {
  return [...checkProfile(profile).errors];
}

/**
 * What runc would load but is likely a mistake (unknown syscall names, an empty
 * `syscalls`, conditions that never match), independent of the target architecture;
 * `resolveProfile` adds the architecture warnings and returns them all in `warnings`.
 *
 * @example
 * ```ts
 * import { profileWarnings } from "@forge/seccomp";
 * profileWarnings({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [] })[0]!.pointer; // "/syscalls"
 * ```
 */
export function profileWarnings(profile: unknown): ProfileIssue[] {
  return [...checkProfile(profile).warnings];
}

/**
 * Throws a {@link ProfileError} listing every problem unless the profile is valid;
 * returns it as plain data (a copy, read once) otherwise.
 *
 * @example
 * ```ts
 * import { validateProfile } from "@forge/seccomp";
 * const p = validateProfile({ defaultAction: "SCMP_ACT_ALLOW" });
 * ```
 */
export function validateProfile(profile: unknown, source?: string): SeccompProfile {
  const c = checkProfile(profile);
  if (c.errors.length > 0 || !c.profile) throw new ProfileError(c.errors, source);
  return c.profile;
}
