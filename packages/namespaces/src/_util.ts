/** Private helpers: kernel constants of the new mount API and step builders. */
import { AT, O, RESOLVE, type Step, type StepArg } from "@forge/libc";

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REC: 0x4000,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
} as const;

export const MOUNT_ATTR = { RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8 } as const;
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = O.CLOEXEC;
export const MOVE_MOUNT = { F_EMPTY_PATH: 0x4, T_EMPTY_PATH: 0x40 } as const;
export const FSCONFIG = { SET_FLAG: 0, SET_STRING: 1, CMD_CREATE: 6 } as const;
export const FSOPEN_CLOEXEC = 1;
export const FSMOUNT_CLOEXEC = 1;
export const MNT_DETACH = 2;
export const S_IFREG = 0o100000;
export const STATX_TYPE = 0x1;
export const STATX_INO = 0x100;
export const FUTEX_WAIT_PRIVATE = 128;
export const ETIMEDOUT = 110;
export const CLOSE_RANGE_CLOEXEC = 4;
export const MOUNT_ATTR_SIZE = 32;

/** Resolution flags for every path Forge resolves inside the new root. */
export const SAFE_BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
/** Resolution flags for host paths (absolute, so no BENEATH). */
export const SAFE_HOST = RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/** `struct open_how` bytes for openat2 steps. */
export function openHow(flags: number, resolve: number, mode = 0): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(flags), true);
  v.setBigUint64(8, BigInt(mode), true);
  v.setBigUint64(16, BigInt(resolve), true);
  return b;
}

/** `struct mount_attr` bytes for mount_setattr / fsmount. */
export function mountAttr(set: number, clr = 0, propagation = 0): Uint8Array {
  const b = new Uint8Array(MOUNT_ATTR_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(set), true);
  v.setBigUint64(8, BigInt(clr), true);
  v.setBigUint64(16, BigInt(propagation), true);
  return b;
}

/** Steps that open a file (O_WRONLY) and write text to it. */
export function writeFileSteps(
  dirfd: StepArg,
  file: string,
  text: string,
  id: string,
  what: string,
): Step[] {
  return [
    {
      label: `open ${what}`,
      syscall: "openat",
      args: [dirfd, { cstring: file }, O.WRONLY | O.CLOEXEC],
      id,
    },
    {
      label: `write "${text.trim()}" to ${what}`,
      syscall: "write",
      args: [{ result: id }, { bytes: Buffer.from(text) }, Buffer.byteLength(text)],
    },
    { label: `close ${what}`, syscall: "close", args: [{ result: id }] },
  ];
}

/** Splits an absolute, normalized path into components; throws TypeError otherwise. */
export function components(p: string, what: string): string[] {
  if (typeof p !== "string" || !p.startsWith("/"))
    throw new TypeError(`${what} must be an absolute path, got ${JSON.stringify(p)}`);
  if (p.includes("\0")) throw new TypeError(`${what} contains a NUL byte: ${JSON.stringify(p)}`);
  const parts = p.split("/").filter((c) => c !== "");
  for (const c of parts) {
    if (c === "." || c === "..")
      throw new TypeError(`${what} must not contain "." or ".." components: ${JSON.stringify(p)}`);
  }
  return parts;
}

/** `AT_EMPTY_PATH` with an empty path argument. */
export const EMPTY: StepArg = { cstring: "" };
export const FDCWD = AT.FDCWD;
