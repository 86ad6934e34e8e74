// bench/seccomp: Forge's compiler beside libseccomp 2.5.4 (built the way runc builds,
// at its default linear optimisation level and with its binary tree, each with runc's
// -ENOSYS stub in front as runc loads it) on a corpus of profiles
// (bench/seccomp/corpus/*.json, each listing its architectures in Docker's archMap),
// for x86_64 (+i386 +x32) and aarch64 (+arm).
// Per row: program length, instructions executed (median and max over every syscall
// number of every covered ABI plus argument corner cases, all filters run in the same
// emulator), compile time, and Forge's ratios to the shorter libseccomp filter.
// Prints, never asserts on time. Run `npx tsc -b packages/seccomp` first.
//
// Inputs are counted only where every filter gives decide()'s answer: libseccomp 2.5.4
// does not know syscalls added since kernel 6.x (it skips their rules) and merges some
// rules differently (see libseccomp_diff_test.ts); the row says how many were left out.
// A wrong answer from Forge's filter is an error, not a left-out input.
import fs from "node:fs";
import * as S from "../../packages/seccomp/dist/mod.js";
import { median } from "../_stats.mjs";
import { inputs } from "./_inputs.mjs";
import { runcFilter } from "./_runc_libseccomp.mjs";

const CORPUS = [
  "docker-default",
  "podman",
  "allowlist-errno",
  "denylist",
  "log-notify",
  "multirule",
  "wide64",
  "includes-excludes",
  "docker-ioctl",
  "docker-ioctl-sparse",
];
const ARCHES = ["x86_64", "aarch64"];
const only = process.argv.slice(2);

/**
 * Median milliseconds of `fn`, run enough times for a stable figure (~0.3 s): CPU time
 * of this process (user + system), which a busy machine disturbs less than wall time.
 */
function time(fn) {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = cpu();
  fn();
  const once = cpu() - t0;
  const n = Math.max(5, Math.min(30, Math.round(300 / Math.max(once, 0.01))));
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t = cpu();
    fn();
    ts.push(cpu() - t);
  }
  return median(ts);
}

const rows = [];
const notes = [];
for (const name of CORPUS) {
  if (only.length && !only.includes(name)) continue;
  const profile = JSON.parse(
    fs.readFileSync(new URL(`corpus/${name}.json`, import.meta.url), "utf8"),
  );
  for (const arch of ARCHES) {
    const opts = { arch, kernel: "6.1", caps: [] };
    let resolveOpts = opts;
    try {
      S.resolveProfile(profile, opts);
    } catch (e) {
      // libseccomp accepts every corpus profile (checked below); a refusal here is the
      // profile checker's, reported and bypassed.
      if (e instanceof S.ProfileError) {
        notes.push(
          `${name} ${arch}: resolveProfile refused it (${e.message.split("\n").slice(0, 2).join(" ")}); compiled as trusted`,
        );
        resolveOpts = { ...opts, trusted: true };
      }
    }
    const compile = () => S.compileResolved(S.resolveProfile(profile, resolveOpts));
    let forge;
    try {
      forge = compile();
    } catch (e) {
      // Forge's own refusal (too long) is a result; anything else (e.g. the semantics
      // failing to resolve the profile) is reported in the row.
      rows.push({
        name,
        arch,
        refused: `${e instanceof S.CompileError ? "Forge refuses" : `resolve/compile failed (${e.name})`}: ${e.message.split("\n")[0]}`,
      });
      continue;
    }
    const lib = { linear: runcFilter(profile, opts, 1), tree: runcFilter(profile, opts, 2) };
    for (const [k, l] of Object.entries(lib))
      if (l.refused.length)
        notes.push(`${name} ${arch} libseccomp ${k} refused rules: ${l.refused.join(", ")}`);
    const resolved = S.resolveProfile(profile, resolveOpts);
    const ms = {
      forge: time(compile),
      forgeCompile: time(() => S.compileResolved(resolved)),
      linear: time(() => runcFilter(profile, opts, 1)),
      tree: time(() => runcFilter(profile, opts, 2)),
    };
    const r = forge.resolved;
    const executed = { forge: [], linear: [], tree: [] };
    let leftOut = 0;
    const vs = inputs(r, S);
    for (const v of vs) {
      const want = S.decide(r, v.arch, v.nr, v.args);
      const d = { nr: v.nr, arch: v.arch, args: v.args };
      const f = S.emulate(forge.program, d);
      if (!S.sameAction(f.action, want)) {
        throw new Error(
          `${name} ${arch}: Forge's filter is wrong for ${S.describeVector(r, v)}: ${S.formatAction(f.action)}, want ${S.formatAction(want)}`,
        );
      }
      const l1 = S.emulate(lib.linear.program, d);
      const l2 = S.emulate(lib.tree.program, d);
      if (!S.sameAction(l1.action, want) || !S.sameAction(l2.action, want)) {
        leftOut++;
        continue;
      }
      executed.forge.push(f.executed);
      executed.linear.push(l1.executed);
      executed.tree.push(l2.executed);
    }
    if (forge.resolved.abis.length !== (arch === "x86_64" ? 3 : 2))
      throw new Error(`${name}: the profile does not list the sub-architectures`);
    rows.push({
      name,
      arch,
      stub: lib.linear.stubLength,
      len: {
        forge: forge.program.length,
        linear: lib.linear.program.length,
        tree: lib.tree.program.length,
      },
      executed,
      ms,
      counted: vs.length - leftOut,
      leftOut,
    });
  }
}

const fmt = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const header = [
  "profile",
  "arch",
  "length F / lin / tree",
  "len ratio",
  "exec median F / lin / tree",
  "exec max F / lin / tree",
  "compile cpu ms F (compile step) / lin / tree",
  "inputs (left out)",
];
const lines = [header, header.map((h) => "-".repeat(h.length))];
let longer = 0;
for (const row of rows) {
  const archCol = row.arch === "x86_64" ? "x86_64+i386+x32" : "aarch64+arm";
  if (row.refused) {
    lines.push([row.name, archCol, row.refused, "", "", "", "", ""]);
    continue;
  }
  const { len, executed: e, ms } = row;
  const best = Math.min(len.linear, len.tree);
  if (len.forge >= best) longer++;
  const med = (k) => fmt(median(e[k]));
  const max = (k) => String(Math.max(...e[k]));
  lines.push([
    row.name,
    archCol,
    `${len.forge} / ${len.linear} / ${len.tree}`,
    (len.forge / best).toFixed(2),
    `${med("forge")} / ${med("linear")} / ${med("tree")}`,
    `${max("forge")} / ${max("linear")} / ${max("tree")}`,
    `${ms.forge.toFixed(2)} (${ms.forgeCompile.toFixed(2)}) / ${ms.linear.toFixed(2)} / ${ms.tree.toFixed(2)}`,
    `${row.counted} (${row.leftOut})`,
  ]);
}
const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
console.log(
  "Forge vs runc + libseccomp 2.5.4 (lin: libseccomp's default linear level; tree: its binary tree; both with runc's -ENOSYS stub in front, as runc loads them), runc semantics, kernel 6.1, no caps",
);
console.log(
  "len ratio: Forge / the shorter libseccomp filter. exec: instructions executed per input. compile: CPU ms, Forge's resolveProfile (validation, semantics) + compileResolved (compileResolved alone in parentheses); libseccomp's from the profile to exported BPF.\n",
);
for (const l of lines) console.log(`| ${l.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`);
console.log(
  `\nrows where Forge is not shorter than both libseccomp filters: ${longer} of ${rows.length}`,
);
for (const n of notes) console.log(`note: ${n}`);
