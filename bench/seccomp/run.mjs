// bench/seccomp: Forge's compiler beside libseccomp 2.5 (SCMP_FLTATR_CTL_OPTIMIZE=2, binary
// tree) on docker-default, for x86_64 (+i386 +x32) and aarch64 (+arm), in one run and
// with the same emulator counting executed instructions for both filters.
// Run `npx tsc -b packages/seccomp` first.
import { performance } from "node:perf_hooks";
import { libseccompCompile } from "../../packages/seccomp/dist/_libseccomp.js";
import * as S from "../../packages/seccomp/dist/mod.js";
import { median } from "../_stats.mjs";

const time = (fn, n) => {
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
};

const profile = S.builtinProfile("docker-default");
const rows = [];
for (const arch of ["x86_64", "aarch64"]) {
  const opts = { arch, kernel: "6.1" };
  const forge = S.compileProfile(profile, opts);
  const lib = libseccompCompile(profile, { ...opts, optimize: 2 });
  const forgeMs = time(() => S.compileProfile(profile, opts), 20);
  const libMs = time(() => libseccompCompile(profile, { ...opts, optimize: 2 }), 20);
  // Every syscall number of every covered ABI, counted only where both filters give
  // the profile's answer: libseccomp 2.5.4 does not know syscalls added since kernel
  // 6.x (mseal, statmount, *xattrat...), skips their rules and denies them.
  const calls = [];
  let leftOut = 0;
  for (const abi of forge.resolved.abis) {
    for (const [nr] of abi.names) {
      const d = { nr, arch: abi.auditArch, args: [] };
      const want = S.decide(forge.resolved, abi.auditArch, nr, []);
      const ok = (p) => S.sameAction(S.emulate(p, d).action, want);
      if (!ok(forge.program)) throw new Error(`forge's filter is wrong for ${abi.arch} ${nr}`);
      if (ok(lib.program)) calls.push({ d, allowed: want.kind === "allow" });
      else leftOut++;
    }
  }
  const stats = (program) => {
    const allowed = [];
    const denied = [];
    for (const c of calls) (c.allowed ? allowed : denied).push(S.emulate(program, c.d).executed);
    return { allowed, denied };
  };
  const f = stats(forge.program);
  const l = stats(lib.program);
  rows.push({
    arch: `${arch} (+${forge.resolved.abis
      .slice(1)
      .map((a) => a.arch)
      .join(" +")})`,
    "calls counted": `${calls.length} (${leftOut} left out: libseccomp does not know them)`,
    "forge len": forge.program.length,
    "libseccomp len": lib.program.length,
    "forge compile ms": forgeMs.toFixed(2),
    "libseccomp compile ms": libMs.toFixed(2),
    "allowed med/max forge": `${median(f.allowed)}/${Math.max(...f.allowed)}`,
    "allowed med/max libseccomp": `${median(l.allowed)}/${Math.max(...l.allowed)}`,
    "denied med/max forge": `${median(f.denied)}/${Math.max(...f.denied)}`,
    "denied med/max libseccomp": `${median(l.denied)}/${Math.max(...l.denied)}`,
    "ratio len": (forge.program.length / lib.program.length).toFixed(2),
    "ratio compile": (forgeMs / libMs).toFixed(2),
    "ratio allowed median": (median(f.allowed) / median(l.allowed)).toFixed(2),
  });
}
for (const r of rows) {
  console.log(`\n${r.arch}`);
  for (const [k, v] of Object.entries(r)) if (k !== "arch") console.log(`  ${k.padEnd(28)} ${v}`);
}
