/**
 * Kernel constants the layers share (uapi values, identical on x86_64 and aarch64).
 *
 * @module
 */

/** Namespace and clone flags. */
export const CLONE = {
  NEWTIME: 0x80,
  VM: 0x100,
  FS: 0x200,
  FILES: 0x400,
  SIGHAND: 0x800,
  PIDFD: 0x1000,
  VFORK: 0x4000,
  PARENT: 0x8000,
  THREAD: 0x10000,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  INTO_CGROUP: 0x200000000,
} as const;

/** open(2) flags. */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** `AT_FDCWD` and the *at() flags. */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  SYMLINK_FOLLOW: 0x400,
  EMPTY_PATH: 0x1000,
  RECURSIVE: 0x8000,
} as const;

/** prctl(2) options used by Forge. */
export const PR = {
  SET_PDEATHSIG: 1,
  GET_DUMPABLE: 3,
  SET_DUMPABLE: 4,
  GET_KEEPCAPS: 7,
  SET_KEEPCAPS: 8,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  GET_SECUREBITS: 27,
  SET_SECUREBITS: 28,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
  GET_SECCOMP: 21,
  SET_SECCOMP: 22,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_LOWER: 3,
  CAP_AMBIENT_CLEAR_ALL: 4,
  CAP_AMBIENT_IS_SET: 1,
  SET_CHILD_SUBREAPER: 36,
} as const;

/** Signals (numbers as on x86_64 and aarch64). */
export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/**
 * A signal's number from its name ("SIGTERM", "TERM") or number.
 *
 * @example
 * ```ts
 * import { signalNumber } from "@forge/libc";
 * signalNumber("TERM"); // 15
 * ```
 */
export function signalNumber(sig: string | number): number {
  if (typeof sig === "number") return sig;
  const n =
    SIGNALS[sig.toUpperCase().startsWith("SIG") ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`];
  if (n === undefined) throw new RangeError(`unknown signal "${sig}"`);
  return n;
}

/**
 * A signal's name from its number ("SIGKILL"), or `SIG<n>` for real-time signals.
 *
 * @example
 * ```ts
 * import { signalName } from "@forge/libc";
 * signalName(9); // "SIGKILL"
 * ```
 */
export function signalName(sig: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === sig) return k;
  return `SIG${sig}`;
}
