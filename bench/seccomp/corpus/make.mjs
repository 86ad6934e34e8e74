// Writes the benchmark corpus (bench/seccomp/corpus/*.json) from the built-in
// docker-default profile and the lists below. The JSON files are the corpus; this
// script only documents how they were made. Run `npx tsc -b packages/seccomp` first,
// then `node bench/seccomp/corpus/make.mjs`.
import fs from "node:fs";
import { builtinProfile } from "../../../packages/seccomp/dist/mod.js";

const dir = new URL(".", import.meta.url);
const write = (name, profile) =>
  fs.writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(profile, null, 2)}\n`);
const clone = (x) => JSON.parse(JSON.stringify(x));

const docker = builtinProfile("docker-default");
write("docker-default", docker);
const dockerAllow = docker.syscalls[1].names;

// Podman (containers/common seccomp.json) style: ENOSYS by default, EPERM for a deny
// list, errnoRet on an argument rule, clone/unshare flag masks, caps-gated rules.
write("podman", {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 38,
  archMap: docker.archMap,
  syscalls: [
    {
      names: [
        "bdflush",
        "io_pgetevents",
        "kexec_file_load",
        "kexec_load",
        "migrate_pages",
        "move_pages",
        "nfsservctl",
        "nice",
        "oldfstat",
        "oldlstat",
        "oldolduname",
        "oldstat",
        "olduname",
        "pciconfig_iobase",
        "pciconfig_read",
        "pciconfig_write",
        "sgetmask",
        "ssetmask",
        "swapcontext",
        "swapoff",
        "swapon",
        "sysfs",
        "uselib",
        "userfaultfd",
        "ustat",
        "vm86",
        "vm86old",
        "vmsplice",
      ],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 1,
    },
    {
      names: dockerAllow.filter((n) => !["socket", "io_pgetevents", "vmsplice"].includes(n)),
      action: "SCMP_ACT_ALLOW",
    },
    ...[0, 8, 0x20000, 0x20008, 0xffffffff].map((v) => ({
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: v, op: "SCMP_CMP_EQ" }],
    })),
    // (No conditional socket rules with two actions: on i386 libseccomp turns them into
    // socketcall rules that conflict, and runc refuses the profile.)
    { names: ["socket"], action: "SCMP_ACT_ALLOW" },
    {
      names: ["prctl"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 22,
      args: [{ index: 0, value: 0x59616d61, op: "SCMP_CMP_EQ" }],
    },
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      excludes: { caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"] },
    },
    {
      names: ["unshare"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 0x7c020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["clone3"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 38,
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["mount", "umount2", "pivot_root", "setns", "clone", "clone3", "unshare"],
      action: "SCMP_ACT_ALLOW",
      includes: { caps: ["CAP_SYS_ADMIN"] },
    },
    { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
    { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "4.8" } },
  ],
});

// A small application's allowlist: EPERM for the rest.
write("allowlist-errno", {
  archMap: docker.archMap,
  defaultAction: "SCMP_ACT_ERRNO",
  syscalls: [
    {
      names: [
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "openat",
        "close",
        "fstat",
        "newfstatat",
        "statx",
        "lseek",
        "mmap",
        "mprotect",
        "munmap",
        "brk",
        "madvise",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "sigaltstack",
        "getpid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "futex",
        "set_robust_list",
        "set_tid_address",
        "rseq",
        "clock_gettime",
        "clock_nanosleep",
        "nanosleep",
        "epoll_create1",
        "epoll_ctl",
        "epoll_pwait",
        "eventfd2",
        "pipe2",
        "dup",
        "dup3",
        "fcntl",
        "getrandom",
        "uname",
        "prlimit64",
        "exit",
        "exit_group",
        "sched_yield",
        "sched_getaffinity",
        "getcwd",
        "readlinkat",
        "faccessat2",
        "getdents64",
        "socket",
        "connect",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "shutdown",
        "poll",
        "ppoll",
      ],
      action: "SCMP_ACT_ALLOW",
    },
  ],
});

// A denylist: everything allowed but these.
write("denylist", {
  archMap: docker.archMap,
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [
    {
      names: [
        "acct",
        "add_key",
        "bpf",
        "clock_adjtime",
        "clock_settime",
        "create_module",
        "delete_module",
        "finit_module",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "get_kernel_syms",
        "get_mempolicy",
        "init_module",
        "ioperm",
        "iopl",
        "kcmp",
        "kexec_file_load",
        "kexec_load",
        "keyctl",
        "lookup_dcookie",
        "mbind",
        "mount",
        "move_mount",
        "name_to_handle_at",
        "nfsservctl",
        "open_by_handle_at",
        "open_tree",
        "perf_event_open",
        "personality",
        "pivot_root",
        "process_vm_readv",
        "process_vm_writev",
        "ptrace",
        "query_module",
        "quotactl",
        "reboot",
        "request_key",
        "set_mempolicy",
        "setns",
        "settimeofday",
        "swapoff",
        "swapon",
        "sysfs",
        "syslog",
        "umount2",
        "unshare",
        "uselib",
        "userfaultfd",
        "ustat",
        "vm86",
        "vm86old",
      ],
      action: "SCMP_ACT_ERRNO",
    },
    { names: ["kexec_load", "reboot", "init_module"], action: "SCMP_ACT_KILL_PROCESS" },
  ],
});

// LOG by default (audit what is not listed), NOTIFY for calls a supervisor decides.
write("log-notify", {
  archMap: docker.archMap,
  defaultAction: "SCMP_ACT_LOG",
  listenerPath: "/run/forge/notify.sock",
  syscalls: [
    {
      names: dockerAllow.filter(
        (n) => !["mount", "openat", "open", "connect", "execve", "write", "bind"].includes(n),
      ),
      action: "SCMP_ACT_ALLOW",
    },
    {
      names: ["mount", "openat", "open", "connect", "execve", "umount2", "bind"],
      action: "SCMP_ACT_NOTIFY",
    },
    { names: ["write"], action: "SCMP_ACT_ALLOW" },
    { names: ["kexec_load", "init_module", "finit_module"], action: "SCMP_ACT_KILL_PROCESS" },
  ],
});

// Several conditional rules on one syscall (socket families, fcntl and prctl commands,
// mmap/mprotect protections, clone flags), with different actions.
const AF = { UNIX: 1, INET: 2, INET6: 10, NETLINK: 16 };
write("multirule", {
  archMap: docker.archMap,
  defaultAction: "SCMP_ACT_ERRNO",
  syscalls: [
    {
      names: [
        "read",
        "write",
        "close",
        "fstat",
        "munmap",
        "brk",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "futex",
        "exit_group",
        "getpid",
        "clock_gettime",
        "openat",
        "epoll_pwait",
        "sendto",
        "recvfrom",
        "connect",
      ],
      action: "SCMP_ACT_ALLOW",
    },
    ...Object.values(AF)
      .slice(0, 3)
      .map((v) => ({
        names: ["socket"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: v, op: "SCMP_CMP_EQ" }],
      })),
    {
      names: ["socket"],
      action: "SCMP_ACT_ALLOW",
      args: [
        { index: 0, value: AF.NETLINK, op: "SCMP_CMP_EQ" },
        { index: 2, value: 0, op: "SCMP_CMP_EQ" },
      ],
    },
    {
      names: ["fcntl"],
      action: "SCMP_ACT_TRAP",
      args: [{ index: 1, value: 8, op: "SCMP_CMP_EQ" }],
    },
    ...[0, 1, 2, 3, 4, 1030].map((v) => ({
      names: ["fcntl"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: v, op: "SCMP_CMP_EQ" }],
    })),
    ...[15, 16, 22, 38, 23].map((v) => ({
      names: ["prctl"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: v, op: "SCMP_CMP_EQ" }],
    })),
    {
      names: ["prctl"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 22,
      args: [{ index: 0, value: 0x59616d61, op: "SCMP_CMP_EQ" }],
    },
    {
      names: ["mmap", "mprotect"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 2, value: 4, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    {
      names: ["mmap", "mprotect"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 2, value: 2, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    {
      names: ["mmap"],
      action: "SCMP_ACT_KILL_PROCESS",
      args: [
        { index: 2, value: 6, valueTwo: 6, op: "SCMP_CMP_MASKED_EQ" },
        { index: 3, value: 0x20, valueTwo: 0x20, op: "SCMP_CMP_MASKED_EQ" },
      ],
    },
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    {
      names: ["clone"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 38,
      args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: "SCMP_CMP_MASKED_EQ" }],
    },
    ...[0, 1, 2].map((v) => ({
      names: ["madvise"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 2, value: v, op: "SCMP_CMP_EQ" }],
    })),
    {
      names: ["madvise"],
      action: "SCMP_ACT_ALLOW",
      args: [
        { index: 2, value: 14, op: "SCMP_CMP_GE" },
        { index: 1, value: 1 << 30, op: "SCMP_CMP_LE" },
      ],
    },
  ],
});

// Wide compares: GT/LT/GE/LE on values above 2^32.
const G = 2n ** 32n;
write("wide64", {
  archMap: docker.archMap,
  defaultAction: "SCMP_ACT_ERRNO",
  syscalls: [
    {
      names: ["read", "write", "close", "exit_group", "futex", "rt_sigreturn"],
      action: "SCMP_ACT_ALLOW",
    },
    {
      names: ["mmap"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: String(16n * G), op: "SCMP_CMP_LE" }],
    },
    {
      names: ["mmap"],
      action: "SCMP_ACT_TRAP",
      args: [{ index: 1, value: String(1024n * G), op: "SCMP_CMP_GT" }],
    },
    {
      names: ["lseek"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: String(2n ** 40n), op: "SCMP_CMP_LT" }],
    },
    {
      names: ["pread64", "pwrite64"],
      action: "SCMP_ACT_ALLOW",
      args: [
        { index: 3, value: String(2n ** 40n + 5n), op: "SCMP_CMP_LT" },
        { index: 2, value: String(G), op: "SCMP_CMP_LE" },
      ],
    },
    {
      names: ["fallocate"],
      action: "SCMP_ACT_ALLOW",
      args: [
        { index: 2, value: String(3n * G + 7n), op: "SCMP_CMP_GE" },
        { index: 3, value: String(8n * G), op: "SCMP_CMP_LE" },
      ],
    },
    {
      names: ["ftruncate"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: String(G - 1n), op: "SCMP_CMP_GT" }],
    },
    {
      names: ["ftruncate"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: "4096", op: "SCMP_CMP_LE" }],
    },
    {
      names: ["setrlimit"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 13,
      args: [{ index: 0, value: String(0xffffffffffffffffn), op: "SCMP_CMP_EQ" }],
    },
    {
      names: ["mremap"],
      action: "SCMP_ACT_ALLOW",
      args: [
        { index: 2, value: String(5n * G), op: "SCMP_CMP_LT" },
        { index: 1, value: String(5n * G), op: "SCMP_CMP_LT" },
      ],
    },
  ],
});

// Docker-style includes/excludes: caps, arches and minKernel decide which rules apply.
write("includes-excludes", {
  defaultAction: "SCMP_ACT_ERRNO",
  archMap: docker.archMap,
  syscalls: [
    { names: dockerAllow.slice(0, 200), action: "SCMP_ACT_ALLOW" },
    {
      names: ["bpf", "perf_event_open"],
      action: "SCMP_ACT_ALLOW",
      includes: { caps: ["CAP_BPF"] },
    },
    {
      names: ["ptrace", "process_vm_readv", "kcmp"],
      action: "SCMP_ACT_ALLOW",
      includes: { caps: ["CAP_SYS_PTRACE"], minKernel: "4.8" },
    },
    {
      names: ["mount", "umount2", "setns", "unshare"],
      action: "SCMP_ACT_ALLOW",
      includes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }],
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["clone3"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 38,
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["io_uring_setup", "io_uring_enter", "io_uring_register"],
      action: "SCMP_ACT_ALLOW",
      includes: { minKernel: "5.1" },
      excludes: { minKernel: "6.0" },
    },
    {
      names: ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
      action: "SCMP_ACT_ALLOW",
      includes: { minKernel: "5.13" },
    },
    {
      names: ["arch_prctl", "modify_ldt"],
      action: "SCMP_ACT_ALLOW",
      includes: { arches: ["amd64", "x32", "x86"] },
    },
    {
      names: ["cacheflush", "set_tls", "arm_fadvise64_64"],
      action: "SCMP_ACT_ALLOW",
      includes: { arches: ["arm", "arm64"] },
    },
    { names: ["reboot"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_BOOT"] } },
    {
      names: ["syslog"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 13,
      excludes: { caps: ["CAP_SYSLOG"] },
    },
  ],
});

// docker-default with ioctl allowed for 328 request numbers only (arg1 == each).
// Real request numbers come in runs (tty 0x54xx, socket 0x89xx, _IOC(dir,size,type,nr)
// with consecutive nr) and isolated values; "-sparse" spaces every value out.
const runs = [];
for (let v = 0x5401; v <= 0x5435; v++) if (v !== 0x5412 && v !== 0x541c) runs.push(v);
for (let v = 0x5450; v <= 0x545a; v++) runs.push(v);
for (let v = 0x8901; v <= 0x8950; v++) runs.push(v);
for (let v = 0x8970; v <= 0x89a0; v++) runs.push(v);
for (let i = 0; i < 46; i++) runs.push(0x80045430 + 3 * i);
for (let i = 0; i < 46; i++) runs.push(0x40045430 + 5 * i);
for (let i = 0; i < 45; i++) runs.push(0xc0105800 + 7 * i);
const sparse = Array.from({ length: 328 }, (_, i) => 0x5401 + 3 * i + (i % 7) * 0x10000);
for (const [name, values] of [
  ["docker-ioctl", runs],
  ["docker-ioctl-sparse", sparse],
]) {
  if (values.length !== 328 || new Set(values).size !== 328)
    throw new Error(`${name}: ${values.length}`);
  const p = clone(docker);
  p.syscalls[1].names = p.syscalls[1].names.filter((n) => n !== "ioctl");
  p.syscalls.splice(
    2,
    0,
    ...values.map((v) => ({
      names: ["ioctl"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 1, value: v, op: "SCMP_CMP_EQ" }],
    })),
  );
  write(name, p);
}
