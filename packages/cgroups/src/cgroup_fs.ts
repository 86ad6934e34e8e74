/**
 * The file operations the cgroup writer makes, behind an interface so that the v2
 * writer can run against {@link FakeCgroupFs} in unit tests and against the kernel's
 * cgroupfs for real.
 *
 * @module
 */
import fs from "node:fs";

/**
 * File operations on a cgroup filesystem. Every method throws an error whose `code`
 * is the errno name ("EINVAL", "EBUSY", "ENOENT"), like Node's fs errors.
 *
 * @example
 * ```ts
 * import { nodeCgroupFs } from "@forge/cgroups";
 * console.log(nodeCgroupFs.read("/sys/fs/cgroup/pids/pids.max"));
 * ```
 */
export interface CgroupFs {
  /** The whole file as text. */
  read(path: string): string;
  /** One write(2) of `data` (cgroup files take one value per write). */
  write(path: string, data: string): void;
  mkdir(path: string): void;
  rmdir(path: string): void;
  exists(path: string): boolean;
  /** The names of the subdirectories of `path`. */
  listDirs(path: string): string[];
  /** Whether this process may write to `path` (access(2) W_OK). */
  writable(path: string): boolean;
  /** An O_PATH|O_DIRECTORY fd of `path` (for CLONE_INTO_CGROUP). */
  openDir(path: string): number;
  /**
   * An O_WRONLY|O_CLOEXEC fd of the file `path`, for a child to write to before it
   * execs (v1 `tasks`: a child that moves itself is placed without the global lock a
   * move by pid takes). Optional: without it, v1 placement writes the child's pid.
   */
  openWrite?(path: string): number;
  close(fd: number): void;
}

const O_PATH = 0o10000000;

/**
 * The real cgroupfs, through node:fs.
 *
 * @example
 * ```ts
 * import { nodeCgroupFs } from "@forge/cgroups";
 * nodeCgroupFs.write("/sys/fs/cgroup/pids/forge/pids.max", "32");
 * ```
 */
export const nodeCgroupFs: CgroupFs = {
  read: (p) => fs.readFileSync(p, "utf8"),
  write(p, data) {
    const fd = fs.openSync(p, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir: (p) => fs.mkdirSync(p),
  rmdir: (p) => fs.rmdirSync(p),
  exists: (p) => fs.existsSync(p),
  listDirs: (p) =>
    fs
      .readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
  writable(p) {
    try {
      fs.accessSync(p, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  openDir: (p) => fs.openSync(p, O_PATH | fs.constants.O_DIRECTORY),
  // Node opens every file O_CLOEXEC.
  openWrite: (p) => fs.openSync(p, fs.constants.O_WRONLY),
  close: (fd) => fs.closeSync(fd),
};
