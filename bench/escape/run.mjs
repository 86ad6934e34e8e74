// bench/escape: the escape-probe suite (packages/sandbox/probes) against Forge and bwrap
// in the same run, side by side, with totals.
//   forge:        forge run --profile default --bind DIR:DIR:ro -- PROBE ...
//   forge ll=off: the same with --landlock off (Landlock is the second wall behind the
//                 mount namespace: every probe must stay SAFE without it)
//   bwrap:        bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr ...
//                 --proc /proc --dev /dev --tmpfs /tmp --ro-bind DIR DIR -- PROBE ...
// Every probe runs in its own sandbox with a pty as controlling terminal, the launcher's
// cwd and an extra fd 3 on a host folder outside the sandbox, and FORGE_PROBE_SECRET in
// the launcher's environment. Options the Forge CLI does not know yet are dropped and the
// run is marked partial. Under the table: whether Landlock confined each Forge column
// (seen from inside), and a legend of the issue-11 probes: the item each covers, from a
// `/* issue 11 item N: ... */` line in the probe's source (else its first comment line).
// Run: npm run build && node bench/escape/run.mjs [--rootless] [--verbose] [probe...]
//   FORGE_PROBE_CLI=FILE  run this script instead of packages/cli/bin/forge.cjs
//   --rootless  also run the suites as uid 65534 (setpriv)
//   --verbose   print every reason, not only those of non-SAFE verdicts
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  bwrapPrefix,
  compileProbes,
  forgePrefix,
  landlockState,
  PROBE_SOURCE_DIR,
  rootless,
  runProbes,
} from "../../packages/sandbox/dist/_probes.js";

const args = process.argv.slice(2);
const withRootless = args.includes("--rootless");
const verbose = args.includes("--verbose");
const only = args.filter((a) => !a.startsWith("--"));

/** The comment at the top of a probe's source, as lines without the comment markers. */
function headerLines(src) {
  const text = src.replace(/^\s+/, "");
  let body = "";
  if (text.startsWith("/*"))
    body = text.slice(2, text.indexOf("*/") < 0 ? undefined : text.indexOf("*/"));
  else if (text.startsWith("//")) {
    const lines = text.split("\n");
    const end = lines.findIndex((l) => !l.startsWith("//"));
    body = lines.slice(0, end < 0 ? lines.length : end).join("\n");
  }
  return body
    .split("\n")
    .map((l) => l.replace(/^\s*(\/\/+|\*+)?\s?/, "").trim())
    .filter(Boolean);
}

const ISSUE11 =
  /issue\s*#?11\b[\s,;:]*(?:items?\s*([\d]+(?:\s*(?:,|and|&|\/|-)\s*\d+)*))?\s*[:.)-]?\s*(.*)/i;

/**
 * Items of issue 11 for the probes it names, used only when a probe's source carries no
 * "issue 11 item N: ..." line (that line wins; new probes should have one).
 */
const ISSUE11_ITEMS = {
  i386_socketcall_vsock: "3",
  i386_socketcall_packet: "3",
  i386_ipc: "3",
  af_vsock_hi32: "3",
  syscall_minus_one: "13",
};

/** The first clause (up to ".", ":" or ";") of a probe's top comment that has 20 characters, at most 100. */
function summary(head) {
  const text = head.join(" ");
  let first = text;
  for (const m of text.matchAll(/[.:;](\s|$)/g))
    if (m.index >= 20) {
      first = text.slice(0, m.index);
      break;
    }
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

/**
 * The issue-11 probes with the item each covers: from an "issue 11 item N: ..." line in
 * the probe's first 40 lines (or a mention of issue 11 in its top comment), else from
 * ISSUE11_ITEMS, else "item ?" for a probe git does not track yet (new in this tree).
 * The text is the header line's own, else the first sentence of the top comment.
 */
function issue11Legend(names) {
  let untracked = new Set();
  const git = spawnSync("git", ["ls-files", "--others", "--exclude-standard", "--", "."], {
    cwd: PROBE_SOURCE_DIR,
    encoding: "utf8",
  });
  if (git.status === 0)
    untracked = new Set(
      git.stdout
        .split("\n")
        .filter((f) => f.endsWith(".c"))
        .map((f) => path.basename(f, ".c")),
    );
  const rows = [];
  for (const name of names) {
    let src;
    try {
      src = fs.readFileSync(path.join(PROBE_SOURCE_DIR, `${name}.c`), "utf8");
    } catch {
      continue; // a harness check (kill_launcher), not a file
    }
    const head = headerLines(src);
    const tagged = src
      .split("\n")
      .slice(0, 40)
      .map((l) =>
        l
          .replace(/^\s*(\/\/+|\/\*+|\*+)\s?/, "")
          .replace(/\*\/\s*$/, "")
          .trim(),
      )
      .find((l) => /^issue\s*#?11\b/i.test(l));
    const mention = tagged ?? head.find((l) => /issue\s*#?11\b/i.test(l));
    const m = mention ? ISSUE11.exec(mention) : null;
    const item = m?.[1]
      ? `item ${m[1].replace(/\s+/g, " ")}`
      : ISSUE11_ITEMS[name]
        ? `item ${ISSUE11_ITEMS[name]}`
        : mention || untracked.has(name)
          ? "item ?"
          : undefined;
    if (!item) continue;
    const what = (tagged && m?.[2]) || summary(head);
    rows.push({ name, item, what });
  }
  const key = (r) => Number(/^item (\d+)/.exec(r.item)?.[1] ?? 99);
  return rows.sort((a, b) => key(a) - key(b) || a.name.localeCompare(b.name));
}

const haveBwrap = spawnSync("bwrap", ["--version"], { stdio: "ignore" }).status === 0;
const t0 = Date.now();
const compiled = await compileProbes(only.length ? { only } : {});
const tCompile = Date.now() - t0;

const suites = [];
try {
  const off = ["--landlock", "off"];
  const plan = [
    { label: "forge", prefix: forgePrefix(compiled.dir), forge: true },
    { label: "forge ll=off", prefix: forgePrefix(compiled.dir, off), forge: true },
  ];
  if (haveBwrap) plan.push({ label: "bwrap", prefix: bwrapPrefix(compiled.dir) });
  else
    console.error("bench/escape: bwrap is not installed (apt-get install bubblewrap); Forge only");
  if (withRootless && process.getuid() === 0) {
    plan.push({ label: "forge 65534", prefix: rootless(forgePrefix(compiled.dir)), forge: true });
    plan.push({
      label: "forge 65534 ll=off",
      prefix: rootless(forgePrefix(compiled.dir, off)),
      forge: true,
    });
    if (haveBwrap) plan.push({ label: "bwrap 65534", prefix: rootless(bwrapPrefix(compiled.dir)) });
  }
  for (const { label, prefix, forge } of plan) {
    const t = Date.now();
    const results = await runProbes({ prefix, probeDir: compiled.dir, probes: compiled.probes });
    const ms = Date.now() - t;
    const landlock = forge ? await landlockState(results.prefix, compiled.dir) : undefined;
    suites.push({ label, results, ms, landlock });
  }
} finally {
  compiled.cleanup();
}

const names = [...new Set(suites.flatMap((s) => s.results.map((r) => r.name)))].sort();
const w = Math.max(...names.map((n) => n.length), 8);
const cw = Math.max(...suites.map((s) => s.label.length), 6) + 2;
const cell = (s, n) => s.results.find((r) => r.name === n)?.verdict ?? "-";
const kernel = spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim();
console.log(
  `bench/escape: ${new Date().toISOString()}, ${compiled.probes.length} probes + harness checks, uid ${process.getuid()}, kernel ${kernel} ${process.arch} (compile ${tCompile} ms)`,
);
for (const s of suites)
  if (s.results.partial.length)
    console.log(
      `PARTIAL RUN (${s.label}): the CLI rejected ${s.results.partial.join(", ")}; ran with: ${s.results.prefix.slice(1).join(" ")}`,
    );
console.log("");
const rule =
  `${"-".repeat(w)}  ${suites.map(() => "-".repeat(cw - 2).padEnd(cw)).join("")}`.trimEnd();
console.log(`${"probe".padEnd(w)}  ${suites.map((s) => s.label.padEnd(cw)).join("")}`.trimEnd());
console.log(rule);
for (const n of names)
  console.log(`${n.padEnd(w)}  ${suites.map((s) => cell(s, n).padEnd(cw)).join("")}`.trimEnd());
console.log(rule);
for (const v of ["SAFE", "UNSAFE", "ERROR"])
  console.log(
    `${v.padEnd(w)}  ${suites.map((s) => String(s.results.filter((r) => r.verdict === v).length).padEnd(cw)).join("")}`.trimEnd(),
  );
console.log(
  `${"time (s)".padEnd(w)}  ${suites.map((s) => (s.ms / 1000).toFixed(1).padEnd(cw)).join("")}`.trimEnd(),
);

console.log(
  "\nLandlock in the Forge sandboxes (seen from inside: kill(1, 0) is refused under its signal scope):",
);
for (const s of suites) {
  if (!s.landlock) continue;
  const state =
    s.landlock.confined === true ? "on" : s.landlock.confined === false ? "off" : "cannot tell";
  console.log(`  ${s.label.padEnd(cw)}${state}: ${s.landlock.detail}`);
}

const legend = issue11Legend(names);
if (legend.length) {
  console.log("\nIssue 11 probes (item of the issue each one covers):");
  const lw = Math.max(...legend.map((r) => r.name.length));
  const iw = Math.max(...legend.map((r) => r.item.length));
  for (const r of legend)
    console.log(`  ${r.name.padEnd(lw)}  ${r.item.padEnd(iw)}  ${r.what}`.trimEnd());
  const probed = new Set(legend.flatMap((r) => r.item.match(/\d+/g) ?? []).map(Number));
  const rest = Array.from({ length: 13 }, (_, i) => i + 1).filter((n) => !probed.has(n));
  if (rest.length)
    console.log(
      `  (items ${rest.join(", ")}: checked by tests rather than probes; see packages/sandbox/SECURITY.md)`,
    );
}

for (const s of suites) {
  const shown = s.results.filter((r) => verbose || r.verdict !== "SAFE");
  if (!shown.length) continue;
  console.log(`\n${s.label}: ${verbose ? "all" : "not SAFE"}`);
  for (const r of shown) console.log(`  ${r.verdict.padEnd(6)} ${r.name.padEnd(w)}  ${r.reason}`);
}
