// The inputs the seccomp bench runs every filter on: every syscall number of every
// covered ABI (arguments 0), number -1, calls from uncovered architectures, and for each
// syscall whose answer depends on arguments, corner cases of its decision graph: each
// compared word at each constant, its neighbours and complements (the other words at
// corner values), plus a few random combinations. Deterministic.

/**
 * @param {import("../../packages/seccomp/dist/mod.js").ResolvedProfile} r
 * @param {typeof import("../../packages/seccomp/dist/mod.js")} S
 */
export function inputs(r, S) {
  const out = [];
  const covered = new Set(r.abis.map((a) => a.auditArch));
  for (const arch of [0xc000003e, 0x40000003, 0xc00000b7, 0x40000028, 0]) {
    if (!covered.has(arch)) out.push({ arch, nr: 0, args: [] });
  }
  for (const abi of r.abis) {
    out.push({ arch: abi.auditArch, nr: 0xffffffff, args: [] });
    for (const nr of abi.names.keys()) out.push({ arch: abi.auditArch, nr, args: [] });
  }
  let seed = 1;
  for (const abi of r.abis) {
    for (const [nr, d] of abi.decisions) {
      if (d.kind !== "test") continue;
      out.push(...cornerVectors(abi, nr, d, S, seed++));
    }
  }
  return out;
}

function cornerVectors(abi, nr, d, S, seed) {
  const rnd = S.prng(seed);
  const cands = new Map();
  for (const [key, set] of S.decisionConstants([d])) {
    const vals = new Set([0, 1, 0xffffffff, 0x80000000]);
    for (const c of set) for (const x of [c, c - 1, c + 1, ~c, c ^ 1]) vals.add(x >>> 0);
    cands.set(key, [...vals]);
  }
  const pick = (xs) => xs[Number(rnd() % BigInt(xs.length))];
  const build = (fixed) => {
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    for (const [key, xs] of cands) {
      const val = BigInt(fixed && fixed[0] === key ? fixed[1] : pick(xs));
      const i = Number(key.slice(0, -1));
      args[i] = key.endsWith("h")
        ? (args[i] & 0xffffffffn) | (val << 32n)
        : (args[i] & ~0xffffffffn) | val;
    }
    return args;
  };
  const out = [];
  for (const [key, xs] of cands)
    for (const x of xs) out.push({ arch: abi.auditArch, nr, args: build([key, x]) });
  for (let i = 0; i < 8; i++) out.push({ arch: abi.auditArch, nr, args: build() });
  return out;
}
