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
import { type CompiledFilter, compileProfile, seccompSteps } from "@forge/seccomp";
import { idmapGuardProfile } from "./idmap_guard_profile.ts";

export { idmapGuardProfile } from "./idmap_guard_profile.ts";

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
