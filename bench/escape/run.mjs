// bench/escape: the escape-probe suite (packages/sandbox/probes) against Forge and bwrap
// in the same run, side by side, with totals.
//   Forge: forge run --profile default --bind DIR:DIR:ro -- PROBE ...
//   bwrap: bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr ...
//          --proc /proc --dev /dev --tmpfs /tmp --ro-bind DIR DIR -- PROBE ...
// Every probe runs in its own sandbox with a pty as controlling terminal, the launcher's
// cwd and an extra fd 3 on a host folder outside the sandbox, and FORGE_PROBE_SECRET in
// the launcher's environment. Options the Forge CLI does not know yet are dropped and the
// run is marked partial.
// Run: npx tsc -b && node bench/escape/run.mjs [--rootless] [--verbose] [probe...]
//   FORGE_PROBE_CLI=FILE  run this script instead of packages/cli/bin/forge.cjs
//   --rootless  also run both suites as uid 65534 (setpriv)
//   --verbose   print every reason, not only those of non-SAFE verdicts
import { spawnSync } from "node:child_process";
import {
  bwrapPrefix,
  compileProbes,
  forgePrefix,
  rootless,
  runProbes,
} from "../../packages/sandbox/dist/_probes.js";

const args = process.argv.slice(2);
const withRootless = args.includes("--rootless");
const verbose = args.includes("--verbose");
const only = args.filter((a) => !a.startsWith("--"));

const haveBwrap = spawnSync("bwrap", ["--version"], { stdio: "ignore" }).status === 0;
const t0 = Date.now();
const compiled = await compileProbes(only.length ? { only } : {});
const tCompile = Date.now() - t0;

const suites = [];
try {
  const plan = [["forge", forgePrefix(compiled.dir)]];
  if (haveBwrap) plan.push(["bwrap", bwrapPrefix(compiled.dir)]);
  else
    console.error("bench/escape: bwrap is not installed (apt-get install bubblewrap); Forge only");
  if (withRootless && process.getuid() === 0) {
    plan.push(["forge 65534", rootless(forgePrefix(compiled.dir))]);
    if (haveBwrap) plan.push(["bwrap 65534", rootless(bwrapPrefix(compiled.dir))]);
  }
  for (const [label, prefix] of plan) {
    const t = Date.now();
    const results = await runProbes({ prefix, probeDir: compiled.dir, probes: compiled.probes });
    suites.push({ label, results, ms: Date.now() - t });
  }
} finally {
  compiled.cleanup();
}

const names = [...new Set(suites.flatMap((s) => s.results.map((r) => r.name)))].sort();
const w = Math.max(...names.map((n) => n.length), 5);
const cw = Math.max(...suites.map((s) => s.label.length), 6) + 2;
const cell = (s, n) => s.results.find((r) => r.name === n)?.verdict ?? "-";
console.log(
  `bench/escape: ${compiled.probes.length} probes + harness checks, uid ${process.getuid()}, kernel ${spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim()} (compile ${tCompile} ms)`,
);
for (const s of suites)
  if (s.results.partial.length)
    console.log(
      `PARTIAL RUN (${s.label}): the CLI rejected ${s.results.partial.join(", ")}; ran with: ${s.results.prefix.slice(1).join(" ")}`,
    );
console.log("");
console.log(`${"probe".padEnd(w)}  ${suites.map((s) => s.label.padEnd(cw)).join("")}`);
console.log(`${"-".repeat(w)}  ${suites.map(() => "-".repeat(cw - 2).padEnd(cw)).join("")}`);
for (const n of names)
  console.log(`${n.padEnd(w)}  ${suites.map((s) => cell(s, n).padEnd(cw)).join("")}`);
console.log(`${"-".repeat(w)}  ${suites.map(() => "-".repeat(cw - 2).padEnd(cw)).join("")}`);
for (const v of ["SAFE", "UNSAFE", "ERROR"])
  console.log(
    `${v.padEnd(w)}  ${suites.map((s) => String(s.results.filter((r) => r.verdict === v).length).padEnd(cw)).join("")}`,
  );
console.log(
  `${"time (s)".padEnd(w)}  ${suites.map((s) => (s.ms / 1000).toFixed(1).padEnd(cw)).join("")}`,
);

for (const s of suites) {
  const shown = s.results.filter((r) => verbose || r.verdict !== "SAFE");
  if (!shown.length) continue;
  console.log(`\n${s.label}: ${verbose ? "all" : "not SAFE"}`);
  for (const r of shown) console.log(`  ${r.verdict.padEnd(6)} ${r.name.padEnd(w)}  ${r.reason}`);
}
