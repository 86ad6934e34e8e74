/**
 * Reading a file only when nobody but its trusted owners could have written it: the
 * file and every directory on the way owned by a trusted uid and not group- or
 * other-writable, checked on file descriptors opened one component at a time with
 * O_NOFOLLOW, so that no symlink or directory can be swapped in between the check and
 * the read. What `--profile NAME` (and `forge run` without one) reads from
 * `/etc/forge/profiles` goes through here.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { AT, type Libc, openLibc, SyscallError } from "@forge/libc";

// Node's values: O_NOFOLLOW and O_DIRECTORY differ between x86_64 and aarch64.
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;
const S_ISVTX = 0o1000;
/** Symlinks followed in one lookup, as the kernel's own limit (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * A file (or a directory on the way to it) that someone other than its trusted owners
 * could have written: refused, never skipped. The message is one line: which file,
 * why, and the command that fixes it.
 *
 * @example
 * ```ts
 * import { readTrustedFile, UntrustedFileError } from "@forge/sandbox";
 * try {
 *   readTrustedFile("/etc/forge/profiles/default.json", { owners: [0] });
 * } catch (e) {
 *   if (e instanceof UntrustedFileError) console.error(e.message);
 *   // /etc/forge/profiles/default.json: refused: it is group-writable (mode 0664); fix: chmod go-w /etc/forge/profiles/default.json
 * }
 * ```
 */
export class UntrustedFileError extends Error {
  override name = "UntrustedFileError";
  /** The file that was asked for. */
  readonly file: string;
  /** The path that failed the check: the file itself, or a directory or symlink on the way. */
  readonly culprit: string;
  /** Why, e.g. "group-writable (mode 0664)". */
  readonly reason: string;
  /** A command that fixes it. */
  readonly fix: string;
  /** The message without the file in front: "refused: ... ; fix: ...". */
  readonly detail: string;
  constructor(file: string, culprit: string, kind: string, reason: string, fix: string) {
    const subject = culprit === file ? `the ${kind}` : `the ${kind} ${culprit}`;
    const detail = `refused: ${subject} is ${reason}; fix: ${fix}`;
    super(`${file}: ${detail}`);
    this.detail = detail;
    this.file = file;
    this.culprit = culprit;
    this.reason = reason;
    this.fix = fix;
  }
}

/** Options of {@link readTrustedFile}. */
export interface TrustedFileOptions {
  /**
   * The uids that may own the file, every directory on the way and every symlink
   * followed (default: root only).
   */
  readonly owners?: readonly number[];
  /** The libc binding (default: the real one); tests may pass a FakeLibc. */
  readonly libc?: Libc;
  /** fstat(2) of an fd (default: node:fs's); tests give one that answers for a FakeLibc. */
  readonly fstat?: (fd: number) => fs.Stats;
}

function ownerNames(owners: readonly number[]): string {
  return owners.map((u) => (u === 0 ? "root" : `uid ${u}`)).join(" or ");
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}

/**
 * Reads `file` (an absolute path) as UTF-8 if it and every directory on the way are
 * owned by one of `owners` and not writable by group or others; returns undefined when
 * it does not exist (or a directory on the way is missing or cannot be searched by
 * this process). Throws {@link UntrustedFileError} for a file or directory that fails
 * the rule, or a SyscallError when the file exists but cannot be read.
 *
 * The walk starts at "/" and opens each component relative to the previous one's fd
 * with O_PATH|O_NOFOLLOW, checks it with fstat, and reads the file from the fd it
 * checked. Symlinks are followed only when owned by a trusted owner and found in a
 * directory that passed the check, and their targets are walked by the same rule. A
 * directory on the way (not the file's own) may be writable by others when it is
 * sticky and owned by a trusted owner, as /tmp is: nobody else can rename or remove
 * what it holds, and whatever they add there fails the ownership check.
 *
 * @example
 * ```ts
 * import { readTrustedFile } from "@forge/sandbox";
 * const text = readTrustedFile("/etc/forge/profiles/default.json", { owners: [0] });
 * if (text === undefined) console.log("no such file");
 * ```
 */
export function readTrustedFile(file: string, opts: TrustedFileOptions = {}): string | undefined {
  return walk(file, opts, "file") as string | undefined;
}

/**
 * Checks a directory by the rule of {@link readTrustedFile} (it and every directory on
 * the way owned by one of `owners`, not group- or other-writable): true when it passes,
 * false when it does not exist or cannot be searched by this process; throws
 * {@link UntrustedFileError} when it fails the rule.
 *
 * @example
 * ```ts
 * import { checkTrustedDir } from "@forge/sandbox";
 * if (checkTrustedDir("/etc/forge/profiles")) console.log("present and root's");
 * ```
 */
export function checkTrustedDir(dir: string, opts: TrustedFileOptions = {}): boolean {
  return walk(path.normalize(dir), opts, "directory") === true;
}

/**
 * Opens the directory `dir` (absolute) for reading, walked as {@link readTrustedFile}
 * walks, but checking only the symlinks on the way: one is followed only when one of
 * `owners` (default: root) owns it; the directories themselves may be anyone's. For a
 * host-side write on a sandbox's behalf into a directory the sandbox may share: a link
 * planted on the way by an earlier run (whose files belong to uid 65534 as root) is
 * refused with an {@link UntrustedFileError}; a directory that cannot be opened throws
 * the SyscallError. Returns the fd (close it).
 *
 * @example
 * ```ts
 * import { openDirThroughTrustedLinks } from "@forge/sandbox";
 * const fd = openDirThroughTrustedLinks("/var/lib/jobs/out", { owners: [0] });
 * ```
 */
export function openDirThroughTrustedLinks(dir: string, opts: TrustedFileOptions = {}): number {
  return walk(path.normalize(dir), opts, "dirfd") as number;
}

function walk(
  file: string,
  opts: TrustedFileOptions,
  want: "file" | "directory" | "dirfd",
): string | boolean | number | undefined {
  if (!path.isAbsolute(file)) throw new TypeError(`expected an absolute path, got "${file}"`);
  const libc = opts.libc ?? openLibc();
  const owners = opts.owners ?? [0];
  const rootOnly = owners.every((u) => u === 0);
  const chown = (p: string) =>
    rootOnly
      ? `chown root ${p}`
      : `chown ${owners.find((u) => u !== 0)} ${p}, or replace it with a copy you own`;
  const refuse = (culprit: string, kind: string, reason: string, how: string): never => {
    throw new UntrustedFileError(file, culprit, kind, reason, how);
  };
  const fstat = opts.fstat ?? ((fd: number) => fs.fstatSync(fd));
  /** The ownership and mode rule (for directories and the file; "dirfd" checks links only). */
  const check = (st: fs.Stats, where: string, kind: string, allowSticky: boolean): void => {
    if (want === "dirfd") return;
    if (!owners.includes(st.uid))
      refuse(where, kind, `owned by uid ${st.uid}, not ${ownerNames(owners)}`, chown(where));
    if (st.mode & 0o022 && !(allowSticky && st.mode & S_ISVTX)) {
      const who = st.mode & 0o002 ? "other-writable" : "group-writable";
      refuse(where, kind, `${who} (mode ${octal(st.mode)})`, `chmod go-w ${where}`);
    }
  };

  const fds = new Set<number>();
  const close = (fd: number) => {
    fds.delete(fd);
    libc.close(fd);
  };
  /** openat, or its error. */
  const openAt = (dirfd: number, name: string, flags: number): number | SyscallError => {
    try {
      const fd = libc.openat(dirfd, name, flags | O_CLOEXEC);
      fds.add(fd);
      return fd;
    } catch (e) {
      if (e instanceof SyscallError) return e;
      throw e;
    }
  };
  const openRoot = (): { fd: number; st: fs.Stats } => {
    const fd = openAt(AT.FDCWD, "/", O_PATH);
    if (typeof fd !== "number") throw fd;
    const st = fstat(fd);
    check(st, "/", "directory", true);
    return { fd, st };
  };
  try {
    let dir = { ...openRoot(), path: "/" };
    const rest = file.split("/").filter((c) => c && c !== ".");
    let hops = 0;
    while (rest.length) {
      const name = rest.shift()!;
      const last = rest.length === 0;
      const here = name === ".." ? path.dirname(dir.path) : path.join(dir.path, name);
      // The directory that holds the file: nobody but its owners may add or swap entries.
      if (last && want === "file") check(dir.st, dir.path, "directory", false);
      // The file is opened for reading at once (O_NOFOLLOW: ELOOP when it is a symlink);
      // directories on the way with O_PATH, which also opens a symlink itself.
      let fd = openAt(
        dir.fd,
        name,
        last && want === "file" ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK : O_PATH | O_NOFOLLOW,
      );
      if (typeof fd !== "number" && fd.code === "ELOOP" && last)
        fd = openAt(dir.fd, name, O_PATH | O_NOFOLLOW);
      if (typeof fd !== "number") {
        if (want === "dirfd") throw new SyscallError("openat", fd.errno, [], `open ${here}`);
        // Missing, or a directory this process cannot search: nothing there for it.
        if (fd.code === "ENOENT" || fd.code === "ENOTDIR" || (fd.code === "EACCES" && !last))
          return want === "file" ? undefined : false;
        // A file that exists but cannot be read is an error, not a reason to look elsewhere.
        throw new SyscallError("openat", fd.errno, [], `open ${here}`);
      }
      const st = fstat(fd);
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINKS) refuse(here, "symlink", "part of a loop", "fix the symlinks");
        if (!owners.includes(st.uid))
          refuse(here, "symlink", `owned by uid ${st.uid}, not ${ownerNames(owners)}`, chown(here));
        const target = libc.readlinkat(fd, "");
        close(fd);
        rest.unshift(...target.split("/").filter((c) => c && c !== "."));
        if (target.startsWith("/")) {
          close(dir.fd);
          dir = { ...openRoot(), path: "/" };
        }
        continue;
      }
      if (!last || want === "dirfd") {
        if (!st.isDirectory()) {
          if (want === "dirfd")
            throw new SyscallError("openat", 20 /* ENOTDIR */, [], `open ${here}`);
          return want === "file" ? undefined : false;
        }
        check(st, here, "directory", true);
        close(dir.fd);
        dir = { fd, st, path: here };
        continue;
      }
      if (want === "directory") {
        if (!st.isDirectory()) return false;
        check(st, here, "directory", false);
        return true;
      }
      if (!st.isFile()) refuse(here, "file", "not a regular file", `remove ${here}`);
      check(st, here, "file", false);
      return fs.readFileSync(fd, "utf8");
    }
    if (want === "dirfd") {
      const fd = openAt(dir.fd, ".", O_RDONLY | O_DIRECTORY);
      if (typeof fd !== "number") throw new SyscallError("openat", fd.errno, [], `open ${file}`);
      fds.delete(fd); // the caller's
      return fd;
    }
    // The path was "/" itself.
    if (want === "directory") {
      check(dir.st, "/", "directory", false);
      return true;
    }
    return undefined;
  } finally {
    for (const fd of fds) libc.close(fd);
  }
}
