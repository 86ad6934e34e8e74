// The filter runc loads, built with libseccomp 2.5.4 at a chosen optimisation level:
// libseccomp's program (rules added the way runc's InitSeccomp/matchCall adds them, as
// packages/seccomp/src/_libseccomp.ts does) with runc's -ENOSYS stub (patchbpf's
// generateEnosysStub) in front. `_libseccomp.ts` picks the level the way runc does
// (binary tree above 32 names); the bench wants both levels, so this binding takes it
// as a parameter, and checks itself against `libseccompCompile` at runc's level.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import koffi from "koffi";
import { libseccompCompile } from "../../packages/seccomp/dist/_libseccomp.js";
import * as S from "../../packages/seccomp/dist/mod.js";

const OPS = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
const AUDIT = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  x32: 0xc000003e,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
};
const TOKENS = { ...AUDIT, x32: 0x4000003e };
const SCMP = {
  SCMP_ARCH_X86_64: "x86_64",
  SCMP_ARCH_X86: "i386",
  SCMP_ARCH_X32: "x32",
  SCMP_ARCH_AARCH64: "aarch64",
  SCMP_ARCH_ARM: "arm",
};
const ENOSYS = 0x50026;

let api;
function load() {
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
  };
  return api;
}

const check = (rc, what) => {
  if (rc !== 0) throw new Error(`libseccomp ${what}: ${rc}`);
};
const action = (name, errnoRet) => S.actionValue(S.parseAction(name, errnoRet)) >>> 0;
const namesOf = (rule) => [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])];

/** The profile's architectures as runc lists them (moby's archMap expansion). */
function listedArches(profile, arch) {
  const names =
    profile.architectures?.length > 0
      ? profile.architectures
      : (() => {
          const e = (profile.archMap ?? []).find(
            (m) => (SCMP[m.architecture] ?? S.archFromProfileName(m.architecture)) === arch,
          );
          return e ? [e.architecture, ...(e.subArchitectures ?? [])] : [];
        })();
  const out = [];
  for (const n of names) {
    const a = SCMP[n.toUpperCase()] ?? S.archFromProfileName(n);
    if (a && !out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * libseccomp's program for a profile at `optimize` (1: linear, 2: binary tree), built
 * as runc builds it; and runc's stub bounds.
 */
function libseccompAt(input, o, optimize) {
  const l = load();
  const profile = S.validateProfile(input);
  const def = action(profile.defaultAction, profile.defaultErrnoRet);
  const ctx = l.init(def);
  if (!ctx) throw new Error("seccomp_init failed");
  const refused = [];
  try {
    const listed = listedArches(profile, o.arch);
    const arches = [o.arch, ...listed.filter((a) => a !== o.arch)];
    const native = l.archNative();
    if (TOKENS[o.arch] !== native) {
      for (const a of arches) check(l.archAdd(ctx, TOKENS[a]), `arch_add ${a}`);
      check(l.archRemove(ctx, native), "arch_remove native");
    } else for (const a of arches.slice(1)) check(l.archAdd(ctx, TOKENS[a]), `arch_add ${a}`);
    const cond = { arch: o.arch, caps: o.caps ?? [], kernel: o.kernel ?? "6.1" };
    const applying = (profile.syscalls ?? []).filter((r) =>
      S.ruleApplies(r.includes, r.excludes, cond),
    );
    if (optimize === 2) check(l.attrSet(ctx, 8 /* CTL_OPTIMIZE */, 2), "CTL_OPTIMIZE");
    for (const rule of applying) {
      const act = action(rule.action, rule.errnoRet);
      if (act === def) continue;
      const args = rule.args ?? [];
      const counts = new Map();
      for (const a of args) counts.set(a.index, (counts.get(a.index) ?? 0) + 1);
      const split = [...counts.values()].some((c) => c > 1);
      const sets = args.length === 0 ? [[]] : split ? args.map((a) => [a]) : [args];
      for (const name of namesOf(rule)) {
        const nr = l.resolveName(name);
        if (nr === -1) continue;
        for (const set of sets) {
          const buf = new Uint8Array(Math.max(1, set.length) * 24);
          const v = new DataView(buf.buffer);
          set.forEach((a, i) => {
            v.setUint32(i * 24, a.index, true);
            v.setUint32(i * 24 + 4, OPS[a.op], true);
            v.setBigUint64(i * 24 + 8, S.u64(a.value), true);
            v.setBigUint64(i * 24 + 16, S.u64(a.valueTwo ?? 0), true);
          });
          const rc = l.ruleAdd(ctx, act, nr, set.length, set.length ? buf : null);
          if (rc !== 0) refused.push(`${name}: ${rc}`);
        }
      }
    }
    const stub = new Map();
    for (const a of listed) {
      let max = 0;
      for (const rule of applying)
        for (const name of namesOf(rule)) max = Math.max(max, l.resolveNameArch(TOKENS[a], name));
      if (max > 0) stub.set(a, max);
    }
    const dk = S.parseAction(profile.defaultAction).kind;
    // runc compares defaultErrnoRet with SCMP_ACT_ERRNO(ENOSYS), so the stub stays.
    const stubbed =
      !(dk === "allow" || dk === "log" || dk === "trace") && profile.defaultErrnoRet !== ENOSYS;
    return { program: exportProgram(l, ctx), refused, stub, stubbed };
  } finally {
    l.release(ctx);
  }
}

function exportProgram(l, ctx) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "forge-bench-")), "bpf");
  const fd = fs.openSync(file, "w+");
  try {
    check(l.exportBpf(ctx, fd), "export_bpf");
    return S.decodeFilter(new Uint8Array(fs.readFileSync(file)));
  } finally {
    fs.closeSync(fd);
    fs.rmSync(path.dirname(file), { recursive: true });
  }
}

const LD = (k) => ({ code: 0x20, jt: 0, jf: 0, k });
const JA = (k) => ({ code: 0x05, jt: 0, jf: 0, k });
const J = (op, k, jt, jf) => ({ code: 0x05 | op, jt, jf, k: k >>> 0 });
const JEQ = 0x10;
const JGT = 0x20;
const JSET = 0x40;

/** runc's patchbpf.generateEnosysStub for the stub bounds (architectures in listed order). */
function enosysStub(stub) {
  const byAudit = new Map();
  for (const [a, max] of stub) {
    if (!byAudit.has(AUDIT[a])) byAudit.set(AUDIT[a], new Map());
    byAudit.get(AUDIT[a]).set(a, max);
  }
  let tail = [JA(1), { code: 0x06, jt: 0, jf: 0, k: ENOSYS }];
  const jumpTable = new Map();
  for (const [audit, maxes] of byAudit) {
    const base = tail.length - 1;
    const toFilter = base + 1;
    const section = [LD(0)];
    if (maxes.size === 1) {
      const [[a, sysno]] = [...maxes];
      let sectionTail =
        base + 1 <= 255
          ? [J(JGT, sysno, base + 1, 0), JA(toFilter)]
          : [J(JGT, sysno, 0, 1), JA(base + 1), JA(toFilter)];
      if (audit === AUDIT.x86_64) {
        const skip = sectionTail.length - 1;
        sectionTail = [
          a === "x32" ? J(JSET, 1 << 30, 0, skip) : J(JSET, 1 << 30, skip, 0),
          ...sectionTail,
        ];
      }
      section.push(...sectionTail);
    } else {
      const x86 = maxes.get("x86_64");
      const x32 = maxes.get("x32");
      if (base + 2 <= 255)
        section.push(
          J(JSET, 1 << 30, 1, 0),
          J(JGT, x86, base + 2, 1),
          J(JGT, x32, base + 1, 0),
          JA(toFilter),
        );
      else
        section.push(
          J(JSET, 1 << 30, 1, 0),
          J(JGT, x86, 1, 2),
          J(JGT, x32, 0, 1),
          JA(base + 1),
          JA(toFilter),
        );
    }
    tail = [...section, ...tail];
    jumpTable.set(audit, tail.length);
  }
  tail = [JA(tail.length), ...tail];
  for (const audit of byAudit.keys()) {
    const jump = tail.length - jumpTable.get(audit);
    tail =
      jump <= 255 ? [J(JEQ, audit, jump, 0), ...tail] : [J(JEQ, audit, 0, 1), JA(jump), ...tail];
  }
  return [LD(4), ...tail];
}

/**
 * What runc loads for a profile, with libseccomp at `optimize`: `{ program, refused }`.
 * Throws when this binding disagrees with `libseccompCompile` at runc's own level.
 */
export function runcFilter(profile, o, optimize) {
  const lib = libseccompAt(profile, o, optimize);
  const ref = libseccompCompile(profile, o);
  if (ref.optimize === optimize) {
    const same =
      ref.program.length === lib.program.length &&
      ref.program.every(
        (x, i) =>
          x.code === lib.program[i].code &&
          x.k === lib.program[i].k &&
          x.jt === lib.program[i].jt &&
          x.jf === lib.program[i].jf,
      );
    if (!same)
      throw new Error(
        `the bench's libseccomp binding disagrees with _libseccomp.ts at level ${optimize}`,
      );
  }
  const stub = lib.stubbed ? enosysStub(lib.stub) : [];
  return { program: [...stub, ...lib.program], stubLength: stub.length, refused: lib.refused };
}
