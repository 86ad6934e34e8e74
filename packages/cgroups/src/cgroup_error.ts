/**
 * The error callers catch when a cgroup cannot be set up as asked.
 *
 * @module
 */

/**
 * A cgroup could not be created, configured, verified or removed. The message is
 * one line that says what failed, where, and how to fix it; `code` is the errno
 * name when a syscall failed ("EINVAL", "EACCES"), or a Forge reason
 * ("NO_DELEGATION", "UNSUPPORTED", "VERIFY").
 *
 * @example
 * ```ts
 * import { CgroupError, createCgroup } from "@forge/cgroups";
 * try {
 *   createCgroup({ memory: 256 * 1024 * 1024 }, { mode: "strict" });
 * } catch (e) {
 *   if (e instanceof CgroupError) console.error(e.message);
 * }
 * ```
 */
export class CgroupError extends Error {
  override name = "CgroupError";
  /** errno name or Forge reason. */
  readonly code: string;
  /** The file or directory involved, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, code: string, path?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}
