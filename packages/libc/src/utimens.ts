/**
 * File timestamps with nanoseconds: utimensat(2) and futimens(2) through a
 * {@link Libc}. Node's fs.utimes/futimes take seconds as a double and libuv keeps whole
 * microseconds; these keep every nanosecond, and can also leave a timestamp as it is
 * (UTIME_OMIT) or set it to the kernel's current time (UTIME_NOW).
 *
 * @module
 */
import type { Arch } from "./arch.ts";
import type { Libc } from "./libc.ts";

/** `tv_nsec` that sets the timestamp to the current time. */
export const UTIME_NOW = (1 << 30) - 1;
/** `tv_nsec` that leaves the timestamp as it is. */
export const UTIME_OMIT = (1 << 30) - 2;

/**
 * One timestamp for {@link utimensat} and {@link futimens}: seconds and nanoseconds
 * since the epoch (`nsec` 0 to 999,999,999), `"now"` (UTIME_NOW) or `"omit"`
 * (UTIME_OMIT: left as it is).
 *
 * @example
 * ```ts
 * import type { FileTime } from "@forge/libc";
 * const t: FileTime = { sec: 1_200_000_000n, nsec: 123_456_789 };
 * ```
 */
export type FileTime = { readonly sec: bigint | number; readonly nsec: number } | "now" | "omit";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The syscall that takes a 64-bit `struct timespec` on `arch`: `utimensat` where
 * time_t is 64 bits (x86_64, x32, aarch64), `utimensat_time64` on i386 and arm.
 */
function syscallName(arch: Arch): string {
  return arch === "i386" || arch === "arm" ? "utimensat_time64" : "utimensat";
}

/**
 * `struct timespec times[2]` ({atime, mtime}) as the kernel reads it: two pairs of
 * little-endian int64 (tv_sec, tv_nsec), 32 bytes. Throws a RangeError naming the
 * timestamp when `sec` is not an int64 or `nsec` is not 0 to 999,999,999.
 *
 * @example
 * ```ts
 * import { timespecPair } from "@forge/libc";
 * const times = timespecPair("omit", { sec: 1_200_000_000n, nsec: 123_456_789 });
 * console.log(times.length); // 32
 * ```
 */
export function timespecPair(atime: FileTime, mtime: FileTime): Uint8Array {
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  [atime, mtime].forEach((t, i) => {
    const what = i === 0 ? "atime" : "mtime";
    let sec = 0n;
    let nsec: number;
    if (t === "now") nsec = UTIME_NOW;
    else if (t === "omit") nsec = UTIME_OMIT;
    else if (typeof t === "object" && t !== null) {
      if (typeof t.sec === "number" && !Number.isSafeInteger(t.sec))
        throw new RangeError(`${what}: sec must be a whole number of seconds, got ${t.sec}`);
      sec = BigInt(t.sec);
      if (sec < INT64_MIN || sec > INT64_MAX)
        throw new RangeError(`${what}: sec ${sec} does not fit a 64-bit time_t`);
      if (!Number.isInteger(t.nsec) || t.nsec < 0 || t.nsec > 999_999_999)
        throw new RangeError(
          `${what}: nsec must be a whole number from 0 to 999999999, got ${t.nsec}`,
        );
      nsec = t.nsec;
    } else
      throw new TypeError(
        `${what}: expected { sec, nsec }, "now" or "omit", got ${JSON.stringify(t)}`,
      );
    v.setBigInt64(i * 16, sec, true);
    v.setBigInt64(i * 16 + 8, BigInt(nsec), true);
  });
  return out;
}

/**
 * utimensat(2): sets the access and modification times of `path` relative to the
 * directory `dirfd` (AT_FDCWD, -100, for the cwd), to the nanosecond. `flags` is 0 or
 * AT_SYMLINK_NOFOLLOW (0x100: a final symlink is changed itself, not followed).
 * Throws a {@link SyscallError} on failure, a RangeError for an invalid time.
 *
 * @example
 * ```ts
 * import { AT, openLibc, utimensat } from "@forge/libc";
 * utimensat(openLibc(), AT.FDCWD, "/tmp/f", "omit", { sec: 1_200_000_000n, nsec: 123_456_789 });
 * ```
 */
export function utimensat(
  libc: Libc,
  dirfd: number,
  path: string,
  atime: FileTime,
  mtime: FileTime,
  flags = 0,
): void {
  libc.syscall(syscallName(libc.arch), dirfd, path, timespecPair(atime, mtime), flags);
}

/**
 * futimens(2): sets the access and modification times of the open file `fd`, to the
 * nanosecond (made as glibc makes it: utimensat with a NULL path). Throws a
 * {@link SyscallError} on failure, a RangeError for an invalid time.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { futimens, openLibc } from "@forge/libc";
 * const fd = fs.openSync("/tmp/f", "r");
 * futimens(openLibc(), fd, "now", { sec: 1_200_000_000n, nsec: 123_456_789 });
 * fs.closeSync(fd);
 * ```
 */
export function futimens(libc: Libc, fd: number, atime: FileTime, mtime: FileTime): void {
  libc.syscall(syscallName(libc.arch), fd, null, timespecPair(atime, mtime), 0);
}
