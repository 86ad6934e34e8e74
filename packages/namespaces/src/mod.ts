/// <reference types="node" preserve="true" />
/**
 * @forge/namespaces: Linux namespaces, id maps, the mount plan (binds, tmpfs, /proc,
 * a minimal /dev, masked and read-only paths, pivot_root), hostname and loopback,
 * setns, and Landlock, as steps for the @forge/libc spawn trampoline plus a few
 * in-process helpers.
 *
 * Order in the child (the facade composes it): id maps → reaper → mounts (incl.
 * pivot_root) → Landlock prepare → hostname → lo up → rlimits → capabilities →
 * no_new_privs → Landlock → seccomp → execve.
 *
 * @example
 * ```ts
 * import { idMapPlan, mountPlan, namespaceFlags, hostnameStep, loopbackUpSteps } from "@forge/namespaces";
 * import { spawn } from "@forge/libc";
 * const ids = idMapPlan();
 * const mounts = mountPlan({ binds: [{ src: "/usr", dst: "/usr", readonly: true }, { src: "/bin", dst: "/bin" }] });
 * try {
 *   const child = spawn({
 *     argv: ["/bin/ls", "/"],
 *     cloneFlags: namespaceFlags(),
 *     steps: [...ids.steps, { kind: "reaper", label: "pid 1" }, ...mounts.steps, hostnameStep("box"), ...loopbackUpSteps()],
 *     beforeStart: ids.beforeStart,
 *   });
 *   await child.wait();
 * } finally {
 *   mounts.close();
 * }
 * ```
 *
 * @module
 */
export * from "./flags.ts";
export * from "./id_map.ts";
export * from "./idmap_mount.ts";
export * from "./landlock.ts";
export * from "./mount_plan.ts";
export * from "./propagation.ts";
export * from "./setns.ts";
export * from "./tmpfs_limits.ts";
export * from "./uts_net.ts";
