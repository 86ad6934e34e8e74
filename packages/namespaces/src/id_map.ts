/**
 * User-namespace id maps and the switch to the inside uid/gid.
 *
 * @module
 */
import fs from "node:fs";
import type { Step } from "@forge/libc";
import { FDCWD, writeFileSteps } from "./_util.ts";

/** How the sandbox's ids map to the host's. */
export interface IdMapOptions {
  /**
   * "rootless": the child maps the caller's uid/gid itself (setgroups "deny" first);
   * "root": the parent writes the maps (needs CAP_SETUID/CAP_SETGID), mapping the
   * inside ids to an unprivileged outside id; "auto" (default) picks "root" when this
   * process's euid is 0.
   */
  readonly mode?: "auto" | "rootless" | "root";
  /** The uid inside the sandbox (default 0). */
  readonly uid?: number;
  /** The gid inside the sandbox (default 0). */
  readonly gid?: number;
  /** "root" mode: the host uid the inside uid maps to (default 65534, nobody). */
  readonly outsideUid?: number;
  /** "root" mode: the host gid the inside gid maps to (default 65534). */
  readonly outsideGid?: number;
  /** "root" mode: map the inside ids to the same host ids (0 → 0 for uid 0): the sandbox's root is the host's root. */
  readonly identity?: boolean;
  /** The caller's euid/egid (default: this process's); for tests. */
  readonly callerUid?: number;
  readonly callerGid?: number;
  /** Where /proc is (default "/proc"); for tests of `beforeStart`. */
  readonly procRoot?: string;
}

/** The id-map part of a launch plan. */
export interface IdMapPlan {
  readonly mode: "rootless" | "root";
  /** The lines written to uid_map and gid_map. */
  readonly uidMap: string;
  readonly gidMap: string;
  readonly insideUid: number;
  readonly insideGid: number;
  /** The host ids the sandbox's processes run as. */
  readonly outsideUid: number;
  readonly outsideGid: number;
  /**
   * Child steps, first of all (before mounts): in "rootless" mode the map writes, then
   * (both modes) the switch to the inside ids. The switch comes early on purpose: a
   * tmpfs made in the new user namespace refuses to create files for an unmapped
   * fsuid (EOVERFLOW), and as long as the user namespace was created by the child the
   * switch keeps its capabilities there, so the mount steps still work.
   */
  readonly steps: Step[];
  /** The switch alone (setgroups in "root" mode, setresgid, setresuid); already in `steps`. */
  readonly identitySteps: Step[];
  /** "root" mode: writes the maps from the parent while the child waits (spawn then forks). */
  readonly beforeStart?: (child: { readonly pid: number; readonly pidfd: number }) => void;
}

function checkId(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)
    throw new RangeError(`${what} must be an integer in 0..4294967294, got ${v}`);
  return v;
}

/**
 * Plans the user namespace's id maps (spawn the child with CLONE_NEWUSER).
 *
 * Rootless, the only map an unprivileged process may write is its own euid/egid to
 * one inside id, and only after denying setgroups (CVE-2014-8989); the child writes it
 * to /proc/self/*_map. As root, the parent writes `<inside> <outside> 1` (outside
 * 65534 by default) because that needs CAP_SETUID in the parent namespace; setgroups
 * stays "allow" so that the child can drop root's supplementary groups
 * (setgroups(0, NULL)): they would otherwise keep granting group access on the host
 * files that are bound in.
 *
 * @example
 * ```ts
 * import { idMapPlan } from "@forge/namespaces";
 * import { CLONE, spawn } from "@forge/libc";
 * const ids = idMapPlan({ uid: 0 });
 * const child = spawn({ argv: ["/usr/bin/id"], cloneFlags: CLONE.NEWUSER, steps: ids.steps, beforeStart: ids.beforeStart });
 * await child.wait();
 * ```
 */
export function idMapPlan(opts: IdMapOptions = {}): IdMapPlan {
  const callerUid = checkId(opts.callerUid ?? process.geteuid?.() ?? 0, "the caller's uid");
  const callerGid = checkId(opts.callerGid ?? process.getegid?.() ?? 0, "the caller's gid");
  const mode =
    opts.mode === undefined || opts.mode === "auto"
      ? callerUid === 0
        ? "root"
        : "rootless"
      : opts.mode;
  const uid = checkId(opts.uid ?? 0, "uid");
  const gid = checkId(opts.gid ?? 0, "gid");
  const identitySteps: Step[] = [];
  if (mode === "root") {
    identitySteps.push({ label: "drop supplementary groups", syscall: "setgroups", args: [0, 0] });
  }
  identitySteps.push(
    { label: `become gid ${gid} inside the sandbox`, syscall: "setresgid", args: [gid, gid, gid] },
    { label: `become uid ${uid} inside the sandbox`, syscall: "setresuid", args: [uid, uid, uid] },
  );

  if (mode === "rootless") {
    if (opts.outsideUid !== undefined && opts.outsideUid !== callerUid) {
      throw new RangeError(
        `rootless id map: uid ${uid} can only map to the caller's own uid ${callerUid}, not ${opts.outsideUid} (run as root to map to another id)`,
      );
    }
    if (opts.outsideGid !== undefined && opts.outsideGid !== callerGid) {
      throw new RangeError(
        `rootless id map: gid ${gid} can only map to the caller's own gid ${callerGid}, not ${opts.outsideGid}`,
      );
    }
    const uidMap = `${uid} ${callerUid} 1\n`;
    const gidMap = `${gid} ${callerGid} 1\n`;
    return {
      mode,
      uidMap,
      gidMap,
      insideUid: uid,
      insideGid: gid,
      outsideUid: callerUid,
      outsideGid: callerGid,
      steps: [
        ...writeFileSteps(
          FDCWD,
          "/proc/self/setgroups",
          "deny",
          "idmap.setgroups",
          "/proc/self/setgroups",
        ),
        ...writeFileSteps(FDCWD, "/proc/self/uid_map", uidMap, "idmap.uid", "/proc/self/uid_map"),
        ...writeFileSteps(FDCWD, "/proc/self/gid_map", gidMap, "idmap.gid", "/proc/self/gid_map"),
        ...identitySteps,
      ],
      identitySteps,
    };
  }

  const outsideUid = checkId(opts.identity ? uid : (opts.outsideUid ?? 65534), "outsideUid");
  const outsideGid = checkId(opts.identity ? gid : (opts.outsideGid ?? 65534), "outsideGid");
  const uidMap = `${uid} ${outsideUid} 1\n`;
  const gidMap = `${gid} ${outsideGid} 1\n`;
  const procRoot = opts.procRoot ?? "/proc";
  return {
    mode,
    uidMap,
    gidMap,
    insideUid: uid,
    insideGid: gid,
    outsideUid,
    outsideGid,
    steps: [...identitySteps],
    identitySteps,
    beforeStart: (child) => {
      const write = (name: string, text: string) => {
        try {
          fs.writeFileSync(`${procRoot}/${child.pid}/${name}`, text);
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          throw new Error(
            `cannot write ${procRoot}/${child.pid}/${name} ("${text.trim()}"): ${err.code ?? err.message}; writing another process's map needs CAP_SETUID/CAP_SETGID (run as root or use mode "rootless")`,
            { cause: e },
          );
        }
      };
      write("uid_map", uidMap);
      write("gid_map", gidMap);
    },
  };
}
