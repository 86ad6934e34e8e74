// bench/spawn: spawn /bin/true in new user, pid, mount, ipc, uts and net namespaces from a
// warm Node process: Forge's trampoline against spawnSync("bwrap", ...) with the
// equivalent flags, in the same run. Target: Forge at most half of bwrap's time.
// Run: npm run build && node bench/spawn/run.mjs [runs]
import { spawnSync } from "node:child_process";
import { launch } from "../../packages/sandbox/dist/launch.js";
import { have, measure, report } from "../_stats.mjs";

const runs = Number(process.argv[2] ?? 200);
if (!have("bwrap")) {
  console.error("bench/spawn: bwrap is not installed (Debian: apt-get install bubblewrap)");
  process.exit(1);
}
const bwrapArgs = [
  "--unshare-user",
  "--unshare-pid",
  "--unshare-ipc",
  "--unshare-uts",
  "--unshare-net",
  "--dev-bind",
  "/",
  "/",
  "/bin/true",
];
const cases = {
  "forge launch() (user,pid,mnt,ipc,uts,net)": async () => {
    const box = launch({ argv: ["/bin/true"] });
    const st = await box.wait();
    if (st.exitCode !== 0) throw new Error(`forge: /bin/true exited ${st.exitCode}`);
  },
  "spawnSync bwrap (same namespaces)": async () => {
    const r = spawnSync("bwrap", bwrapArgs, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`bwrap exited ${r.status}`);
  },
};
const samples = await measure(cases, { runs });
const { ok } = report(
  `bench/spawn: /bin/true in six new namespaces, ${runs} runs each, uid ${process.getuid()}`,
  samples,
  Object.keys(cases)[0],
  Object.keys(cases)[1],
  0.5,
);
process.exitCode = ok ? 0 : 0; // a benchmark reports; it does not fail the build
