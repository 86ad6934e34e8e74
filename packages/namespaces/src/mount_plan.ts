/**
 * The mount plan: a new root on tmpfs with binds, tmpfs, /proc, a minimal /dev,
 * Docker's masked and read-only paths, pivot_root, all as trampoline steps that
 * resolve every path without following symlinks.
 *
 * @module
 */
import fs from "node:fs";
import { AT, type Libc, O, openLibc, type Step, type StepArg } from "@forge/libc";
import {
  CLOSE_RANGE_CLOEXEC,
  components,
  EMPTY,
  ETIMEDOUT,
  FDCWD,
  FSCONFIG,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  FUTEX_WAIT_PRIVATE,
  MNT_DETACH,
  MOUNT_ATTR,
  MOUNT_ATTR_SIZE,
  MOVE_MOUNT,
  mountAttr,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  openHow,
  S_IFREG,
  SAFE_BENEATH,
  SAFE_HOST,
  STATX_INO,
  STATX_TYPE,
} from "./_util.ts";
import { type IdmapMapping, type IdmapTarget, idmapBindTree } from "./idmap_mount.ts";
import { PROPAGATION, privateMountsStep } from "./propagation.ts";
import { DEFAULT_TMPFS_SIZE, tmpfsBytes, tmpfsInodes } from "./tmpfs_limits.ts";

/** How many pseudo-terminals one sandbox's /dev/pts may hold (devpts `max=`). */
export const DEVPTS_MAX = 64;

/** A bind mount of a host path into the sandbox. */
export interface BindSpec {
  /** Host path. */
  readonly src: string;
  /** Path inside the sandbox. */
  readonly dst: string;
  /** Read-only, recursively (default false). */
  readonly readonly?: boolean;
  /**
   * What to do when `src` itself is a symlink (symlinks in its parent directories are
   * always refused): "replicate" (default) creates the same symlink at `dst` (like
   * /bin → usr/bin), "follow" binds what it points to, "refuse" is an error.
   */
  readonly symlink?: "replicate" | "follow" | "refuse";
  /** Keep device nodes usable (no MOUNT_ATTR_NODEV); only the minimal /dev needs it. */
  readonly devices?: boolean;
  /** Where it was asked for, for messages ("--bind", "profile default"). */
  readonly origin?: string;
}

/** A tmpfs inside the sandbox. */
export interface TmpfsSpec {
  readonly dst: string;
  /** Size limit: bytes, or a tmpfs size string ("64m", "10%"). Default 64m. */
  readonly size?: number | string;
  /**
   * Most files, directories and symlinks it may hold (`nr_inodes=`; a number, or a
   * string with k, m or g). Default: one per 4 KiB of `size`, at least 1024 (see
   * {@link tmpfsInodes}): without a cap, empty files fill the host's slab, not the tmpfs.
   */
  readonly inodes?: number | string;
  /** Mode of its root (default 0o1777). */
  readonly mode?: number;
  readonly readonly?: boolean;
  readonly noexec?: boolean;
  /** Where it was asked for, for messages ("--tmpfs", "profile default"). */
  readonly origin?: string;
}

/** What the new root contains. */
export interface MountSpec {
  readonly binds?: readonly BindSpec[];
  readonly tmpfs?: readonly TmpfsSpec[];
  /** Symlinks to create: `path` inside the sandbox pointing at `target`. */
  readonly symlinks?: ReadonlyArray<{ readonly path: string; readonly target: string }>;
  /** Empty directories to create (mode 0755). */
  readonly dirs?: readonly string[];
  /** A fresh /proc for the sandbox's pid namespace (default true). */
  readonly proc?: boolean | ProcOptions;
  /** The minimal /dev (default true). */
  readonly dev?: boolean;
  /** Paths masked with /dev/null (files) or an empty read-only tmpfs (dirs); default {@link DEFAULT_MASKED_PATHS}. */
  readonly maskedPaths?: readonly string[];
  /** Paths made read-only; default {@link DEFAULT_READONLY_PATHS}. */
  readonly readonlyPaths?: readonly string[];
  /** Remount the new root's tmpfs read-only at the end (default true). */
  readonly readonlyRoot?: boolean;
  /** Size of the root tmpfs, which only holds mount points (default "1m"). */
  readonly rootSize?: string;
  /**
   * Propagation of the old tree before anything is mounted (default "private"). Every
   * mount the plan makes or attaches is private whatever this says: nothing mounted in
   * the sandbox reaches the host, and nothing the host mounts later reaches the sandbox.
   */
  readonly propagation?: "private" | "slave";
  /**
   * How bind sources reach the child. "parent-clone": the parent clones each source
   * (open_tree OPEN_TREE_CLONE from its O_PATH fd) and the child only attaches the
   * detached tree: nothing is resolved twice; needs CAP_SYS_ADMIN (root).
   * "child-verify": the parent records each source's device and inode; the child
   * opens the path again (RESOLVE_NO_SYMLINKS), and stops unless it is the same
   * inode on the same device. "auto" (default): "parent-clone" as root.
   */
  readonly sources?: "auto" | "parent-clone" | "child-verify";
  /**
   * Idmap read-write binds (root, "parent-clone" sources, Linux 5.12+): the host ids
   * the sandbox's processes run as (the id map's outsideUid and outsideGid). Each
   * read-write bind whose source another uid or gid owns gets an idmapped mount: its
   * owner appears as the sandbox's user inside, and what the sandbox creates there is
   * owned by the source's owner on the host (see {@link idmapBindTree}). Read-only
   * binds never are. Where the kernel or the filesystem cannot, the bind stays as it
   * was and the plan's `warnings` say which path, why, and what to do instead.
   * Default: none (leave it out rootless, and with an identity id map).
   */
  readonly idmap?: IdmapTarget;
}

/** Options of the fresh /proc. */
export interface ProcOptions {
  /** "pid": only the process directories (procfs subset=pid, Linux 5.8+). */
  readonly subset?: "pid";
  /** procfs hidepid= ("invisible" hides other users' processes). */
  readonly hidepid?: "off" | "noaccess" | "invisible" | "ptraceable";
}

/** Docker's masked paths (moby/oci/defaults.go). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's read-only paths. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** The device nodes of the minimal /dev, bound from the host's. */
export const DEV_NODES: readonly string[] = ["null", "zero", "full", "random", "urandom", "tty"];

/** `nr_inodes` of the minimal /dev's tmpfs: its own dozen entries and some room (it ends read-only). */
const DEV_INODES = 64;

/**
 * Which part of a {@link MountSpec} a {@link MountPlanError} is about: an entry of one
 * of its lists (`list`, `index`, `field`), or one of its own fields (`field` alone:
 * "dev", "proc").
 */
export interface MountSpecItem {
  readonly list?: "binds" | "tmpfs" | "symlinks" | "dirs";
  readonly index?: number;
  readonly field: "src" | "dst" | "path" | "size" | "inodes" | "dev" | "proc";
}

/** Docker's masked paths under /proc that are directories (masked with an empty tmpfs). */
const MASKED_DIRS = new Set(["/proc/asound", "/proc/acpi", "/proc/scsi"]);

/**
 * A plan could not be made: a path is invalid, missing, or changed while inspected.
 *
 * @example
 * ```ts
 * import { checkMountSpec, MountPlanError } from "@forge/namespaces";
 * try {
 *   checkMountSpec({ tmpfs: [{ dst: "/tmp" }, { dst: "/tmp" }] });
 * } catch (e) {
 *   if (e instanceof MountPlanError) console.log(e.item); // { list: "tmpfs", index: 1, field: "dst" }
 * }
 * ```
 */
export class MountPlanError extends Error {
  override name = "MountPlanError";
  /** The path at fault. */
  readonly path: string;
  /** The entry of the spec at fault, when it is one (for a JSON pointer). */
  readonly item: MountSpecItem | undefined;
  constructor(path: string, message: string, options?: ErrorOptions & { item?: MountSpecItem }) {
    super(message, options);
    this.path = path;
    this.item = options?.item;
  }
}

/** Where each entry of a spec goes in the new root (see {@link checkMountSpec}). */
export interface MountDestinations {
  readonly binds: readonly string[];
  readonly tmpfs: readonly string[];
  readonly symlinks: readonly string[];
  readonly dirs: readonly string[];
}

/**
 * Checks everything about a mount spec that does not depend on the host, exactly as
 * {@link mountPlan} does before it opens anything (it calls this first): every path
 * absolute with no "." or ".." component and no NUL, no destination "/", no two mounts
 * at one destination (binds, tmpfs, symlinks, directories, the minimal /dev and its
 * device nodes, /proc), tmpfs sizes and inode counts. Throws a {@link MountPlanError}
 * whose `item` says which entry is at fault and whose message names both sides of a
 * clash; returns each entry's normalized destination.
 *
 * @example
 * ```ts
 * import { checkMountSpec } from "@forge/namespaces";
 * checkMountSpec({ binds: [{ src: "/usr", dst: "/usr/" }] }).binds; // ["/usr"]
 * ```
 */
export function checkMountSpec(spec: MountSpec): MountDestinations {
  const seen = new Map<string, string>();
  const path = (p: string, what: string, item?: MountSpecItem) => {
    try {
      return `/${components(p, what).join("/")}`;
    } catch (e) {
      throw new MountPlanError(String(p), (e as Error).message, {
        cause: e,
        ...(item ? { item } : {}),
      });
    }
  };
  /** Takes a destination for `owner` ("the bind of /etc"); what: "bind destination"... */
  const claim = (p: string, what: string, owner: string, item?: MountSpecItem) => {
    const key = path(p, what, item);
    const opts = item ? { item } : {};
    if (key === "/")
      throw new MountPlanError(
        p,
        `${what} cannot be / (the new root is always a fresh tmpfs)`,
        opts,
      );
    const prev = seen.get(key);
    if (prev)
      throw new MountPlanError(
        p,
        `${what} ${key} (${owner}) is already used by ${prev}; give each mount its own destination`,
        opts,
      );
    seen.set(key, owner);
    return key;
  };
  const binds = (spec.binds ?? []).map((b, index) => {
    path(b.src, "bind source", { list: "binds", index, field: "src" });
    const from = b.origin ? ` from ${b.origin}` : "";
    return claim(b.dst, "bind destination", `the bind of ${b.src}${from}`, {
      list: "binds",
      index,
      field: "dst",
    });
  });
  if (spec.dev ?? true) {
    claim("/dev", "mount point", "the minimal /dev");
    for (const n of DEV_NODES) claim(`/dev/${n}`, "device node", `the minimal /dev's /dev/${n}`);
  }
  const tmpfs = (spec.tmpfs ?? []).map((t, index) => {
    const from = t.origin ? ` from ${t.origin}` : "";
    const key = claim(t.dst, "tmpfs destination", `the tmpfs on ${t.dst}${from}`, {
      list: "tmpfs",
      index,
      field: "dst",
    });
    // A size is checked even when the inodes are given: size=0 is no limit at all.
    for (const [field, check] of [
      ["size", () => t.size !== undefined && tmpfsBytes(t.size)],
      ["inodes", () => tmpfsInodes(t.size, t.inodes)],
    ] as const) {
      try {
        check();
      } catch (e) {
        throw new MountPlanError(key, `tmpfs on ${key}: ${(e as Error).message}`, {
          cause: e,
          item: { list: "tmpfs", index, field },
        });
      }
    }
    return key;
  });
  const symlinks = (spec.symlinks ?? []).map((s, index) =>
    claim(s.path, "symlink", `the symlink ${s.path}`, { list: "symlinks", index, field: "path" }),
  );
  const dirs = (spec.dirs ?? []).map((d, index) =>
    claim(d, "directory", `the directory ${d}`, { list: "dirs", index, field: "path" }),
  );
  if (spec.proc ?? true) {
    claim("/proc", "mount point", "the fresh /proc");
    // Its masked files are covered with /dev/null, which only the minimal /dev gives.
    const files = (spec.maskedPaths ?? DEFAULT_MASKED_PATHS).filter(
      (p) => p.startsWith("/proc/") && !MASKED_DIRS.has(p),
    );
    if (!(spec.dev ?? true) && files.length)
      throw new MountPlanError(
        "/proc",
        `a fresh /proc without the minimal /dev: its masked files (${files.slice(0, 2).join(", ")}...) are covered with /dev/null; keep dev on, or turn proc off`,
        { item: { field: "dev" } },
      );
  }
  return { binds, tmpfs, symlinks, dirs };
}

/** One thing the plan puts in the new root, for reports. */
export interface PlannedMount {
  readonly kind: "bind" | "tmpfs" | "proc" | "devpts" | "symlink" | "dir" | "mask" | "readonly";
  readonly path: string;
  readonly source?: string;
  readonly readonly?: boolean;
  /** A bind with an idmapped mount: "all" of its tree, or only its "top" mount. */
  readonly idmapped?: "all" | "top";
}

/** A mount plan: child steps plus the fds the parent opened for them. */
export interface MountPlan {
  /** Child steps; run them after the id maps, in a new user and mount namespace. */
  readonly steps: Step[];
  /** Parent-opened fds the child uses; close them after spawn (or call `close`). */
  readonly fds: number[];
  readonly sources: "parent-clone" | "child-verify";
  /** What the new root will contain, in mount order. */
  readonly mounts: PlannedMount[];
  /** One line each: what the plan could not do as asked (a bind it could not idmap). */
  readonly warnings: string[];
  /** Closes `fds`. */
  close(): void;
  /**
   * Whether every bind source still names what the plan opened (same symlink target,
   * or same device and inode): a plan made ahead of its launch must be remade when not.
   */
  isCurrent(): boolean;
}

/**
 * Parses `SRC:DST[:ro|:rw]` (the CLI's `--bind`). A single path binds it to itself.
 *
 * @example
 * ```ts
 * import { parseBind } from "@forge/namespaces";
 * parseBind("/srv/data:/data:ro"); // { src: "/srv/data", dst: "/data", readonly: true }
 * ```
 */
export function parseBind(text: string): BindSpec {
  const parts = text.split(":");
  let ro = false;
  const last = parts.at(-1);
  if (parts.length > 1 && (last === "ro" || last === "rw")) {
    ro = last === "ro";
    parts.pop();
  }
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new TypeError(
      `invalid bind ${JSON.stringify(text)}: expected SRC:DST[:ro] with absolute paths (paths containing ":" are not supported)`,
    );
  }
  const [src, dst = src] = parts as [string, string?];
  components(src, `bind source in ${JSON.stringify(text)}`);
  components(dst, `bind destination in ${JSON.stringify(text)}`);
  return { src, dst, readonly: ro };
}

/**
 * Parses `DST[:SIZE[:INODES]]` (the CLI's `--tmpfs`). INODES caps the files it may
 * hold (`nr_inodes=`); without it the plan derives one from the size.
 *
 * @example
 * ```ts
 * import { parseTmpfs } from "@forge/namespaces";
 * parseTmpfs("/tmp:64m"); // { dst: "/tmp", size: "64m" }
 * parseTmpfs("/scratch:1g:100k"); // { dst: "/scratch", size: "1g", inodes: 102400 }
 * ```
 */
export function parseTmpfs(text: string): TmpfsSpec {
  const [dst = "", size, inodes, ...extra] = text.split(":");
  components(dst, `tmpfs destination in ${JSON.stringify(text)}`);
  if (extra.length)
    throw new TypeError(
      `invalid tmpfs ${JSON.stringify(text)}: expected DST[:SIZE[:INODES]] (paths containing ":" are not supported)`,
    );
  if (size !== undefined) {
    let ok = /^\d+[kmgKMG%]?$/.test(size);
    try {
      if (ok) tmpfsBytes(size); // size=0 would be no limit at all
    } catch {
      ok = false;
    }
    if (!ok)
      throw new TypeError(
        `invalid tmpfs size in ${JSON.stringify(text)}: expected at least one byte: bytes or a number with k, m, g or % (e.g. /tmp:64m)`,
      );
  }
  let n: number | undefined;
  if (inodes !== undefined) {
    try {
      n = tmpfsInodes(size, inodes);
    } catch (e) {
      throw new TypeError(
        `invalid tmpfs inode count in ${JSON.stringify(text)}: ${(e as Error).message}`,
      );
    }
  }
  return {
    dst,
    ...(size !== undefined ? { size } : {}),
    ...(n !== undefined ? { inodes: n } : {}),
  };
}

interface SourceInfo {
  /** The host path actually bound (symlinks resolved when following). */
  readonly real: string;
  readonly dir: boolean;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly ino: bigint;
}

const STATX_BUF = 256;

function statxFd(
  libc: Libc,
  fd: number,
): { dir: boolean; devMajor: number; devMinor: number; ino: bigint; mode: number } {
  const b = new Uint8Array(STATX_BUF);
  libc.syscall("statx", fd, "", AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO, b);
  const v = new DataView(b.buffer);
  const mode = v.getUint16(28, true);
  return {
    mode,
    dir: (mode & 0o170000) === 0o040000,
    ino: v.getBigUint64(32, true),
    devMajor: v.getUint32(136, true),
    devMinor: v.getUint32(140, true),
  };
}

/** Whether a path (followed or not) still names the object described by `info`. */
function sameObject(path: string, follow: boolean, info: SourceInfo): boolean {
  const st = (follow ? fs.statSync : fs.lstatSync)(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return false;
  // st_dev as the kernel encodes it for stat(2) (new_encode_dev).
  const major = BigInt(info.devMajor);
  const minor = BigInt(info.devMinor);
  const dev = (minor & 0xffn) | (major << 8n) | ((minor & ~0xffn) << 12n);
  // Node's bigint stat gives st_ino and st_dev signed: compare them as the kernel's u64.
  return BigInt.asUintN(64, st.ino) === info.ino && BigInt.asUintN(64, st.dev) === dev;
}

/** Opens a host path O_PATH without following any symlink; throws MountPlanError. */
function openHost(libc: Libc, path: string, what: string): number {
  try {
    return libc.openat2(AT.FDCWD, path, {
      flags: O.PATH | O.CLOEXEC | O.NOFOLLOW,
      resolve: SAFE_HOST,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === "ELOOP"
        ? "a component is a symlink; name the real path (symlinks are refused so that no one can redirect the mount)"
        : code === "ENOENT"
          ? "it does not exist"
          : `${code ?? (e as Error).message}`;
    throw new MountPlanError(path, `${what} ${path}: ${why}`, { cause: e });
  }
}

/** Resolves a bind source in the parent: returns null when it is a symlink to replicate. */
function inspectSource(
  libc: Libc,
  b: BindSpec,
): { info: SourceInfo; fd: number } | { symlink: string } {
  components(b.src, "bind source");
  const mode = b.symlink ?? "replicate";
  let real = b.src;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(b.src);
  } catch (e) {
    throw new MountPlanError(
      b.src,
      `bind source ${b.src} does not exist (${(e as NodeJS.ErrnoException).code})`,
      { cause: e },
    );
  }
  if (st.isSymbolicLink()) {
    if (mode === "replicate") return { symlink: fs.readlinkSync(b.src) };
    if (mode === "refuse")
      throw new MountPlanError(
        b.src,
        `bind source ${b.src} is a symlink; name its target or set symlink: "replicate" or "follow"`,
      );
    real = fs.realpathSync(b.src);
  }
  const fd = openHost(libc, real, "bind source");
  const s = statxFd(libc, fd);
  if (mode === "follow") {
    // The symlink was resolved by path: check that the object we opened is what it names now.
    const again = fs.statSync(b.src, { bigint: true });
    // Node's bigint stat gives inode numbers signed: compare them as the kernel's u64.
    if (BigInt.asUintN(64, again.ino) !== s.ino) {
      libc.close(fd);
      throw new MountPlanError(
        b.src,
        `bind source ${b.src} changed while it was being inspected (now inode ${again.ino}, opened ${s.ino}); try again`,
      );
    }
  }
  return { info: { real, dir: s.dir, devMajor: s.devMajor, devMinor: s.devMinor, ino: s.ino }, fd };
}

type Entry =
  | {
      kind: "bind";
      path: string;
      b: BindSpec;
      src: { info: SourceInfo; fd: number };
      k: number;
      treeArg?: StepArg;
      idmapped?: "all" | "top";
    }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "dir"; path: string }
  | { kind: "tmpfs"; path: string; t: TmpfsSpec; k: number }
  | { kind: "proc"; path: string; p: ProcOptions }
  | { kind: "dev"; path: string };

/**
 * Plans the new root. Call it in the parent before spawn; it opens (and, as root,
 * clones) the bind sources. Spawn with CLONE_NEWUSER | CLONE_NEWNS (and CLONE_NEWPID
 * for /proc), put `steps` after the id maps, and close `fds` once spawn returned.
 *
 * Inside the child: the old tree becomes private; bind sources are cloned into
 * detached trees (made read-only with mount_setattr AT_RECURSIVE, nosuid, nodev); a
 * tmpfs root is made with fsopen/fsmount; every mount point is created and opened
 * component by component with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from the
 * root's fd, and mounts go onto those fds with move_mount; then /proc, /dev, masked
 * and read-only paths; pivot_root(".", ".") with the old root detached; finally the
 * root tmpfs is made read-only.
 *
 * @example
 * ```ts
 * import { idMapPlan, mountPlan, namespaceFlags } from "@forge/namespaces";
 * import { spawn } from "@forge/libc";
 * const ids = idMapPlan();
 * const mounts = mountPlan({ binds: [{ src: "/usr", dst: "/usr", readonly: true }, { src: "/bin", dst: "/bin" }] });
 * try {
 *   const child = spawn({
 *     argv: ["/bin/ls", "/"],
 *     cloneFlags: namespaceFlags(["user", "mount", "pid"]),
 *     steps: [...ids.steps, { kind: "reaper", label: "reaper" }, ...mounts.steps],
 *     beforeStart: ids.beforeStart,
 *   });
 *   await child.wait();
 * } finally {
 *   mounts.close();
 * }
 * ```
 */
export function mountPlan(
  spec: MountSpec = {},
  opts: {
    libc?: Libc;
    procRoot?: string;
    /** Makes an idmap's user namespace (default: a helper child's); for tests. */
    userns?: (m: IdmapMapping) => number;
  } = {},
): MountPlan {
  const libc = opts.libc ?? openLibc();
  const procRoot = opts.procRoot ?? "/proc";
  const want = spec.sources ?? "auto";
  const sources: "parent-clone" | "child-verify" =
    want === "auto" ? ((process.geteuid?.() ?? 1) === 0 ? "parent-clone" : "child-verify") : want;
  const fds: number[] = [];
  const opened: number[] = [];
  const checks: (() => boolean)[] = []; // for isCurrent()
  const close = () => {
    for (const fd of fds.splice(0)) {
      try {
        libc.close(fd);
      } catch {
        // already closed
      }
    }
  };
  try {
    return build();
  } catch (e) {
    close();
    for (const fd of opened) {
      try {
        libc.close(fd);
      } catch {
        // ignore
      }
    }
    throw e;
  }

  function build(): MountPlan {
    dirCache.clear();
    const steps: Step[] = [];
    const mounts: PlannedMount[] = [];
    const warnings: string[] = [];
    const entries: Entry[] = [];
    const dev = spec.dev ?? true;
    const proc = spec.proc ?? true;
    // Everything that does not depend on the host, before anything is opened.
    const dst = checkMountSpec(spec);

    let k = 0;
    (spec.binds ?? []).forEach((b, i) => {
      const path = dst.binds[i]!;
      const r = inspectSource(libc, b);
      if ("symlink" in r) {
        entries.push({ kind: "symlink", path, target: r.symlink });
        checks.push(() => {
          try {
            return fs.readlinkSync(b.src) === r.symlink;
          } catch {
            return false;
          }
        });
      } else {
        opened.push(r.fd);
        entries.push({ kind: "bind", path, b, src: r, k: k++ });
        const follow = (b.symlink ?? "replicate") === "follow";
        checks.push(() => {
          try {
            return sameObject(b.src, follow, r.info);
          } catch {
            return false;
          }
        });
      }
    });
    if (dev) {
      entries.push({ kind: "dev", path: "/dev" });
      for (const n of DEV_NODES) {
        const src = `/dev/${n}`;
        if (!fs.existsSync(src)) continue;
        const r = inspectSource(libc, { src, dst: src, symlink: "refuse" });
        if ("symlink" in r) continue;
        opened.push(r.fd);
        entries.push({
          kind: "bind",
          path: src,
          b: { src, dst: src, devices: true },
          src: r,
          k: k++,
        });
      }
    }
    let t = 0;
    (spec.tmpfs ?? []).forEach((tm, i) => {
      entries.push({ kind: "tmpfs", path: dst.tmpfs[i]!, t: tm, k: t++ });
    });
    (spec.symlinks ?? []).forEach((s, i) => {
      entries.push({ kind: "symlink", path: dst.symlinks[i]!, target: s.target });
    });
    for (const d of dst.dirs) entries.push({ kind: "dir", path: d });
    if (proc) entries.push({ kind: "proc", path: "/proc", p: proc === true ? {} : proc });

    // 1. The old tree: no propagation back to the host.
    steps.push(privateMountsStep(spec.propagation ?? "private", "the old mount tree"));
    steps.push({
      label: "open the old root",
      syscall: "openat",
      args: [FDCWD, { cstring: "/" }, O.PATH | O.DIRECTORY | O.CLOEXEC],
      id: "mnt.oldroot",
    });

    // 2. Bind sources become detached trees.
    for (const e of entries) {
      if (e.kind !== "bind") continue;
      const attrs =
        (e.b.readonly ? MOUNT_ATTR.RDONLY : 0) |
        MOUNT_ATTR.NOSUID |
        (e.b.devices ? 0 : MOUNT_ATTR.NODEV);
      const what = `${e.b.src}${e.b.readonly ? " (read-only)" : ""}`;
      if (sources === "parent-clone") {
        const tree = libc.syscall(
          "open_tree",
          e.src.fd,
          "",
          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT.EMPTY_PATH | AT.RECURSIVE,
        );
        fds.push(tree);
        // A clone made here, in the host's mount namespace, of a shared mount is in the
        // host's peer group: private, recursively, before the child attaches it.
        libc.syscall(
          "mount_setattr",
          tree,
          "",
          AT.EMPTY_PATH | AT.RECURSIVE,
          mountAttr(attrs, 0, PROPAGATION.private),
          MOUNT_ATTR_SIZE,
        );
        e.treeArg = tree;
        if (spec.idmap && !e.b.readonly && !e.b.devices) {
          const r = idmapBindTree(
            libc,
            tree,
            { fd: e.src.fd, path: e.src.info.real, ...(e.b.origin ? { origin: e.b.origin } : {}) },
            spec.idmap,
            { procRoot, ...(opts.userns ? { userns: opts.userns } : {}) },
          );
          if (r.applied !== "none") e.idmapped = r.applied;
          if (r.warning) warnings.push(r.warning);
        }
      } else {
        const id = `mnt.src${e.k}`;
        const info = e.src.info;
        steps.push({
          label: `open bind source ${e.src.info.real} (no symlinks)`,
          syscall: "openat2",
          args: [
            FDCWD,
            { cstring: info.real },
            { bytes: openHow(O.PATH | O.CLOEXEC | O.NOFOLLOW, SAFE_HOST) },
            24,
          ],
          id: `${id}.fd`,
        });
        steps.push(...sameInodeSteps({ result: `${id}.fd` }, info, `${id}.cmp`));
        steps.push({
          label: `clone the mount tree of ${what}`,
          syscall: "open_tree",
          args: [
            { result: `${id}.fd` },
            EMPTY,
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT.EMPTY_PATH | AT.RECURSIVE,
          ],
          id,
        });
        steps.push({
          label: `set ${attrName(attrs)} on the clone of ${e.b.src}`,
          syscall: "mount_setattr",
          args: [
            { result: id },
            EMPTY,
            AT.EMPTY_PATH | AT.RECURSIVE,
            { bytes: mountAttr(attrs, 0, PROPAGATION.private) },
            MOUNT_ATTR_SIZE,
          ],
        });
        e.treeArg = { result: id };
      }
    }
    for (const fd of opened.splice(0)) libc.close(fd);
    if (
      spec.idmap &&
      sources === "child-verify" &&
      entries.some((e) => e.kind === "bind" && !e.b.readonly && !e.b.devices)
    )
      warnings.push(
        `read-write binds are not idmapped with sources "child-verify" (only the parent, as root, can idmap a mount): the sandbox writes there as host uid ${spec.idmap.uid}; use sources "parent-clone" or --id-map identity`,
      );

    // 3. The new root: a small tmpfs, attached over the old root so that pivot_root accepts it.
    steps.push(
      ...fsSteps("tmpfs", "mnt.root", "the root tmpfs", [
        ["size", spec.rootSize ?? "1m"],
        ["nr_inodes", String(tmpfsInodes(spec.rootSize ?? "1m"))],
        ["mode", "0755"],
      ]),
    );
    steps.push({
      label: "mount the root tmpfs",
      syscall: "fsmount",
      args: [{ result: "mnt.root.fs" }, FSMOUNT_CLOEXEC, MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV],
      id: "mnt.root",
    });
    steps.push({
      label: "attach the new root over the old one",
      syscall: "move_mount",
      args: [{ result: "mnt.root" }, EMPTY, FDCWD, { cstring: "/" }, MOVE_MOUNT.F_EMPTY_PATH],
    });

    // 4. Everything in the new root, parents first.
    const depth = (p: string) => p.split("/").length;
    const ordered = entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => depth(a.e.path) - depth(b.e.path) || a.i - b.i);
    let n = 0;
    for (const { e } of ordered) {
      const tag = `mnt.e${n++}`;
      switch (e.kind) {
        case "bind": {
          const target = targetSteps(steps, e.path, e.src.info.dir ? "dir" : "file", tag);
          steps.push(
            moveStep(e.treeArg as StepArg, target, `bind ${e.b.src} on ${e.path}`, e.path),
          );
          mounts.push({
            kind: "bind",
            path: e.path,
            source: e.b.src,
            readonly: !!e.b.readonly,
            ...(e.idmapped ? { idmapped: e.idmapped } : {}),
          });
          break;
        }
        case "symlink": {
          const { parent, name } = parentSteps(steps, e.path, tag);
          steps.push({
            label: `create symlink ${e.path} → ${e.target}`,
            syscall: "symlinkat",
            args: [{ cstring: e.target }, parent, { cstring: name }],
          });
          mounts.push({ kind: "symlink", path: e.path, source: e.target });
          break;
        }
        case "dir":
          targetSteps(steps, e.path, "dir", tag);
          mounts.push({ kind: "dir", path: e.path });
          break;
        case "tmpfs": {
          const target = targetSteps(steps, e.path, "dir", tag);
          const size = e.t.size === undefined ? DEFAULT_TMPFS_SIZE : String(e.t.size);
          const inodes = tmpfsInodes(size, e.t.inodes);
          steps.push(
            ...fsSteps("tmpfs", `${tag}.tmpfs`, `tmpfs for ${e.path}`, [
              ["size", size],
              ["nr_inodes", String(inodes)],
              ["mode", (e.t.mode ?? 0o1777).toString(8)],
            ]),
          );
          const attrs =
            MOUNT_ATTR.NOSUID |
            MOUNT_ATTR.NODEV |
            (e.t.noexec ? MOUNT_ATTR.NOEXEC : 0) |
            (e.t.readonly ? MOUNT_ATTR.RDONLY : 0);
          steps.push({
            label: `mount the tmpfs for ${e.path}`,
            syscall: "fsmount",
            args: [{ result: `${tag}.tmpfs.fs` }, FSMOUNT_CLOEXEC, attrs],
            id: `${tag}.tmpfs`,
          });
          steps.push(
            moveStep(
              { result: `${tag}.tmpfs` },
              target,
              `attach tmpfs (size ${size}, ${inodes} inodes) on ${e.path}`,
              e.path,
            ),
          );
          mounts.push({ kind: "tmpfs", path: e.path, readonly: !!e.t.readonly });
          break;
        }
        case "proc": {
          const target = targetSteps(steps, e.path, "dir", tag);
          const opts: [string, string][] = [];
          if (e.p.subset) opts.push(["subset", e.p.subset]);
          if (e.p.hidepid) opts.push(["hidepid", e.p.hidepid]);
          steps.push(
            ...fsSteps("proc", `${tag}.proc`, "a fresh procfs for the new pid namespace", opts),
          );
          steps.push({
            label: "mount the procfs",
            syscall: "fsmount",
            args: [
              { result: `${tag}.proc.fs` },
              FSMOUNT_CLOEXEC,
              MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
            ],
            id: `${tag}.proc`,
          });
          steps.push(
            moveStep({ result: `${tag}.proc` }, target, `attach procfs on ${e.path}`, e.path),
          );
          mounts.push({ kind: "proc", path: e.path });
          break;
        }
        case "dev": {
          const target = targetSteps(steps, "/dev", "dir", tag);
          steps.push(
            ...fsSteps("tmpfs", "mnt.dev", "tmpfs for /dev", [
              ["size", "64k"],
              // Its entries: pts, shm, the device nodes and five symlinks.
              ["nr_inodes", String(DEV_INODES)],
              ["mode", "0755"],
            ]),
          );
          steps.push({
            label: "mount the tmpfs for /dev",
            syscall: "fsmount",
            args: [
              { result: "mnt.dev.fs" },
              FSMOUNT_CLOEXEC,
              MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC,
            ],
            id: "mnt.dev",
          });
          steps.push(moveStep({ result: "mnt.dev" }, target, "attach tmpfs on /dev", "/dev"));
          mounts.push({ kind: "tmpfs", path: "/dev" });
          // devpts (a new instance) and /dev/shm; device nodes are binds at depth 2 that follow.
          const pts = targetSteps(steps, "/dev/pts", "dir", `${tag}.pts`);
          steps.push(
            // max: the ptys one sandbox may hold (the kernel's pool is shared by every
            // instance: found in review, one sandbox took all 3071 outside the reserve).
            ...fsSteps("devpts", "mnt.devpts", "a new devpts instance", [
              ["ptmxmode", "0666"],
              ["max", String(DEVPTS_MAX)],
              ["mode", "0620"],
            ]),
          );
          steps.push({
            label: "mount devpts",
            syscall: "fsmount",
            args: [
              { result: "mnt.devpts.fs" },
              FSMOUNT_CLOEXEC,
              MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC,
            ],
            id: "mnt.devpts",
          });
          steps.push(
            moveStep({ result: "mnt.devpts" }, pts, "attach devpts on /dev/pts", "/dev/pts"),
          );
          mounts.push({ kind: "devpts", path: "/dev/pts" });
          const shm = targetSteps(steps, "/dev/shm", "dir", `${tag}.shm`);
          steps.push(
            ...fsSteps("tmpfs", "mnt.shm", "tmpfs for /dev/shm", [
              ["size", "64m"],
              ["nr_inodes", String(tmpfsInodes("64m"))],
              ["mode", "1777"],
            ]),
          );
          steps.push({
            label: "mount the tmpfs for /dev/shm",
            syscall: "fsmount",
            args: [
              { result: "mnt.shm.fs" },
              FSMOUNT_CLOEXEC,
              MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
            ],
            id: "mnt.shm",
          });
          steps.push(moveStep({ result: "mnt.shm" }, shm, "attach tmpfs on /dev/shm", "/dev/shm"));
          mounts.push({ kind: "tmpfs", path: "/dev/shm" });
          const links: [string, string][] = [
            ["ptmx", "pts/ptmx"],
            ["fd", "/proc/self/fd"],
            ["stdin", "/proc/self/fd/0"],
            ["stdout", "/proc/self/fd/1"],
            ["stderr", "/proc/self/fd/2"],
          ];
          const devDir = openDirSteps(steps, "/dev", `${tag}.links`);
          for (const [name, to] of links) {
            steps.push({
              label: `create symlink /dev/${name} → ${to}`,
              syscall: "symlinkat",
              args: [{ cstring: to }, devDir, { cstring: name }],
            });
            mounts.push({ kind: "symlink", path: `/dev/${name}`, source: to });
          }
          break;
        }
      }
    }

    // 5. Masked and read-only paths (only under what this plan mounts: /proc).
    // Only /proc is mounted from a kernel filesystem here; /sys is never mounted by this plan.
    const mounted = (p: string) => !!proc && p.startsWith("/proc/");
    let m = 0;
    for (const p of spec.maskedPaths ?? DEFAULT_MASKED_PATHS) {
      if (!mounted(p)) continue;
      const host = `${procRoot}${p.slice("/proc".length)}`;
      // Absent on this kernel: nothing to mask (ENOENT without an exception: this runs
      // on every launch; any other error skips the path as before).
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(host, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
      if (!st) continue;
      const tag = `mnt.mask${m++}`;
      const target = targetSteps(steps, p, "existing", tag);
      if (st.isDirectory()) {
        steps.push(
          ...fsSteps("tmpfs", `${tag}.tmpfs`, `an empty tmpfs to mask ${p}`, [
            ["size", "4k"],
            ["nr_inodes", "1"], // its root: it stays empty and read-only
            ["mode", "0555"],
          ]),
        );
        steps.push({
          label: `mount the masking tmpfs for ${p}`,
          syscall: "fsmount",
          args: [
            { result: `${tag}.tmpfs.fs` },
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
          ],
          id: `${tag}.tmpfs`,
        });
        steps.push(
          moveStep(
            { result: `${tag}.tmpfs` },
            target,
            `mask ${p} with an empty read-only tmpfs`,
            p,
          ),
        );
      } else {
        if (!dev)
          throw new MountPlanError(
            p,
            `masking the file ${p} needs /dev/null: enable the minimal /dev or remove ${p} from maskedPaths`,
          );
        const nul = targetSteps(steps, "/dev/null", "existing", `${tag}.null`);
        steps.push({
          label: `clone /dev/null to mask ${p}`,
          syscall: "open_tree",
          args: [nul, EMPTY, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT.EMPTY_PATH],
          id: `${tag}.clone`,
        });
        steps.push(moveStep({ result: `${tag}.clone` }, target, `mask ${p} with /dev/null`, p));
      }
      mounts.push({ kind: "mask", path: p });
    }
    let r = 0;
    for (const p of spec.readonlyPaths ?? DEFAULT_READONLY_PATHS) {
      if (!mounted(p)) continue;
      if (!fs.existsSync(`${procRoot}${p.slice("/proc".length)}`)) continue;
      const tag = `mnt.ro${r++}`;
      const target = targetSteps(steps, p, "existing", tag);
      steps.push({
        label: `clone ${p}`,
        syscall: "open_tree",
        args: [target, EMPTY, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT.EMPTY_PATH | AT.RECURSIVE],
        id: `${tag}.clone`,
      });
      const attrs = MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC;
      steps.push({
        label: `make the clone of ${p} read-only`,
        syscall: "mount_setattr",
        args: [
          { result: `${tag}.clone` },
          EMPTY,
          AT.EMPTY_PATH | AT.RECURSIVE,
          { bytes: mountAttr(attrs) },
          MOUNT_ATTR_SIZE,
        ],
      });
      steps.push(
        moveStep({ result: `${tag}.clone` }, target, `bind ${p} read-only over itself`, p),
      );
      mounts.push({ kind: "readonly", path: p });
    }
    if (dev) {
      steps.push({
        label: "make /dev read-only",
        syscall: "mount_setattr",
        args: [
          { result: "mnt.dev" },
          EMPTY,
          AT.EMPTY_PATH,
          { bytes: mountAttr(MOUNT_ATTR.RDONLY) },
          MOUNT_ATTR_SIZE,
        ],
      });
    }

    // 6. pivot_root(".", ".") on the new root, then detach the old one.
    steps.push(
      { label: "enter the new root", syscall: "fchdir", args: [{ result: "mnt.root" }] },
      {
        label: "pivot_root to the new root",
        syscall: "pivot_root",
        args: [{ cstring: "." }, { cstring: "." }],
      },
      { label: "enter the old root", syscall: "fchdir", args: [{ result: "mnt.oldroot" }] },
      { label: "detach the old root", syscall: "umount2", args: [{ cstring: "." }, MNT_DETACH] },
      { label: "enter / of the new root", syscall: "chdir", args: [{ cstring: "/" }] },
      { label: "close the old root", syscall: "close", args: [{ result: "mnt.oldroot" }] },
    );
    if (spec.readonlyRoot ?? true) {
      steps.push({
        label: "make the new root read-only",
        syscall: "mount_setattr",
        args: [
          { result: "mnt.root" },
          EMPTY,
          AT.EMPTY_PATH,
          { bytes: mountAttr(MOUNT_ATTR.RDONLY) },
          MOUNT_ATTR_SIZE,
        ],
      });
    }
    return {
      steps,
      fds,
      sources,
      mounts,
      warnings,
      close,
      isCurrent: () => checks.every((c) => c()),
    };
  }
}

function attrName(a: number): string {
  const n: string[] = [];
  if (a & MOUNT_ATTR.RDONLY) n.push("ro");
  if (a & MOUNT_ATTR.NOSUID) n.push("nosuid");
  if (a & MOUNT_ATTR.NODEV) n.push("nodev");
  if (a & MOUNT_ATTR.NOEXEC) n.push("noexec");
  return n.join(",");
}

function fsSteps(fstype: string, id: string, what: string, opts: [string, string][]): Step[] {
  const fs = `${id}.fs`;
  return [
    {
      label: `create ${what}`,
      syscall: "fsopen",
      args: [{ cstring: fstype }, FSOPEN_CLOEXEC],
      id: fs,
    },
    ...opts.map(
      ([k, v]): Step => ({
        label: `set ${k}=${v} on ${what}`,
        syscall: "fsconfig",
        args: [{ result: fs }, FSCONFIG.SET_STRING, { cstring: k }, { cstring: v }, 0],
      }),
    ),
    {
      label: `instantiate ${what}`,
      syscall: "fsconfig",
      args: [{ result: fs }, FSCONFIG.CMD_CREATE, 0, 0, 0],
    },
  ];
}

/**
 * Directory fds already opened in the new root, by path. An fd opened before a mount
 * lands on its path (or above it) would see the covered directory, so {@link moveStep}
 * forgets them; the plan is built synchronously, one at a time.
 */
const dirCache = new Map<string, StepArg>();

function moveStep(tree: StepArg, target: StepArg, label: string, path?: string): Step {
  if (path === undefined) dirCache.clear();
  else
    for (const k of [...dirCache.keys()])
      if (k === path || k.startsWith(`${path}/`)) dirCache.delete(k);
  return {
    label,
    syscall: "move_mount",
    args: [tree, EMPTY, target, EMPTY, MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH],
  };
}

const DIR_HOW = openHow(O.PATH | O.DIRECTORY | O.CLOEXEC, SAFE_BENEATH);
const ANY_HOW = openHow(O.PATH | O.NOFOLLOW | O.CLOEXEC, SAFE_BENEATH);

/** Opens (creating when missing) each directory of `path` but the last, beneath the new root. */
function parentSteps(steps: Step[], path: string, tag: string): { parent: StepArg; name: string } {
  const parts = components(path, "path in the sandbox");
  let parent: StepArg = { result: "mnt.root" };
  let sofar = "";
  parts.slice(0, -1).forEach((c, i) => {
    sofar += `/${c}`;
    const cached = dirCache.get(sofar);
    if (cached) {
      parent = cached;
      return;
    }
    steps.push({
      label: `create directory ${sofar}`,
      syscall: "mkdirat",
      args: [parent, { cstring: c }, 0o755],
      optional: true,
    });
    steps.push({
      label: `open ${sofar} (beneath the new root, no symlinks)`,
      syscall: "openat2",
      args: [parent, { cstring: c }, { bytes: DIR_HOW }, 24],
      id: `${tag}.p${i}`,
    });
    parent = { result: `${tag}.p${i}` };
    dirCache.set(sofar, parent);
  });
  return { parent, name: parts.at(-1)! };
}

function openDirSteps(steps: Step[], path: string, tag: string): StepArg {
  return targetSteps(steps, path, "existing", tag);
}

/**
 * Creates (for "dir"/"file") and opens the mount point `path` as O_PATH, resolved
 * beneath the new root without symlinks; returns the fd argument.
 */
function targetSteps(
  steps: Step[],
  path: string,
  kind: "dir" | "file" | "existing",
  tag: string,
): StepArg {
  const { parent, name } = parentSteps(steps, path, tag);
  if (kind === "dir")
    steps.push({
      label: `create directory ${path}`,
      syscall: "mkdirat",
      args: [parent, { cstring: name }, 0o755],
      optional: true,
    });
  if (kind === "file")
    steps.push({
      label: `create file ${path}`,
      syscall: "mknodat",
      args: [parent, { cstring: name }, S_IFREG | 0o644, 0],
      optional: true,
    });
  steps.push({
    label: `open mount point ${path} (beneath the new root, no symlinks)`,
    syscall: "openat2",
    args: [parent, { cstring: name }, { bytes: kind === "dir" ? DIR_HOW : ANY_HOW }, 24],
    id: `${tag}.t`,
  });
  return { result: `${tag}.t` };
}

/**
 * Steps that stop the child unless `fd` is the inode the parent inspected. The child
 * cannot branch, so the comparison is made by the kernel: FUTEX_WAIT on a word holding
 * the expected value, with the actual value as `val` and a zero timeout, returns
 * ETIMEDOUT when they are equal and EAGAIN when they differ; close_range(result,
 * -ETIMEDOUT, CLOSE_RANGE_CLOEXEC) then fails with EINVAL unless the result was
 * -ETIMEDOUT (first > last), and touches no open fd when it was.
 */
function sameInodeSteps(fd: StepArg, info: SourceInfo, id: string): Step[] {
  const buf = "mnt.statx";
  const steps: Step[] = [
    {
      label: `inspect bind source ${info.real}`,
      syscall: "statx",
      args: [
        fd,
        EMPTY,
        AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW,
        STATX_TYPE | STATX_INO,
        { out: buf, size: STATX_BUF },
      ],
    },
  ];
  const words: [string, number, number][] = [
    ["inode (low)", 32, Number(info.ino & 0xffffffffn)],
    ["inode (high)", 36, Number(info.ino >> 32n)],
    ["device (major)", 136, info.devMajor],
    ["device (minor)", 140, info.devMinor],
  ];
  words.forEach(([what, offset, expected], i) => {
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, expected >>> 0, true);
    steps.push({
      label: `compare the ${what} of ${info.real}`,
      syscall: "futex",
      args: [
        { bytes: word },
        FUTEX_WAIT_PRIVATE,
        { load32: buf, offset },
        { bytes: new Uint8Array(16) },
        0,
        0,
      ],
      id: `${id}${i}`,
      optional: true,
    });
    steps.push({
      label: `bind source ${info.real} changed since it was inspected (${what} differs)`,
      syscall: "close_range",
      args: [{ result: `${id}${i}` }, -ETIMEDOUT >>> 0, CLOSE_RANGE_CLOEXEC],
    });
  });
  return steps;
}
