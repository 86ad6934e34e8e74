/**
 * The caller's mounts over a profile's: a bind or tmpfs asked for at the destination
 * of one of the profile's replaces it, as `docker run -v` and `--tmpfs` replace what an
 * image declares there. Two of the caller's own at one destination stay an error.
 *
 * @module
 */
import * as ns from "@forge/namespaces";

/** Binds and tmpfs mounts: a profile's, or the caller's. */
export interface MountLists {
  readonly binds: readonly ns.BindSpec[];
  readonly tmpfs: readonly ns.TmpfsSpec[];
}

/**
 * A destination as the mount plan compares them: "/tmp", "/tmp/" and "/tmp/./" are
 * one. A path the plan refuses ("..", relative) is left as it is, for the plan to
 * report.
 */
function destinationKey(dst: string): string {
  if (!dst.startsWith("/")) return dst;
  const parts = dst.split("/").filter((p) => p !== "" && p !== ".");
  return parts.includes("..") ? dst : `/${parts.join("/")}`;
}

/** How a message names one of the caller's mounts: its flag, or its place in the list. */
function callerMount(kind: "binds" | "tmpfs", index: number, m: ns.BindSpec | ns.TmpfsSpec) {
  if (m.origin) return m.origin;
  return kind === "binds" ? `binds[${index}] (${(m as ns.BindSpec).src})` : `tmpfs[${index}]`;
}

/**
 * Merges the caller's binds and tmpfs mounts over a profile's: each of the profile's
 * whose destination one of the caller's takes is left out (`replaced` lists those
 * destinations); the rest of the profile's come first, then the caller's in order.
 * Throws a {@link ns.MountPlanError} when two of the caller's take one destination,
 * naming both (their `origin`, such as `--tmpfs /s:1m`, or their list entry) and the
 * path. Any other clash (with the minimal /dev or /proc) is left to the mount plan,
 * which names both sides too.
 *
 * @example
 * ```ts
 * import { overrideMounts } from "@forge/sandbox";
 * const { tmpfs, replaced } = overrideMounts(
 *   { binds: [], tmpfs: [{ dst: "/tmp", size: "64M" }] },
 *   { binds: [], tmpfs: [{ dst: "/tmp", size: "256m", origin: "--tmpfs /tmp:256m" }] },
 * );
 * // tmpfs: [{ dst: "/tmp", size: "256m", origin: "--tmpfs /tmp:256m" }], replaced: ["/tmp"]
 * ```
 */
export function overrideMounts(
  profile: MountLists,
  caller: MountLists,
): { binds: ns.BindSpec[]; tmpfs: ns.TmpfsSpec[]; replaced: string[] } {
  const taken = new Map<string, string>();
  for (const kind of ["binds", "tmpfs"] as const)
    caller[kind].forEach((m, index) => {
      const key = destinationKey(m.dst);
      const who = callerMount(kind, index, m);
      const first = taken.get(key);
      if (first !== undefined)
        throw new ns.MountPlanError(
          m.dst,
          `${first} and ${who} both mount on ${key}; give each its own destination`,
          { item: { list: kind, index, field: "dst" } },
        );
      taken.set(key, who);
    });
  const replaced = new Set<string>();
  const keep = <T extends { readonly dst: string }>(m: T) => {
    const key = destinationKey(m.dst);
    if (!taken.has(key)) return true;
    replaced.add(key);
    return false;
  };
  return {
    binds: [...profile.binds.filter(keep), ...caller.binds],
    tmpfs: [...profile.tmpfs.filter(keep), ...caller.tmpfs],
    replaced: [...replaced],
  };
}
