/**
 * Killing every process of a cgroup: v2 cgroup.kill, or v1 freeze + SIGKILL each
 * pid + thaw. Shared by CgroupHandle and the stale-cgroup reaper.
 *
 * @module
 */
import { errCode, sleepSync } from "./_util.ts";
import type { CgroupFs } from "./cgroup_fs.ts";

/** The pids listed in a cgroup's cgroup.procs ([] if it is gone). */
export function readProcs(cfs: CgroupFs, dir: string): number[] {
  try {
    return cfs
      .read(`${dir}/cgroup.procs`)
      .split("\n")
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

/** Sends SIGKILL, ignoring processes that are already gone. */
export function sigkill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (e) {
    if (errCode(e) !== "ESRCH") throw e;
  }
}

/** v1 freezer: writes the state and waits (bounded) until the kernel reports it. */
export function setFreezer(
  cfs: CgroupFs,
  dir: string,
  state: "FROZEN" | "THAWED",
  waitMs = 2000,
): boolean {
  try {
    cfs.write(`${dir}/freezer.state`, state);
  } catch {
    return false;
  }
  for (let waited = 0; ; waited++) {
    let now = "";
    try {
      now = cfs.read(`${dir}/freezer.state`).trim();
    } catch {
      return false;
    }
    if (now === state) return true;
    if (waited >= waitMs) return false;
    if (state === "FROZEN" && now === "FREEZING" && waited % 50 === 49) {
      // A task stuck in FREEZING: re-arm, as runc does.
      try {
        cfs.write(`${dir}/freezer.state`, "THAWED");
        cfs.write(`${dir}/freezer.state`, "FROZEN");
      } catch {
        return false;
      }
    }
    sleepSync(1);
  }
}

/**
 * Kills every process in v1 cgroups: freeze (so nothing forks meanwhile), SIGKILL
 * every pid of every directory, thaw (so the signals are delivered).
 */
export function killV1(
  cfs: CgroupFs,
  dirs: readonly string[],
  freezerDir: string | undefined,
): void {
  for (let round = 0; round < 20; round++) {
    const frozen = freezerDir ? setFreezer(cfs, freezerDir, "FROZEN") : false;
    const pids = new Set(dirs.flatMap((d) => readProcs(cfs, d)));
    for (const pid of pids) sigkill(pid);
    if (freezerDir && (frozen || round > 0)) setFreezer(cfs, freezerDir, "THAWED", 200);
    if (pids.size === 0 || frozen) return;
  }
}

/** Kills every process in a v2 cgroup (cgroup.kill; before 5.14 freeze + SIGKILL + thaw). */
export function killV2(cfs: CgroupFs, dir: string): void {
  try {
    cfs.write(`${dir}/cgroup.kill`, "1");
    return;
  } catch (e) {
    if (errCode(e) !== "ENOENT") throw e;
  }
  for (let round = 0; round < 20; round++) {
    let frozen = false;
    try {
      cfs.write(`${dir}/cgroup.freeze`, "1");
      frozen = true;
    } catch {
      // no freezer either
    }
    const pids = readProcs(cfs, dir);
    for (const pid of pids) sigkill(pid);
    if (frozen) cfs.write(`${dir}/cgroup.freeze`, "0");
    if (pids.length === 0) return;
  }
}
