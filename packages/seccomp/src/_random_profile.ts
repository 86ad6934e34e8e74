/**
 * Random profiles for the differential tests (private).
 *
 * @module
 */
import { OPERATORS, type SeccompProfile, type SeccompRule } from "./profile.ts";
import { prng } from "./verify.ts";

const NAMES = [
  "read",
  "write",
  "openat",
  "close",
  "mmap",
  "mprotect",
  "ioctl",
  "socket",
  "connect",
  "clone",
  "unshare",
  "prctl",
  "personality",
  "kill",
  "fcntl",
  "setsockopt",
  "futex",
  "madvise",
  "mremap",
  "lseek",
  "dup3",
  "pipe2",
  "getrandom",
  "epoll_ctl",
  "sendto",
  "recvfrom",
  "setns",
  "tgkill",
  "wait4",
  "fchmodat",
  "getpid",
  "uname",
  "exit_group",
  "memfd_create",
];
const ACTIONS: SeccompRule["action"][] = [
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_LOG",
  "SCMP_ACT_TRACE",
];

/**
 * A random profile: each syscall gets one action (no overlapping actions) and
 * `maxRules` rules (1..maxRules) of 0-3 conditions on distinct arguments.
 */
export function randomProfile(seed: number, maxRules = 3): SeccompProfile {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Number(rnd() % BigInt(xs.length))]!;
  const value = (): string => {
    const kind = Number(rnd() % 6n);
    if (kind === 0) return (rnd() % 64n).toString();
    if (kind === 1) return (0xffffffffn - (rnd() % 3n)).toString();
    if (kind === 2) return (0x100000000n + (rnd() % 3n)).toString();
    if (kind === 3) return (rnd() & 0xffffffffn).toString();
    if (kind === 4) return (0xffffffffffffffffn - (rnd() % 2n)).toString();
    return rnd().toString();
  };
  const def = pick(["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS"] as const);
  const syscalls: SeccompRule[] = [];
  const names = NAMES.filter(() => rnd() % 3n !== 0n);
  for (const name of names) {
    let action = pick(ACTIONS);
    if (action === def) action = def === "SCMP_ACT_ALLOW" ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW";
    const errnoRet =
      action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE"
        ? Number(rnd() % 100n) + 1
        : undefined;
    if (def === "SCMP_ACT_ERRNO" && action === "SCMP_ACT_ERRNO") continue;
    const rules = Number(rnd() % BigInt(maxRules)) + 1;
    for (let i = 0; i < rules; i++) {
      const n = Number(rnd() % 4n);
      const indices = [0, 1, 2, 3, 4, 5].sort(() => Number(rnd() % 3n) - 1).slice(0, n);
      const args = indices.map((index) => {
        const op = pick(OPERATORS);
        return op === "SCMP_CMP_MASKED_EQ"
          ? { index, op, value: value(), valueTwo: rnd() % 2n === 0n ? "0" : value() }
          : { index, op, value: value() };
      });
      syscalls.push({
        names: [name],
        action,
        ...(errnoRet !== undefined ? { errnoRet } : {}),
        ...(args.length ? { args } : {}),
      });
    }
  }
  return {
    defaultAction: def,
    architectures: [
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ],
    syscalls,
  };
}
