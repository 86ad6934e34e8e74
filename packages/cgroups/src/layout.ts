/**
 * Detects how the host's cgroups are laid out: pure v2, pure v1, hybrid (v1
 * controllers plus a cgroup2 mount), or none, and where this process sits in each
 * hierarchy.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { cgJoin } from "./_util.ts";
import { type CgroupFs, nodeCgroupFs } from "./cgroup_fs.ts";

/**
 * The controllers Forge uses on cgroup v1 (each may be its own hierarchy or co-mounted).
 *
 * @example
 * ```ts
 * import { V1_CONTROLLERS } from "@forge/cgroups";
 * console.log(V1_CONTROLLERS.join(", "));
 * ```
 */
export const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "pids", "blkio", "freezer"] as const;

/**
 * One v1 hierarchy that carries a controller.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout } from "@forge/cgroups";
 * const h = detectCgroupLayout().v1.memory; // V1Hierarchy | undefined
 * ```
 */
export interface V1Hierarchy {
  /** Where it is mounted ("/sys/fs/cgroup/memory"). */
  readonly mount: string;
  /** The mount's root inside the hierarchy (mountinfo field 4, usually "/"). */
  readonly mountRoot: string;
  /** Every controller of this hierarchy ("cpu,cpuacct" co-mounts share one). */
  readonly controllers: readonly string[];
  /** This process's cgroup path in it, from /proc/self/cgroup ("/process_api/x"). */
  readonly ownPath: string;
}

/**
 * The cgroup2 mount.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout } from "@forge/cgroups";
 * console.log(detectCgroupLayout().v2?.controllers);
 * ```
 */
export interface V2Mount {
  readonly mount: string;
  readonly mountRoot: string;
  /** The controllers the v2 root offers (its cgroup.controllers). */
  readonly controllers: readonly string[];
  /** This process's cgroup path ("0::/path"). */
  readonly ownPath: string;
  /** The controllers this process's own cgroup offers. */
  readonly ownControllers: readonly string[];
}

/**
 * The host's cgroup layout, as {@link detectCgroupLayout} sees it.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout } from "@forge/cgroups";
 * const l = detectCgroupLayout();
 * console.log(l.kind, l.v2?.controllers, Object.keys(l.v1), l.delegation.available);
 * ```
 */
export interface CgroupLayout {
  readonly kind: "v2" | "v1" | "hybrid" | "none";
  /** The cgroup2 mount, if any (on hybrid hosts often without controllers). */
  readonly v2: V2Mount | null;
  /** v1 controller name → its hierarchy. */
  readonly v1: Readonly<Record<string, V1Hierarchy>>;
  /** The raw lines of /proc/self/cgroup: hierarchy id, controllers, path. */
  readonly self: ReadonlyArray<{ id: number; controllers: string[]; path: string }>;
  /** The real uid the check was made for. */
  readonly uid: number;
  /** Whether this uid may create cgroups where Forge would (root, or a delegated subtree). */
  readonly delegation: { readonly available: boolean; readonly reason: string };
}

/**
 * Inputs of {@link detectCgroupLayout}, injectable for tests.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout } from "@forge/cgroups";
 * detectCgroupLayout({ mountinfo: "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", selfCgroup: "0::/\n", uid: 0 });
 * ```
 */
export interface DetectOptions {
  /** /proc/self/mountinfo text. */
  readonly mountinfo?: string;
  /** /proc/self/cgroup text. */
  readonly selfCgroup?: string;
  readonly uid?: number;
  readonly fs?: CgroupFs;
}

/** Unescapes mountinfo's octal escapes ("\040" for a space). */
const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

/**
 * Reads /proc/self/mountinfo and /proc/self/cgroup and works out the layout.
 *
 * @example
 * ```ts
 * import { detectCgroupLayout } from "@forge/cgroups";
 * const layout = detectCgroupLayout();
 * if (layout.kind === "hybrid") console.log("v1 memory at", layout.v1.memory?.mount);
 * ```
 */
export function detectCgroupLayout(opts: DetectOptions = {}): CgroupLayout {
  const cfs = opts.fs ?? nodeCgroupFs;
  const mountinfo = opts.mountinfo ?? fs.readFileSync("/proc/self/mountinfo", "utf8");
  const selfText = opts.selfCgroup ?? fs.readFileSync("/proc/self/cgroup", "utf8");
  const uid = opts.uid ?? process.getuid?.() ?? 0;

  const self = selfText
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const [id, ctrls, ...rest] = l.split(":");
      return {
        id: Number(id),
        controllers: ctrls ? ctrls.split(",").filter(Boolean) : [],
        path: rest.join(":") || "/",
      };
    });

  let v2: V2Mount | null = null;
  const v1: Record<string, V1Hierarchy> = {};
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    const mountRoot = unescapeMount(left[3] ?? "/");
    const mount = unescapeMount(left[4] ?? "");
    if (fstype === "cgroup2" && !v2) {
      const own = self.find((s) => s.id === 0)?.path ?? "/";
      const controllers = readControllers(cfs, mount);
      const ownDir = mountDir(mount, mountRoot, own);
      v2 = {
        mount,
        mountRoot,
        controllers,
        ownPath: own,
        ownControllers: ownDir ? readControllers(cfs, ownDir) : [],
      };
    } else if (fstype === "cgroup") {
      const ctrls = superOpts
        .split(",")
        .filter(
          (o) =>
            (V1_CONTROLLERS as readonly string[]).includes(o) ||
            o === "cpuset" ||
            o === "devices" ||
            o === "hugetlb" ||
            o === "net_cls" ||
            o === "net_prio" ||
            o === "perf_event" ||
            o === "rdma" ||
            o === "misc",
        );
      if (ctrls.length === 0) continue;
      const own = self.find((s) => s.controllers.some((c) => ctrls.includes(c)))?.path ?? "/";
      const h: V1Hierarchy = { mount, mountRoot, controllers: ctrls, ownPath: own };
      for (const c of ctrls) v1[c] ??= h;
    }
  }
  const hasV1 = V1_CONTROLLERS.some((c) => v1[c]);
  const kind = hasV1 ? (v2 ? "hybrid" : "v1") : v2 ? "v2" : "none";
  const partial = { kind, v2, v1, self, uid } as const;
  return { ...partial, delegation: checkDelegation(partial, cfs) };
}

function readControllers(cfs: CgroupFs, dir: string): string[] {
  try {
    return cfs.read(`${dir}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The directory of cgroup `cgPath` under a mount whose root is `mountRoot`, or
 * null when the cgroup lies outside the mount (another cgroup namespace).
 *
 * @example
 * ```ts
 * import { mountDir } from "@forge/cgroups";
 * mountDir("/sys/fs/cgroup/memory", "/", "/a/b"); // "/sys/fs/cgroup/memory/a/b"
 * ```
 */
export function mountDir(mount: string, mountRoot: string, cgPath: string): string | null {
  const rel = path.posix.relative(mountRoot, path.posix.resolve("/", cgPath));
  if (rel.startsWith("..")) return null;
  return cgJoin(mount, rel);
}

/**
 * Where Forge creates its cgroups by default, as a cgroup path: v2 — `/forge`
 * as root, `<own cgroup>/forge` otherwise (a delegated subtree); v1 — always
 * `<own cgroup>/forge`, so that sandboxes stay inside the limits Forge itself runs
 * under (v1 has no no-internal-processes rule to work around).
 *
 * @example
 * ```ts
 * import { defaultParentPath, detectCgroupLayout } from "@forge/cgroups";
 * console.log(defaultParentPath(detectCgroupLayout(), "v1", "memory"));
 * ```
 */
export function defaultParentPath(
  layout: Pick<CgroupLayout, "v2" | "v1" | "uid">,
  version: "v2" | "v1",
  controller?: string,
): string {
  if (version === "v2") {
    if (layout.uid === 0) return "/forge";
    return path.posix.join(layout.v2?.ownPath ?? "/", "forge");
  }
  return path.posix.join(layout.v1[controller ?? "memory"]?.ownPath ?? "/", "forge");
}

function checkDelegation(
  l: Pick<CgroupLayout, "kind" | "v2" | "v1" | "uid">,
  cfs: CgroupFs,
): { available: boolean; reason: string } {
  if (l.kind === "none") return { available: false, reason: "no cgroup filesystem is mounted" };
  const missing: string[] = [];
  const useV2 = l.kind === "v2";
  if (useV2 && l.v2) {
    const parent = mountDir(
      l.v2.mount,
      l.v2.mountRoot,
      path.posix.dirname(defaultParentPath(l, "v2")),
    );
    const files = parent
      ? [parent, `${parent}/cgroup.procs`, `${parent}/cgroup.subtree_control`]
      : [];
    if (!parent) missing.push(`the cgroup ${l.v2.ownPath} (outside the cgroup2 mount)`);
    for (const f of files) if (!cfs.writable(f)) missing.push(f);
  } else {
    for (const c of V1_CONTROLLERS) {
      const h = l.v1[c];
      if (!h) continue;
      const dir = mountDir(h.mount, h.mountRoot, h.ownPath);
      if (!dir) missing.push(`the ${c} cgroup ${h.ownPath} (outside its mount)`);
      else if (!cfs.writable(dir)) missing.push(dir);
    }
  }
  if (missing.length === 0)
    return {
      available: true,
      reason: l.uid === 0 ? "running as root" : "this user may create cgroups here",
    };
  return { available: false, reason: `not writable by uid ${l.uid}: ${missing.join(", ")}` };
}

/**
 * Human-readable lines describing a layout, for `forge doctor`.
 *
 * @example
 * ```ts
 * import { describeCgroupLayout, detectCgroupLayout } from "@forge/cgroups";
 * for (const line of describeCgroupLayout(detectCgroupLayout())) console.log(line);
 * ```
 */
export function describeCgroupLayout(l: CgroupLayout): string[] {
  const lines = [
    `cgroups: ${l.kind}${l.kind === "hybrid" ? " (v1 controllers plus a cgroup2 mount)" : ""}`,
  ];
  if (l.v2)
    lines.push(
      `  cgroup2 at ${l.v2.mount}: controllers ${l.v2.controllers.join(" ") || "(none)"}; this process in ${l.v2.ownPath}`,
    );
  const seen = new Set<V1Hierarchy>();
  for (const h of Object.values(l.v1)) {
    if (seen.has(h)) continue;
    seen.add(h);
    lines.push(`  v1 ${h.controllers.join(",")} at ${h.mount}; this process in ${h.ownPath}`);
  }
  lines.push(
    `  delegation for uid ${l.uid}: ${l.delegation.available ? "yes" : "no"} (${l.delegation.reason})`,
  );
  return lines;
}
