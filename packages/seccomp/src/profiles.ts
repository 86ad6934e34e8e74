/**
 * Built-in profiles: Docker's default (shipped unchanged), Forge's `default` (Docker's
 * plus io_uring, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK/AF_PACKET denied and
 * clone3 → ENOSYS), and `minimal`, `python-safe`, `node-safe`, `shell-readonly`.
 *
 * @module
 */
import { arg, SeccompProfileBuilder } from "./builder.ts";
import { DOCKER_DEFAULT_TEXT } from "./embedded.generated.ts";
import { parseProfileText, type SeccompProfile } from "./profile.ts";

const EPERM = 1;
const EROFS = 30;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;
const CLONE_NEWUSER = 0x10000000;

function dockerDefault(): SeccompProfile {
  return parseProfileText(DOCKER_DEFAULT_TEXT, "docker-default");
}

function forgeDefault(): SeccompProfile {
  const p = dockerDefault();
  const extra = new SeccompProfileBuilder()
    .deny(
      ["io_uring_setup", "io_uring_enter", "io_uring_register"],
      EPERM,
      undefined,
      "Forge: io_uring bypasses seccomp",
    )
    .deny(
      ["unshare"],
      EPERM,
      [arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NEWUSER, CLONE_NEWUSER)],
      "Forge: no new user namespaces",
    )
    .deny(
      ["clone"],
      EPERM,
      [arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NEWUSER, CLONE_NEWUSER)],
      "Forge: no new user namespaces",
    )
    .deny(
      ["clone3"],
      ENOSYS,
      undefined,
      "Forge: clone3 hides its flags in memory; ENOSYS makes libc use clone",
    )
    .deny(
      ["ioctl"],
      EPERM,
      [arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffff, 0x5412)],
      "Forge: no TIOCSTI (low 32 bits: the kernel ignores the rest)",
    )
    .deny(
      ["ioctl"],
      EPERM,
      [arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffff, 0x541c)],
      "Forge: no TIOCLINUX",
    )
    .deny(
      ["socket"],
      EAFNOSUPPORT,
      [arg(0, "SCMP_CMP_MASKED_EQ", 0xffffffff, 40)],
      "Forge: no AF_VSOCK",
    )
    .deny(
      ["socket"],
      EAFNOSUPPORT,
      [arg(0, "SCMP_CMP_MASKED_EQ", 0xffffffff, 17)],
      "Forge: no AF_PACKET",
    )
    .build();
  // personality stays restricted to Docker's five values (PER_LINUX, PER_LINUX32,
  // UNAME26 variants, query); Docker's own rules already do that.
  return { ...p, syscalls: [...(p.syscalls ?? []), ...(extra.syscalls ?? [])] };
}

function minimal(): SeccompProfile {
  // Enough to exec and run a small dynamically linked program such as /bin/echo.
  return new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .allow(
      [
        "read",
        "write",
        "writev",
        "exit",
        "exit_group",
        "execve",
        "brk",
        "mmap",
        "mmap2",
        "munmap",
        "mprotect",
        "arch_prctl",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "prlimit64",
        "ugetrlimit",
        "getrandom",
        "openat",
        "open",
        "close",
        "pread64",
        "fstat",
        "fstat64",
        "newfstatat",
        "fstatat64",
        "statx",
        "access",
        "faccessat",
        "faccessat2",
        "lseek",
        "_llseek",
        "rt_sigreturn",
        "sigreturn",
        "rt_sigaction",
        "rt_sigprocmask",
        "set_thread_area",
        "futex",
        "futex_time64",
        "uname",
        "readlink",
        "readlinkat",
        "getpid",
        "gettid",
        "tgkill",
        "clock_gettime",
        "clock_gettime64",
        "fcntl",
        "fcntl64",
        "dup2",
        "dup3",
        "ioctl",
      ],
      undefined,
      "minimal: read, write, exit and what the loader and libc need to start",
    )
    .deny(["ioctl"], EPERM, [arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffff, 0x5412)], "no TIOCSTI")
    .build();
}

function pythonSafe(): SeccompProfile {
  // Files and local IPC; no network: only AF_UNIX sockets.
  const b = new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .allowFileIO()
    .allowProcessManagement()
    .allowMemoryManagement()
    .allowSignals()
    .allowTime()
    .allowMisc()
    .blockDangerous()
    .allow(
      [
        "socketpair",
        "getsockname",
        "getpeername",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "connect",
        "bind",
        "listen",
        "accept",
        "accept4",
      ],
      undefined,
      "python-safe: sockets it already has",
    )
    .allow(["socket"], [arg(0, "SCMP_CMP_MASKED_EQ", 0xffffffff, 1)], "python-safe: AF_UNIX only")
    .allow([
      "sched_setaffinity",
      "mbind",
      "get_mempolicy",
      "getxattr",
      "lgetxattr",
      "fgetxattr",
      "listxattr",
      "flistxattr",
    ]);
  return b.build();
}

function nodeSafe(): SeccompProfile {
  // Node needs threads, epoll, eventfd and the network; no io_uring, no namespaces.
  return new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .allowFileIO()
    .allowNetworking()
    .allowProcessManagement()
    .allowMemoryManagement()
    .allowSignals()
    .allowTime()
    .allowMisc()
    .blockDangerous()
    .allow(
      [
        "sched_setaffinity",
        "mbind",
        "get_mempolicy",
        "setpriority",
        "getxattr",
        "fgetxattr",
        "pkey_alloc",
        "pkey_mprotect",
        "pkey_free",
        "statfs",
        "madvise",
      ],
      undefined,
      "node-safe: V8 and libuv",
    )
    .deny(
      ["socket"],
      EPERM,
      [arg(0, "SCMP_CMP_MASKED_EQ", 0xffffffff, 40)],
      "node-safe: no AF_VSOCK",
    )
    .build();
}

function shellReadonly(): SeccompProfile {
  // O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND = 0x1|0x2|0x40|0x200|0x400.
  const WRITE_FLAGS = 0x643;
  return new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .allowProcessManagement()
    .allowMemoryManagement()
    .allowSignals()
    .allowTime()
    .allowMisc()
    .allow(
      [
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
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
        "access",
        "faccessat",
        "faccessat2",
        "getdents",
        "getdents64",
        "readlink",
        "readlinkat",
        "chdir",
        "fchdir",
        "getcwd",
        "statfs",
        "fstatfs",
        "statfs64",
        "fstatfs64",
        "fadvise64",
        "fadvise64_64",
        "sendfile",
        "sendfile64",
        "umask",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
      ],
      undefined,
      "shell-readonly: reading",
    )
    .allow(
      ["openat", "open"],
      [arg(2, "SCMP_CMP_MASKED_EQ", WRITE_FLAGS, 0)],
      "shell-readonly: openat without write flags",
    )
    .allow(
      ["open"],
      [arg(1, "SCMP_CMP_MASKED_EQ", WRITE_FLAGS, 0)],
      "shell-readonly: open(path, flags) without write flags",
    )
    .deny(
      [
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
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "truncate",
        "ftruncate",
        "utimensat",
        "utimes",
        "utime",
        "mknod",
        "mknodat",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "openat2",
        "creat",
        "fallocate",
      ],
      EROFS,
      undefined,
      "shell-readonly: no writes",
    )
    .blockDangerous()
    .build();
}

const BUILTINS: Record<string, { readonly summary: string; readonly make: () => SeccompProfile }> =
  {
    default: {
      summary:
        "Forge's default: docker-default plus io_uring, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK/AF_PACKET denied, clone3 → ENOSYS",
      make: forgeDefault,
    },
    "docker-default": { summary: "Docker's default profile, unchanged", make: dockerDefault },
    minimal: {
      summary: "read, write, exit and what a small program needs to start",
      make: minimal,
    },
    "python-safe": {
      summary: "Python: files, processes and threads; AF_UNIX sockets only",
      make: pythonSafe,
    },
    "node-safe": {
      summary:
        "Node.js: files, network (no raw/packet/vsock sockets), threads; no io_uring or namespaces",
      make: nodeSafe,
    },
    "shell-readonly": {
      summary: "a shell that can read and run programs but not write files (EROFS)",
      make: shellReadonly,
    },
  };

/**
 * The names and one-line summaries of the built-in profiles.
 *
 * @example
 * ```ts
 * import { builtinProfiles } from "@forge/seccomp";
 * builtinProfiles().map((p) => p.name); // ["default", "docker-default", "minimal", ...]
 * ```
 */
export function builtinProfiles(): { name: string; summary: string }[] {
  return Object.entries(BUILTINS).map(([name, b]) => ({ name, summary: b.summary }));
}

/**
 * A built-in profile by name (a fresh object). Throws a RangeError listing the names.
 *
 * @example
 * ```ts
 * import { builtinProfile } from "@forge/seccomp";
 * builtinProfile("docker-default").defaultAction; // "SCMP_ACT_ERRNO"
 * ```
 */
export function builtinProfile(name: string): SeccompProfile {
  const b = BUILTINS[name];
  if (!b)
    throw new RangeError(
      `no built-in seccomp profile "${name}"; built-in: ${Object.keys(BUILTINS).join(", ")}`,
    );
  return b.make();
}
