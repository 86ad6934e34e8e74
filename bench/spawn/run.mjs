// bench/spawn: spawn /bin/true in new user, pid, mount, ipc, uts and net namespaces from a
// warm Node process: Forge's trampoline against spawnSync("bwrap", ...) with the
// equivalent flags, in the same run. Target: Forge at most half of bwrap's time.
// Run: npm run build && node bench/spawn/run.mjs [runs]
import { spawnSync } from "node:child_process";
import { CLONE, O, PR, spawn } from "../../packages/libc/dist/mod.js";
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
// What bwrap does with these flags: the namespaces, the caller mapped in the new user
// namespace, a PID 1 that reaps, no_new_privs. (bench/run measures whole profiles.)
const uid = process.geteuid();
const gid = process.getegid();
const write = (file, text, id) => [
  {
    label: `open ${file}`,
    syscall: "openat",
    args: [-100, { cstring: file }, O.WRONLY | O.CLOEXEC],
    id,
  },
  {
    label: `write ${file}`,
    syscall: "write",
    args: [{ result: id }, { cstring: text }, text.length],
  },
  { label: `close ${file}`, syscall: "close", args: [{ result: id }] },
];
const steps = [
  { label: "die with the parent", syscall: "prctl", args: [PR.SET_PDEATHSIG, 9, 0, 0, 0] },
  ...write("/proc/self/setgroups", "deny", "sg"),
  ...write("/proc/self/uid_map", `${uid} ${uid} 1`, "um"),
  ...write("/proc/self/gid_map", `${gid} ${gid} 1`, "gm"),
  { kind: "reaper", label: "PID 1" },
];
const lateSteps = [
  { label: "no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
];
const cloneFlags =
  CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNET;
const cases = {
  "forge spawn() (user,pid,mnt,ipc,uts,net)": async () => {
    const st = await spawn({ argv: ["/bin/true"], env: {}, cloneFlags, steps, lateSteps }).wait();
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
