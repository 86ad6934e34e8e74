/**
 * The pids limit every sandbox gets where the host allows it: a fork bomb stops at
 * {@link DEFAULT_PIDS_LIMIT} tasks (processes and threads) in its cgroup. It needs a
 * pids controller this user may use: cgroup v2 with `pids` delegated to this user
 * (or root), or a v1 pids hierarchy this user may write (root). Where there is none it
 * is silently left out: a run warns only about limits it was asked for. `forge doctor`
 * says which case holds ({@link defaultPidsStatus}).
 *
 * @module
 */
import { type CgroupLayout, detectCgroupLayout } from "./layout.ts";

/**
 * The default pids limit (pids.max) of a sandbox's cgroup. As many as RLIMIT_NPROC in
 * Forge's built-in profiles: far above what node or python with their threads use,
 * far below pid_max. An explicit `pids` limit (`--pids N`, `--pids max`) replaces it.
 *
 * @example
 * ```ts
 * import { createCgroup, DEFAULT_PIDS_LIMIT } from "@forge/cgroups";
 * const cg = createCgroup({}, { defaults: { pids: DEFAULT_PIDS_LIMIT } });
 * ```
 */
export const DEFAULT_PIDS_LIMIT = 1024;

/**
 * Whether the default pids limit holds on this host, for this user, and if not why
 * and how to get it.
 *
 * @example
 * ```ts
 * import { defaultPidsStatus } from "@forge/cgroups";
 * const s = defaultPidsStatus();
 * console.log(s.inForce, s.detail, s.fix);
 * ```
 */
export interface DefaultPidsStatus {
  /** True when each sandbox's cgroup gets pids.max = `limit`. */
  readonly inForce: boolean;
  readonly limit: number;
  /** Which pids controller it uses, when there is one. */
  readonly version?: "v1" | "v2";
  /** One line: what holds, or why it does not. */
  readonly detail: string;
  /** One line: how to get it, when it does not hold. */
  readonly fix?: string;
}

/**
 * Where the pids controller a sandbox's cgroup would use lives: the v1 pids hierarchy
 * first (on a hybrid host it owns the controller), else cgroup v2 when the cgroup
 * Forge creates its own under offers `pids`.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout, pidsControllerOf } from "@forge/cgroups";
 * pidsControllerOf(detectCgroupLayout()); // "v1" | "v2" | undefined
 * ```
 */
export function pidsControllerOf(layout: CgroupLayout): "v1" | "v2" | undefined {
  if (layout.v1.pids) return "v1";
  const v2 = layout.v2;
  if (!v2) return undefined;
  const offered = layout.uid === 0 ? v2.controllers : v2.ownControllers;
  return offered.includes("pids") ? "v2" : undefined;
}

/**
 * Whether the default pids limit ({@link DEFAULT_PIDS_LIMIT}) is in force here.
 *
 * @example
 * ```ts
 * import { defaultPidsStatus } from "@forge/cgroups";
 * const { inForce, detail, fix } = defaultPidsStatus();
 * console.log(inForce ? detail : `${detail}; fix: ${fix}`);
 * ```
 */
export function defaultPidsStatus(layout: CgroupLayout = detectCgroupLayout()): DefaultPidsStatus {
  const limit = DEFAULT_PIDS_LIMIT;
  if (layout.kind === "none")
    return {
      inForce: false,
      limit,
      detail: "not in force: no cgroup filesystem is mounted",
      fix: "mount cgroup2 on /sys/fs/cgroup",
    };
  const version = pidsControllerOf(layout);
  if (!version)
    return {
      inForce: false,
      limit,
      detail: `not in force: no pids controller${layout.v2 ? ` (${layout.uid === 0 ? `${layout.v2.mount}/cgroup.controllers` : `the cgroup ${layout.v2.ownPath}`} does not offer it and there is no v1 pids hierarchy)` : ""}`,
      fix:
        layout.uid === 0 || !layout.v2
          ? "use a kernel with CONFIG_CGROUP_PIDS and mount the pids controller"
          : "run forge in a cgroup delegated with pids: systemd-run --user --scope -p Delegate=yes forge run ...",
    };
  const where =
    version === "v1"
      ? `the v1 pids hierarchy at ${layout.v1.pids!.mount}`
      : `cgroup v2 at ${layout.v2!.mount}`;
  if (!layout.delegation.available) {
    return {
      inForce: false,
      limit,
      version,
      detail: `not in force: uid ${layout.uid} may not create cgroups in ${where}`,
      fix:
        version === "v2"
          ? "run forge in a delegated cgroup: systemd-run --user --scope -p Delegate=yes forge run ..."
          : "run forge as root (cgroup v1 has no delegation to users), or use a cgroup v2 host with systemd-run --user --scope -p Delegate=yes",
    };
  }
  return {
    inForce: true,
    limit,
    version,
    detail: `pids.max ${limit} in each sandbox's cgroup (${where}); --pids N or --pids max replaces it`,
  };
}
