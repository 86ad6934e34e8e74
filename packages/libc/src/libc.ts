/**
 * The `Libc` interface: every syscall the layers make in their own process goes
 * through it, so logic can be unit-tested on {@link FakeLibc} and run for real on
 * the koffi binding ({@link openLibc}).
 *
 * @module
 */
import type { Arch } from "./arch.ts";
import { SyscallError } from "./syscall_error.ts";

/** A syscall argument: an integer, a buffer (passed as a pointer), a string (passed as a NUL-terminated copy) or null. */
export type SysArg = number | bigint | Uint8Array | string | null;

/** `struct open_how` for openat2(2). */
export interface OpenHow {
  flags: number;
  mode?: number;
  /** RESOLVE_* bits. */
  resolve?: number;
}

/** RESOLVE_* flags for openat2(2). */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
  CACHED: 0x20,
} as const;

/** What waitid(2) reports. */
export interface WaitInfo {
  pid: number;
  /** CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3)... 0 when nothing was ready (WNOHANG). */
  code: number;
  status: number;
}

/**
 * The syscalls Forge makes in its own process. Every method throws a
 * {@link SyscallError} on failure.
 *
 * @example
 * ```ts
 * import { openLibc } from "@forge/libc";
 * const libc = openLibc();
 * console.log(libc.getuid(), libc.syscall("getpid"));
 * ```
 */
export interface Libc {
  /** The architecture whose syscall numbers this binding uses. */
  readonly arch: Arch;
  /** Any syscall by name; returns its non-negative result. */
  syscall(name: string, ...args: SysArg[]): number;
  getpid(): number;
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  prctl(
    option: number,
    a2?: number | bigint,
    a3?: number | bigint,
    a4?: number | bigint,
    a5?: number | bigint,
  ): number;
  seccomp(operation: number, flags: number, args: Uint8Array | null): number;
  /**
   * Installs a classic-BPF seccomp filter on the calling thread (or every thread with
   * SECCOMP_FILTER_FLAG_TSYNC): builds the `struct sock_fprog` that points at
   * `program` (8 bytes per instruction) and calls seccomp(SECCOMP_SET_MODE_FILTER).
   * Returns what the kernel returns (a listener fd with NEW_LISTENER).
   */
  seccompSetFilter(flags: number, program: Uint8Array): number;
  capget(header: Uint8Array, data: Uint8Array | null): void;
  capset(header: Uint8Array, data: Uint8Array): void;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mount(
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number | bigint,
    data: string | null,
  ): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  sethostname(name: string): void;
  pidfdOpen(pid: number, flags?: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  waitid(idtype: number, id: number, options: number): WaitInfo;
  closeRange(first: number, last: number, flags: number): void;
  ioctl(fd: number, request: number | bigint, arg?: SysArg): number;
  openat2(dirfd: number, path: string, how: OpenHow): number;
  /**
   * openat(2): opens `path` relative to the directory `dirfd` (AT_FDCWD, -100, for the
   * cwd) and returns the new fd. Pass O_NOFOLLOW/O_EXCL to stay off symlinks.
   */
  openat(dirfd: number, path: string, flags: number, mode?: number): number;
  /** readlinkat(2): the target of the symlink `path` in `dirfd` ("" with an O_PATH fd of the link itself). */
  readlinkat(dirfd: number, path: string): string;
  /** renameat(2): renames `oldPath` in `oldDirfd` to `newPath` in `newDirfd`, replacing it atomically. */
  renameat(oldDirfd: number, oldPath: string, newDirfd: number, newPath: string): void;
  /** unlinkat(2): removes `path` in `dirfd` (flags AT_REMOVEDIR for a directory). */
  unlinkat(dirfd: number, path: string, flags?: number): void;
  /** fsync(2): flushes the file (or directory) to the disk. */
  fsync(fd: number): void;
  landlockCreateRuleset(attr: Uint8Array | null, flags: number): number;
  landlockAddRule(rulesetFd: number, ruleType: number, attr: Uint8Array): void;
  landlockRestrictSelf(rulesetFd: number): void;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
  close(fd: number): void;
  pipe2(flags: number): [number, number];
}

/**
 * Implements every {@link Libc} method over one primitive, `rawSyscall`, which
 * returns the result or `-errno`. The koffi binding and the fake both extend it.
 */
export abstract class LibcBase implements Libc {
  abstract readonly arch: Arch;
  /** Makes the syscall; returns its result, or -errno on failure. */
  protected abstract rawSyscall(name: string, args: readonly SysArg[]): number;

  syscall(name: string, ...args: SysArg[]): number {
    const r = this.rawSyscall(name, args);
    if (r < 0) throw new SyscallError(name, -r, args);
    return r;
  }
  getpid(): number {
    return this.syscall("getpid");
  }
  getuid(): number {
    return this.syscall("getuid");
  }
  geteuid(): number {
    return this.syscall("geteuid");
  }
  getgid(): number {
    return this.syscall("getgid");
  }
  getegid(): number {
    return this.syscall("getegid");
  }
  prctl(
    option: number,
    a2: number | bigint = 0,
    a3: number | bigint = 0,
    a4: number | bigint = 0,
    a5: number | bigint = 0,
  ): number {
    return this.syscall("prctl", option, a2, a3, a4, a5);
  }
  seccomp(operation: number, flags: number, args: Uint8Array | null): number {
    return this.syscall("seccomp", operation, flags, args);
  }
  seccompSetFilter(flags: number, program: Uint8Array): number {
    if (program.length === 0 || program.length % 8 !== 0 || program.length / 8 > 0xffff) {
      throw new RangeError(
        `seccomp filter: expected 1 to 65535 instructions of 8 bytes, got ${program.length} bytes`,
      );
    }
    return this.withPointer(program, (address) => {
      const fprog = new Uint8Array(16);
      const v = new DataView(fprog.buffer);
      v.setUint16(0, program.length / 8, true);
      v.setBigUint64(8, address, true);
      return this.syscall("seccomp", 1 /* SECCOMP_SET_MODE_FILTER */, flags, fprog);
    });
  }
  /**
   * Runs `f` with the address of a copy of `bytes` that stays put for the call (for
   * structs that point at other memory). The fake passes 0.
   */
  protected abstract withPointer<T>(bytes: Uint8Array, f: (address: bigint) => T): T;
  capget(header: Uint8Array, data: Uint8Array | null): void {
    this.syscall("capget", header, data);
  }
  capset(header: Uint8Array, data: Uint8Array): void {
    this.syscall("capset", header, data);
  }
  unshare(flags: number): void {
    this.syscall("unshare", flags);
  }
  setns(fd: number, nstype: number): void {
    this.syscall("setns", fd, nstype);
  }
  mount(
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number | bigint,
    data: string | null,
  ): void {
    this.syscall("mount", source, target, fstype, flags, data);
  }
  umount2(target: string, flags: number): void {
    this.syscall("umount2", target, flags);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.syscall("pivot_root", newRoot, putOld);
  }
  sethostname(name: string): void {
    this.syscall("sethostname", name, Buffer.byteLength(name));
  }
  pidfdOpen(pid: number, flags = 0): number {
    return this.syscall("pidfd_open", pid, flags);
  }
  pidfdSendSignal(pidfd: number, signal: number): void {
    this.syscall("pidfd_send_signal", pidfd, signal, null, 0);
  }
  waitid(idtype: number, id: number, options: number): WaitInfo {
    const si = new Uint8Array(128);
    this.syscall("waitid", idtype, id, si, options, null);
    const v = new DataView(si.buffer);
    return { code: v.getInt32(8, true), pid: v.getInt32(16, true), status: v.getInt32(24, true) };
  }
  closeRange(first: number, last: number, flags: number): void {
    this.syscall("close_range", first, last >>> 0, flags);
  }
  ioctl(fd: number, request: number | bigint, arg: SysArg = 0): number {
    return this.syscall("ioctl", fd, request, arg);
  }
  openat2(dirfd: number, path: string, how: OpenHow): number {
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setBigUint64(0, BigInt(how.flags), true);
    v.setBigUint64(8, BigInt(how.mode ?? 0), true);
    v.setBigUint64(16, BigInt(how.resolve ?? 0), true);
    return this.syscall("openat2", dirfd, path, h, 24);
  }
  openat(dirfd: number, path: string, flags: number, mode = 0): number {
    return this.syscall("openat", dirfd, path, flags, mode);
  }
  readlinkat(dirfd: number, path: string): string {
    const buf = new Uint8Array(4096);
    const n = this.syscall("readlinkat", dirfd, path, buf, buf.length);
    if (n >= buf.length)
      throw new RangeError(`readlinkat(${dirfd}, "${path}"): the target is longer than PATH_MAX`);
    return Buffer.from(buf.buffer, 0, n).toString("utf8");
  }
  renameat(oldDirfd: number, oldPath: string, newDirfd: number, newPath: string): void {
    this.syscall("renameat", oldDirfd, oldPath, newDirfd, newPath);
  }
  unlinkat(dirfd: number, path: string, flags = 0): void {
    this.syscall("unlinkat", dirfd, path, flags);
  }
  fsync(fd: number): void {
    this.syscall("fsync", fd);
  }
  landlockCreateRuleset(attr: Uint8Array | null, flags: number): number {
    return this.syscall("landlock_create_ruleset", attr, attr ? attr.length : 0, flags);
  }
  landlockAddRule(rulesetFd: number, ruleType: number, attr: Uint8Array): void {
    this.syscall("landlock_add_rule", rulesetFd, ruleType, attr, 0);
  }
  landlockRestrictSelf(rulesetFd: number): void {
    this.syscall("landlock_restrict_self", rulesetFd, 0);
  }
  read(fd: number, buf: Uint8Array): number {
    return this.syscall("read", fd, buf, buf.length);
  }
  write(fd: number, buf: Uint8Array): number {
    return this.syscall("write", fd, buf, buf.length);
  }
  close(fd: number): void {
    this.syscall("close", fd);
  }
  pipe2(flags: number): [number, number] {
    const fds = new Int32Array(2);
    this.syscall("pipe2", new Uint8Array(fds.buffer), flags);
    return [fds[0]!, fds[1]!];
  }
}
