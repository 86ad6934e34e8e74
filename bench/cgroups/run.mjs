// bench/cgroups: the added cost of a limited spawn over an unlimited one, in one run.
// Unlimited: @forge/libc spawn of /bin/true. Limited: createCgroup (the clawos preset:
// 256 MiB, no swap, 5% CPU, 32 pids, OOM group kill) + spawn placed in it + wait +
// dispose. On hosts with a cgroup2 mount it also measures a v2 leaf placed with
// CLONE_INTO_CGROUP (no controllers needed). Needs root (or a delegated cgroup).
// Run: npx tsc -b && node bench/cgroups/run.mjs [runs]
import {
  CLAWOS_LIMITS,
  createCgroup,
  detectCgroupLayout,
} from "../../packages/cgroups/dist/mod.js";
import { spawn } from "../../packages/libc/dist/mod.js";
import { measure, median, report } from "../_stats.mjs";

const runs = Number(process.argv[2] ?? 200);
const layout = detectCgroupLayout();
if (!layout.delegation.available) {
  console.error(
    `bench/cgroups: cannot create cgroups here (${layout.delegation.reason}); run as root`,
  );
  process.exit(1);
}
const stdio = ["ignore", "ignore", "ignore"];
const run = async (extra) => {
  const st = await spawn({ argv: ["/bin/true"], stdio, ...extra }).wait();
  if (st.exitCode !== 0) throw new Error(`/bin/true exited ${st.exitCode}`);
};
const limitedName = `limited spawn (${layout.kind}: create+place+dispose)`;
const base = "unlimited spawn (default, vfork)";
const cases = {
  [base]: () => run({}),
  "unlimited spawn (fork mode, as placement needs)": () => run({ mode: "fork" }),
  [limitedName]: async () => {
    const cg = createCgroup(CLAWOS_LIMITS);
    try {
      await run(cg.placement());
    } finally {
      await cg.dispose();
    }
  },
};
if (layout.v2 && layout.kind !== "v2") {
  const v2Only = { ...layout, kind: "v2", v1: {} };
  cases["v2 leaf + CLONE_INTO_CGROUP (no controllers)"] = async () => {
    const cg = createCgroup({}, { layout: v2Only });
    try {
      await run(cg.placement());
    } finally {
      await cg.dispose();
    }
  };
}
const samples = await measure(cases, { runs, warmup: 20 });
report(
  `bench/cgroups: /bin/true with and without the clawos limits, ${runs} runs each, uid ${process.getuid()}, ${layout.kind} host`,
  samples,
  limitedName,
  base,
  3,
);
const added = median(samples[limitedName]) - median(samples[base]);
console.log(`  added cost of the limits: ${added.toFixed(3)} ms per spawn (median difference)`);
