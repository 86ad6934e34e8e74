/**
 * Exports for fleets: the Security Profiles Operator's `SeccompProfile` resource, the
 * plain JSON kubelet loads from its seccomp directory, and an OCI `linux.seccomp`
 * fragment.
 *
 * An export means to the nodes what the profile means to Forge: runc + libseccomp,
 * enforcing the exported JSON, must decide every call as Forge decides it. Every
 * export is checked exactly: the source profile is resolved with its own semantics,
 * the exported JSON (as written) with runc's, for the same architecture, kernel and
 * capabilities, and every syscall's decision graph of every ABI, the numbers without
 * rules and calls from other architectures are compared ({@link exportDifferences}).
 * A profile that needs Forge's own semantics (`"precedence": "strictest"`) has its
 * rules reordered, or rewritten so that no two rules with different actions overlap,
 * when that makes runc decide alike; when nothing does, the export is refused with an
 * {@link ExportError} that lists the differences, or, with `allowDifferences`, the
 * closest runc profile is returned with them ({@link exportSeccomp}).
 *
 * Docker's extensions (archMap, includes/excludes by architecture, capabilities and
 * kernel version) exist in neither format, so they are resolved the way moby's
 * profile loader resolves them, for one native architecture, a capability set and a
 * kernel version: give the nodes' kernel, the host's is only a default
 * ({@link minKernelRules} lists the rules it decides). Forge's `precedence` field never
 * appears in an export (runc does not know it). 64-bit values stay exact: values above
 * 2^53 are bigints, which {@link exportJson} writes as plain JSON integers (runc and
 * the Kubernetes API read `value` as uint64; a quoted number is refused).
 *
 * @module
 */
import os from "node:os";
import { ARCHES, type Arch, hostArch } from "@forge/libc";
import { disjointRules } from "./_disjoint_rules.ts";
import { type Action, actionRank, actionValue, formatAction, parseAction } from "./action.ts";
import {
  DecisionBuilder,
  type DecisionDifference,
  type DecisionNode,
  decisionDifferences,
} from "./decision.ts";
import {
  checkProfile,
  ProfileError,
  parseProfileText,
  type SeccompProfile,
  type SeccompRule,
  u64,
} from "./profile.ts";
import {
  type AbiPlan,
  archFromProfileName,
  decide,
  NR_NONE,
  type ResolvedProfile,
  resolveProfile,
  ruleApplies,
  SCMP_NAMES,
} from "./resolve.ts";

/** For whom an export is resolved. */
export interface ExportOptions {
  /** The native architecture (default: this host's); archMap and includes/excludes.arches are resolved for it. */
  readonly arch?: Arch;
  /** Capabilities the container will have, for includes/excludes.caps (default: none). */
  readonly caps?: readonly string[];
  /**
   * The nodes' kernel version ("6.1", "5.15.0-91-generic") for includes/excludes.minKernel
   * (default: this host's, which is rarely the nodes'; see {@link minKernelRules}).
   */
  readonly kernel?: string;
  /**
   * When runc would decide some calls differently from Forge: return the closest runc
   * profile (with the differences, see {@link exportSeccomp}) instead of throwing an
   * {@link ExportError}. Default false.
   */
  readonly allowDifferences?: boolean;
}

/** A 64-bit value as exported: a number when exact, else a bigint. */
export type ExportValue = number | bigint;

/** One `linux.seccomp.syscalls[]` entry of the OCI runtime spec. */
export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: ExportValue; valueTwo?: ExportValue; op: string }[];
}

/** The OCI runtime spec's `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls: OciSeccompSyscall[];
}

/** SCMP_ARCH_* name of an architecture in any spelling ("amd64" → "SCMP_ARCH_X86_64"). */
function scmpArch(name: string): string {
  const a = archFromProfileName(name);
  return a ? SCMP_NAMES[a] : name;
}

function exportValue(v: Parameters<typeof u64>[0]): ExportValue {
  const b = u64(v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** One class of calls that runc, enforcing an export, decides differently from Forge. */
export interface ExportDifference {
  /** The ABI; undefined for calls from architectures neither filter covers. */
  readonly arch?: Arch;
  /** The syscall's name, "nr N", "syscalls without a rule" or "calls from other architectures". */
  readonly syscall: string;
  /** The class: tests on argument words ("args[1].lo == 0x5412") or a range of numbers. */
  readonly path: readonly string[];
  /** What Forge decides (the profile with its own semantics). */
  readonly forge: Action;
  /** What runc + libseccomp decide, enforcing the exported JSON. */
  readonly runc: Action;
  /** One call of the class: "ioctl(0, 0x5412)". */
  readonly example?: string;
  /**
   * "syscall": a class of one syscall's arguments (decided by its rules); "filter": what
   * the filter decides outside the rules (calls from other architectures, numbers
   * without rules, syscall -1), where runc adds its ENOSYS stub and its bad-arch action.
   */
  readonly scope: "syscall" | "filter";
}

/**
 * One difference as a line: `ioctl (x86_64): args[1].lo == 0x5412: forge ERRNO(1), runc
 * ALLOW (e.g. ioctl(0, 0x5412))`.
 *
 * @example
 * ```ts
 * import { formatExportDifference } from "@forge/seccomp";
 * formatExportDifference({ arch: "x86_64", syscall: "ioctl", path: ["args[1].lo == 0x5412"], forge: { kind: "errno", data: 1 }, runc: { kind: "allow" }, example: "ioctl(0, 0x5412)", scope: "syscall" });
 * // "ioctl (x86_64): args[1].lo == 0x5412: forge ERRNO(1), runc ALLOW (e.g. ioctl(0, 0x5412))"
 * ```
 */
export function formatExportDifference(d: ExportDifference): string {
  const where = d.arch ? `${d.syscall} (${d.arch})` : d.syscall;
  const cls =
    d.path.length > 0 ? `${d.path.join(" && ")}: ` : d.scope === "syscall" ? "every call: " : "";
  const example = d.example && d.example !== d.syscall ? ` (e.g. ${d.example})` : "";
  return `${where}: ${cls}forge ${formatAction(d.forge)}, runc ${formatAction(d.runc)}${example}`;
}

/**
 * Runc would decide some calls differently from Forge and the export was not allowed
 * to differ. `differences` lists every class of such calls (see
 * {@link formatExportDifference}); the message is one line with the first.
 *
 * @example
 * ```ts
 * import { ExportError, toOciSeccomp } from "@forge/seccomp";
 * const profile = { defaultAction: "SCMP_ACT_ERRNO", precedence: "strictest" as const };
 * try {
 *   toOciSeccomp(profile, { arch: "x86_64", kernel: "6.1" });
 * } catch (e) {
 *   if (e instanceof ExportError) for (const d of e.differences) console.error(d);
 * }
 * ```
 */
export class ExportError extends Error {
  override name = "ExportError";
  readonly differences: readonly ExportDifference[];
  /** Why runc decides differently, when known ("precedence": "strictest"). */
  readonly reason?: string;
  constructor(differences: readonly ExportDifference[], reason?: string) {
    const n = differences.length;
    const first = differences.find((d) => d.scope === "syscall") ?? differences[0];
    super(
      `runc would decide ${n} class${n === 1 ? "" : "es"} of calls differently from Forge${reason ? ` (${reason})` : ""}, e.g. ${first ? formatExportDifference(first) : "?"}; pass allowDifferences to get the closest runc profile and the list`,
    );
    this.differences = differences;
    if (reason !== undefined) this.reason = reason;
  }
}

/** Differences listed per syscall before the list says "and more". */
const PER_SYSCALL = 64;

/** The call `name(a0, a1, ...)`, up to the last argument that is set or tested. */
function callText(name: string, args: readonly bigint[], path: readonly string[]): string {
  let last = -1;
  args.forEach((a, i) => {
    if (a !== 0n) last = i;
  });
  for (const p of path) {
    const m = /args\[(\d)\]/.exec(p);
    if (m) last = Math.max(last, Number(m[1]));
  }
  const shown = args.slice(0, last + 1).map((a) => (a === 0n ? "0" : `0x${a.toString(16)}`));
  return `${name}(${shown.join(", ")})`;
}

/**
 * Every class of calls on which two resolutions decide differently: `forge` (a
 * profile with its own semantics) and `runc` (the exported JSON resolved with
 * `semantics: "runc"`), for the same architecture, kernel and capabilities. Compares,
 * on every ABI, every syscall's decision graph (with `decisionDifferences`, a witness
 * call for each class, confirmed with `decide`), the numbers without rules (the
 * default action, runc's ENOSYS stub), syscall -1 and calls from other architectures.
 * Resolve both with one `DecisionBuilder` to make it fast (equal graphs are then the
 * same object).
 *
 * @example
 * ```ts
 * import { DecisionBuilder, exportDifferences, resolveProfile } from "@forge/seccomp";
 * const builder = new DecisionBuilder();
 * const p = { defaultAction: "SCMP_ACT_ALLOW", precedence: "strictest" as const, syscalls: [
 *   { names: ["ioctl"], action: "SCMP_ACT_ALLOW" },
 *   { names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" as const }] },
 * ] };
 * const forge = resolveProfile(p, { arch: "x86_64", builder });
 * const runc = resolveProfile(p, { arch: "x86_64", builder, semantics: "runc" });
 * exportDifferences(forge, runc).some((d) => d.syscall === "ioctl"); // true: e.g. ioctl(0, 0x5412)
 * ```
 */
export function exportDifferences(
  forge: ResolvedProfile,
  runc: ResolvedProfile,
  limit = 10_000,
): ExportDifference[] {
  const out: ExportDifference[] = [];
  const push = (d: ExportDifference) => {
    if (out.length < limit) out.push(d);
  };
  const same = (a: Action, b: Action) => actionValue(a) >>> 0 === actionValue(b) >>> 0;
  // Calls from an architecture neither filter covers.
  const covered = new Set([...forge.abis, ...runc.abis].map((a) => a.auditArch >>> 0));
  const foreign = [0, ...Object.values(ARCHES).map((a) => a.auditArch >>> 0)].find(
    (a) => !covered.has(a),
  )!;
  const fb = decide(forge, foreign, 0, []);
  const rb = decide(runc, foreign, 0, []);
  if (!same(fb, rb))
    push({
      syscall: "calls from other architectures",
      path: [],
      forge: fb,
      runc: rb,
      scope: "filter",
    });

  const byArch = new Map<Arch, { f?: AbiPlan; r?: AbiPlan }>();
  for (const a of forge.abis) byArch.set(a.arch, { f: a });
  for (const a of runc.abis) byArch.set(a.arch, { ...byArch.get(a.arch), r: a });
  const stubs = [...forge.abis, ...runc.abis]
    .map((a) => a.enosysAbove)
    .filter((x): x is number => x !== undefined);
  for (const [arch, { f, r }] of byArch) {
    const abi = (f ?? r)!;
    const audit = abi.auditArch;
    const off = ARCHES[arch].syscallBit;
    const nameOf = (nr: number) => f?.names.get(nr) ?? r?.names.get(nr) ?? `nr ${(nr - off) >>> 0}`;
    const graphs = new Set([...(f?.decisions.keys() ?? []), ...(r?.decisions.keys() ?? [])]);
    // Numbers without rules: constant between these cuts (the ABI's range, the stubs).
    const [lo, hi] = abi.nrRange;
    const cuts = new Set<number>([lo, hi + 1]);
    for (const x of stubs) if (x >= lo && x < hi) cuts.add(x + 1);
    const points = [...cuts].sort((x, y) => x - y);
    let open: { s: number; e: number; fa: Action; ra: Action; example: number } | undefined;
    const flush = () => {
      if (!open) return;
      push({
        arch,
        syscall: "syscalls without a rule",
        path: [`nr ${open.s - off}..${open.e - off}`],
        forge: open.fa,
        runc: open.ra,
        example: `nr ${open.example - off}`,
        scope: "filter",
      });
      open = undefined;
    };
    for (let k = 0; k + 1 < points.length; k++) {
      const [s, e] = [points[k]!, Math.min(points[k + 1]! - 1, NR_NONE - 1)];
      let example: number | undefined;
      for (let n = s; n <= e && n < s + 100_000; n++) {
        if (!graphs.has(n)) {
          example = n;
          break;
        }
      }
      if (example === undefined) continue;
      const fa = decide(forge, audit, example, []);
      const ra = decide(runc, audit, example, []);
      if (same(fa, ra)) {
        flush();
        continue;
      }
      // Adjacent ranges with the same answers are one class.
      if (open && open.e + 1 === s && same(open.fa, fa) && same(open.ra, ra)) open.e = e;
      else {
        flush();
        open = { s, e, fa, ra, example };
      }
    }
    flush();
    // Each class with what each filter returns for its witness, stubs and all.
    const witnessed = (nr: number, name: string, ds: readonly DecisionDifference[]) => {
      for (const d of ds) {
        const fa = decide(forge, audit, nr, d.args);
        const ra = decide(runc, audit, nr, d.args);
        if (same(fa, ra)) continue;
        push({
          arch,
          syscall: name,
          path: d.path,
          forge: fa,
          runc: ra,
          example: callText(name, d.args, d.path),
          scope: "syscall",
        });
      }
    };
    for (const nr of [...graphs].sort((x, y) => x - y)) {
      const fg: DecisionNode | undefined = f?.decisions.get(nr);
      const rg: DecisionNode | undefined = r?.decisions.get(nr);
      const name = nameOf(nr);
      if (fg && rg && fg !== rg) {
        const ds = decisionDifferences(fg, rg, PER_SYSCALL);
        witnessed(nr, name, ds);
        if (ds.length === PER_SYSCALL) {
          push({
            arch,
            syscall: name,
            path: [`more classes than the ${PER_SYSCALL} listed`],
            forge: ds[0]!.left,
            runc: ds[0]!.right,
            scope: "syscall",
          });
        }
        continue;
      }
      // The same graph on both sides: only what runs before it (a stub) can differ.
      const zeros = [0n, 0n, 0n, 0n, 0n, 0n];
      if (fg === rg) {
        const fa = decide(forge, audit, nr, zeros);
        const ra = decide(runc, audit, nr, zeros);
        if (!same(fa, ra))
          push({
            arch,
            syscall: name,
            path: [],
            forge: fa,
            runc: ra,
            example: callText(name, zeros, []),
            scope: "syscall",
          });
        continue;
      }
      // One side has no graph for the number: its answer does not depend on the arguments.
      const flat = new DecisionBuilder().leaf(decide(fg ? runc : forge, audit, nr, zeros));
      witnessed(
        nr,
        name,
        fg
          ? decisionDifferences(fg, flat, PER_SYSCALL)
          : decisionDifferences(flat, rg!, PER_SYSCALL),
      );
    }
  }
  // Numbers of a covered audit arch that no ABI owns (x86_64 without x32: those with
  // bit 30 set), and syscall -1 (tracers skip a call with it).
  for (const audit of covered) {
    const owned = [...forge.abis, ...runc.abis]
      .filter((a) => a.auditArch === audit)
      .map((a) => a.nrRange);
    const free = [0x40000000, 0].find((n) => !owned.some(([lo, hi]) => n >= lo && n <= hi));
    if (free !== undefined) {
      const fa = decide(forge, audit, free, []);
      const ra = decide(runc, audit, free, []);
      if (!same(fa, ra)) {
        const arch = [...forge.abis, ...runc.abis].find((a) => a.auditArch === audit)!.arch;
        push({
          arch,
          syscall: "numbers of no covered ABI",
          path: [free === 0x40000000 ? "nr 0x40000000..0xfffffffe (x32)" : "every number"],
          forge: fa,
          runc: ra,
          example: `nr 0x${free.toString(16)}`,
          scope: "filter",
        });
      }
    }
  }
  for (const audit of covered) {
    const fa = decide(forge, audit, NR_NONE, []);
    const ra = decide(runc, audit, NR_NONE, []);
    if (!same(fa, ra)) {
      const arch = [...forge.abis, ...runc.abis].find((a) => a.auditArch === audit)!.arch;
      push({
        arch,
        syscall: "nr -1",
        path: [],
        forge: fa,
        runc: ra,
        example: "nr -1",
        scope: "filter",
      });
    }
  }
  return out;
}

/** A checked export: the OCI object, and how it was made. */
export interface CheckedExport {
  readonly seccomp: OciSeccomp;
  /**
   * The calls runc decides differently (empty unless `allowDifferences` was given and no
   * runc profile decides every call as Forge does).
   */
  readonly differences: readonly ExportDifference[];
  /**
   * How the rules were made: "as-is" (the profile's rules, includes resolved),
   * "ordered" (most restrictive action first) or "disjoint" (rewritten so that no two
   * rules with different actions overlap), for a profile with Forge's semantics.
   */
  readonly rules: "as-is" | "ordered" | "disjoint";
  /** The semantics the source profile was decided with. */
  readonly semantics: "runc" | "strictest";
}

/** The rules of a profile that apply for `opts`, and its architectures, as OCI. */
function ociFrom(p: SeccompProfile, rules: readonly SeccompRule[], arch: Arch): OciSeccomp {
  let arches: string[] = [];
  if (p.architectures && p.architectures.length > 0) arches = p.architectures.map(scmpArch);
  else if (p.archMap) {
    const entry = p.archMap.find((m) => archFromProfileName(m.architecture) === arch);
    if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])].map(scmpArch);
  }
  const syscalls = rules.map((r) => {
    const out: OciSeccompSyscall = {
      names: [...(r.names ?? []), ...(r.name ? [r.name] : [])],
      action: r.action,
    };
    if (r.errnoRet !== undefined && r.errnoRet !== null) out.errnoRet = r.errnoRet;
    if (r.args && r.args.length > 0) {
      out.args = r.args.map((a) => {
        const valueTwo = a.valueTwo === undefined ? 0 : exportValue(a.valueTwo);
        return {
          index: a.index,
          value: exportValue(a.value),
          ...(valueTwo !== 0 ? { valueTwo } : {}),
          op: a.op,
        };
      });
    }
    return out;
  });
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined && p.defaultErrnoRet !== null
      ? { defaultErrnoRet: p.defaultErrnoRet }
      : {}),
    ...(arches.length > 0 ? { architectures: [...new Set(arches)] } : {}),
    ...(p.flags && p.flags.length > 0 ? { flags: [...p.flags] } : {}),
    ...(p.listenerPath ? { listenerPath: p.listenerPath } : {}),
    ...(p.listenerMetadata ? { listenerMetadata: p.listenerMetadata } : {}),
    syscalls,
  };
}

function validated(p: SeccompProfile): SeccompProfile {
  const c = checkProfile(p);
  if (c.errors.length > 0 || !c.profile) throw new ProfileError(c.errors);
  return c.profile;
}

/**
 * Exports a profile as the OCI `linux.seccomp` object that runc + libseccomp decide as
 * Forge decides the profile, checked exactly (see the module documentation): Docker's
 * extensions resolved for `opts`, and for a profile with `"precedence": "strictest"`
 * its rules reordered or rewritten as needed. Throws an {@link ExportError} when no
 * runc profile found decides every call alike (unless `opts.allowDifferences`: then the
 * closest is returned with the differences), and a ProfileError for an invalid profile.
 *
 * @example
 * ```ts
 * import { exportSeccomp } from "@forge/seccomp";
 * const e = exportSeccomp({
 *   defaultAction: "SCMP_ACT_ERRNO",
 *   precedence: "strictest",
 *   syscalls: [
 *     { names: ["ioctl"], action: "SCMP_ACT_ALLOW" },
 *     { names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }] },
 *   ],
 * }, { arch: "x86_64", kernel: "6.1", allowDifferences: true });
 * e.rules; // "disjoint": ioctl allowed when args[1] != 0x5412, nothing else
 * e.differences.filter((d) => d.scope === "syscall").length; // 0
 * // What remains is runc's own: its ENOSYS stub, its bad-arch action (KILL_THREAD).
 * ```
 */
export function exportSeccomp(p: SeccompProfile, opts: ExportOptions = {}): CheckedExport {
  const profile = validated(p);
  const arch = opts.arch ?? hostArch();
  const caps = opts.caps ?? [];
  const kernel = opts.kernel ?? os.release();
  const cond = { arch, caps, kernel };
  const builder = new DecisionBuilder();
  const forge = resolveProfile(profile, { arch, caps, kernel, builder });
  const applying = (profile.syscalls ?? []).filter((r) =>
    ruleApplies(r.includes, r.excludes, cond),
  );
  const candidates: { rules: CheckedExport["rules"]; make: () => SeccompRule[] | undefined }[] = [
    { rules: "as-is", make: () => applying },
  ];
  if (forge.semantics !== "runc") {
    const rank = (r: SeccompRule) => actionRank(actionValue(parseAction(r.action, r.errnoRet)));
    candidates.push(
      {
        rules: "ordered",
        make: () =>
          applying
            .map((r, i) => ({ r, i }))
            .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
            .map((x) => x.r),
      },
      { rules: "disjoint", make: () => disjointRules(applying, forge.defaultAction) },
    );
  }
  let best: CheckedExport | undefined;
  for (const c of candidates) {
    const rules = c.make();
    if (!rules) continue;
    const seccomp = ociFrom(profile, rules, arch);
    // Check what is written: the JSON text, read back.
    const back = parseProfileText(exportJson(seccomp));
    const runc = resolveProfile(back, { arch, caps, kernel, builder, semantics: "runc" });
    const differences = exportDifferences(forge, runc);
    const result: CheckedExport = {
      seccomp,
      differences,
      rules: c.rules,
      semantics: forge.semantics,
    };
    if (differences.length === 0) return result;
    if (!best || differences.length < best.differences.length) best = result;
  }
  if (!best) throw new Error("internal: no export candidate");
  if (opts.allowDifferences) return best;
  throw new ExportError(best.differences, whyDifferent(best.differences, forge));
}

/** Why runc decides differently, from what differs. */
function whyDifferent(ds: readonly ExportDifference[], forge: ResolvedProfile): string | undefined {
  const parts: string[] = [];
  if (ds.some((d) => d.scope === "syscall") && forge.semantics === "strictest")
    parts.push(
      'the profile\'s "precedence": "strictest" is Forge\'s own, and no order or rewrite of its rules makes runc decide alike',
    );
  const filter = ds.filter((d) => d.scope === "filter");
  if (filter.some((d) => d.syscall !== "calls from other architectures"))
    parts.push(
      forge.semantics === "strictest"
        ? "runc returns ENOSYS above the highest syscall the profile names, where Forge's strictest semantics gives the default action"
        : "runc decides numbers without rules differently",
    );
  if (filter.some((d) => d.syscall === "calls from other architectures"))
    parts.push(
      `runc's filter answers calls from other architectures with ${formatAction(filter.find((d) => d.syscall === "calls from other architectures")!.runc)}`,
    );
  return parts.length > 0 ? parts.join("; ") : undefined;
}

/** One rule whose includes/excludes depend on the kernel version, as resolved for an export. */
export interface KernelRule {
  /** Index in `syscalls`. */
  readonly index: number;
  readonly names: readonly string[];
  /** includes.minKernel or excludes.minKernel. */
  readonly minKernel: string;
  /** Whether the rule is in the export for the kernel given. */
  readonly kept: boolean;
}

/**
 * The rules whose Docker includes/excludes name a `minKernel`, and whether an export
 * for `opts` (its kernel: the nodes', default this host's) keeps them.
 *
 * @example
 * ```ts
 * import { builtinProfile, minKernelRules } from "@forge/seccomp";
 * minKernelRules(builtinProfile("docker-default"), { arch: "x86_64", kernel: "5.4" }).filter((r) => !r.kept).length > 0; // true
 * ```
 */
export function minKernelRules(p: SeccompProfile, opts: ExportOptions = {}): KernelRule[] {
  const cond = {
    arch: opts.arch ?? hostArch(),
    caps: opts.caps ?? [],
    kernel: opts.kernel ?? os.release(),
  };
  const out: KernelRule[] = [];
  (p.syscalls ?? []).forEach((r, index) => {
    const minKernel = r.includes?.minKernel ?? r.excludes?.minKernel;
    if (minKernel === undefined) return;
    out.push({
      index,
      names: [...(r.names ?? []), ...(r.name ? [r.name] : [])],
      minKernel,
      kept: ruleApplies(r.includes, r.excludes, cond),
    });
  });
  return out;
}

/**
 * The profile as the OCI runtime spec's `linux.seccomp` object, with Docker's
 * extensions resolved for `opts` (rules that do not apply are left out, the archMap
 * entry of the native architecture becomes `architectures`), checked to decide every
 * call as Forge does (see {@link exportSeccomp}, which also returns the differences
 * allowed with `opts.allowDifferences`).
 *
 * @example
 * ```ts
 * import { builtinProfile, toOciSeccomp } from "@forge/seccomp";
 * const s = toOciSeccomp(builtinProfile("docker-default"), { arch: "x86_64", kernel: "6.1" });
 * s.architectures; // ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
 * ```
 */
export function toOciSeccomp(p: SeccompProfile, opts: ExportOptions = {}): OciSeccomp {
  return exportSeccomp(p, opts).seccomp;
}

/**
 * The profile as an OCI runtime-spec fragment, `{ "linux": { "seccomp": {...} } }`, to
 * merge into a bundle's config.json (see {@link toOciSeccomp}).
 *
 * @example
 * ```ts
 * import { builtinProfile, exportJson, toOciFragment } from "@forge/seccomp";
 * const frag = toOciFragment(builtinProfile("minimal"), { arch: "x86_64" });
 * frag.linux.seccomp.defaultAction; // "SCMP_ACT_ERRNO"
 * console.log(exportJson(frag));
 * ```
 */
export function toOciFragment(
  p: SeccompProfile,
  opts: ExportOptions = {},
): { linux: { seccomp: OciSeccomp } } {
  return { linux: { seccomp: toOciSeccomp(p, opts) } };
}

/**
 * JSON text for an export, 2-space indented, with bigints written as exact integers.
 *
 * @example
 * ```ts
 * import { exportJson } from "@forge/seccomp";
 * exportJson({ value: 18446744073709551615n }); // '{\n  "value": 18446744073709551615\n}\n'
 * ```
 */
export function exportJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === "bigint" ? `\u0000u64:${v.toString()}` : v),
    2,
  );
  return `${text.replace(/"\\u0000u64:([0-9]+)"/g, "$1")}\n`;
}

/**
 * The JSON kubelet reads from `<kubelet root>/seccomp/` for
 * `securityContext.seccompProfile: { type: Localhost, localhostProfile: ... }`: the
 * OCI `linux.seccomp` object (see {@link toOciSeccomp}), which containerd and CRI-O
 * hand to the runtime.
 *
 * @example
 * ```ts
 * import { builtinProfile, toKubeletJson } from "@forge/seccomp";
 * const text = toKubeletJson(builtinProfile("default"), { arch: "x86_64" });
 * ```
 */
export function toKubeletJson(p: SeccompProfile, opts: ExportOptions = {}): string {
  return exportJson(toOciSeccomp(p, opts));
}

/** The architectures the Security Profiles Operator's CRD accepts. */
export const SPO_ARCHITECTURES: readonly string[] = [
  "SCMP_ARCH_NATIVE",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
];

/** The filter flags the Security Profiles Operator's CRD accepts. */
export const SPO_FLAGS: readonly string[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/** A Security Profiles Operator `SeccompProfile` resource. */
export interface SpoSeccompProfile {
  apiVersion: "security-profiles-operator.x-k8s.io/v1beta1";
  kind: "SeccompProfile";
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
  spec: {
    defaultAction: string;
    architectures?: string[];
    listenerPath?: string;
    listenerMetadata?: string;
    flags?: string[];
    syscalls: (Omit<OciSeccompSyscall, "errnoRet"> & { errnoRet?: string })[];
  };
}

/**
 * A Security Profiles Operator `SeccompProfile` resource
 * (security-profiles-operator.x-k8s.io/v1beta1), as a JSON object (YAML is a superset),
 * shaped to its CRD: `spec.defaultAction`, `spec.architectures` (SCMP_ARCH_* names),
 * `spec.flags`, `spec.listenerPath`, `spec.listenerMetadata`,
 * `spec.syscalls[].names/action/errnoRet/args` with `errnoRet` a string and at most six
 * args. The CRD has no `defaultErrnoRet` (the default errno is EPERM); a profile that
 * needs another one, or a flag or architecture the CRD lacks, is refused with a
 * RangeError rather than changed silently. The rules are those of {@link exportSeccomp}
 * (checked: an {@link ExportError} when runc would decide differently, unless
 * `opts.allowDifferences`). `parseProfileOrResource` reads the resource back.
 *
 * @example
 * ```ts
 * import { builtinProfile, toSpoSeccompProfile } from "@forge/seccomp";
 * const res = toSpoSeccompProfile(builtinProfile("minimal"), "forge-minimal", "default");
 * res.kind; // "SeccompProfile"
 * ```
 */
export function toSpoSeccompProfile(
  p: SeccompProfile,
  name: string,
  namespace?: string,
  opts: ExportOptions = {},
): SpoSeccompProfile {
  return spoSeccompProfile(exportSeccomp(p, opts).seccomp, name, namespace);
}

/**
 * Wraps an exported `linux.seccomp` object (see {@link exportSeccomp}) in a
 * `SeccompProfile` resource, as {@link toSpoSeccompProfile} does. Throws a RangeError
 * for what the CRD cannot express.
 *
 * @example
 * ```ts
 * import { exportSeccomp, spoSeccompProfile } from "@forge/seccomp";
 * const { seccomp } = exportSeccomp({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" });
 * spoSeccompProfile(seccomp, "allow-all").spec.defaultAction; // "SCMP_ACT_ALLOW"
 * ```
 */
export function spoSeccompProfile(
  s: OciSeccomp,
  name: string,
  namespace?: string,
): SpoSeccompProfile {
  const def = parseAction(s.defaultAction, s.defaultErrnoRet);
  if ((def.kind === "errno" || def.kind === "trace") && def.data !== 1) {
    throw new RangeError(
      `defaultErrnoRet ${def.data}: the SeccompProfile CRD has no defaultErrnoRet (its ERRNO default is EPERM); use defaultErrnoRet 1 or a rule per syscall`,
    );
  }
  for (const a of s.architectures ?? []) {
    if (!SPO_ARCHITECTURES.includes(a))
      throw new RangeError(
        `architecture ${a}: not one the SeccompProfile CRD accepts (${SPO_ARCHITECTURES.join(", ")})`,
      );
  }
  for (const f of s.flags ?? []) {
    if (!SPO_FLAGS.includes(f))
      throw new RangeError(
        `flag ${f}: not one the SeccompProfile CRD accepts (${SPO_FLAGS.join(", ")})`,
      );
  }
  const syscalls = s.syscalls.map((r, i) => {
    if ((r.args?.length ?? 0) > 6)
      throw new RangeError(
        `syscalls ${i} (${r.names.join(", ")}): ${r.args!.length} args; the SeccompProfile CRD allows at most 6`,
      );
    const { errnoRet, ...rest } = r;
    return errnoRet === undefined ? rest : { ...rest, errnoRet: String(errnoRet) };
  });
  return {
    apiVersion: "security-profiles-operator.x-k8s.io/v1beta1",
    kind: "SeccompProfile",
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      annotations: { "forge.dev/generated-by": "@forge/seccomp" },
    },
    spec: {
      defaultAction: s.defaultAction,
      ...(s.architectures ? { architectures: s.architectures } : {}),
      ...(s.listenerPath ? { listenerPath: s.listenerPath } : {}),
      ...(s.listenerMetadata ? { listenerMetadata: s.listenerMetadata } : {}),
      ...(s.flags ? { flags: s.flags } : {}),
      syscalls,
    },
  };
}
