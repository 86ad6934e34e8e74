/**
 * libseccomp loaded through koffi, for the differential tests and the benchmark: builds
 * the same profile the way runc does (InitSeccomp, matchCall, patchbpf's -ENOSYS stub)
 * and exports libseccomp's BPF. Not part of the
 * public API (libseccomp is not a dependency of @forge/seccomp).
 *
 * @module
 */
import fs from "node:fs";
import { ARCHES, type Arch, openLibc, SUB_ARCHES, syscallNumber } from "@forge/libc";
import koffi from "koffi";
import { X86_IPC, X86_SOCKETCALL } from "./_scmp_db.ts";
import { type Action, actionValue, parseAction } from "./action.ts";
import { decodeFilter, type Instruction } from "./bpf.ts";
import { emulate, type SeccompData } from "./emulator.ts";
import { type SeccompProfile, u64, validateProfile } from "./profile.ts";
import { archFromProfileName, ruleApplies } from "./resolve.ts";

const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
const ATTR = { ACT_BADARCH: 2, CTL_OPTIMIZE: 8 } as const;
/** libseccomp's arch tokens (x32 is EM_X86_64 | __AUDIT_ARCH_LE, not its audit arch). */
const TOKENS: Record<Arch, number> = {
  x86_64: ARCHES.x86_64.auditArch,
  i386: ARCHES.i386.auditArch,
  x32: 0x4000003e,
  aarch64: ARCHES.aarch64.auditArch,
  arm: ARCHES.arm.auditArch,
};

interface Api {
  init(def: number): unknown;
  release(ctx: unknown): void;
  archAdd(ctx: unknown, token: number): number;
  archRemove(ctx: unknown, token: number): number;
  archNative(): number;
  attrSet(ctx: unknown, attr: number, value: number): number;
  resolveName(name: string): number;
  resolveNameArch(token: number, name: string): number;
  ruleAdd(ctx: unknown, action: number, nr: number, count: number, args: Uint8Array | null): number;
  exportBpf(ctx: unknown, fd: number): number;
}

let api: Api | undefined;

/** Whether libseccomp.so.2 can be loaded here. */
export function libseccompAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

function load(): Api {
  if (api) return api;
  const lib = koffi.load("libseccomp.so.2");
  api = {
    init: lib.func("void *seccomp_init(uint32_t)"),
    release: lib.func("void seccomp_release(void *)"),
    archAdd: lib.func("int seccomp_arch_add(void *, uint32_t)"),
    archRemove: lib.func("int seccomp_arch_remove(void *, uint32_t)"),
    archNative: lib.func("uint32_t seccomp_arch_native()"),
    attrSet: lib.func("int seccomp_attr_set(void *, int, uint32_t)"),
    resolveName: lib.func("int seccomp_syscall_resolve_name(const char *)"),
    resolveNameArch: lib.func("int seccomp_syscall_resolve_name_arch(uint32_t, const char *)"),
    ruleAdd: lib.func("int seccomp_rule_add_array(void *, uint32_t, int, unsigned int, void *)"),
    exportBpf: lib.func("int seccomp_export_bpf(void *, int)"),
  } as Api;
  return api;
}

/** What libseccomp produced. */
export interface LibseccompResult {
  readonly program: Instruction[];
  /** Rules libseccomp refused (name, errno): runc fails to start the container on these. */
  readonly refused: string[];
  /** The optimisation level runc chose (2: binary tree, for more than 32 names). */
  readonly optimize: 1 | 2;
  /** runc's -ENOSYS stub: the largest number per architecture it covers (see {@link runcStub}). */
  readonly stub: ReadonlyMap<Arch, number>;
  /** Whether runc prepends the stub at all (not for an ALLOW, LOG or TRACE default). */
  readonly stubbed: boolean;
}

/** Options: the same as resolveProfile's. */
export interface LibseccompOptions {
  readonly arch: Arch;
  readonly caps?: readonly string[];
  readonly kernel?: string;
  /** Architectures added after the profile's (runc adds only the profile's). */
  readonly extraArches?: readonly Arch[];
  /**
   * libseccomp's optimisation level: 1 a priority-ordered list, 2 a binary tree
   * (default: as runc picks it, the tree above 32 syscall names).
   */
  readonly optimize?: 1 | 2;
}

/** runc's action for a rule (getAction): ERRNO/TRACE without errnoRet mean EPERM. */
function runcAction(name: string, errnoRet: number | undefined): number {
  return actionValue(parseAction(name, errnoRet)) >>> 0;
}

/** Profile architecture spellings runc accepts, for the ones Forge knows. */
function scmpArch(name: string): Arch | undefined {
  const map: Record<string, Arch> = {
    SCMP_ARCH_X86_64: "x86_64",
    SCMP_ARCH_X86: "i386",
    SCMP_ARCH_X32: "x32",
    SCMP_ARCH_AARCH64: "aarch64",
    SCMP_ARCH_ARM: "arm",
  };
  return map[name.toUpperCase()] ?? archFromProfileName(name);
}

/**
 * Builds a profile with libseccomp exactly as runc's InitSeccomp does and exports its
 * BPF: native architecture first, then the profile's (moby's archMap expansion);
 * bad-arch action left at libseccomp's default (KILL); binary tree when the profile
 * names more than 32 syscalls; rules through matchCall (action equal to the default:
 * skipped; unknown names: skipped; conditions on one argument twice: one rule per
 * condition). Also computes runc's -ENOSYS stub (patchbpf) with libseccomp's own
 * syscall tables, for {@link runcStub}.
 */
export function libseccompCompile(input: SeccompProfile, o: LibseccompOptions): LibseccompResult {
  const l = load();
  const profile = validateProfile(input);
  const def = runcAction(profile.defaultAction, profile.defaultErrnoRet);
  const ctx = l.init(def);
  if (!ctx) throw new Error("seccomp_init failed");
  const refused: string[] = [];
  try {
    const listed: Arch[] = [];
    const names =
      profile.architectures && profile.architectures.length > 0
        ? profile.architectures
        : (() => {
            const e = (profile.archMap ?? []).find((m) => scmpArch(m.architecture) === o.arch);
            return e ? [e.architecture, ...(e.subArchitectures ?? [])] : [];
          })();
    for (const n of names) {
      const a = scmpArch(n);
      if (a && !listed.includes(a)) listed.push(a);
    }
    const arches = [o.arch, ...listed.filter((a) => a !== o.arch)];
    for (const a of o.extraArches ?? []) if (!arches.includes(a)) arches.push(a);
    // runc runs on the target: make its architecture the first of the collection.
    const native = l.archNative();
    if (TOKENS[o.arch] !== native) {
      check(l.archRemove(ctx, native), "arch_remove native");
      for (const a of arches) check(l.archAdd(ctx, TOKENS[a]), `arch_add ${a}`);
    } else for (const a of arches.slice(1)) check(l.archAdd(ctx, TOKENS[a]), `arch_add ${a}`);
    const cond = { arch: o.arch, caps: o.caps ?? [], kernel: o.kernel ?? "6.1" };
    const applying = (profile.syscalls ?? []).filter((rule) =>
      ruleApplies(rule.includes, rule.excludes, cond),
    );
    const ruleNames = (rule: (typeof applying)[number]) => [
      ...(rule.names ?? []),
      ...(rule.name ? [rule.name] : []),
    ];
    const count = applying.reduce((n, r) => n + ruleNames(r).length, 0);
    const optimize = o.optimize ?? (count > 32 ? 2 : 1);
    if (optimize === 2) check(l.attrSet(ctx, ATTR.CTL_OPTIMIZE, 2), "CTL_OPTIMIZE");
    for (const rule of applying) {
      const action = runcAction(rule.action, rule.errnoRet);
      if (action === def) continue;
      const args = rule.args ?? [];
      const counts = new Map<number, number>();
      for (const a of args) counts.set(a.index, (counts.get(a.index) ?? 0) + 1);
      const split = [...counts.values()].some((c) => c > 1);
      const sets = args.length === 0 ? [[]] : split ? args.map((a) => [a]) : [args];
      for (const name of ruleNames(rule)) {
        const nr = l.resolveName(name);
        if (nr === -1) continue; // __NR_SCMP_ERROR: unknown to libseccomp, runc skips it
        for (const set of sets) {
          const buf = new Uint8Array(Math.max(1, set.length) * 24);
          const v = new DataView(buf.buffer);
          set.forEach((a, i) => {
            v.setUint32(i * 24, a.index, true);
            v.setUint32(i * 24 + 4, OPS[a.op]!, true);
            v.setBigUint64(i * 24 + 8, u64(a.value), true);
            v.setBigUint64(i * 24 + 16, u64(a.valueTwo ?? 0), true);
          });
          const rc = l.ruleAdd(ctx, action, nr, set.length, set.length ? buf : null);
          if (rc !== 0) refused.push(`${name}: ${rc}`);
        }
      }
    }
    // patchbpf: findLastSyscalls over the listed architectures, with every rule.
    const stub = new Map<Arch, number>();
    for (const a of listed) {
      let max = 0;
      for (const rule of applying)
        for (const name of ruleNames(rule)) max = Math.max(max, l.resolveNameArch(TOKENS[a], name));
      if (max > 0) stub.set(a, max);
    }
    const dk = parseAction(profile.defaultAction).kind;
    const stubbed =
      !(dk === "allow" || dk === "log" || dk === "trace") && profile.defaultErrnoRet !== 0x50026;
    return { program: exportProgram(l, ctx), refused, optimize, stub, stubbed };
  } finally {
    l.release(ctx);
  }
}

/**
 * runc's -ENOSYS stub (patchbpf's generateEnosysStub) for a call: ERRNO(ENOSYS) when
 * the stub answers, else undefined (the call goes on to libseccomp's filter). On
 * AUDIT_ARCH_X86_64 bit 30 sends the number to x32's bound, else to x86_64's.
 */
export function runcStub(r: LibseccompResult, d: SeccompData): Action | undefined {
  if (!r.stubbed) return undefined;
  const nr = d.nr >>> 0;
  const arch = d.arch >>> 0;
  let max: number | undefined;
  if (arch === ARCHES.x86_64.auditArch) {
    max = (nr & 0x40000000) !== 0 ? r.stub.get("x32") : r.stub.get("x86_64");
  } else {
    for (const [a, m] of r.stub) if (ARCHES[a].auditArch === arch) max = m;
  }
  return max !== undefined && nr > max >>> 0 ? { kind: "errno", data: 38 } : undefined;
}

/** What runc's filter returns: the stub, else libseccomp's program. */
export function runcEmulate(r: LibseccompResult, d: SeccompData): Action {
  return runcStub(r, d) ?? emulate(r.program, d).action;
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`libseccomp ${what}: ${rc}`);
}

function exportProgram(l: Api, ctx: unknown): Instruction[] {
  // libseccomp 2.5 has no seccomp_export_bpf_mem: export into a memfd and read it back.
  const fd = openLibc().syscall("memfd_create", "libseccomp-bpf", 1 /* MFD_CLOEXEC */);
  try {
    const rc = l.exportBpf(ctx, fd);
    if (rc !== 0) throw new Error(`seccomp_export_bpf: ${rc}`);
    const size = fs.fstatSync(fd).size;
    const buf = new Uint8Array(size);
    fs.readSync(fd, buf, 0, size, 0);
    return decodeFilter(buf);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The profile without the names on which libseccomp 2.5.4's tables and Forge's
 * disagree for the ABIs a filter for `target` can cover (its tables lag the kernel's:
 * mseal, listmount...): runc would skip or number those differently, a known lag
 * rather than a difference of semantics.
 */
export function libseccompAgreed(profile: SeccompProfile, target: Arch): SeccompProfile {
  const own: Arch[] = [target, ...(SUB_ARCHES[target] ?? [])];
  const muxed = new Set([...X86_SOCKETCALL.keys(), ...X86_IPC.keys()]);
  const agree = (n: string) =>
    own.every((a) => {
      if (a === "i386" && muxed.has(n)) return true;
      const f = syscallNumber(n, a);
      const lib = libseccompNumber(a, n);
      return f === undefined ? lib < 0 : (f | ARCHES[a].syscallBit) >>> 0 === lib >>> 0;
    }) && own.some((a) => libseccompNumber(a, n) >= 0);
  return {
    ...profile,
    syscalls: (profile.syscalls ?? [])
      .map((r) => {
        const { name, ...rest } = r;
        return { ...rest, names: [...(r.names ?? []), ...(name ? [name] : [])].filter(agree) };
      })
      .filter((r) => r.names.length > 0),
  };
}

/**
 * Profiles on which libseccomp 2.5.4's seccomp_export_bpf never returns (100% CPU):
 * on a 64-bit ABI, two rules of one syscall that begin (in argument order) with the
 * same conditions, the last of them a GT/GE/LT/LE/NE, and both go on with more
 * conditions (python3-seccomp hangs on them too). A call into C cannot be
 * interrupted, so the tests recognise them first and leave them out.
 */
export function libseccompWouldHang(profile: SeccompProfile): boolean {
  const hang = new Set(["SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_NE"]);
  const byName = new Map<string, (typeof profile.syscalls & object)[number]["args"][]>();
  for (const r of profile.syscalls ?? [])
    for (const n of [...(r.names ?? []), ...(r.name ? [r.name] : [])])
      byName.set(n, [...(byName.get(n) ?? []), r.args ?? []]);
  for (const chains of byName.values()) {
    const sorted = chains.map((c) => [...(c ?? [])].sort((a, b) => a.index - b.index));
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++) {
        const [a, b] = [sorted[i]!, sorted[j]!];
        let k = 0;
        while (
          k < a.length &&
          k < b.length &&
          a[k]!.index === b[k]!.index &&
          a[k]!.op === b[k]!.op &&
          String(a[k]!.value) === String(b[k]!.value) &&
          String(a[k]!.valueTwo ?? 0) === String(b[k]!.valueTwo ?? 0)
        )
          k++;
        if (k > 0 && hang.has(a[k - 1]!.op) && k < a.length && k < b.length) return true;
      }
  }
  return false;
}

/** libseccomp's number for a name on an ABI (x32: with bit 30; negative: none there). */
export function libseccompNumber(arch: Arch, name: string): number {
  return load().resolveNameArch(TOKENS[arch], name);
}

/** Whether libseccomp knows a syscall name on an ABI (its tables lag the kernel's). */
export function libseccompKnows(arch: Arch, name: string): boolean {
  return load().resolveNameArch(TOKENS[arch], name) >= 0;
}
