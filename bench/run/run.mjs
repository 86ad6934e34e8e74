// bench/run: the cost of a sandboxed /bin/true.
// 1. Cold, the whole CLI: `forge run -- /bin/true` (default profile) against `node -e 0`
//    and against bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true.
//    Target: forge within 1.3x of `node -e 0`.
// 2. The library path, from a warm process: Sandbox.start() with the default profile
//    against spawnSync("bwrap", ...) building the same sandbox (same binds, tmpfs, /proc,
//    /dev, hostname, all namespaces, no capabilities, new session, die with parent).
//    Forge runs twice: with a SparePool (a warm process keeps the next child cloned, its
//    namespaces made, while the current one runs; the refill is inside the timed call)
//    and without. Target: Forge's default library path (warm, no pool) at most half of
//    bwrap's time; the pooled figure is printed beside it.
// Run: npm run build && node bench/run/run.mjs [cold-runs] [warm-runs]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { namespaces, seccomp } from "../../packages/sandbox/dist/mod.js";
import { loadProfile } from "../../packages/sandbox/dist/profile.js";
import { Sandbox, SparePool } from "../../packages/sandbox/dist/sandbox.js";
import { have, measure, median, report } from "../_stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const forge = path.resolve(here, "../../packages/cli/bin/forge.cjs");
const coldRuns = Number(process.argv[2] ?? 30);
const warmRuns = Number(process.argv[3] ?? 200);
if (!have("bwrap")) {
  console.error("bench/run: bwrap is not installed (Debian: apt-get install bubblewrap)");
  process.exit(1);
}

function ok(r, what) {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${r.stderr}`);
}

const cold = await measure(
  {
    "forge run -- /bin/true (CLI, default profile)": () =>
      ok(
        spawnSync(process.execPath, [forge, "run", "--", "/bin/true"], { encoding: "utf8" }),
        "forge",
      ),
    "node -e 0": () => ok(spawnSync(process.execPath, ["-e", "0"], { encoding: "utf8" }), "node"),
    "bwrap --unshare-all --ro-bind / / ...": () =>
      ok(
        spawnSync(
          "bwrap",
          ["--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"],
          { encoding: "utf8" },
        ),
        "bwrap",
      ),
  },
  { runs: coldRuns, warmup: 3 },
);
const names = Object.keys(cold);
report(`bench/run, cold start (whole CLI), ${coldRuns} runs each`, cold, names[0], names[1], 1.3);
// For scale: Node's own start plus a sandbox made by a C program (bwrap), as if Forge's
// JavaScript cost nothing at all beyond Node's start.
const floor = median(cold[names[1]]) + median(cold[names[2]]);
console.log(
  `  for scale: ${names[1]} + ${names[2]} = ${floor.toFixed(3)} ms = ${(floor / median(cold[names[1]])).toFixed(3)} x ${names[1]}`,
);

// The default profile, spelled as bwrap flags: the same binds, tmpfs, /proc, /dev,
// hostname and namespaces, Docker's masked and read-only paths, and the same seccomp
// filter (handed to bwrap as fd 3). Forge also applies Landlock, which bwrap cannot.
const profile = loadProfile("default");
const filter = seccomp.precompiledFilter("default") ?? {
  bytes: seccomp.compileSeccompForRun("default").bytes,
};
const bpfFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "forge-bench-")), "default.bpf");
fs.writeFileSync(bpfFile, filter.bytes);
process.on("exit", () => fs.rmSync(path.dirname(bpfFile), { recursive: true, force: true }));
const bw = [
  "--unshare-all",
  "--die-with-parent",
  "--new-session",
  "--cap-drop",
  "ALL",
  "--hostname",
  profile.hostname ?? "forge",
];
for (const b of profile.root.binds) {
  if (b.optional && !fs.existsSync(b.src)) continue;
  const st = fs.lstatSync(b.src);
  if (st.isSymbolicLink()) bw.push("--symlink", fs.readlinkSync(b.src), b.dst ?? b.src);
  else bw.push(b.readonly ? "--ro-bind" : "--bind", b.src, b.dst ?? b.src);
}
for (const t of profile.root.tmpfs)
  bw.push("--size", String(parseSize(t.size ?? "64M")), "--tmpfs", t.dst);
bw.push("--proc", "/proc", "--dev", "/dev");
for (const m of namespaces.DEFAULT_MASKED_PATHS) {
  if (!fs.existsSync(m)) continue;
  if (fs.statSync(m).isDirectory()) bw.push("--tmpfs", m, "--remount-ro", m);
  else bw.push("--ro-bind", "/dev/null", m);
}
for (const r of namespaces.DEFAULT_READONLY_PATHS) if (fs.existsSync(r)) bw.push("--ro-bind", r, r);
bw.push("--remount-ro", "/", "--seccomp", "3", "/bin/true");

function parseSize(s) {
  const m = /^(\d+)([kKmMgG]?)$/.exec(s);
  return Number(m[1]) * { "": 1, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2].toLowerCase()];
}

const pool = new SparePool();
process.on("exit", () => pool.close());
const warm = await measure(
  {
    "forge Sandbox.start(), default profile, SparePool": async () => {
      const r = await Sandbox.start({ argv: ["/bin/true"], profile, pool }).wait();
      if (r.status.exitCode !== 0) throw new Error(`forge exited ${r.status.exitCode}`);
      // The pool's work for the next start (the spare's clone on a libuv thread) is
      // counted here, not in whatever runs next.
      while (!pool.count()) await new Promise((res) => setImmediate(res));
    },
    "forge Sandbox.start(), default profile, no pool": async () => {
      const r = await Sandbox.start({ argv: ["/bin/true"], profile }).wait();
      if (r.status.exitCode !== 0) throw new Error(`forge exited ${r.status.exitCode}`);
    },
    "spawnSync bwrap, same sandbox": () => {
      const fd = fs.openSync(bpfFile, "r");
      try {
        ok(
          spawnSync("bwrap", bw, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe", fd] }),
          "bwrap",
        );
      } finally {
        fs.closeSync(fd);
      }
    },
  },
  // A warm process: V8 has compiled the launch path and the pool is in its steady state.
  { runs: warmRuns, warmup: 100 },
);
const w = Object.keys(warm);
// The target is judged on the default library path (no pool); the pool is an option
// whose refill is counted in its own time (on 2 cores it competes with the running
// child), printed for reference.
report(
  `bench/run, library path from a warm process, ${warmRuns} runs each (forge also applies Landlock)`,
  warm,
  w[1],
  w[2],
  0.5,
);
console.log(
  `  ratio ${w[0]} / ${w[2]} = ${(median(warm[w[0]]) / median(warm[w[2]])).toFixed(3)}  (with a pool: for reference)`,
);
