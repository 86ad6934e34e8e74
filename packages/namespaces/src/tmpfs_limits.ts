/**
 * How big a sandbox's tmpfs may grow, in bytes and in inodes. `size=` alone does not
 * bound a tmpfs: empty files take no data pages, only inodes and dentries in the
 * kernel's slab (about 1 KiB each, charged to no tmpfs size), so 800,000 empty files in
 * a 64 MiB /tmp grow the host's slab by ~800 MB. Every tmpfs Forge mounts therefore
 * gets `nr_inodes=` too: the one asked for, or one inode per {@link BYTES_PER_INODE}
 * bytes of its size, never fewer than {@link MIN_TMPFS_INODES}.
 *
 * @module
 */
import os from "node:os";

/** The size of a tmpfs that names none: 64 MiB. */
export const DEFAULT_TMPFS_SIZE = "64m";

/** Bytes of size per default inode: a tmpfs full of empty files holds ~1/4 of its size in slab. */
export const BYTES_PER_INODE = 4096;

/** The fewest inodes a tmpfs gets by default (a small tmpfs still holds many small files). */
export const MIN_TMPFS_INODES = 1024;

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/**
 * The bytes a tmpfs `size=` stands for, as the kernel reads it: a number with an optional
 * k, m or g (binary units), or a percentage of RAM.
 *
 * @example
 * ```ts
 * import { tmpfsBytes } from "@forge/namespaces";
 * tmpfsBytes("64m"); // 67108864
 * tmpfsBytes(4096); // 4096
 * ```
 */
export function tmpfsBytes(size: number | string, totalMemory?: number): number {
  if (typeof size === "number") {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`tmpfs size ${size}: expected a whole number of bytes >= 1`);
    return size;
  }
  const m = /^(\d+)([kmg%]?)$/i.exec(size.trim());
  if (!m)
    throw new RangeError(
      `tmpfs size ${JSON.stringify(size)}: expected bytes or a number with k, m, g or % (e.g. 64m)`,
    );
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  // os.totalmem() reads /proc/meminfo: only for a size in % (this runs on every launch).
  const bytes =
    unit === "%" ? Math.floor(((totalMemory ?? os.totalmem()) * n) / 100) : n * UNITS[unit]!;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RangeError(
      `tmpfs size ${JSON.stringify(size)}: must be at least one byte and not absurdly large`,
    );
  return bytes;
}

/**
 * Parses an inode count as `nr_inodes=` takes it: a whole number >= 1 with an optional
 * k, m or g (binary units, as the kernel's memparse).
 *
 * @example
 * ```ts
 * import { parseTmpfsInodes } from "@forge/namespaces";
 * parseTmpfsInodes("16k"); // 16384
 * ```
 */
export function parseTmpfsInodes(text: string | number, what = "tmpfs inodes"): number {
  const m = /^(\d+)([kmg]?)$/i.exec(String(text).trim());
  const n = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32 - 1)
    throw new RangeError(
      `${what} ${JSON.stringify(String(text))}: expected a whole number of inodes from 1 to 4294967295, optionally with k, m or g (e.g. 16k)`,
    );
  return n;
}

/**
 * The `nr_inodes=` of a tmpfs: `inodes` when given, else one per {@link BYTES_PER_INODE}
 * bytes of `size` (default {@link DEFAULT_TMPFS_SIZE}), at least {@link MIN_TMPFS_INODES}.
 *
 * @example
 * ```ts
 * import { tmpfsInodes } from "@forge/namespaces";
 * tmpfsInodes("64m"); // 16384
 * tmpfsInodes("1m"); // 1024 (the floor)
 * tmpfsInodes("64m", 500); // 500
 * ```
 */
export function tmpfsInodes(
  size: number | string = DEFAULT_TMPFS_SIZE,
  inodes?: number | string,
  totalMemory?: number,
): number {
  if (inodes !== undefined) return parseTmpfsInodes(inodes);
  return Math.max(MIN_TMPFS_INODES, Math.ceil(tmpfsBytes(size, totalMemory) / BYTES_PER_INODE));
}
