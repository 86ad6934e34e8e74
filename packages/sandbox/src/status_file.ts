/**
 * Writing a file on the host on behalf of a sandbox (the `--json-status` record)
 * without following anything the sandbox could have planted: the directory is opened
 * once, before the payload starts, and the file is created under a fresh temporary
 * name in it (O_CREAT|O_EXCL|O_NOFOLLOW), written, flushed and renamed over the final
 * name relative to that directory's fd. A symlink the payload put at the final name is
 * replaced, never followed; a directory it swapped afterwards is never entered; and the
 * directory's path is walked one component at a time, following a symlink only when it
 * belongs to root or to us, so that a link planted on the way by an earlier run (whose
 * files, as root, belong to uid 65534) cannot send the write elsewhere either.
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { errnoMessage, type Libc, openLibc, SyscallError } from "@forge/libc";
import {
  openDirThroughTrustedLinks,
  type TrustedFileOptions,
  UntrustedFileError,
} from "./trusted_file.ts";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const O_CLOEXEC = 0o2000000;

/**
 * `n` random bytes as hex, from node:crypto loaded on first use: loading it costs a cold
 * `forge run` ~3 ms, and only a run with --json-status writes a file.
 */
let randomBytes: typeof import("node:crypto").randomBytes | undefined;
function randomHex(n: number): string {
  randomBytes ??= (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto"))
    .randomBytes;
  return randomBytes(n).toString("hex");
}

/**
 * Opens the directory `dir` (absolute) for reading, walking it one component at a time
 * with O_PATH|O_NOFOLLOW and following a symlink only when its owner is one of
 * `owners`; throws a StatusFileError naming the link otherwise.
 */
/**
 * A status file that could not be written: the message is one line naming the file
 * and what failed.
 *
 * @example
 * ```ts
 * import { openStatusFile, StatusFileError } from "@forge/sandbox";
 * try {
 *   openStatusFile("/no/such/dir/status.json").write({ reason: "exit" });
 * } catch (e) {
 *   if (e instanceof StatusFileError) console.error(e.message);
 *   // /no/such/dir/status.json: cannot open its directory /no/such/dir: ENOENT (No such file or directory)
 * }
 * ```
 */
export class StatusFileError extends Error {
  override name = "StatusFileError";
  readonly file: string;
  /** The errno name when a syscall failed ("ENOENT"). */
  readonly code: string | undefined;
  constructor(file: string, what: string, cause?: unknown) {
    const detail =
      cause instanceof SyscallError
        ? `${cause.code} (${errnoMessage(cause.errno)})`
        : cause instanceof Error
          ? cause.message
          : "";
    super(`${file}: ${what}${detail ? `: ${detail}` : ""}`);
    this.file = file;
    this.code = cause instanceof SyscallError ? cause.code : undefined;
  }
}

/** A status file whose directory is already open; see {@link openStatusFile}. */
export interface StatusFile {
  /** The path as given. */
  readonly file: string;
  /**
   * Writes `record` as JSON (atomically: a reader sees the old file or the new one),
   * then closes the directory. Throws a {@link StatusFileError}, including the one
   * from opening the directory, which {@link openStatusFile} kept for this moment.
   */
  write(record: unknown): void;
  /** Closes the directory without writing (idempotent). */
  close(): void;
}

/**
 * Opens the directory of `file` now (call it before the sandbox starts) and returns a
 * handle that writes the file there later. Never throws: a directory that cannot be
 * opened is reported by `write()`, so that a caller can report it after the run
 * without changing the run's outcome.
 *
 * @example
 * ```ts
 * import { openStatusFile, Sandbox } from "@forge/sandbox";
 * const status = openStatusFile("./status.json");
 * const box = Sandbox.start({ argv: ["/bin/true"] });
 * status.write((await box.wait()).record);
 * ```
 */
export function openStatusFile(
  file: string,
  opts: {
    libc?: Libc;
    mode?: number;
    /** Whose symlinks on the way to the directory are followed (default: root and us). */
    owners?: readonly number[];
    /** fstat(2) for the walk (tests give one that answers for a fake libc's fds). */
    fstat?: TrustedFileOptions["fstat"];
  } = {},
): StatusFile {
  const libc = opts.libc ?? openLibc();
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  let dirfd = -1;
  let openError: StatusFileError | undefined;
  if (file === "" || file.endsWith("/") || base === "." || base === "..") {
    openError = new StatusFileError(file, "not a file name");
  } else {
    try {
      const euid = process.geteuid?.() ?? 0;
      dirfd = openDirThroughTrustedLinks(dir, {
        libc,
        owners: opts.owners ?? [...new Set([0, euid])],
        ...(opts.fstat ? { fstat: opts.fstat } : {}),
      });
    } catch (e) {
      openError =
        e instanceof UntrustedFileError
          ? new StatusFileError(
              file,
              `refused: ${e.culprit} is a symlink ${e.reason}, which a sandboxed job could have planted; give --json-status a path without it`,
            )
          : new StatusFileError(file, `cannot open its directory ${dir}`, e);
    }
  }
  const close = () => {
    if (dirfd >= 0) libc.close(dirfd);
    dirfd = -1;
  };
  return {
    file,
    close,
    write(record: unknown): void {
      if (openError) throw openError;
      if (dirfd < 0) throw new StatusFileError(file, "already written or closed");
      const data = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
      const tmp = `.${base}.${randomHex(6)}.tmp`;
      let fd = -1;
      let created = false;
      let step = `cannot create ${path.join(dir, tmp)}`;
      try {
        fd = libc.openat(
          dirfd,
          tmp,
          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
          opts.mode ?? 0o644,
        );
        created = true;
        step = "cannot write it";
        for (let off = 0; off < data.length; ) {
          const n = libc.write(fd, data.subarray(off));
          if (n <= 0) throw new Error("the write made no progress");
          off += n;
        }
        libc.fsync(fd);
        libc.close(fd);
        fd = -1;
        step = "cannot replace it with the new file";
        libc.renameat(dirfd, tmp, dirfd, base);
        try {
          libc.fsync(dirfd);
        } catch {
          // the rename is done; a directory that cannot be flushed (some filesystems) is fine
        }
      } catch (e) {
        if (fd >= 0) libc.close(fd);
        try {
          if (created) libc.unlinkat(dirfd, tmp);
        } catch {
          // already gone
        }
        throw new StatusFileError(file, step, e);
      } finally {
        close();
      }
    },
  };
}
