/**
 * Installing a filter: into the running process (no_new_privs, then
 * seccomp(SECCOMP_SET_MODE_FILTER) with TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER), or as
 * steps that the spawn trampoline runs in a child, last before execve.
 *
 * @module
 */
import { type Libc, openLibc, PR, type Step } from "@forge/libc";
import type { CompiledFilter } from "./compile.ts";

/** SECCOMP_FILTER_FLAG_* values. */
export const FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** seccomp(2) operations. */
export const SECCOMP_SET_MODE_FILTER = 1;

/** Which flags to install a filter with. */
export interface InstallOptions {
  /** Apply to every thread of the process (default true for {@link installFilter}). */
  readonly tsync?: boolean;
  /** Log every action other than ALLOW. */
  readonly log?: boolean;
  /** Keep speculative-store-bypass mitigation off. */
  readonly specAllow?: boolean;
  /** Return a user-notification listener fd. */
  readonly newListener?: boolean;
  /** SECCOMP_FILTER_FLAG_* names from a profile, added to the above. */
  readonly profileFlags?: readonly string[];
}

/**
 * The `flags` argument of seccomp(2) for the given options. TSYNC with NEW_LISTENER
 * needs TSYNC_ESRCH (the kernel rejects the pair otherwise), which is added.
 *
 * @example
 * ```ts
 * import { filterFlags } from "@forge/seccomp";
 * filterFlags({ tsync: true, log: true }); // 3
 * ```
 */
export function filterFlags(o: InstallOptions): number {
  let f = 0;
  if (o.tsync) f |= FILTER_FLAG.TSYNC;
  if (o.log) f |= FILTER_FLAG.LOG;
  if (o.specAllow) f |= FILTER_FLAG.SPEC_ALLOW;
  if (o.newListener) f |= FILTER_FLAG.NEW_LISTENER;
  for (const name of o.profileFlags ?? []) {
    const key = name.replace(/^SECCOMP_FILTER_FLAG_/, "") as keyof typeof FILTER_FLAG;
    const v = FILTER_FLAG[key];
    if (v === undefined)
      throw new RangeError(
        `unknown seccomp filter flag ${name}; expected one of ${Object.keys(FILTER_FLAG)
          .map((k) => `SECCOMP_FILTER_FLAG_${k}`)
          .join(", ")}`,
      );
    f |= v;
  }
  if (f & FILTER_FLAG.TSYNC && f & FILTER_FLAG.NEW_LISTENER) f |= FILTER_FLAG.TSYNC_ESRCH;
  return f;
}

/**
 * The 16-byte `struct sock_fprog` header (u16 len, padding, u64 pointer at offset 8;
 * the pointer is left 0 for the caller to fill).
 *
 * @example
 * ```ts
 * import { sockFprogHeader } from "@forge/seccomp";
 * sockFprogHeader(10)[0]; // 10
 * ```
 */
export function sockFprogHeader(instructions: number): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint16(0, instructions, true);
  return b;
}

/**
 * Installs a filter on the calling process: sets no_new_privs, then loads the filter
 * (with TSYNC unless `tsync: false`). Returns the listener fd with `newListener`, else 0.
 * Irreversible: the filter stays for the life of the process and its children.
 *
 * @example
 * ```ts
 * import { compileProfile, installFilter } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["ptrace"], action: "SCMP_ACT_ERRNO" }] });
 * installFilter(f, { log: true });
 * ```
 */
export function installFilter(
  filter: CompiledFilter,
  opts: InstallOptions = {},
  libc: Libc = openLibc(),
): number {
  const flags = filterFlags({
    tsync: true,
    ...opts,
    profileFlags: [...(opts.profileFlags ?? []), ...filter.resolved.flags],
  });
  libc.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return libc.seccompSetFilter(flags, filter.bytes);
}

/**
 * Steps for the spawn trampoline: `prctl(PR_SET_NO_NEW_PRIVS, 1)` and
 * `seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog)`. Put them in `lateSteps` so the
 * filter is the last thing installed before execve.
 *
 * @example
 * ```ts
 * import { spawn } from "@forge/libc";
 * import { compileProfile, seccompSteps } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] });
 * const child = spawn({ argv: ["/bin/mkdir", "/tmp/x"], lateSteps: seccompSteps(f) });
 * ```
 */
export function seccompSteps(filter: CompiledFilter, opts: InstallOptions = {}): Step[] {
  const flags = filterFlags({
    ...opts,
    profileFlags: [...(opts.profileFlags ?? []), ...filter.resolved.flags],
  });
  return [
    { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
    {
      label: `install seccomp filter (${filter.program.length} instructions)`,
      syscall: "seccomp",
      args: [
        SECCOMP_SET_MODE_FILTER,
        flags,
        { bytes: sockFprogHeader(filter.program.length), pointers: [{ at: 8, to: filter.bytes }] },
      ],
    },
  ];
}
