/**
 * A builder for programs that construct profiles: named groups of syscalls
 * (allowFileIO(), allowNetworking(), ..., blockDangerous()) and plain rules, producing
 * the same OCI profile objects the compiler reads from JSON.
 *
 * @module
 */
import { type ActionName, actionToOci, parseAction } from "./action.ts";
import { everyCombination, lowWordIn, rangesExcept } from "./cover.ts";
import type { Operator, SeccompArg, SeccompProfile, SeccompRule, U64 } from "./profile.ts";

/** errno numbers the builder uses. */
const EPERM = 1;
const ENOSYS = 38;

/**
 * ioctl commands that inject input into a terminal (TIOCSTI) or act on the console
 * (TIOCLINUX); {@link SeccompProfileBuilder.allowIoctls} allows every other one.
 *
 * @example
 * ```ts
 * import { TERMINAL_INJECTION_IOCTLS } from "@forge/seccomp";
 * TERMINAL_INJECTION_IOCTLS.includes(0x5412); // true (TIOCSTI)
 * ```
 */
export const TERMINAL_INJECTION_IOCTLS: readonly number[] = [0x5412, 0x541c];
/**
 * ioctl commands that change a file's inode flags, project or version (chattr's
 * FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR, FS_IOC_SETVERSION, with their 32-bit forms): a
 * write to the file's metadata, which a read-only profile refuses.
 *
 * @example
 * ```ts
 * import { FILE_ATTRIBUTE_IOCTLS } from "@forge/seccomp";
 * FILE_ATTRIBUTE_IOCTLS.includes(0x40086602); // true (FS_IOC_SETFLAGS)
 * ```
 */
export const FILE_ATTRIBUTE_IOCTLS: readonly number[] = [
  0x40046602, 0x40086602, 0x401c5820, 0x40047602, 0x40087602,
];
/**
 * Socket families that are no network: AF_PACKET (raw frames of the netns) and
 * AF_VSOCK (the hypervisor, beyond any netns). allowNetworking() leaves them out.
 *
 * @example
 * ```ts
 * import { NON_NETWORK_FAMILIES } from "@forge/seccomp";
 * NON_NETWORK_FAMILIES; // [17, 40]
 * ```
 */
export const NON_NETWORK_FAMILIES: readonly number[] = [17, 40];
/**
 * The largest socket family the built-in profiles allow at all: 63, also the bit field
 * (2^6 - 1) the family sets are written in (Linux 6.18 has 46 families; the kernel
 * fails a family >= AF_MAX with EAFNOSUPPORT, a profile with its default action).
 *
 * @example
 * ```ts
 * import { FAMILY_LIMIT } from "@forge/seccomp";
 * FAMILY_LIMIT; // 63
 * ```
 */
export const FAMILY_LIMIT = 63;
/** SOCK_RAW, in the low 4 bits of socket()'s type (the rest are SOCK_NONBLOCK/CLOEXEC). */
const SOCK_RAW = 3;
const SOCK_TYPE_FIELD = 0xf;

/**
 * A condition in builder form.
 *
 * @example
 * ```ts
 * import { arg } from "@forge/seccomp";
 * arg(1, "SCMP_CMP_EQ", 3); // { index: 1, op: "SCMP_CMP_EQ", value: 3 }
 * ```
 */
export function arg(index: number, op: Operator, value: U64, valueTwo?: U64): SeccompArg {
  const a: SeccompArg = { index, op, value: typeof value === "bigint" ? value.toString() : value };
  if (valueTwo !== undefined)
    a.valueTwo = typeof valueTwo === "bigint" ? valueTwo.toString() : valueTwo;
  return a;
}

/**
 * Builds a seccomp profile step by step.
 *
 * @example
 * ```ts
 * import { SeccompProfileBuilder } from "@forge/seccomp";
 * const profile = new SeccompProfileBuilder()
 *   .allowFileIO().allowNetworking().allowProcessManagement().allowMemoryManagement()
 *   .allowSignals().allowTime().allowMisc().blockDangerous()
 *   .build();
 * ```
 */
export class SeccompProfileBuilder {
  readonly #profile: SeccompProfile;
  readonly #rules: SeccompRule[] = [];

  /** Starts from a default action (default: ERRNO(EPERM)) and the x86_64 and aarch64 families. */
  constructor(defaultAction: ActionName = "SCMP_ACT_ERRNO", defaultErrnoRet?: number) {
    const d = actionToOci(parseAction(defaultAction, defaultErrnoRet));
    this.#profile = {
      defaultAction: d.action,
      ...(d.errnoRet !== undefined ? { defaultErrnoRet: d.errnoRet } : {}),
      archMap: [
        { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
        { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
      ],
    };
  }

  /** Adds a rule: these syscalls get `action` (when all `args` hold). */
  rule(
    names: readonly string[],
    action: ActionName,
    opts: { errnoRet?: number; args?: SeccompArg[]; comment?: string } = {},
  ): this {
    const r: SeccompRule = { names: [...names], action };
    if (opts.errnoRet !== undefined) r.errnoRet = opts.errnoRet;
    if (opts.args && opts.args.length > 0) r.args = opts.args;
    if (opts.comment) r.comment = opts.comment;
    this.#rules.push(r);
    return this;
  }
  /** Allows syscalls (optionally only when `args` hold). */
  allow(names: readonly string[], args?: SeccompArg[], comment?: string): this {
    return this.rule(names, "SCMP_ACT_ALLOW", {
      ...(args ? { args } : {}),
      ...(comment ? { comment } : {}),
    });
  }
  /**
   * Allows syscalls when any one of the alternatives holds: one allow rule per
   * alternative (a condition, or conditions on different arguments that must all hold),
   * e.g. from {@link lowWordIn}. Same action, no precedence needed: runc+libseccomp
   * and Forge decide such rules alike.
   *
   * @example
   * ```ts
   * import { lowWordIn, SeccompProfileBuilder } from "@forge/seccomp";
   * // AF_UNIX and AF_INET only, whatever the caller puts in the upper 32 bits.
   * new SeccompProfileBuilder().allowAny(["socket"], lowWordIn(0, [[1, 2]])).build();
   * ```
   */
  allowAny(
    names: readonly string[],
    alternatives: readonly (SeccompArg | readonly SeccompArg[])[],
    comment?: string,
  ): this {
    if (alternatives.length === 0)
      throw new RangeError(`allowAny(${names.join(", ")}): no alternative given`);
    for (const a of alternatives)
      this.allow(names, Array.isArray(a) ? [...a] : [a as SeccompArg], comment);
    return this;
  }
  /** Fails syscalls with an errno (default EPERM). */
  deny(names: readonly string[], errno = EPERM, args?: SeccompArg[], comment?: string): this {
    return this.rule(names, "SCMP_ACT_ERRNO", {
      errnoRet: errno,
      ...(args ? { args } : {}),
      ...(comment ? { comment } : {}),
    });
  }
  /** Covers only these architectures (SCMP_ARCH_* names) instead of the archMap families. */
  architectures(names: readonly string[]): this {
    this.#profile.architectures = [...names];
    delete this.#profile.archMap;
    return this;
  }
  /**
   * i386's multiplexers `socketcall` and `ipc` fail with ENOSYS. Their sub-calls'
   * arguments sit in memory (socketcall) or one place later (ipc), where no per-call
   * rule reaches them: with socketcall allowed, `socket(AF_VSOCK)` gets through whatever
   * the socket rules say. The direct calls exist on i386 since Linux 4.3 (sockets) and
   * 5.1 (SysV IPC); ENOSYS is what a kernel without the multiplexer would answer, so a
   * libc that probes takes the direct call (a glibc built for older kernels uses only
   * the multiplexers and loses those calls). Call it first: runc+libseccomp apply socket
   * rules to `socketcall` too and refuse a profile where they would conflict with it.
   *
   * @example
   * ```ts
   * import { SeccompProfileBuilder } from "@forge/seccomp";
   * new SeccompProfileBuilder().denyMultiplexers().allowNetworking().build();
   * ```
   */
  denyMultiplexers(): this {
    return this.deny(
      ["socketcall", "ipc"],
      ENOSYS,
      undefined,
      "i386 socketcall/ipc: their arguments are out of seccomp's reach; ENOSYS makes libc use the direct calls",
    );
  }
  /** Sets SECCOMP_FILTER_FLAG_* flags. */
  flags(names: readonly string[]): this {
    this.#profile.flags = [...names];
    return this;
  }

  /** Reading, writing, opening and stat'ing files; directories and links. */
  allowFileIO(): this {
    this.allow(
      [
        "read",
        "write",
        "open",
        "openat",
        "openat2",
        "close",
        "close_range",
        "stat",
        "fstat",
        "lstat",
        "newfstatat",
        "statx",
        "fstatat64",
        "stat64",
        "fstat64",
        "lstat64",
        "lseek",
        "_llseek",
        "pread64",
        "pwrite64",
        "readv",
        "writev",
        "preadv",
        "pwritev",
        "preadv2",
        "pwritev2",
        "access",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fsync",
        "fdatasync",
        "ftruncate",
        "ftruncate64",
        "truncate",
        "truncate64",
        "flock",
        "sendfile",
        "sendfile64",
        "copy_file_range",
        "splice",
        "tee",
        "statfs",
        "fstatfs",
        "statfs64",
        "fstatfs64",
        "readahead",
        "fallocate",
        "sync_file_range",
        "umask",
      ],
      undefined,
      "File I/O - basic",
    );
    return this.allow(
      [
        "getdents",
        "getdents64",
        "mkdir",
        "mkdirat",
        "rmdir",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "unlink",
        "unlinkat",
        "symlink",
        "symlinkat",
        "readlink",
        "readlinkat",
        "chdir",
        "fchdir",
        "getcwd",
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "utimensat",
        "utimes",
        "futimesat",
        "utime",
        "fchown",
        "fchownat",
        "chown",
        "lchown",
      ],
      undefined,
      "File I/O - directories",
    );
  }
  /**
   * Sockets, except raw sockets, AF_PACKET and AF_VSOCK (these get the default action):
   * socket() is allowed for families 0..{@link FAMILY_LIMIT} but AF_PACKET and AF_VSOCK
   * and for types other than SOCK_RAW, compared on the low 32 bits as the kernel reads
   * them. i386's `socketcall` is left out (see {@link denyMultiplexers}).
   */
  allowNetworking(): this {
    this.allow(
      [
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "getsockname",
        "getpeername",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "shutdown",
        "setsockopt",
        "getsockopt",
      ],
      undefined,
      "Network - sockets",
    );
    // Allowed (family, type) pairs, not "allow, except": no precedence between
    // overlapping rules, so runc+libseccomp decide as Forge does.
    const families = lowWordIn(0, rangesExcept(NON_NETWORK_FAMILIES, FAMILY_LIMIT));
    const types = lowWordIn(1, rangesExcept([SOCK_RAW], SOCK_TYPE_FIELD), SOCK_TYPE_FIELD);
    return this.allowAny(
      ["socket"],
      everyCombination(families, types),
      "Network - socket(): no AF_PACKET, AF_VSOCK or SOCK_RAW",
    );
  }
  /** Process identity, exit, wait, fork and clone without new namespaces. */
  allowProcessManagement(): this {
    this.allow(
      [
        "getpid",
        "getppid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getuid32",
        "geteuid32",
        "getgid32",
        "getegid32",
        "getgroups",
        "getgroups32",
        "getresuid",
        "getresgid",
        "getresuid32",
        "getresgid32",
        "getpgrp",
        "getpgid",
        "getsid",
        "setpgid",
        "setsid",
        "exit",
        "exit_group",
        "wait4",
        "waitid",
        "waitpid",
        "execve",
        "execveat",
        "fork",
        "vfork",
        "getrlimit",
        "ugetrlimit",
        "prlimit64",
        "getrusage",
        "getpriority",
        "sched_yield",
        "sched_getaffinity",
        "set_tid_address",
        "set_robust_list",
        "get_robust_list",
        "rseq",
      ],
      undefined,
      "Process - basic",
    );
    // Namespace flags: NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET = 0x7e020000.
    this.allow(
      ["clone"],
      [arg(0, "SCMP_CMP_MASKED_EQ", 0x7e020000, 0)],
      "Process - clone without namespaces",
    );
    return this.deny(
      ["clone3"],
      ENOSYS,
      undefined,
      "Process - clone3 hides its flags: ENOSYS makes libc fall back to clone",
    );
  }
  /** Memory mapping. */
  allowMemoryManagement(): this {
    return this.allow(
      [
        "mmap",
        "mmap2",
        "munmap",
        "mprotect",
        "mremap",
        "brk",
        "madvise",
        "mlock",
        "munlock",
        "mincore",
        "msync",
        "membarrier",
      ],
      undefined,
      "Memory",
    );
  }
  /** Administration and cross-process access fail with EPERM. */
  blockDangerous(): this {
    this.deny(
      [
        "mount",
        "umount",
        "umount2",
        "pivot_root",
        "reboot",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "settimeofday",
        "adjtimex",
        "clock_adjtime",
        "sethostname",
        "setdomainname",
        "swapon",
        "swapoff",
        "acct",
        "open_tree",
        "move_mount",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
      ],
      EPERM,
      undefined,
      "BLOCKED - system administration",
    );
    return this.deny(
      [
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "bpf",
        "perf_event_open",
        "unshare",
        "setns",
        "userfaultfd",
        "keyctl",
        "add_key",
        "request_key",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "kcmp",
        "pidfd_getfd",
      ],
      EPERM,
      undefined,
      "BLOCKED - security sensitive",
    );
  }
  /** Signal handling and sending. */
  allowSignals(): this {
    return this.allow(
      [
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigpending",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_sigqueueinfo",
        "rt_tgsigqueueinfo",
        "sigaltstack",
        "sigreturn",
        "sigaction",
        "sigprocmask",
        "signal",
        "kill",
        "tgkill",
        "tkill",
        "pause",
        "signalfd",
        "signalfd4",
      ],
      undefined,
      "Signals",
    );
  }
  /** Reading clocks and sleeping. */
  allowTime(): this {
    return this.allow(
      [
        "time",
        "gettimeofday",
        "clock_gettime",
        "clock_gettime64",
        "clock_getres",
        "clock_getres_time64",
        "nanosleep",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "alarm",
        "getitimer",
        "setitimer",
        "timer_create",
        "timer_settime",
        "timer_settime64",
        "timer_gettime",
        "timer_gettime64",
        "timer_delete",
        "timerfd_create",
        "timerfd_settime",
        "timerfd_settime64",
        "timerfd_gettime",
        "timerfd_gettime64",
      ],
      undefined,
      "Time - read only",
    );
  }
  /**
   * What most runtimes need: futexes, polling, fds, ioctl (see allowIoctls; the
   * commands in `deniedIoctls` are left out too), randomness, TLS set-up.
   */
  allowMisc(opts: { readonly deniedIoctls?: readonly number[] } = {}): this {
    this.allow(
      [
        "futex",
        "futex_time64",
        "futex_waitv",
        "arch_prctl",
        "set_thread_area",
        "get_thread_area",
        "prctl",
        "getrandom",
        "uname",
        "olduname",
        "fcntl",
        "fcntl64",
        "dup",
        "dup2",
        "dup3",
        "pipe",
        "pipe2",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "poll",
        "ppoll",
        "ppoll_time64",
        "select",
        "_newselect",
        "pselect6",
        "pselect6_time64",
        "eventfd",
        "eventfd2",
        "sysinfo",
        "sched_getparam",
        "sched_getscheduler",
        "capget",
        "getcpu",
        "memfd_create",
        "inotify_init",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
        "restart_syscall",
      ],
      undefined,
      "Misc - needed by most runtimes",
    );
    return this.allowIoctls(opts.deniedIoctls);
  }
  /**
   * ioctl, except TIOCSTI and TIOCLINUX (they inject input into a terminal), which get
   * the default action: the permitted commands are allowed, on the low 32 bits of the
   * command (the kernel ignores the upper half, and musl sign-extends it).
   *
   * @example
   * ```ts
   * import { SeccompProfileBuilder } from "@forge/seccomp";
   * new SeccompProfileBuilder().allowIoctls().build().syscalls!.length; // one rule per block
   * ```
   */
  allowIoctls(denied: readonly number[] = []): this {
    return this.allowAny(
      ["ioctl"],
      lowWordIn(1, rangesExcept([...TERMINAL_INJECTION_IOCTLS, ...denied])),
      denied.length
        ? `ioctl except TIOCSTI, TIOCLINUX and ${denied.map((d) => `0x${d.toString(16)}`).join(", ")}`
        : "ioctl except TIOCSTI and TIOCLINUX",
    );
  }

  /**
   * The profile (a fresh copy each call). When two rules with different actions name
   * one syscall (`allow(["ptrace"]).blockDangerous()`), the profile gets `"precedence":
   * "strictest"`, so the most restrictive matching rule wins as the builder promises;
   * otherwise it is plain OCI JSON that runc decides exactly as Forge does.
   */
  build(): SeccompProfile {
    const profile: SeccompProfile = { ...this.#profile, syscalls: this.#rules };
    if (needsPrecedence(this.#rules)) profile.precedence = "strictest";
    return structuredClone(profile);
  }
  /** The profile as pretty JSON. */
  toJSON(): SeccompProfile {
    return this.build();
  }
}

/**
 * Whether two rules with different actions name the same syscall: then the builder's
 * promise (a deny such as blockDangerous() wins over an allow of the same call) needs
 * Forge's "strictest" precedence, which the built profile says (runc, which ignores
 * it, would drop or refuse such rules: `forge seccomp export` checks and says so).
 */
function needsPrecedence(rules: readonly SeccompRule[]): boolean {
  const seen = new Map<string, string>();
  for (const r of rules) {
    const action = `${r.action}/${r.errnoRet ?? ""}`;
    for (const n of [...(r.names ?? []), ...(r.name ? [r.name] : [])]) {
      const had = seen.get(n);
      if (had !== undefined && had !== action) return true;
      seen.set(n, action);
    }
  }
  return false;
}
