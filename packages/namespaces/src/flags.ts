/**
 * Namespace selection: names ↔ CLONE_NEW* flags.
 *
 * @module
 */
import { CLONE } from "@forge/libc";

/** The namespaces Linux offers. */
export type NamespaceKind = "user" | "pid" | "mount" | "ipc" | "uts" | "net" | "cgroup" | "time";

/** CLONE_NEW* flag of each namespace. */
export const NAMESPACE_FLAGS: Readonly<Record<NamespaceKind, number>> = {
  user: CLONE.NEWUSER,
  pid: CLONE.NEWPID,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  net: CLONE.NEWNET,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** What a sandbox unshares by default: everything but the time namespace. */
export const DEFAULT_NAMESPACES: readonly NamespaceKind[] = [
  "user",
  "pid",
  "mount",
  "ipc",
  "uts",
  "net",
  "cgroup",
];

/** Selecting namespaces: a list, or the default set with changes. */
export interface NamespaceSelection {
  /** Start from this list (default {@link DEFAULT_NAMESPACES}). */
  readonly base?: readonly NamespaceKind[];
  /** "host" shares the host's network (no new net namespace); default "none" (only lo). */
  readonly net?: "none" | "host";
  /** Also unshare the time namespace. */
  readonly time?: boolean;
}

/**
 * The clone flags for a list of namespaces or a {@link NamespaceSelection}.
 *
 * @example
 * ```ts
 * import { namespaceFlags } from "@forge/namespaces";
 * import { CLONE } from "@forge/libc";
 * namespaceFlags(["user", "mount"]) === (CLONE.NEWUSER | CLONE.NEWNS); // true
 * namespaceFlags({ net: "host" }); // the default set without CLONE_NEWNET
 * ```
 */
export function namespaceFlags(sel: readonly NamespaceKind[] | NamespaceSelection = {}): number {
  let kinds: NamespaceKind[];
  if (Array.isArray(sel)) kinds = [...(sel as readonly NamespaceKind[])];
  else {
    const s = sel as NamespaceSelection;
    kinds = [...(s.base ?? DEFAULT_NAMESPACES)];
    if (s.net === "host") kinds = kinds.filter((k) => k !== "net");
    else if (s.net === "none" && !kinds.includes("net")) kinds.push("net");
    if (s.time && !kinds.includes("time")) kinds.push("time");
  }
  let flags = 0;
  for (const k of kinds) {
    const f = NAMESPACE_FLAGS[k];
    if (f === undefined)
      throw new RangeError(
        `unknown namespace ${JSON.stringify(k)}: expected one of ${Object.keys(NAMESPACE_FLAGS).join(", ")}`,
      );
    flags |= f;
  }
  return flags;
}

/**
 * The namespaces named by clone flags.
 *
 * @example
 * ```ts
 * import { namespaceKinds } from "@forge/namespaces";
 * namespaceKinds(0x10020000); // ["user", "mount"]
 * ```
 */
export function namespaceKinds(flags: number): NamespaceKind[] {
  return (Object.entries(NAMESPACE_FLAGS) as [NamespaceKind, number][])
    .filter(([, f]) => (flags & f) === f)
    .map(([k]) => k);
}
