/**
 * Built-in profiles: `docker-default` (Docker's default with three corrections, below),
 * Forge's `default` (that plus io_uring, new user namespaces, TIOCSTI/TIOCLINUX,
 * AF_VSOCK/AF_PACKET denied and clone3 → ENOSYS), and `minimal`, `python-safe`,
 * `node-safe`, `shell-readonly`.
 *
 * Every built-in is written so that runc+libseccomp enforcing its JSON decide as Forge
 * does (profiles_test.ts and libseccomp_diff_test.ts check it):
 * - i386's `socketcall` and `ipc` fail with ENOSYS, in the first rule: their sub-calls'
 *   arguments are out of seccomp's reach (`socketcall(SYS_SOCKET, [AF_VSOCK, ...])`
 *   passes any socket rule); the direct calls exist since Linux 4.3 and 5.1.
 * - Rules on `int`/`unsigned int` parameters (socket family and type, ioctl command,
 *   personality) test the low 32 bits with masks, as the kernel reads them:
 *   junk in the upper half neither passes a rule (Docker's "family > 40" let
 *   `socket(40 | 1 << 32)`, AF_VSOCK, through) nor changes an answer.
 * - No two rules of a syscall with different actions overlap, so no precedence is
 *   needed (runc+libseccomp and Forge resolve overlaps differently): "allow ioctl,
 *   except TIOCSTI" is written as allow rules covering every other command.
 *
 * @module
 */
import {
  arg,
  FAMILY_LIMIT,
  FILE_ATTRIBUTE_IOCTLS,
  NON_NETWORK_FAMILIES,
  SeccompProfileBuilder,
} from "./builder.ts";
import { lowWordIn, rangesExcept } from "./cover.ts";
import { DOCKER_DEFAULT_TEXT } from "./embedded.generated.ts";
import { parseProfileText, type SeccompProfile, type SeccompRule, u64 } from "./profile.ts";
import { conditionHolds } from "./resolve.ts";

const EPERM = 1;
const EAFNOSUPPORT = 97;
const CLONE_NEWUSER = 0x10000000;
const LOW_WORD = 0xffffffff;

function ruleNames(r: SeccompRule): string[] {
  return [...(r.names ?? []), ...(r.name ? [r.name] : [])];
}

/** i386 socketcall and ipc → ENOSYS (see SeccompProfileBuilder.denyMultiplexers). */
function multiplexerRule(): SeccompRule {
  return new SeccompProfileBuilder().denyMultiplexers().build().syscalls![0]!;
}

/** The families (0..FAMILY_LIMIT) Docker's socket rules do not allow. */
function dockerDeniedFamilies(rules: readonly SeccompRule[]): number[] {
  for (const r of rules) {
    if (
      r.action !== "SCMP_ACT_ALLOW" ||
      r.includes ||
      r.excludes ||
      (r.args ?? []).some((a) => a.index !== 0)
    )
      throw new Error(
        `internal: docker-default's socket rule ${JSON.stringify(r)} is not an allow rule on the family alone; profiles.ts must learn it`,
      );
  }
  const allows = (f: number) =>
    rules.some((r) =>
      (r.args ?? []).every((a) =>
        conditionHolds(
          { index: 0, op: a.op, value: u64(a.value), valueTwo: u64(a.valueTwo ?? 0) },
          BigInt(f),
          64,
        ),
      ),
    );
  return Array.from({ length: FAMILY_LIMIT + 1 }, (_, f) => f).filter((f) => !allows(f));
}

/** personality(EQ v) → the same test on the low word (the kernel takes an unsigned int). */
function lowWordEquality(r: SeccompRule): SeccompRule {
  const args = (r.args ?? []).map((a) => {
    if (a.op !== "SCMP_CMP_EQ" || u64(a.value) > 0xffffffffn)
      throw new Error(
        `internal: docker-default's personality rule ${JSON.stringify(r)} is not an equality on 32 bits`,
      );
    return arg(a.index, "SCMP_CMP_MASKED_EQ", LOW_WORD, a.value);
  });
  return { ...r, args };
}

/**
 * Docker's default profile, corrected so that nothing its rules mean to deny gets
 * through and runc+libseccomp decide it as Forge does. With `forge`, Forge's default
 * on top. Docker's rules stay in their order; what changes is said at each step.
 */
function fromDocker(forge: boolean): SeccompProfile {
  const docker = parseProfileText(DOCKER_DEFAULT_TEXT, "docker-default");
  const src = docker.syscalls ?? [];
  const socketRules = src.filter((r) => ruleNames(r).join() === "socket");
  // Docker's families (its rules evaluated on 0..63), Forge's default without AF_PACKET
  // and AF_VSOCK, as low-word tests.
  const families = rangesExcept(
    [...dockerDeniedFamilies(socketRules), ...(forge ? NON_NETWORK_FAMILIES : [])],
    FAMILY_LIMIT,
  );
  const out: SeccompRule[] = [multiplexerRule()];
  // Names Forge's default takes out of Docker's unconditional allow rules, to allow
  // them on conditions below: ioctl (all but TIOCSTI/TIOCLINUX), and with CAP_SYS_ADMIN
  // clone/unshare (no CLONE_NEWUSER) and clone3 (ENOSYS, as without the capability).
  const conditional = forge ? new Set(["ioctl", "clone", "clone3", "unshare"]) : new Set<string>();
  for (const r of src) {
    const names = ruleNames(r);
    if (names.join() === "socket") {
      if (r === socketRules[0])
        out.push(
          ...lowWordIn(0, families).map((a) => ({
            names: ["socket"],
            action: "SCMP_ACT_ALLOW",
            args: [a],
            comment: forge
              ? "Forge: Docker's socket families on the low 32 bits (as the kernel reads them), without AF_PACKET and AF_VSOCK"
              : "Forge: Docker's socket families on the low 32 bits, as the kernel reads them (a 64-bit 'family > 40' let 40 | 1 << 32 through)",
          })),
        );
      continue;
    }
    if (names.join() === "personality") {
      out.push(lowWordEquality(r));
      continue;
    }
    const kept = names.filter(
      (n) =>
        n !== "socketcall" &&
        n !== "ipc" &&
        !(conditional.has(n) && r.action === "SCMP_ACT_ALLOW" && !r.args?.length),
    );
    if (kept.length === 0) continue;
    const copy: SeccompRule = { ...r, names: kept };
    delete copy.name;
    // Forge: clone3 fails with ENOSYS whatever the capabilities.
    if (forge && kept.join() === "clone3" && r.action === "SCMP_ACT_ERRNO") delete copy.excludes;
    out.push(copy);
  }
  if (!forge) {
    return {
      ...docker,
      comment:
        "Docker's default seccomp profile with Forge's corrections: i386 socketcall/ipc → ENOSYS; socket families and personality compared on the low 32 bits",
      syscalls: out,
    };
  }
  const extra = new SeccompProfileBuilder()
    .allowIoctls()
    .allow(
      ["clone", "unshare"],
      [arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NEWUSER, 0)],
      "Forge: with CAP_SYS_ADMIN, namespaces but no new user namespace",
    )
    .deny(
      ["io_uring_setup", "io_uring_enter", "io_uring_register"],
      EPERM,
      undefined,
      "Forge: io_uring bypasses seccomp",
    )
    .build()
    .syscalls!.map((r) =>
      ruleNames(r).includes("clone") ? { ...r, includes: { caps: ["CAP_SYS_ADMIN"] } } : r,
    );
  const afnosupport = NON_NETWORK_FAMILIES.map(
    (f): SeccompRule => ({
      names: ["socket"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: EAFNOSUPPORT,
      args: [arg(0, "SCMP_CMP_MASKED_EQ", LOW_WORD, f)],
      comment: `Forge: no ${f === 40 ? "AF_VSOCK" : "AF_PACKET"} (EAFNOSUPPORT: looks unsupported)`,
    }),
  );
  return {
    ...docker,
    comment:
      "Forge's default: docker-default (corrected) plus io_uring, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK/AF_PACKET denied, clone3 → ENOSYS",
    syscalls: [...out, ...extra, ...afnosupport],
  };
}

function dockerDefault(): SeccompProfile {
  return fromDocker(false);
}

function forgeDefault(): SeccompProfile {
  return fromDocker(true);
}

function minimal(): SeccompProfile {
  // Enough to exec and run a small dynamically linked program such as /bin/echo.
  return new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .denyMultiplexers()
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
      ],
      undefined,
      "minimal: read, write, exit and what the loader and libc need to start",
    )
    .allowIoctls()
    .build();
}

function pythonSafe(): SeccompProfile {
  // Files and local IPC; no network: only AF_UNIX sockets.
  const b = new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
    .denyMultiplexers()
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
    .allowAny(["socket"], lowWordIn(0, [[1, 1]]), "python-safe: AF_UNIX only")
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
    .denyMultiplexers()
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
    .build();
}

function shellReadonly(): SeccompProfile {
  // Read-only is the mounts' job: the sandbox profile `shell-readonly` mounts everything
  // read-only but a scratch /tmp and /dev/shm, and the kernel answers a write anywhere
  // else with EROFS, for every call that writes (open, creat, mkdir, rename, truncate,
  // chmod, ...). The filter does not stand in the way: it cannot tell /tmp or /dev/null
  // from /usr, and its old "no write flags" rules made `2>/dev/null`, here-documents and
  // `sort` fail with EPERM. What it refuses: sockets (no network), chattr, administration
  // and cross-process access, namespaces, io_uring.
  return (
    new SeccompProfileBuilder("SCMP_ACT_ERRNO", EPERM)
      .denyMultiplexers()
      .allowFileIO()
      .allowProcessManagement()
      .allowMemoryManagement()
      .allowSignals()
      .allowTime()
      // No chattr: inode flags are the file's metadata (found in review: FS_IOC_SETFLAGS
      // changed a host file's attributes through a read-write bind).
      .allowMisc({ deniedIoctls: FILE_ATTRIBUTE_IOCTLS })
      .allow(
        [
          "creat",
          "mknod",
          "mknodat",
          "getxattr",
          "lgetxattr",
          "fgetxattr",
          "listxattr",
          "llistxattr",
          "flistxattr",
          "setxattr",
          "lsetxattr",
          "fsetxattr",
          "removexattr",
          "lremovexattr",
          "fremovexattr",
        ],
        undefined,
        "shell-readonly: what a shell's tools use besides; on a read-only mount the kernel answers EROFS",
      )
      .blockDangerous()
      .build()
  );
}

const BUILTINS: Record<string, { readonly summary: string; readonly make: () => SeccompProfile }> =
  {
    default: {
      summary:
        "Forge's default: docker-default plus io_uring, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK/AF_PACKET denied, clone3 → ENOSYS",
      make: forgeDefault,
    },
    "docker-default": {
      summary:
        "Docker's default profile, corrected: i386 socketcall/ipc → ENOSYS, socket families and personality on the low 32 bits",
      make: dockerDefault,
    },
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
        "Node.js: files, network (no raw, packet or vsock sockets), threads; no io_uring or namespaces",
      make: nodeSafe,
    },
    "shell-readonly": {
      summary:
        "a shell and the programs it runs: files (a read-only mount answers writes with EROFS), processes; no sockets, no chattr",
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
