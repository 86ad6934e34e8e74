import fs from "node:fs";

/** O_PATH (Linux): a handle for walking, not for reading. Node has the value but no name for it. */
export const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fs.constants;
const O_CLOEXEC = 0o2000000;
const MAX_SYMLINKS = 32;

/**
 * A directory made visible to a module: the host directory (canonical path, and an
 * fd opened on it once, at set-up), the name the guest sees, and whether it is read-only.
 *
 * @example
 * ```ts
 * import { openPreopen } from "@forge/wasm-host";
 * const p = openPreopen({ host: "/tmp", guest: "/tmp", readOnly: true });
 * console.log(p.host, p.readOnly);
 * ```
 */
export interface Preopen {
  readonly host: string;
  readonly guest: string;
  readonly readOnly: boolean;
  readonly rootFd: number;
}

/**
 * How to preopen a directory.
 *
 * @example
 * ```ts
 * import type { PreopenSpec } from "@forge/wasm-host";
 * const spec: PreopenSpec = { host: "./data", guest: "/data", readOnly: true };
 * ```
 */
export interface PreopenSpec {
  readonly host: string;
  readonly guest: string;
  readonly readOnly?: boolean;
}

/** An error carrying an errno name in `code`, like Node's own fs errors. */
export function fsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** `/proc/self/fd/<fd>[/<name>]`: the kernel resolves it to the open file itself. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

let procChecked = false;

/**
 * Opens a preopen's root directory. Requires /proc (the resolver works through
 * /proc/self/fd, see the README); throws a TypeError naming the fix when it is missing.
 *
 * @example
 * ```ts
 * import { openPreopen } from "@forge/wasm-host";
 * const p = openPreopen({ host: ".", guest: "/work" });
 * ```
 */
export function openPreopen(spec: PreopenSpec): Preopen {
  if (!procChecked) {
    try {
      fs.readlinkSync("/proc/self/fd/0");
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT" && (e as { code?: string }).code !== "EBADF") {
        throw new TypeError(
          "preopened directories need /proc mounted (the path resolver works through /proc/self/fd)",
        );
      }
    }
    procChecked = true;
  }
  let host: string;
  try {
    host = fs.realpathSync(spec.host);
  } catch (e) {
    throw new TypeError(`--dir ${spec.host}: ${(e as Error).message}`);
  }
  if (!fs.statSync(host).isDirectory()) throw new TypeError(`--dir ${spec.host}: not a directory`);
  if (!spec.guest.startsWith("/") && spec.guest !== "." && spec.guest !== "") {
    // wasi-libc accepts relative preopen names too, but absolute ones are the norm.
  }
  const rootFd = fs.openSync(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return { host, guest: spec.guest, readOnly: spec.readOnly ?? false, rootFd };
}

/** Whether `fd` (as the kernel sees it now) lies inside the preopen's host directory. */
export function isInside(pre: Preopen, fd: number): boolean {
  let p = fs.readlinkSync(fdPath(fd));
  if (p.endsWith(" (deleted)")) p = p.slice(0, -" (deleted)".length);
  return pre.host === "/" || p === pre.host || p.startsWith(`${pre.host}/`);
}

/**
 * The outcome of {@link resolvePath}: a directory fd inside the preopen (opened
 * component by component with O_NOFOLLOW) and one final name (no "/" in it, never
 * ".."), to be used as `/proc/self/fd/<dirFd>/<name>`. Call `release()` when done.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { fdPath, openPreopen, resolvePath } from "@forge/wasm-host";
 * const pre = openPreopen({ host: "/tmp", guest: "/tmp" });
 * const r = resolvePath(pre, { fd: pre.rootFd, rel: [] }, "a/b.txt", true);
 * try { console.log(fs.existsSync(fdPath(r.dirFd, r.name))); } finally { r.release(); }
 * ```
 */
export interface Resolved {
  readonly dirFd: number;
  readonly name: string;
  /** Components from the preopen root to the final name (for audit and new fds). */
  readonly rel: readonly string[];
  /** The path ended in "/": the final object must be a directory. */
  readonly mustBeDir: boolean;
  release(): void;
}

/**
 * Resolves a guest path relative to a directory of a preopen, the way openat2 with
 * RESOLVE_BENEATH would: absolute paths are refused, ".." is applied by us (never by
 * the kernel) and refused above the preopen root, every intermediate component is
 * opened with O_PATH|O_DIRECTORY|O_NOFOLLOW relative to the previous one (through
 * /proc/self/fd), and symbolic links are read and spliced in by us (absolute targets
 * refused, at most 32 hops). With `follow`, a final symlink is followed the same way.
 * Throws errors whose `code` is an errno name (ENOTCAPABLE for an escape).
 *
 * @example
 * ```ts
 * import { openPreopen, resolvePath } from "@forge/wasm-host";
 * const pre = openPreopen({ host: "/tmp", guest: "/tmp" });
 * try { resolvePath(pre, { fd: pre.rootFd, rel: [] }, "../etc/passwd", true); } catch (e) { console.log(e.code); } // ENOTCAPABLE
 * ```
 */
export function resolvePath(
  pre: Preopen,
  base: { readonly fd: number; readonly rel: readonly string[] },
  path: string,
  follow: boolean,
): Resolved {
  if (path.includes("\0")) throw fsError("EINVAL", "path contains a NUL byte");
  if (path.startsWith("/"))
    throw fsError(
      "ENOTCAPABLE",
      `absolute path "${path}" is outside the capability of a directory fd; use a path relative to a preopen`,
    );
  let p = path;
  let mustBeDir = false;
  while (p.length > 1 && p.endsWith("/")) {
    p = p.slice(0, -1);
    mustBeDir = true;
  }
  if (p === "") throw fsError("ENOENT", "empty path");
  const queue = p.split("/").reverse();
  let fds: number[] = [base.fd];
  let owned: boolean[] = [false];
  let names: string[] = [...base.rel];
  let baseDepth = base.rel.length; // names represented by fds[0]
  let links = 0;
  const release = () => {
    for (let i = 0; i < fds.length; i++) if (owned[i]) fs.closeSync(fds[i]!);
    fds = [];
    owned = [];
  };
  const splice = (dir: number, name: string) => {
    if (++links > MAX_SYMLINKS) throw fsError("ELOOP", `too many symbolic links in "${path}"`);
    const target = fs.readlinkSync(fdPath(dir, name));
    if (target === "") throw fsError("ENOENT", `empty symbolic link "${name}"`);
    if (target.startsWith("/")) {
      throw fsError(
        "ENOTCAPABLE",
        `symbolic link "${name}" points to the absolute path "${target}", outside the preopen`,
      );
    }
    const parts = target.split("/");
    if (target.endsWith("/")) mustBeDir = true;
    for (let i = parts.length - 1; i >= 0; i--) queue.push(parts[i]!);
  };
  try {
    if (base.fd !== pre.rootFd && !isInside(pre, base.fd)) {
      throw fsError("ENOTCAPABLE", "the directory was moved out of its preopen");
    }
    while (queue.length > 0) {
      const c = queue.pop()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (fds.length > 1) {
          if (owned[owned.length - 1]) fs.closeSync(fds[fds.length - 1]!);
          fds.pop();
          owned.pop();
          names.pop();
          continue;
        }
        if (baseDepth === 0)
          throw fsError("ENOTCAPABLE", `"${path}" leaves the preopened directory`);
        // Step above the base fd: re-walk from the root to its parent, checking each step.
        const chain = names.slice(0, baseDepth - 1);
        release();
        fds = [pre.rootFd];
        owned = [false];
        names = [];
        baseDepth = 0;
        for (const n of chain) {
          fds.push(openDir(fds[fds.length - 1]!, n));
          owned.push(true);
          names.push(n);
        }
        continue;
      }
      if (c.length > 255) throw fsError("ENAMETOOLONG", `path component longer than 255 bytes`);
      const top = fds[fds.length - 1]!;
      const last = queue.every((q) => q === "" || q === ".");
      if (last) {
        if (!follow && !mustBeDir) return done(top, c);
        let st: fs.Stats;
        try {
          st = fs.lstatSync(fdPath(top, c));
        } catch (e) {
          if ((e as { code?: string }).code === "ENOENT") return done(top, c);
          throw e;
        }
        if (st.isSymbolicLink()) {
          splice(top, c);
          continue;
        }
        if (mustBeDir && !st.isDirectory())
          throw fsError("ENOTDIR", `"${path}" is not a directory`);
        return done(top, c);
      }
      let fd: number;
      try {
        fd = fs.openSync(fdPath(top, c), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "ENOTDIR" || code === "ELOOP") {
          if (fs.lstatSync(fdPath(top, c)).isSymbolicLink()) {
            splice(top, c);
            continue;
          }
          throw fsError("ENOTDIR", `"${c}" in "${path}" is not a directory`);
        }
        throw e;
      }
      fds.push(fd);
      owned.push(true);
      names.push(c);
    }
    return done(fds[fds.length - 1]!, ".");
  } catch (e) {
    release();
    throw e;
  }

  function done(dirFd: number, name: string): Resolved {
    return { dirFd, name, rel: name === "." ? [...names] : [...names, name], mustBeDir, release };
  }
}

function openDir(parent: number, name: string): number {
  try {
    return fs.openSync(fdPath(parent, name), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOTDIR" || code === "ELOOP") {
      throw fsError("ENOTCAPABLE", `"${name}" was replaced by a non-directory while in use`);
    }
    throw e;
  }
}

/**
 * Checks a symlink's contents before creating it: refuses absolute targets and targets
 * that climb above the preopen root from where the link lives. Throws ENOTCAPABLE.
 *
 * @example
 * ```ts
 * import { checkSymlinkTarget } from "@forge/wasm-host";
 * checkSymlinkTarget("../x", ["a", "link"]); // fine: stays inside
 * ```
 */
export function checkSymlinkTarget(target: string, linkRel: readonly string[]): void {
  if (target.startsWith("/"))
    throw fsError("ENOTCAPABLE", `symlink target "${target}" is absolute`);
  let depth = linkRel.length - 1;
  for (const c of target.split("/")) {
    if (c === "..") depth--;
    else if (c !== "" && c !== ".") depth++;
    if (depth < 0)
      throw fsError("ENOTCAPABLE", `symlink target "${target}" leaves the preopened directory`);
  }
}
