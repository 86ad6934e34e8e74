/**
 * The idmap guard's profile (see idmap_guard.ts for what it refuses and why), apart
 * from the compiling and installing: it needs only @forge/seccomp's builder, so that
 * the CLI's bundle can leave it, with the compiler, out of the code every run loads
 * (a sandbox without an idmapped bind never builds it).
 *
 * @module
 */
import {
  arg,
  everyCombination,
  type SeccompArg,
  type SeccompProfile,
  SeccompProfileBuilder,
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
 * import { idmapGuardProfile } from "./idmap_guard_profile.ts";
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
