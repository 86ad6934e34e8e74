/**
 * The idmap guard: a small seccomp filter stacked on the profile's filter of a sandbox
 * that has an idmapped read-write bind.
 *
 * As root, a read-write bind is an idmapped mount (see @forge/namespaces'
 * idmapBindTree): the sandbox's user appears as the source's owner there, so what it
 * creates is the source owner's on the host, usually root's. Without the guard the
 * sandbox could `chmod 4755` a file it made in a root-owned bind and leave a
 * setuid-root binary on the host, or (with CAP_SETFCAP kept, or from a nested user
 * namespace) write `security.capability` with host root as its root id. The guard
 * refuses, on every ABI the host runs (x86_64, i386, x32; aarch64, arm):
 *
 * - chmod, fchmod, fchmodat, fchmodat2 with S_ISUID or S_ISGID in the mode (EPERM);
 * - open, openat, creat, mknod, mknodat creating a file with those bits (O_CREAT or
 *   O_TMPFILE and mode & 06000; mknod's mode is the type and the permissions): EPERM;
 * - openat2, whose mode is in memory out of the filter's sight: ENOSYS, so that libc
 *   falls back to openat, which the guard sees;
 * - every extended-attribute write (setxattr, lsetxattr, fsetxattr, setxattrat): EPERM
 *   (`security.capability` is one; the filter cannot read the name);
 * - io_uring (setup, enter, register): EPERM, as its requests open files and set
 *   xattrs where no seccomp filter looks.
 *
 * Everything else is allowed: the profile's own filter still decides it. The kernel runs
 * every installed filter and the most restrictive answer wins, so no profile (not even
 * `unconfined`) can undo the guard. Every rule is ERRNO in a default-ALLOW profile, at
 * most one condition per argument, so runc + libseccomp would decide it exactly as
 * Forge's compiler does. Mode tests use masks of one bit below 2^16, so junk in the
 * upper bits of an argument (which the kernel ignores) cannot hide a bit.
 *
 * @module
 */
import { hostArch, type Step } from "@forge/libc";
import {
  arg,
  type CompiledFilter,
  compileProfile,
  everyCombination,
  type SeccompArg,
  type SeccompProfile,
  SeccompProfileBuilder,
  seccompSteps,
} from "@forge/seccomp";

/** S_ISUID and S_ISGID: the mode bits the guard refuses. */
export const SETID_MODE_BITS = 0o6000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
/** O_CREAT and __O_TMPFILE (O_TMPFILE without O_DIRECTORY): the same on x86 and arm. */
const O_CREAT = 0o100;
const O_TMPFILE_BIT = 0o20000000;
const EPERM = 1;
const ENOSYS = 38;

/** The argument holds `bit` (a masked compare, one bit: upper-bit junk is irrelevant). */
const hasBit = (index: number, bit: number): SeccompArg =>
  arg(index, "SCMP_CMP_MASKED_EQ", bit, bit);
/** One alternative per set-id bit: the mode argument has S_ISUID, or it has S_ISGID. */
const setIdMode = (index: number): SeccompArg[] => [hasBit(index, S_ISUID), hasBit(index, S_ISGID)];
/** The flags argument creates a file: O_CREAT, or O_TMPFILE. */
const creates = (index: number): SeccompArg[] => [
  hasBit(index, O_CREAT),
  hasBit(index, O_TMPFILE_BIT),
];

/**
 * The guard as an OCI seccomp profile (default ALLOW; every rule ERRNO), for the
 * x86_64 and aarch64 families with their 32-bit ABIs.
 *
 * @example
 * ```ts
 * import { compileProfile } from "@forge/seccomp";
 * import { idmapGuardProfile } from "./idmap_guard.ts";
 * const f = compileProfile(idmapGuardProfile(), { arch: "x86_64" });
 * ```
 */
export function idmapGuardProfile(): SeccompProfile {
  const b = new SeccompProfileBuilder("SCMP_ACT_ALLOW");
  const why = "idmap guard: no setuid/setgid file in an idmapped bind";
  // The mode argument's index: chmod(path, mode), fchmod(fd, mode), creat(path, mode),
  // mknod(path, mode, dev); fchmodat(dfd, path, mode[, flags]), mknodat(dfd, path, mode, dev).
  for (const [names, index] of [
    [["chmod", "fchmod", "creat", "mknod"], 1],
    [["fchmodat", "fchmodat2", "mknodat"], 2],
  ] as const)
    for (const a of setIdMode(index)) b.deny(names, EPERM, [a], why);
  // open(path, flags, mode), openat(dfd, path, flags, mode): mode counts when it creates.
  for (const [name, flags] of [
    ["open", 1],
    ["openat", 2],
  ] as const)
    for (const combo of everyCombination(creates(flags), setIdMode(flags + 1)))
      b.deny([name], EPERM, combo, why);
  b.deny(
    ["openat2"],
    ENOSYS,
    undefined,
    "idmap guard: openat2's mode is in memory; ENOSYS makes libc use openat",
  );
  b.deny(
    ["setxattr", "lsetxattr", "fsetxattr", "setxattrat"],
    EPERM,
    undefined,
    "idmap guard: no xattr writes (security.capability) in an idmapped bind",
  );
  b.deny(
    ["io_uring_setup", "io_uring_enter", "io_uring_register"],
    EPERM,
    undefined,
    "idmap guard: io_uring opens files and sets xattrs out of seccomp's sight",
  );
  return b.build();
}

let compiled: { filter: CompiledFilter; steps: Step[] } | undefined;

/**
 * The guard compiled for this host (once per process; conflicts are an error).
 *
 * @example
 * ```ts
 * import { idmapGuardFilter } from "./idmap_guard.ts";
 * idmapGuardFilter().program.length; // a few dozen instructions
 * ```
 */
export function idmapGuardFilter(): CompiledFilter {
  return guard().filter;
}

/**
 * The steps that install the guard (no_new_privs, then the filter), for a launch's late
 * steps before the profile's own filter. The same array every call, so a plan made
 * ahead keys it alike; do not change it.
 *
 * @example
 * ```ts
 * import { idmapGuardSteps } from "./idmap_guard.ts";
 * import { filterSteps } from "@forge/sandbox";
 * const lateSteps = [...idmapGuardSteps(), ...filterSteps("default", []).steps];
 * ```
 */
export function idmapGuardSteps(): Step[] {
  return guard().steps;
}

function guard(): { filter: CompiledFilter; steps: Step[] } {
  if (!compiled) {
    const filter = compileProfile(
      idmapGuardProfile(),
      { arch: hostArch(), conflicts: "error", trusted: true },
      "idmap guard",
    );
    const steps = seccompSteps(filter).map((s) =>
      "syscall" in s && s.syscall === "seccomp"
        ? {
            ...s,
            label: `install the idmap guard's seccomp filter (${filter.program.length} instructions: no setuid/setgid files, xattrs or io_uring in idmapped binds)`,
          }
        : s,
    );
    compiled = { filter, steps };
  }
  return compiled;
}
