/**
 * From a profile to what the filter must decide: for the target architecture and
 * the sub-architectures the profile names, the rules of every syscall number, with
 * Docker's includes/excludes applied, names resolved per ABI, and conflicts found.
 * {@link decide} is the reference semantics that the compiler is checked against.
 *
 * Two semantics, both turned into one decision graph per syscall (decision.ts):
 * - "runc" (the default for every profile, built-in or file): exactly what runc
 *   decides when it builds the same JSON with libseccomp 2.5 (runc_semantics.ts):
 *   rules equal to the default action skipped, two conditions on one argument split
 *   into an OR, overlapping rules ordered as libseccomp's rule tree orders them (an
 *   unconditional rule wipes a syscall's conditional ones), i386 socketcall/ipc
 *   sub-calls covered by the rules of the calls they multiplex.
 * - "strictest" (opt-in, `"precedence": "strictest"` in the profile): a rule matches
 *   when all its conditions hold (AND); when several rules of one syscall match, the
 *   one whose action the kernel ranks first wins (KILL_PROCESS > KILL_THREAD > TRAP >
 *   ERRNO > USER_NOTIF > TRACE > LOG > ALLOW, as for stacked filters); on a tie, the
 *   earlier rule. So a narrow deny rule carves an exception out of a broad allow
 *   rule. Reported as conflicts: a rule that never applies because an unconditional
 *   rule takes precedence, and overlapping rules whose actions rank the same but
 *   differ (ERRNO(1) vs ERRNO(13)), decided by order. runc ignores the field, so
 *   `forge seccomp export` refuses such a profile where runc would decide otherwise.
 * Both, as runc: no matching rule gives the default action; runc's -ENOSYS stub
 * answers numbers above the profile's newest syscall on each listed architecture
 * (unless the default is allow-like), before any rule (an unsigned compare: -1 too,
 * except on x86_64 alone, where -1 gets the default); other architectures get
 * KILL_THREAD (libseccomp's default, which runc keeps); on i386, arm and x32 arguments
 * and rule values are compared on the low 32 bits; MASKED_EQ compares
 * `(arg & mask) == (datum & mask)`.
 *
 * @module
 */
import os from "node:os";
import { ARCHES, type Arch, SUB_ARCHES, syscallEntries } from "@forge/libc";
import { withPositions } from "./_json.ts";
import {
  type Action,
  actionRank,
  actionValue,
  formatAction,
  parseAction,
  sameAction,
} from "./action.ts";
import {
  type ArgCondition,
  DecisionBuilder,
  type DecisionNode,
  evaluateDecision,
} from "./decision.ts";
import {
  checkProfile,
  ProfileError,
  type ProfileIssue,
  type RuleFilter,
  type SeccompProfile,
  u64,
} from "./profile.ts";
import { RUNC_BAD_ARCH_ACTION, runcDecisions, runcStubBound } from "./runc_semantics.ts";

/** One argument condition, with exact 64-bit values (the decision graphs' {@link ArgCondition}). */
export type Condition = ArgCondition;

/** A rule of one syscall on one ABI. */
export interface ResolvedRule {
  readonly conditions: readonly Condition[];
  readonly action: Action;
  /** Index of the rule in `profile.syscalls`. */
  readonly source: number;
}

/** What one ABI's part of the filter decides. */
export interface AbiPlan {
  readonly arch: Arch;
  readonly auditArch: number;
  /** 32 for i386 and arm (arguments compared modulo 2^32), else 64. */
  readonly argBits: 32 | 64;
  /** Rules by the syscall number the filter sees (x32: with 0x40000000), in evaluation order. */
  readonly rules: ReadonlyMap<number, readonly ResolvedRule[]>;
  /** Names by the number the filter sees. */
  readonly names: ReadonlyMap<number, string>;
  /** The range of numbers this ABI owns under its audit arch: [lo, hi]. */
  readonly nrRange: readonly [number, number];
  /**
   * What the filter decides for each number that has rules (the key set of `rules`,
   * plus numbers the semantics adds, such as i386's socketcall): a hash-consed
   * decision graph. Every other number of the ABI gets `otherwise(nr)` (see
   * {@link decide}).
   */
  readonly decisions: ReadonlyMap<number, DecisionNode>;
  /**
   * runc's -ENOSYS stub: numbers of this ABI above this one that have no rule get
   * {@link ENOSYS_ACTION} instead of the default action (so programs fall back from
   * syscalls newer than the profile). Absent when the semantics or profile has no stub.
   */
  readonly enosysAbove?: number;
}

/** A profile resolved for one target architecture. */
export interface ResolvedProfile {
  readonly target: Arch;
  /**
   * How overlapping rules are decided: "runc" (the default for every profile: exactly
   * what runc builds with libseccomp) or "strictest" (Forge's opt-in, `"precedence":
   * "strictest"` in the profile: the most restrictive matching action wins).
   */
  readonly semantics: Semantics;
  readonly defaultAction: Action;
  /** For calls from an architecture the filter does not cover. */
  readonly badArchAction: Action;
  readonly abis: readonly AbiPlan[];
  /** SECCOMP_FILTER_FLAG_* names from the profile. */
  readonly flags: readonly string[];
  readonly listenerPath?: string;
  /** Conflicting rules (overlapping rules with different actions). */
  readonly conflicts: readonly string[];
  /** Names skipped because an ABI lacks them (informational). */
  readonly skipped: readonly string[];
  /**
   * What runc loads but is likely a mistake (see `checkProfile`), plus architectures
   * none of which the target can run; empty for a trusted (built-in) profile. Format
   * them with `formatProfileIssue(w, source)`.
   */
  readonly warnings: readonly ProfileIssue[];
  /** The file or name the profile came from, when the caller said. */
  readonly source?: string;
}

/** How a profile's overlapping rules are decided (see {@link ResolvedProfile.semantics}). */
export type Semantics = "runc" | "strictest";

/** What runc's -ENOSYS stub returns: ERRNO(ENOSYS). */
export const ENOSYS_ACTION: Action = { kind: "errno", data: 38 };

/** How to resolve a profile. */
export interface ResolveOptions {
  /** The native architecture of the filter (default: the host's). */
  readonly arch?: Arch;
  /** The capabilities the process will have, for includes/excludes.caps (default: none). */
  readonly caps?: readonly string[];
  /** Kernel version for minKernel (default: this host's, from uname). */
  readonly kernel?: string;
  /** Overrides the sub-architectures taken from the profile. */
  readonly subArches?: readonly Arch[];
  /** "error" turns conflicts into a ProfileError (default "warn": report and resolve). */
  readonly conflicts?: "warn" | "error";
  /**
   * The profile is a built-in, validated by this package's tests: skip the schema
   * check (it costs start-up time in every `forge run`).
   */
  readonly trusted?: boolean;
  /** Overrides the profile's `precedence` (default: the profile's, else "runc"). */
  readonly semantics?: Semantics;
  /**
   * The builder to hash-cons the decision graphs with (pass one to share nodes
   * between filters); default: a new one.
   */
  readonly builder?: DecisionBuilder;
}

const ARCH_ALIASES: Record<string, Arch> = {
  amd64: "x86_64",
  x86_64: "x86_64",
  scmp_arch_x86_64: "x86_64",
  x86: "i386",
  "386": "i386",
  i386: "i386",
  i686: "i386",
  scmp_arch_x86: "i386",
  x32: "x32",
  scmp_arch_x32: "x32",
  arm64: "aarch64",
  aarch64: "aarch64",
  scmp_arch_aarch64: "aarch64",
  arm: "arm",
  scmp_arch_arm: "arm",
};

/**
 * Maps an architecture name in Docker (Go), OCI (SCMP_ARCH_*) or Forge spelling to a
 * Forge {@link Arch}, or undefined for an architecture Forge does not build for (mips,
 * s390x, ppc64le, riscv64...).
 *
 * @example
 * ```ts
 * import { archFromProfileName } from "@forge/seccomp";
 * archFromProfileName("amd64"); // "x86_64"
 * archFromProfileName("SCMP_ARCH_S390X"); // undefined
 * ```
 */
export function archFromProfileName(name: string): Arch | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(ARCH_ALIASES, key) ? ARCH_ALIASES[key] : undefined;
}

/**
 * The SCMP_ARCH_ spelling of each Forge architecture.
 *
 * @example
 * ```ts
 * import { SCMP_NAMES } from "@forge/seccomp";
 * SCMP_NAMES.i386; // "SCMP_ARCH_X86"
 * ```
 */
export const SCMP_NAMES: Readonly<Record<Arch, string>> = {
  x86_64: "SCMP_ARCH_X86_64",
  i386: "SCMP_ARCH_X86",
  x32: "SCMP_ARCH_X32",
  aarch64: "SCMP_ARCH_AARCH64",
  arm: "SCMP_ARCH_ARM",
};

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 6).map((n) => (n.length > 40 ? `${n.slice(0, 40)}...` : n));
  return `${shown.join(", ")}${names.length > 6 ? `, ... (${names.length} in all)` : ""}`;
}

/**
 * Warnings for a profile's architectures on a target: a non-empty `architectures` of
 * which the target can run none, or an `archMap` without an entry for the target.
 * runc and Docker build such a filter for the native architecture alone, with the
 * profile's rules; so does Forge, and says so.
 */
function archWarnings(profile: SeccompProfile, target: Arch): ProfileIssue[] {
  const own = [target, ...(SUB_ARCHES[target] ?? [])];
  const covers = `${own.map((a) => SCMP_NAMES[a]).join(", ")}`;
  const archList = profile.architectures ?? [];
  if (archList.length > 0) {
    if (archList.some((n) => own.includes(archFromProfileName(n) as Arch))) return [];
    return [
      {
        pointer: "/architectures",
        message: `none of ${listed(archList)} runs on ${target}: the filter covers ${target} only, with the profile's rules, as runc builds it; list those of ${covers} the profile is meant for`,
      },
    ];
  }
  const map = profile.archMap ?? [];
  if (map.length > 0 && !map.some((m) => archFromProfileName(m.architecture) === target)) {
    return [
      {
        pointer: "/archMap",
        message: `no entry for ${SCMP_NAMES[target]}: the filter covers ${target} only, with the profile's rules, as Docker builds it; add {"architecture": "${SCMP_NAMES[target]}", "subArchitectures": [...]} with those of ${covers} you want`,
      },
    ];
  }
  return [];
}

/**
 * The ABIs a filter for `target` covers: the target itself and the sub-architectures
 * the profile lists (architectures, or the archMap entry of the target).
 *
 * @example
 * ```ts
 * import { coveredArches } from "@forge/seccomp";
 * coveredArches({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] }, "x86_64");
 * // ["x86_64", "i386"]
 * ```
 */
export function coveredArches(profile: SeccompProfile, target: Arch): Arch[] {
  const subs = SUB_ARCHES[target] ?? [];
  let named: Arch[] = [];
  if (profile.architectures && profile.architectures.length > 0) {
    named = profile.architectures
      .map(archFromProfileName)
      .filter((a): a is Arch => a !== undefined);
  } else if (profile.archMap) {
    const entry = profile.archMap.find((m) => archFromProfileName(m.architecture) === target);
    named = (entry?.subArchitectures ?? [])
      .map(archFromProfileName)
      .filter((a): a is Arch => a !== undefined);
  }
  return [target, ...subs.filter((s) => named.includes(s))];
}

function kernelAtLeast(have: string, want: string): boolean {
  const p = (s: string) =>
    s
      .split(/[.-]/)
      .slice(0, 3)
      .map((x) => Number.parseInt(x, 10) || 0);
  const [a, b] = [p(have), p(want)];
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/**
 * Whether a rule's Docker includes/excludes let it apply for a native architecture,
 * a capability set and a kernel version (as moby's profile loader decides).
 *
 * @example
 * ```ts
 * import { ruleApplies } from "@forge/seccomp";
 * ruleApplies({ caps: ["CAP_SYS_ADMIN"] }, null, { arch: "x86_64", caps: [], kernel: "6.1" }); // false
 * ```
 */
export function ruleApplies(
  inc: RuleFilter | null | undefined,
  exc: RuleFilter | null | undefined,
  o: { readonly arch: Arch; readonly caps: readonly string[]; readonly kernel: string },
): boolean {
  const archIs = (list: string[]) => list.some((n) => archFromProfileName(n) === o.arch);
  if (exc?.arches && exc.arches.length > 0 && archIs(exc.arches)) return false;
  if (exc?.caps && exc.caps.length > 0 && exc.caps.some((c) => o.caps.includes(c))) return false;
  if (exc?.minKernel && kernelAtLeast(o.kernel, exc.minKernel)) return false;
  if (inc?.arches && inc.arches.length > 0 && !archIs(inc.arches)) return false;
  if (inc?.caps && inc.caps.length > 0 && !inc.caps.every((c) => o.caps.includes(c))) return false;
  if (inc?.minKernel && !kernelAtLeast(o.kernel, inc.minKernel)) return false;
  return true;
}

/**
 * The argument as a 32-bit ABI sees it (low half) or unchanged on 64-bit ABIs.
 *
 * @example
 * ```ts
 * import { truncateArg } from "@forge/seccomp";
 * truncateArg(0xdead00000005n, 32); // 5n
 * ```
 */
export function truncateArg(v: bigint, bits: 32 | 64): bigint {
  return BigInt.asUintN(bits, v);
}

/**
 * Whether one condition holds for an argument value (both already truncated for the ABI).
 *
 * @example
 * ```ts
 * import { conditionHolds } from "@forge/seccomp";
 * conditionHolds({ index: 0, op: "SCMP_CMP_MASKED_EQ", value: 0xffn, valueTwo: 5n }, 0x105n, 64); // true
 * ```
 */
export function conditionHolds(c: Condition, arg: bigint, bits: 32 | 64): boolean {
  const x = truncateArg(arg, bits);
  const v = truncateArg(c.value, bits);
  switch (c.op) {
    case "SCMP_CMP_NE":
      return x !== v;
    case "SCMP_CMP_LT":
      return x < v;
    case "SCMP_CMP_LE":
      return x <= v;
    case "SCMP_CMP_EQ":
      return x === v;
    case "SCMP_CMP_GE":
      return x >= v;
    case "SCMP_CMP_GT":
      return x > v;
    case "SCMP_CMP_MASKED_EQ":
      // The datum masked too, as runc/libseccomp and the decision graphs decide.
      return (x & v) === (truncateArg(c.valueTwo, bits) & v);
  }
}

function ruleHolds(r: ResolvedRule, args: readonly bigint[], bits: 32 | 64): boolean {
  return r.conditions.every((c) => conditionHolds(c, args[c.index] ?? 0n, bits));
}

/**
 * The reference decision: what the filter must return for a call, straight from the
 * resolved rules (no BPF involved).
 *
 * @example
 * ```ts
 * import { ARCHES } from "@forge/libc";
 * import { decide, resolveProfile } from "@forge/seccomp";
 * const r = resolveProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] }, { arch: "x86_64" });
 * decide(r, ARCHES.x86_64.auditArch, 39, []); // { kind: "allow" }
 * ```
 */
export function decide(
  r: ResolvedProfile,
  auditArch: number,
  nr: number,
  args: readonly bigint[],
): Action {
  const n = nr >>> 0;
  const arch = auditArch >>> 0;
  // runc's -ENOSYS stub runs before libseccomp's filter, per audit arch; on
  // AUDIT_ARCH_X86_64 bit 30 of the number picks x32's bound or x86_64's. It is an
  // unsigned compare, so -1 gets ENOSYS where a stub covers it.
  const x32Bit = (n & 0x40000000) !== 0;
  const stub = r.abis.find(
    (a) =>
      a.auditArch === arch &&
      a.enosysAbove !== undefined &&
      (a.arch === "x86_64" ? !x32Bit : a.arch === "x32" ? x32Bit : true),
  );
  if (stub && n > stub.enosysAbove!) return ENOSYS_ACTION;
  const abi = abiFor(r, auditArch, nr);
  if (!abi) return r.badArchAction;
  const d = abi.decisions.get(n);
  return d ? evaluateDecision(d, args) : r.defaultAction;
}

/**
 * The ABI of the filter that handles a (audit arch, number) pair, or undefined when no
 * covered ABI does (x86_64 and x32 share AUDIT_ARCH_X86_64 and split on 0x40000000).
 * Number -1 ({@link NR_NONE}) is no system call on any ABI, and tracers set it to skip
 * a call: it belongs to the first ABI of its audit arch, so it gets the default action,
 * never the bad-arch one, also on x86_64 without x32 (as libseccomp decides).
 *
 * @example
 * ```ts
 * import { abiFor, resolveProfile } from "@forge/seccomp";
 * const r = resolveProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" });
 * abiFor(r, 0xc000003e, 0x40000001); // undefined (x32 not covered)
 * abiFor(r, 0xc000003e, -1)?.arch; // "x86_64"
 * ```
 */
export function abiFor(r: ResolvedProfile, auditArch: number, nr: number): AbiPlan | undefined {
  const n = nr >>> 0;
  const arch = auditArch >>> 0;
  return (
    r.abis.find((a) => a.auditArch === arch && n >= a.nrRange[0] && n <= a.nrRange[1]) ??
    (n === NR_NONE ? r.abis.find((a) => a.auditArch === arch) : undefined)
  );
}

/**
 * Syscall number -1 as a filter sees it: no call on any ABI (tracers set it to skip
 * one). Filters give it the default action.
 *
 * @example
 * ```ts
 * import { NR_NONE } from "@forge/seccomp";
 * NR_NONE === (-1 >>> 0); // true
 * ```
 */
export const NR_NONE = 0xffffffff;

function nrRange(arch: Arch): [number, number] {
  if (arch === "x86_64") return [0, 0x3fffffff];
  if (arch === "x32") return [0x40000000, 0xffffffff];
  return [0, 0xffffffff];
}

function describeRule(r: ResolvedRule): string {
  const conds = r.conditions.map((c) =>
    c.op === "SCMP_CMP_MASKED_EQ"
      ? `(arg${c.index} & 0x${c.value.toString(16)}) == 0x${c.valueTwo.toString(16)}`
      : `arg${c.index} ${{ SCMP_CMP_NE: "!=", SCMP_CMP_LT: "<", SCMP_CMP_LE: "<=", SCMP_CMP_EQ: "==", SCMP_CMP_GE: ">=", SCMP_CMP_GT: ">" }[c.op]} 0x${c.value.toString(16)}`,
  );
  return `/syscalls/${r.source} (${formatAction(r.action)}${conds.length ? ` when ${conds.join(" && ")}` : " always"})`;
}

/** Candidate argument values that exercise a set of conditions on one index. */
export function cornerValues(conds: readonly Condition[], bits: 32 | 64): bigint[] {
  const max = bits === 32 ? 0xffffffffn : 0xffffffffffffffffn;
  const out = new Set<bigint>([0n, 1n, max, max >> 1n, (max >> 1n) + 1n]);
  for (const c of conds) {
    const v = truncateArg(c.value, bits);
    for (const d of [-1n, 0n, 1n]) {
      const x = v + d;
      if (x >= 0n && x <= max) out.add(x);
    }
    if (c.op === "SCMP_CMP_MASKED_EQ") {
      const d = truncateArg(c.valueTwo, bits);
      out.add(d);
      out.add(d | (~v & max));
      out.add(d ^ (v & -v & max));
    }
    if (bits === 64) {
      out.add(v & 0xffffffffn);
      out.add((v & 0xffffffffn) | 0xdead00000000n);
      out.add(v ^ 0x100000000n);
    }
  }
  return [...out];
}

/**
 * Rule pairs examined for conflicts in one profile. Conflicts are informational; a
 * profile with thousands of rules on one syscall would take minutes to check them
 * all (and cannot fit in a filter anyway), so the check stops there and says so.
 */
const PAIR_BUDGET = 20_000;
/** Conflict lines kept (the rest are counted). */
const CONFLICTS_KEPT = 1000;

function witness(a: ResolvedRule, b: ResolvedRule, bits: 32 | 64): boolean {
  const idx = new Set([...a.conditions, ...b.conditions].map((c) => c.index));
  const args: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const i of idx) {
    const conds = [...a.conditions, ...b.conditions].filter((c) => c.index === i);
    const found = cornerValues(conds, bits).find((x) =>
      conds.every((c) => conditionHolds(c, x, bits)),
    );
    if (found === undefined) return false;
    args[i] = found;
  }
  return ruleHolds(a, args, bits) && ruleHolds(b, args, bits);
}

/**
 * Resolves a profile for a target architecture: validates it (every problem listed
 * in one {@link ProfileError}, with line and column when it was parsed from text),
 * applies includes/excludes, resolves names per ABI (names that exist on other
 * architectures only are skipped, unknown ones ignored as runc does), orders each
 * syscall's rules by precedence and reports conflicting rules. What runc loads but is
 * likely a mistake is returned in `warnings`.
 *
 * @example
 * ```ts
 * import { resolveProfile } from "@forge/seccomp";
 * const r = resolveProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }, { arch: "aarch64" });
 * r.abis.map((a) => a.arch); // ["aarch64"]
 * ```
 */
export function resolveProfile(
  input: unknown,
  opts: ResolveOptions = {},
  source?: string,
): ResolvedProfile {
  const target = opts.arch ?? (process.arch === "arm64" ? "aarch64" : "x86_64");
  let profile: SeccompProfile;
  let warnings: ProfileIssue[] = [];
  if (opts.trusted) profile = input as SeccompProfile;
  else {
    const check = checkProfile(input);
    if (check.errors.length > 0 || !check.profile) throw new ProfileError(check.errors, source);
    profile = check.profile;
    warnings = [
      ...check.warnings,
      ...(opts.subArches ? [] : withPositions(input, archWarnings(profile, target))),
    ];
  }
  const o = { arch: target, caps: opts.caps ?? [], kernel: opts.kernel ?? os.release() };
  const semantics: Semantics = opts.semantics ?? profile.precedence ?? "runc";
  const builder = opts.builder ?? new DecisionBuilder();
  const issues: ProfileIssue[] = [];
  const defaultAction = parseAction(profile.defaultAction, profile.defaultErrnoRet);
  const arches = opts.subArches
    ? [target, ...opts.subArches.filter((a) => a !== target)]
    : coveredArches(profile, target);
  const conflicts: string[] = [];
  let pairs = 0;
  let stoppedAt: string | undefined;
  let notKept = 0;
  const skipped = new Set<string>();
  const abis: AbiPlan[] = [];
  const applying = (profile.syscalls ?? [])
    .map((rule, i) => ({ rule, i }))
    .filter(({ rule }) => ruleApplies(rule.includes, rule.excludes, o));
  for (const arch of arches) {
    const info = ARCHES[arch];
    const table = new Map(syscallEntries(arch));
    const rules = new Map<number, ResolvedRule[]>();
    const names = new Map<number, string>();
    for (const [n, nr] of table) names.set((nr | info.syscallBit) >>> 0, n);
    for (const { rule, i } of applying) {
      const action = parseAction(rule.action, rule.errnoRet);
      const conditions: Condition[] = (rule.args ?? []).map((a) => ({
        index: a.index,
        op: a.op,
        value: u64(a.value),
        valueTwo: a.op === "SCMP_CMP_MASKED_EQ" ? u64(a.valueTwo ?? 0) : 0n,
      }));
      for (const name of [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])]) {
        const nr = table.get(name);
        if (nr === undefined) {
          skipped.add(`${name} (${arch})`);
          continue;
        }
        const key = (nr | info.syscallBit) >>> 0;
        let list = rules.get(key);
        if (!list) {
          list = [];
          rules.set(key, list);
        }
        list.push({ conditions, action, source: i });
      }
    }
    // x32 too: libseccomp compares its arguments on the low 32 bits.
    const bits: 32 | 64 = info.bits === 32 ? 32 : 64;
    for (const [nr, list] of rules) {
      // Stable sort by precedence (strictest); runc keeps the profile's order.
      if (semantics === "runc") continue;
      // Most restrictive action first; stable for ties (earlier rule first).
      list.sort(
        (a, b) =>
          actionRank(actionValue(a.action)) - actionRank(actionValue(b.action)) ||
          a.source - b.source,
      );
      for (let x = 0; x < list.length && stoppedAt === undefined; x++) {
        for (let y = x + 1; y < list.length; y++) {
          const [a, b] = [list[x]!, list[y]!];
          if (sameAction(a.action, b.action) || a.source === b.source) continue;
          if (++pairs > PAIR_BUDGET) {
            stoppedAt = `${names.get(nr)} (${arch})`;
            break;
          }
          let msg: string;
          if (a.conditions.length === 0) {
            msg = `${names.get(nr)} (${arch}): ${describeRule(b)} never applies: ${describeRule(a)} takes precedence for every call`;
          } else if (
            actionRank(actionValue(a.action)) === actionRank(actionValue(b.action)) &&
            witness(a, b, bits)
          ) {
            msg = `${names.get(nr)} (${arch}): ${describeRule(a)} overlaps ${describeRule(b)}; where both match, the earlier rule (${formatAction(a.action)}) wins`;
          } else continue;
          if (conflicts.length < CONFLICTS_KEPT) conflicts.push(msg);
          else notKept++;
          if (opts.conflicts === "error" && issues.length < CONFLICTS_KEPT)
            issues.push({ pointer: `/syscalls/${Math.max(a.source, b.source)}`, message: msg });
        }
      }
    }
    let decisions: Map<number, DecisionNode>;
    let enosysAbove: number | undefined;
    const runcInput = {
      arch,
      target,
      profile,
      rules: applying.map(({ rule, i }) => ({ rule, source: i })),
      builder,
      defaultAction,
    };
    if (semantics === "runc") {
      const plan = runcDecisions(runcInput);
      decisions = plan.decisions;
      enosysAbove = plan.enosysAbove;
      // Profile-level: report once, on the first ABI.
      if (arch === arches[0]) {
        // One warning per place: checkProfile may already have spoken of it.
        const fresh = (plan.warnings ?? []).filter(
          (w) =>
            !warnings.some(
              (x) => x.pointer.startsWith(w.pointer) || w.pointer.startsWith(x.pointer),
            ),
        );
        if (!opts.trusted) warnings.push(...withPositions(input, fresh));
        issues.push(...(plan.errors ?? []));
      }
    } else {
      // Only the precedence of overlapping rules differs from runc: the -ENOSYS stub,
      // the bad-arch action and x32's 32-bit compares are runc's, so an export that
      // needs no precedence is exact.
      enosysAbove = runcStubBound(runcInput);
      decisions = new Map();
      const def = builder.leaf(defaultAction);
      for (const [nr, list] of rules) decisions.set(nr, builder.firstMatch(list, bits, def));
    }
    abis.push({
      arch,
      auditArch: info.auditArch >>> 0,
      argBits: bits,
      rules,
      names,
      nrRange: nrRange(arch),
      decisions,
      ...(enosysAbove !== undefined ? { enosysAbove } : {}),
    });
  }
  if (notKept > 0) conflicts.push(`... and ${notKept} more conflicts like these`);
  if (stoppedAt !== undefined) {
    const msg = `the conflict check stopped at ${stoppedAt} after ${PAIR_BUDGET} pairs of rules with different actions; the rest were not checked. So many overlapping rules cannot fit in a filter: merge them`;
    conflicts.push(msg);
    if (opts.conflicts === "error") issues.push({ pointer: "/syscalls", message: msg });
  }
  if (issues.length > 0) throw new ProfileError(withPositions(input, issues), source);
  // x86_64 without x32: numbers with the x32 bit belong to no covered ABI (bad arch),
  // except -1 (see abiFor).
  return {
    target,
    semantics,
    defaultAction,
    badArchAction: RUNC_BAD_ARCH_ACTION,
    abis,
    flags: profile.flags ?? [],
    ...(profile.listenerPath ? { listenerPath: profile.listenerPath } : {}),
    conflicts: dedupe(conflicts),
    skipped: [...skipped],
    warnings,
    ...(source !== undefined ? { source } : {}),
  };
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}
