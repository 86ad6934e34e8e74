// Reads what a built trampoline needs from the system, without binutils: the ELF's
// machine, whether it is static, its DT_NEEDED libraries and the glibc symbol versions
// it requires (.gnu.version_r), as `objdump -p`/`objdump -T | grep GLIBC_` show them.
// Used by build_native.mjs after a release build and by the pack check.
// Run: node scripts/elf_check.mjs FILE... (prints one JSON line per file)
import fs from "node:fs";
import { fileURLToPath } from "node:url";

/** Node's arch name for an ELF e_machine. */
export const ELF_MACHINES = { 62: "x64", 183: "arm64" };

/** The oldest glibc the prebuilt libforge_spawn.so may require, per architecture. */
export const GLIBC_BASELINE = { x64: "2.17", arm64: "2.17" };

/** -1, 0 or 1 as dotted version a is older than, equal to or newer than b. */
export function compareVersions(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * @returns {{ arch: string, type: "exec" | "dyn" | string, static: boolean,
 *   needed: string[], glibc: string[], maxGlibc: string | undefined }}
 */
export function inspectElf(file) {
  const b = fs.readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46)
    throw new Error(`${file}: not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${file}: not a 64-bit little-endian ELF file`);
  const u16 = (o) => b.readUInt16LE(o);
  const u32 = (o) => b.readUInt32LE(o);
  const u64 = (o) => Number(b.readBigUInt64LE(o));
  const type = { 2: "exec", 3: "dyn" }[u16(16)] ?? String(u16(16));
  const machine = u16(18);
  const phoff = u64(32);
  const shoff = u64(40);
  const [phentsize, phnum, shentsize, shnum] = [u16(54), u16(56), u16(58), u16(60)];
  let dynamic = false;
  for (let i = 0; i < phnum; i++) {
    const t = u32(phoff + i * phentsize);
    if (t === 2 || t === 3) dynamic = true; // PT_DYNAMIC, PT_INTERP
  }
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: u32(o + 4),
      offset: u64(o + 24),
      size: u64(o + 32),
      link: u32(o + 40),
      info: u32(o + 44),
    });
  }
  const str = (sec, off) => {
    const start = sec.offset + off;
    return b.toString("latin1", start, b.indexOf(0, start));
  };
  const needed = [];
  const glibc = new Set();
  for (const s of sections) {
    if (s.type === 6) {
      // SHT_DYNAMIC: DT_NEEDED entries
      const strtab = sections[s.link];
      for (let o = s.offset; o < s.offset + s.size; o += 16) {
        const tag = b.readBigInt64LE(o);
        if (tag === 0n) break;
        if (tag === 1n) needed.push(str(strtab, u64(o + 8)));
      }
    } else if (s.type === 0x6ffffffe) {
      // SHT_GNU_verneed: sh_info entries, each with vn_cnt vernaux
      const strtab = sections[s.link];
      let vn = s.offset;
      for (let i = 0; i < s.info; i++) {
        let aux = vn + u32(vn + 8);
        for (let j = 0; j < u16(vn + 2); j++) {
          const name = str(strtab, u32(aux + 8));
          const m = /^GLIBC_([\d.]+)$/.exec(name);
          if (m) glibc.add(m[1]);
          aux += u32(aux + 12);
        }
        const next = u32(vn + 12);
        if (next === 0) break;
        vn += next;
      }
    }
  }
  const versions = [...glibc].sort(compareVersions);
  return {
    arch: ELF_MACHINES[machine] ?? `e_machine ${machine}`,
    type,
    static: !dynamic,
    needed,
    glibc: versions,
    maxGlibc: versions.at(-1),
  };
}

/**
 * What is wrong with a prebuild directory for `arch` (prebuilds/linux-<arch>): the
 * library must be for that machine and need at most GLIBC_BASELINE[arch] and libc
 * (libpthread), forge-init must be static. Returns the problems, [] if none.
 */
export function prebuildProblems(dir, arch) {
  const problems = [];
  for (const [name, check] of [
    [
      "libforge_spawn.so",
      (e) => {
        if (e.type !== "dyn") problems.push(`libforge_spawn.so is not a shared object (${e.type})`);
        const base = GLIBC_BASELINE[arch];
        if (e.maxGlibc && compareVersions(e.maxGlibc, base) > 0)
          problems.push(
            `libforge_spawn.so needs GLIBC_${e.maxGlibc}, more than the baseline ${base}`,
          );
        const extra = e.needed.filter((n) => !/^lib(c|pthread)\.so\.\d+$/.test(n));
        if (extra.length > 0) problems.push(`libforge_spawn.so needs ${extra.join(", ")}`);
      },
    ],
    [
      "forge-init",
      (e) => {
        if (!e.static) problems.push("forge-init is not static");
      },
    ],
  ]) {
    const file = `${dir}/${name}`;
    if (!fs.existsSync(file)) {
      problems.push(`${name} is missing`);
      continue;
    }
    const e = inspectElf(file);
    if (e.arch !== arch) problems.push(`${name} is for ${e.arch}, not ${arch}`);
    check(e);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) console.log(JSON.stringify({ file: f, ...inspectElf(f) }));
}
