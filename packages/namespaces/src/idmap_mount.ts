/**
 * Idmapped read-write binds, as root. The sandbox's root is an unprivileged id on the
 * host (65534 by default), so a root-owned bind source is not its own: every write
 * fails with EACCES and git calls the repository "dubious". An idmapped mount
 * (mount_setattr with MOUNT_ATTR_IDMAP, Linux 5.12+) of the detached clone fixes that
 * for that one bind: files of the source's owner appear as the sandbox's user inside,
 * and what the sandbox creates there is owned by the source's owner on the host.
 *
 * The idmap maps exactly one uid and one gid (the source's owner and group) to the
 * host ids the sandbox runs as; every other host id stays unmapped there (shown as
 * the overflow id, never the sandbox's own), so no other host user's files become
 * writable and nothing the sandbox creates can be owned by another id. Read-only binds
 * are never idmapped (a root-owned 0600 file stays unreadable). It needs CAP_SYS_ADMIN
 * over the source's filesystem, so only the parent, as root, can do it: rootless
 * sandboxes are unchanged. A sticky world-writable source (/tmp) is not idmapped: it
 * is writable as it is, and entries its owner (root) owns are what the kernel's
 * protected_symlinks and protected_regular let the host's root follow and open.
 *
 * What it does not stop by itself: the sandbox may set the setuid and setgid bits on
 * files it owns there, or (with CAP_SETFCAP) write file capabilities whose root id is
 * the host's root, and those files are the source owner's on the host. @forge/sandbox
 * stacks a seccomp filter on every sandbox with an idmapped bind that refuses both
 * (its idmap_guard.ts); a caller of the mount plan alone must do the same.
 *
 * @module
 */
import fs from "node:fs";
import { AT, CLONE, type Libc, O, openLibc, SyscallError, spawn } from "@forge/libc";
import { MOUNT_ATTR_SIZE } from "./_util.ts";

/** `MOUNT_ATTR_IDMAP` of struct mount_attr (Linux 5.12+). */
export const MOUNT_ATTR_IDMAP = 0x0010_0000;

/** The host ids the sandbox's processes run as ({@link IdMapPlan}'s outsideUid and outsideGid). */
export interface IdmapTarget {
  readonly uid: number;
  readonly gid: number;
}

/** One idmap: the owner of a bind source (on disk) to the sandbox's host ids. */
export interface IdmapMapping {
  /** The source's owner, as stored on disk. */
  readonly sourceUid: number;
  readonly sourceGid: number;
  /** The host ids the sandbox runs as. */
  readonly uid: number;
  readonly gid: number;
}

/** A bind source to idmap, as the mount plan knows it. */
export interface IdmapSource {
  /** The source's O_PATH fd (its owner is read from it). */
  readonly fd: number;
  /** Its host path, for messages. */
  readonly path: string;
  /** Where the bind was asked for ("--bind /srv:/w"), for messages. */
  readonly origin?: string;
}

/** What {@link idmapBindTree} did. */
export interface IdmapResult {
  /**
   * "all": the whole tree is idmapped; "top": the bind's own mount but not its submounts;
   * "none": nothing (the owner is the sandbox's host user already, or the kernel or the
   * filesystem cannot: see `warning`).
   */
  readonly applied: "all" | "top" | "none";
  /** The source's owner and group on disk. */
  readonly owner: { readonly uid: number; readonly gid: number };
  /** Why it fell back, and what to do instead (one line). */
  readonly warning?: string;
}

/** Options of {@link idmapBindTree}. */
export interface IdmapOptions {
  /** Makes the user namespace holding a mapping, returns its fd (default {@link idmapUserns}); for tests. */
  readonly userns?: (m: IdmapMapping) => number;
  /** Where /proc is (default "/proc"); for messages. */
  readonly procRoot?: string;
}

/**
 * The uid_map and gid_map lines of an idmap: one id each, the source's owner (inside
 * the idmap's user namespace, i.e. as stored on disk) to the sandbox's host id.
 *
 * @example
 * ```ts
 * import { idmapLines } from "@forge/namespaces";
 * idmapLines({ sourceUid: 0, sourceGid: 0, uid: 65534, gid: 65534 });
 * // { uidMap: "0 65534 1\n", gidMap: "0 65534 1\n" }
 * ```
 */
export function idmapLines(m: IdmapMapping): { uidMap: string; gidMap: string } {
  for (const [k, v] of Object.entries(m))
    if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)
      throw new RangeError(`idmap ${k} must be an integer in 0..4294967294, got ${v}`);
  return { uidMap: `${m.sourceUid} ${m.uid} 1\n`, gidMap: `${m.sourceGid} ${m.gid} 1\n` };
}

/**
 * Creates a user namespace holding one idmap and returns an fd of it (close-on-exec;
 * the caller closes it once mount_setattr has taken it). Node cannot unshare (it is
 * multithreaded), so a child is cloned into a new user namespace through the spawn
 * trampoline; it waits while we write its maps and open its namespace, then exits
 * without executing anything. Needs CAP_SETUID, CAP_SETGID (root).
 *
 * @example
 * ```ts
 * import { idmapUserns } from "@forge/namespaces";
 * import { openLibc } from "@forge/libc";
 * const fd = idmapUserns({ sourceUid: 0, sourceGid: 0, uid: 65534, gid: 65534 });
 * openLibc().close(fd);
 * ```
 */
export function idmapUserns(
  m: IdmapMapping,
  opts: { procRoot?: string; libc?: Libc } = {},
): number {
  const { uidMap, gidMap } = idmapLines(m);
  const libc = opts.libc ?? openLibc();
  const procRoot = opts.procRoot ?? "/proc";
  let fd = -1;
  try {
    spawn({
      // Never executed (the program ends before execve); harmless if it were.
      argv: ["/bin/false"],
      env: {},
      cloneFlags: CLONE.NEWUSER,
      steps: [
        {
          label: "exit (the parent holds the idmap's user namespace by its fd)",
          syscall: "exit_group",
          args: [0],
        },
      ],
      beforeStart: ({ pid }) => {
        fs.writeFileSync(`${procRoot}/${pid}/uid_map`, uidMap);
        fs.writeFileSync(`${procRoot}/${pid}/gid_map`, gidMap);
        fd = libc.openat(AT.FDCWD, `${procRoot}/${pid}/ns/user`, O.RDONLY | O.CLOEXEC);
      },
    }); // its handle reaps it
  } catch (e) {
    if (fd >= 0) libc.close(fd);
    throw e;
  }
  return fd;
}

const STATX_TYPE_MODE = 0x1 | 0x2;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const STATX_UID = 0x8;
const STATX_GID = 0x10;
const STATX_MNT_ID = 0x1000;

/** The owner, group, mode and mount id of an fd (statx, AT_EMPTY_PATH). */
function ownerOf(
  libc: Libc,
  fd: number,
): { uid: number; gid: number; mode: number; mntId: bigint } {
  const b = new Uint8Array(256);
  libc.syscall(
    "statx",
    fd,
    "",
    AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW,
    STATX_TYPE_MODE | STATX_UID | STATX_GID | STATX_MNT_ID,
    b,
  );
  const v = new DataView(b.buffer);
  const mask = v.getUint32(0, true);
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode: v.getUint16(28, true),
    mntId: mask & STATX_MNT_ID ? v.getBigUint64(144, true) : -1n,
  };
}

/** One line of /proc/self/mountinfo: its id, mount point and filesystem type. */
interface MountInfo {
  readonly id: bigint;
  readonly point: string;
  readonly fstype: string;
}

function mountInfo(procRoot: string): MountInfo[] {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/self/mountinfo`, "utf8");
  } catch {
    return [];
  }
  const unoctal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (f.length < 7 || dash < 6) continue;
    out.push({ id: BigInt(f[0]!), point: unoctal(f[4]!), fstype: f[dash + 1]! });
  }
  return out;
}

/** Why the kernel refused, in words ("overlay (mounted at /) does not support ..."). */
function reason(e: unknown, mount: MountInfo | undefined): string {
  const code = (e as { code?: string }).code ?? (e as Error).message;
  const fsName = mount ? `${mount.fstype} (mounted at ${mount.point})` : "its filesystem";
  switch (code) {
    case "ENOSYS":
      return "this kernel has no mount_setattr (idmapped mounts need Linux 5.12+)";
    case "EINVAL":
      return `${fsName} does not support idmapped mounts on this kernel (EINVAL)`;
    case "EPERM":
      return `the kernel refused (EPERM): ${fsName} is idmapped already or belongs to another user namespace`;
    default:
      return `mount_setattr failed: ${code}`;
  }
}

function setIdmap(libc: Libc, tree: number, userns: number, recursive: boolean): void {
  const attr = new Uint8Array(MOUNT_ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setBigUint64(0, BigInt(MOUNT_ATTR_IDMAP), true);
  v.setBigUint64(24, BigInt(userns), true);
  libc.syscall(
    "mount_setattr",
    tree,
    "",
    AT.EMPTY_PATH | (recursive ? AT.RECURSIVE : 0),
    attr,
    MOUNT_ATTR_SIZE,
  );
}

/**
 * Idmaps the detached clone of a read-write bind source (open_tree OPEN_TREE_CLONE,
 * not attached yet: the kernel idmaps no mount that was ever visible), so that the
 * source's owner and group appear as the sandbox's user and group inside and what the
 * sandbox creates is theirs on the host. The whole tree when every filesystem in it
 * can; else the bind's own mount, with a warning naming the submounts; else nothing,
 * with a warning that says which path, why, and what to do instead (`--id-map
 * identity`, or giving the source to the sandbox's host user). Nothing is done when
 * the source's owner and group are the sandbox's host ids already, or when it is a
 * sticky world-writable directory.
 *
 * Call it as root, in the parent, once per read-write bind; never for read-only ones.
 *
 * @example
 * ```ts
 * import { idmapBindTree } from "@forge/namespaces";
 * import { AT, O, openLibc } from "@forge/libc";
 * const libc = openLibc();
 * const src = libc.openat(AT.FDCWD, "/srv/build", O.PATH | O.CLOEXEC);
 * const tree = libc.syscall("open_tree", src, "", 1 | O.CLOEXEC | AT.EMPTY_PATH | AT.RECURSIVE);
 * const r = idmapBindTree(libc, tree, { fd: src, path: "/srv/build" }, { uid: 65534, gid: 65534 });
 * if (r.warning) console.warn(r.warning);
 * ```
 */
export function idmapBindTree(
  libc: Libc,
  tree: number,
  source: IdmapSource,
  target: IdmapTarget,
  opts: IdmapOptions = {},
): IdmapResult {
  const procRoot = opts.procRoot ?? "/proc";
  const o = ownerOf(libc, source.fd);
  const owner = { uid: o.uid, gid: o.gid };
  if (owner.uid === target.uid && owner.gid === target.gid) return { applied: "none", owner };
  // A sticky, world-writable directory (/tmp, /var/tmp, /dev/shm) is writable as it is.
  // Idmapped, what the sandbox makes there would be its owner's (root's), and the
  // kernel's protected_symlinks/protected_regular trust exactly those: a symlink
  // planted in /tmp would be followed by the host's root.
  if ((o.mode & S_IFMT) === S_IFDIR && (o.mode & 0o1002) === 0o1002)
    return { applied: "none", owner };
  const who = source.origin ?? `the bind of ${source.path}`;
  const instead = `the sandbox writes there as host uid ${target.uid}, not as its owner (uid ${owner.uid}); use --id-map identity, or chown the source to ${target.uid}`;
  let userns: number;
  try {
    userns = (opts.userns ?? idmapUserns)({
      sourceUid: owner.uid,
      sourceGid: owner.gid,
      uid: target.uid,
      gid: target.gid,
    });
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    return {
      applied: "none",
      owner,
      warning: `${who}: no idmapped mount for ${source.path}: cannot create its user namespace (${code}); ${instead}`,
    };
  }
  try {
    try {
      setIdmap(libc, tree, userns, true);
      return { applied: "all", owner };
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const mounts = mountInfo(procRoot);
      const top = mounts.find((m) => m.id === o.mntId);
      // All or nothing: a submount the kernel cannot idmap fails the whole tree.
      if (e.code === "EINVAL") {
        try {
          setIdmap(libc, tree, userns, false);
        } catch (e2) {
          return {
            applied: "none",
            owner,
            warning: `${who}: no idmapped mount for ${source.path}: ${reason(e2, top)}; ${instead}`,
          };
        }
        const below = `${source.path.replace(/\/+$/, "")}/`;
        const subs = mounts
          .filter((m) => m.point.startsWith(below))
          .map((m) => `${m.point} (${m.fstype})`);
        const list = subs.length
          ? subs.slice(0, 3).join(", ") + (subs.length > 3 ? ", ..." : "")
          : "its submounts";
        return {
          applied: "top",
          owner,
          warning: `${who}: submounts of ${source.path} are not idmapped (${list}: no idmapped mounts there, EINVAL); ${instead}`,
        };
      }
      return {
        applied: "none",
        owner,
        warning: `${who}: no idmapped mount for ${source.path}: ${reason(e, top)}; ${instead}`,
      };
    }
  } finally {
    // The mount holds the idmap now: the namespace's fd is not needed any more.
    try {
      libc.close(userns);
    } catch {
      // closed already
    }
  }
}
