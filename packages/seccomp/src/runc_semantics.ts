/**
 * runc + libseccomp 2.5.4 semantics: what runc's filter returns for every syscall, as
 * decision graphs. Three layers are modelled, each after its source:
 *
 * - runc (libcontainer/seccomp/seccomp_linux.go, `InitSeccomp`/`matchCall`): one rule
 *   per name, in profile order; a rule whose action (with its errno) equals the
 *   default action is skipped; ERRNO and TRACE without errnoRet mean EPERM; names
 *   libseccomp does not know are skipped; a rule with two or more conditions on one
 *   argument is added as one rule per condition (OR, not AND); the binary-tree
 *   optimisation is on when the profile names more than 32 syscalls; the bad-arch
 *   action is left at libseccomp's default, KILL (thread).
 * - libseccomp's rule database and code generator (_scmp_db.ts, _scmp_gen.ts): the
 *   filter libseccomp exports, followed with the real content of the accumulator.
 * - runc's -ENOSYS stub (libcontainer/seccomp/patchbpf/enosys_linux.go), prepended to
 *   that filter: on each architecture the profile lists, numbers above the largest
 *   number its rules name return ERRNO(ENOSYS), unless the default action is ALLOW,
 *   LOG or TRACE. It is returned as `enosysAbove` and applied by `decide`.
 *
 * @module
 */
import { ARCHES, type Arch, syscallEntries } from "@forge/libc";
import {
  type ApiArg,
  type ApiRule,
  ArchDb,
  apiArg,
  CMP,
  ScmpError,
  X86_IPC,
  X86_SOCKETCALL,
  x86Rules,
} from "./_scmp_db.ts";
import { type GenArch, generate, type Program, programDecision } from "./_scmp_gen.ts";
import { type Action, actionValue, decodeAction, formatAction, parseAction } from "./action.ts";
import type { ArgCondition, DecisionBuilder, DecisionNode } from "./decision.ts";
import type { Operator, ProfileIssue, SeccompProfile, SeccompRule } from "./profile.ts";
import { u64 } from "./profile.ts";

/** What {@link runcDecisions} needs. */
export interface RuncInput {
  /** The ABI to decide for. */
  readonly arch: Arch;
  /** The filter's native architecture (the host runc runs on). */
  readonly target: Arch;
  /** The validated profile. */
  readonly profile: SeccompProfile;
  /** The rules that apply (includes/excludes already checked), in profile order, with their index. */
  readonly rules: readonly { readonly rule: SeccompRule; readonly source: number }[];
  readonly builder: DecisionBuilder;
  readonly defaultAction: Action;
}

/** What runc's filter decides on one ABI. */
export interface RuncDecisions {
  /** For every number libseccomp's filter tests on this ABI: what it returns. */
  readonly decisions: Map<number, DecisionNode>;
  /**
   * runc's -ENOSYS stub: numbers of this ABI above this one return ERRNO(ENOSYS)
   * before libseccomp's filter runs (x86_64 and x32 share AUDIT_ARCH_X86_64 and are
   * told apart by bit 30 of the number, as the stub does).
   */
  readonly enosysAbove?: number;
  /** For calls from an architecture the filter does not cover: KILL (thread). */
  readonly badArchAction?: Action;
  /** What runc does silently that the profile's author may not expect. */
  readonly warnings?: ProfileIssue[];
  /** Why runc would fail to start the container with this profile (libseccomp refuses a rule). */
  readonly errors?: ProfileIssue[];
}

/**
 * runc's bad-arch action: it never sets SCMP_FLTATR_ACT_BADARCH, so libseccomp's
 * default, SCMP_ACT_KILL (kill the thread), applies.
 *
 * @example
 * ```ts
 * import { RUNC_BAD_ARCH_ACTION } from "@forge/seccomp";
 * RUNC_BAD_ARCH_ACTION.kind; // "kill_thread"
 * ```
 */
export const RUNC_BAD_ARCH_ACTION: Action = { kind: "kill_thread" };

const ENOSYS_ERRNO_ACTION = 0x00050026;
/** Marks a warning that changes no decision (left out of resolveProfile's warnings). */
const QUIET = Symbol("quiet");
const OPS: Record<string, number> = {
  SCMP_CMP_NE: CMP.NE,
  SCMP_CMP_LT: CMP.LT,
  SCMP_CMP_LE: CMP.LE,
  SCMP_CMP_EQ: CMP.EQ,
  SCMP_CMP_GE: CMP.GE,
  SCMP_CMP_GT: CMP.GT,
  SCMP_CMP_MASKED_EQ: CMP.MASKED_EQ,
};
const ALIASES: Record<string, Arch> = {
  scmp_arch_x86_64: "x86_64",
  scmp_arch_x86: "i386",
  scmp_arch_x32: "x32",
  scmp_arch_aarch64: "aarch64",
  scmp_arch_arm: "arm",
  amd64: "x86_64",
  x86_64: "x86_64",
  x86: "i386",
  "386": "i386",
  i386: "i386",
  x32: "x32",
  arm64: "aarch64",
  aarch64: "aarch64",
  arm: "arm",
};
const FORGE_ARCHES = Object.keys(ARCHES) as Arch[];

/**
 * The architectures runc's filter holds, in libseccomp's order: the native one first
 * (seccomp_init), then those the profile lists (`architectures`, or the native's
 * `archMap` entry as moby expands it) that Forge has tables for, plus `extra` at the end.
 *
 * @example
 * ```ts
 * import { runcArches } from "@forge/seccomp";
 * runcArches({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"] }, "x86_64");
 * // ["x86_64", "i386"]
 * ```
 */
export function runcArches(
  profile: SeccompProfile,
  target: Arch,
  extra: readonly Arch[] = [],
): Arch[] {
  const out: Arch[] = [target];
  for (const a of [...listedArches(profile, target), ...extra]) if (!out.includes(a)) out.push(a);
  return out;
}

/** runc's config.Architectures as Forge arches: the list the -ENOSYS stub covers. */
function listedArches(profile: SeccompProfile, target: Arch): Arch[] {
  const names =
    profile.architectures && profile.architectures.length > 0
      ? profile.architectures
      : (() => {
          const e = (profile.archMap ?? []).find(
            (m) => ALIASES[m.architecture.toLowerCase()] === target,
          );
          return e ? [e.architecture, ...(e.subArchitectures ?? [])] : [];
        })();
  const out: Arch[] = [];
  for (const n of names) {
    const a = ALIASES[n.toLowerCase()];
    if (a && !out.includes(a)) out.push(a);
  }
  return out;
}

interface Table {
  readonly byName: ReadonlyMap<string, number>;
}
const tables = new Map<Arch, Table>();
function table(arch: Arch): Table {
  let t = tables.get(arch);
  if (!t) {
    t = { byName: new Map(syscallEntries(arch)) };
    tables.set(arch, t);
  }
  return t;
}
let known: ReadonlySet<string> | undefined;
/** Names libseccomp resolves on some architecture (else runc skips them). */
function knownName(name: string): boolean {
  known ??= new Set(FORGE_ARCHES.flatMap((a) => [...table(a).byName.keys()]));
  return known.has(name) || X86_SOCKETCALL.has(name) || X86_IPC.has(name);
}
const pseudo = new Map<string, number>();
/** A negative number for a name an architecture lacks (libseccomp's __PNR_ numbers). */
function pseudoNumber(name: string): number {
  let n = pseudo.get(name);
  if (n === undefined) {
    n = -10001 - pseudo.size;
    pseudo.set(name, n);
  }
  return n;
}

/** libseccomp's number for a name on an architecture (as runc's stub resolves it). */
function scmpNumber(arch: Arch, name: string): number | undefined {
  if (arch === "i386" && (X86_SOCKETCALL.has(name) || X86_IPC.has(name))) return -100;
  const nr = table(arch).byName.get(name);
  if (nr !== undefined) return (nr | ARCHES[arch].syscallBit) >>> 0;
  return knownName(name) ? pseudoNumber(name) : undefined;
}

function namesOf(rule: SeccompRule): string[] {
  return [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])];
}

/** One seccomp_rule_add runc makes. */
interface RuncCall {
  readonly source: number;
  readonly name: string;
  readonly action: number;
  readonly args: readonly (ApiArg | undefined)[];
  readonly conditional: boolean;
}

interface Model {
  readonly program: Program;
  readonly dbs: ReadonlyMap<Arch, ArchDb>;
  readonly warnings: ProfileIssue[];
  readonly errors: ProfileIssue[];
  /** Far beyond what the kernel loads: decided first-match instead (see runcDecisions). */
  readonly tooLarge: boolean;
}

const cache = new WeakMap<object, Map<string, Model>>();

/** runc's calls into libseccomp for a profile, with what it drops silently. */
function runcCalls(
  rules: RuncInput["rules"],
  defaultAction: Action,
): { calls: RuncCall[]; warnings: ProfileIssue[]; names: number } {
  const def = actionValue(defaultAction) >>> 0;
  const calls: RuncCall[] = [];
  const warnings: ProfileIssue[] = [];
  const skippedDefault: { source: number; rule: SeccompRule; names: string[] }[] = [];
  let names = 0;
  for (const { rule, source } of rules) {
    const action = actionValue(parseAction(rule.action, rule.errnoRet)) >>> 0;
    const ruleNames = namesOf(rule);
    names += ruleNames.length;
    if (action === def) {
      if (ruleNames.length > 0) skippedDefault.push({ source, rule, names: ruleNames });
      continue;
    }
    const args = rule.args ?? [];
    const seen = new Map<number, number>();
    let split = false;
    args.forEach((a, j) => {
      const first = seen.get(a.index);
      if (first !== undefined) {
        split = true;
        warnings.push({
          pointer: `/syscalls/${source}/args/${j}`,
          message: `runc adds this condition as a rule of its own, ORed with /syscalls/${source}/args/${first} (both test argument ${a.index}), not ANDed with the others`,
        });
      } else seen.set(a.index, j);
      if (a.op === "SCMP_CMP_MASKED_EQ") {
        const mask = u64(a.value);
        const datum = u64(a.valueTwo ?? 0);
        if ((datum & ~mask & 0xffffffffffffffffn) !== 0n)
          warnings.push({
            pointer: `/syscalls/${source}/args/${j}/valueTwo`,
            message: `the datum 0x${datum.toString(16)} has bits outside the mask 0x${mask.toString(16)}: libseccomp compares (arg & mask) == (datum & mask), i.e. with 0x${(datum & mask).toString(16)}`,
          });
      }
    });
    const toApi = (list: typeof args) => {
      const out: (ApiArg | undefined)[] = [];
      for (const a of list)
        out[a.index] = apiArg(a.index, OPS[a.op]!, u64(a.value), u64(a.valueTwo ?? 0));
      return out;
    };
    const sets = args.length === 0 ? [[]] : split ? args.map((a) => [a]) : [args];
    for (const name of ruleNames) {
      if (!knownName(name)) continue;
      for (const s of sets)
        calls.push({ source, name, action, args: toApi(s), conditional: s.length > 0 });
    }
  }
  // Rules with the default action are skipped; that changes a decision only where
  // another rule of the same syscall has another action (a narrow deny inside a broad
  // allow is lost), which `matters` marks.
  const named = new Set(calls.map((c) => c.name));
  for (const { source, rule, names: ns } of skippedDefault) {
    const hit = ns.filter((n) => named.has(n));
    warnings.push({
      pointer: `/syscalls/${source}/action`,
      message: `runc skips this rule: its action ${formatAction(parseAction(rule.action, rule.errnoRet))} is the default action${hit.length ? `, so other rules of ${hit.slice(0, 3).join(", ")} decide alone` : ""}`,
      ...(hit.length ? {} : { [QUIET]: true }),
    } as ProfileIssue);
  }
  // An unconditional rule replaces a syscall's tree, and conditional rules added to
  // an unconditional syscall are dropped (db_rule_add), whatever their order.
  const uncond = new Map<string, RuncCall>();
  for (const c of calls) if (!c.conditional && !uncond.has(c.name)) uncond.set(c.name, c);
  const told = new Set<number>();
  for (const c of calls) {
    const u = uncond.get(c.name);
    if (!c.conditional || !u || told.has(c.source)) continue;
    told.add(c.source);
    warnings.push({
      pointer: `/syscalls/${c.source}`,
      message: `never applies to ${c.name}: /syscalls/${u.source} makes ${c.name} unconditional, and libseccomp then drops its conditional rules`,
    });
  }
  const order = (w: ProfileIssue) => Number(w.pointer.split("/")[2]);
  warnings.sort((a, b) => order(a) - order(b));
  return { calls, warnings, names };
}

/** The rules libseccomp's database of one architecture receives for one runc call. */
function archRules(arch: Arch, c: RuncCall): ApiRule[] {
  if (arch === "i386" && (X86_SOCKETCALL.has(c.name) || X86_IPC.has(c.name)))
    return x86Rules(c.name, c.action, c.args);
  const nr = table(arch).byName.get(c.name);
  if (nr !== undefined)
    return [{ action: c.action, syscall: nr | ARCHES[arch].syscallBit | 0, args: c.args }];
  // A name this architecture lacks: i386 drops it (x86_rule_add), the others keep an
  // entry under a negative number that the generator skips.
  return arch === "i386" ? [] : [{ action: c.action, syscall: pseudoNumber(c.name), args: c.args }];
}

function buildModel(input: RuncInput): Model {
  const { profile, target, rules, defaultAction } = input;
  const arches = runcArches(profile, target, [input.arch]);
  const { calls, warnings, names } = runcCalls(rules, defaultAction);
  const errors: ProfileIssue[] = [];
  const dbs = new Map<Arch, ArchDb>();
  for (const a of arches) dbs.set(a, new ArchDb(a === "x86_64" || a === "aarch64" ? 64 : 32));
  let program: Program | undefined;
  try {
    for (const c of calls) {
      for (const a of arches) {
        for (const r of archRules(a, c)) dbs.get(a)!.addRule(r);
      }
    }
    const gen: GenArch[] = arches.map((a) => ({
      token: a === "x86_64" ? "x86_64" : a === "x32" ? "x32" : "other",
      auditArch: ARCHES[a].auditArch,
      db: dbs.get(a)!,
    }));
    program = generate(gen, actionValue(defaultAction) >>> 0, 0, names > 32 ? 2 : 1);
  } catch (err) {
    // A tree libseccomp would loop on can also recurse without end here.
    const e = err instanceof RangeError ? new ScmpError("HANG", err.message) : err;
    if (!(e instanceof ScmpError)) throw e;
    errors.push({
      pointer: "/syscalls",
      message:
        e.errno === "HANG"
          ? "runc never starts with this profile: libseccomp 2.5.4 loops forever building its filter"
          : `runc refuses this profile: libseccomp 2.5.4 fails (${e.errno}): ${e.message}`,
    });
  }
  const size = program ? program.blocks.reduce((n, b) => n + b.ins.length, 0) : 0;
  if (size > 4096)
    warnings.push({
      pointer: "/syscalls",
      message: `runc cannot load this profile: libseccomp's filter has at least ${size} instructions and the kernel loads at most 4096`,
    });
  return {
    program: program ?? generate([], 0, 0, 1),
    dbs,
    warnings,
    errors,
    tooLarge: size > 16384,
  };
}

/** runc's rules per number of an ABI, as conditions (only for a filter too large to load). */
function fallbackRules(
  input: RuncInput,
): Map<number, { conditions: ArgCondition[]; action: Action }[]> {
  const out = new Map<number, { conditions: ArgCondition[]; action: Action }[]>();
  const { calls } = runcCalls(input.rules, input.defaultAction);
  for (const c of calls) {
    const nr = table(input.arch).byName.get(c.name);
    if (nr === undefined) continue;
    const key = (nr | ARCHES[input.arch].syscallBit) >>> 0;
    const conditions: ArgCondition[] = [];
    for (const a of c.args) {
      if (!a) continue;
      const op = (Object.keys(OPS) as Operator[]).find((k) => OPS[k] === a.op)!;
      conditions.push(
        op === "SCMP_CMP_MASKED_EQ"
          ? { index: a.arg, op, value: a.mask, valueTwo: a.datum }
          : { index: a.arg, op, value: a.datum, valueTwo: 0n },
      );
    }
    let l = out.get(key);
    if (!l) {
      l = [];
      out.set(key, l);
    }
    l.push({ conditions, action: decodeAction(c.action) });
  }
  return out;
}

/**
 * runc's -ENOSYS bound for an ABI (its `findLastSyscalls`): numbers above it get
 * ERRNO(ENOSYS) before the filter runs; undefined when runc adds no stub (an
 * allow-like default, an ABI the profile does not list, no rule).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, runcStubBound } from "@forge/seccomp";
 * const profile = { defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["read", "openat"], action: "SCMP_ACT_ALLOW" }] };
 * runcStubBound({ arch: "x86_64", target: "x86_64", profile, builder: new DecisionBuilder(), defaultAction: { kind: "errno", data: 1 }, rules: profile.syscalls.map((rule, source) => ({ rule, source })) }); // 257
 * ```
 */
export function runcStubBound(input: RuncInput): number | undefined {
  const { profile, rules, arch, target } = input;
  const def = parseAction(profile.defaultAction, profile.defaultErrnoRet);
  if (def.kind === "allow" || def.kind === "log" || def.kind === "trace") return undefined;
  // runc compares defaultErrnoRet with the action value SCMP_ACT_ERRNO(ENOSYS), not
  // with ENOSYS, so only that odd number turns the stub off.
  if (profile.defaultErrnoRet === ENOSYS_ERRNO_ACTION) return undefined;
  if (!listedArches(profile, target).includes(arch)) return undefined;
  let max = 0;
  for (const { rule } of rules) {
    for (const name of namesOf(rule)) {
      const nr = scmpNumber(arch, name);
      if (nr !== undefined && (nr | 0) > max) max = nr | 0;
    }
  }
  return max > 0 ? max : undefined;
}

/**
 * What runc (with libseccomp 2.5.4) decides for every syscall of one ABI: a decision
 * graph per number libseccomp's filter tests (other numbers get the default action, or
 * the bad-arch action outside the ABI's range), runc's -ENOSYS bound, and what runc
 * does silently (`warnings`) or refuses (`errors`).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, evaluateDecision, runcDecisions } from "@forge/seccomp";
 * const profile = {
 *   defaultAction: "SCMP_ACT_ERRNO",
 *   syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 0, value: 2, op: "SCMP_CMP_EQ" }] }],
 * } as const;
 * const r = runcDecisions({
 *   arch: "x86_64", target: "x86_64", profile, builder: new DecisionBuilder(),
 *   rules: profile.syscalls.map((rule, source) => ({ rule, source })),
 *   defaultAction: { kind: "errno", data: 1 },
 * });
 * evaluateDecision(r.decisions.get(0)!, [2n]).kind; // "allow": runc ORs conditions on one argument
 * r.warnings[0]?.pointer; // "/syscalls/0/args/1"
 * ```
 */
export function runcDecisions(input: RuncInput): RuncDecisions {
  let byKey = cache.get(input.profile);
  if (!byKey) {
    byKey = new Map();
    cache.set(input.profile, byKey);
  }
  const arches = runcArches(input.profile, input.target, [input.arch]);
  const key = `${arches.join(",")}|${input.rules.map((r) => r.source).join(",")}|${actionValue(input.defaultAction)}`;
  let model: Model | undefined = byKey.get(key);
  if (!model) {
    model = buildModel(input);
    byKey.set(key, model);
  }
  const decisions = new Map<number, DecisionNode>();
  const enosysAbove = runcStubBound(input);
  const db = model.dbs.get(input.arch);
  if (db && model.errors.length === 0) {
    const audit = ARCHES[input.arch].auditArch;
    try {
      if (model.tooLarge) throw new RangeError("too large");
      for (const s of db.syscalls) {
        if (!s.valid || (s.num | 0) < 0) continue;
        decisions.set(s.num >>> 0, programDecision(model.program, audit, s.num, input.builder));
      }
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      // Thousands of rules on one syscall: far beyond the kernel's 4096 instructions, so
      // runc cannot load the filter at all. Decide first-match on runc's rules instead
      // (the compiler then reports the size).
      decisions.clear();
      for (const [nr, list] of fallbackRules(input))
        decisions.set(
          nr,
          input.builder.firstMatch(list, 64, input.builder.leaf(input.defaultAction)),
        );
    }
  }
  return {
    decisions,
    ...(enosysAbove !== undefined ? { enosysAbove } : {}),
    badArchAction: RUNC_BAD_ARCH_ACTION,
    warnings: model.warnings.filter((w) => !(QUIET in w)),
    errors: model.errors,
  };
}

/**
 * What runc does silently with a profile, as issues with JSON pointers: rules skipped
 * because their action is the default, rules split into an OR because two conditions
 * test one argument, MASKED_EQ data with bits outside the mask, and conditional rules
 * that never apply because the same syscall has an unconditional rule.
 *
 * @example
 * ```ts
 * import { runcWarnings } from "@forge/seccomp";
 * runcWarnings({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO" }] })[0]?.pointer;
 * // "/syscalls/0/action"
 * ```
 */
export function runcWarnings(profile: SeccompProfile): ProfileIssue[] {
  const rules = (profile.syscalls ?? []).map((rule, source) => ({ rule, source }));
  return runcCalls(rules, parseAction(profile.defaultAction, profile.defaultErrnoRet)).warnings.map(
    ({ pointer, message }) => ({ pointer, message }),
  );
}
