/**
 * libseccomp loaded through koffi, for the differential tests and the benchmark: builds
 * the same profile the way runc does and exports libseccomp's BPF. Not part of the
 * public API (libseccomp is not a dependency of @forge/seccomp).
 *
 * @module
 */
import fs from "node:fs";
import { ARCHES, type Arch, openLibc } from "@forge/libc";
import koffi from "koffi";
import { actionValue, parseAction } from "./action.ts";
import { decodeFilter, type Instruction } from "./bpf.ts";
import { type SeccompProfile, u64, validateProfile } from "./profile.ts";
import { coveredArches, ruleApplies } from "./resolve.ts";

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
  /** Rules libseccomp refused (name, errno), which runc would also fail on or skip. */
  readonly refused: string[];
}

/** Options: the same as resolveProfile's, plus libseccomp's optimisation level. */
export interface LibseccompOptions {
  readonly arch: Arch;
  readonly caps?: readonly string[];
  readonly kernel?: string;
  readonly subArches?: readonly Arch[];
  /** 1 = priority-sorted linear list (libseccomp's default), 2 = binary tree. */
  readonly optimize?: 1 | 2;
}

/**
 * Builds a profile with libseccomp the way runc does (rules in profile order, rules
 * whose action equals the default skipped, bad-arch action KILL_PROCESS) and exports
 * its BPF.
 */
export function libseccompCompile(input: SeccompProfile, o: LibseccompOptions): LibseccompResult {
  const l = load();
  const profile = validateProfile(input);
  const def = actionValue(parseAction(profile.defaultAction, profile.defaultErrnoRet));
  const ctx = l.init(def);
  if (!ctx) throw new Error("seccomp_init failed");
  const refused: string[] = [];
  try {
    const arches = o.subArches ? [o.arch, ...o.subArches] : coveredArches(profile, o.arch);
    const native = l.archNative();
    for (const a of arches) {
      if (TOKENS[a] === native) continue;
      const rc = l.archAdd(ctx, TOKENS[a]);
      if (rc !== 0) throw new Error(`seccomp_arch_add(${a}): ${rc}`);
    }
    if (!arches.some((a) => TOKENS[a] === native)) l.archRemove(ctx, native);
    check(l.attrSet(ctx, ATTR.ACT_BADARCH, 0x80000000), "ACT_BADARCH");
    check(l.attrSet(ctx, ATTR.CTL_OPTIMIZE, o.optimize ?? 2), "CTL_OPTIMIZE");
    const cond = { arch: o.arch, caps: o.caps ?? [], kernel: o.kernel ?? "6.1" };
    for (const rule of profile.syscalls ?? []) {
      if (!ruleApplies(rule.includes, rule.excludes, cond)) continue;
      const action = actionValue(parseAction(rule.action, rule.errnoRet));
      if (action === def) continue;
      const args = rule.args ?? [];
      const buf = new Uint8Array(Math.max(1, args.length) * 24);
      const v = new DataView(buf.buffer);
      args.forEach((a, i) => {
        v.setUint32(i * 24, a.index, true);
        v.setUint32(i * 24 + 4, OPS[a.op]!, true);
        v.setBigUint64(i * 24 + 8, u64(a.value), true);
        v.setBigUint64(i * 24 + 16, u64(a.valueTwo ?? 0), true);
      });
      for (const name of [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])]) {
        const nr = l.resolveName(name);
        if (nr === -1) continue; // __NR_SCMP_ERROR: libseccomp does not know it (runc skips these)
        const rc = l.ruleAdd(ctx, action, nr, args.length, args.length ? buf : null);
        if (rc !== 0) refused.push(`${name}: ${rc}`);
      }
    }
    return { program: exportProgram(l, ctx), refused };
  } finally {
    l.release(ctx);
  }
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`seccomp_attr_set(${what}): ${rc}`);
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

/** Whether libseccomp knows a syscall name on an ABI (its tables lag the kernel's). */
export function libseccompKnows(arch: Arch, name: string): boolean {
  return load().resolveNameArch(TOKENS[arch], name) >= 0;
}
