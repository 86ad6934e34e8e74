// @forge/cgroups from its tarball: parse limits, read this host's cgroup layout.
import { detectCgroupLayout, parseLimits } from "@forge/cgroups";

const limits = parseLimits({ memory: "256M", cpus: "0.05", pids: "32", noSwap: true });
const layout = detectCgroupLayout();
console.log(
  `ok @forge/cgroups: limits ${JSON.stringify(limits, (_k, v) => (typeof v === "bigint" ? String(v) : v))}, layout ${layout.kind}`,
);
