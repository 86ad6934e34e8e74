/**
 * Seccomp actions: the values a filter returns, their OCI names, and the order in
 * which the kernel lets one action beat another.
 *
 * @module
 */

/** `SECCOMP_RET_*` values (include/uapi/linux/seccomp.h). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  /** Mask of the action part (with the sign bit). */
  ACTION_FULL: 0xffff0000,
  /** Mask of the data part (errno, trace message). */
  DATA: 0x0000ffff,
} as const;

/** An action, decoded. `data` is the errno of ERRNO and the message of TRACE. */
export type Action =
  | { readonly kind: "allow" }
  | { readonly kind: "errno"; readonly data: number }
  | { readonly kind: "kill_thread" }
  | { readonly kind: "kill_process" }
  | { readonly kind: "trap" }
  | { readonly kind: "trace"; readonly data: number }
  | { readonly kind: "log" }
  | { readonly kind: "user_notif" };

/** The OCI / libseccomp spellings of actions. */
export const ACTION_NAMES = [
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;

/** One of {@link ACTION_NAMES}. */
export type ActionName = (typeof ACTION_NAMES)[number];

/** The errno (EPERM) that runc uses for ERRNO and TRACE when the profile gives none. */
export const DEFAULT_ERRNO = 1;

/**
 * Decodes an OCI action name with its optional `errnoRet` into an {@link Action}.
 * Throws a RangeError for an unknown name or an errno outside 0..65535.
 *
 * @example
 * ```ts
 * import { parseAction } from "@forge/seccomp";
 * parseAction("SCMP_ACT_ERRNO", 38); // { kind: "errno", data: 38 }
 * parseAction("SCMP_ACT_KILL"); // { kind: "kill_thread" }
 * ```
 */
export function parseAction(name: string, errnoRet?: number): Action {
  const data = errnoRet ?? DEFAULT_ERRNO;
  if (!Number.isInteger(data) || data < 0 || data > 0xffff) {
    throw new RangeError(`errnoRet ${errnoRet}: expected an integer in 0..65535`);
  }
  switch (name) {
    case "SCMP_ACT_ALLOW":
      return { kind: "allow" };
    case "SCMP_ACT_ERRNO":
      return { kind: "errno", data };
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return { kind: "kill_thread" };
    case "SCMP_ACT_KILL_PROCESS":
      return { kind: "kill_process" };
    case "SCMP_ACT_TRAP":
      return { kind: "trap" };
    case "SCMP_ACT_TRACE":
      return { kind: "trace", data };
    case "SCMP_ACT_LOG":
      return { kind: "log" };
    case "SCMP_ACT_NOTIFY":
      return { kind: "user_notif" };
    default:
      throw new RangeError(`unknown action ${name}; expected one of ${ACTION_NAMES.join(", ")}`);
  }
}

/**
 * The 32-bit value a filter returns for an action.
 *
 * @example
 * ```ts
 * import { actionValue } from "@forge/seccomp";
 * actionValue({ kind: "errno", data: 1 }).toString(16); // "50001"
 * ```
 */
export function actionValue(a: Action): number {
  switch (a.kind) {
    case "allow":
      return SECCOMP_RET.ALLOW;
    case "errno":
      return (SECCOMP_RET.ERRNO | (a.data & 0xffff)) >>> 0;
    case "kill_thread":
      return SECCOMP_RET.KILL_THREAD;
    case "kill_process":
      return SECCOMP_RET.KILL_PROCESS;
    case "trap":
      return SECCOMP_RET.TRAP;
    case "trace":
      return (SECCOMP_RET.TRACE | (a.data & 0xffff)) >>> 0;
    case "log":
      return SECCOMP_RET.LOG;
    case "user_notif":
      return SECCOMP_RET.USER_NOTIF;
  }
}

/**
 * Decodes a filter's return value the way the kernel does: unknown action values
 * count as KILL_PROCESS (kernel/seccomp.c, `default:` of `__seccomp_filter`).
 *
 * @example
 * ```ts
 * import { decodeAction } from "@forge/seccomp";
 * decodeAction(0x7fff0000); // { kind: "allow" }
 * ```
 */
export function decodeAction(value: number): Action {
  const v = value >>> 0;
  const data = v & SECCOMP_RET.DATA;
  switch ((v & SECCOMP_RET.ACTION_FULL) >>> 0) {
    case SECCOMP_RET.ALLOW:
      return { kind: "allow" };
    case SECCOMP_RET.ERRNO:
      return { kind: "errno", data };
    case SECCOMP_RET.KILL_THREAD:
      return { kind: "kill_thread" };
    case SECCOMP_RET.KILL_PROCESS:
      return { kind: "kill_process" };
    case SECCOMP_RET.TRAP:
      return { kind: "trap" };
    case SECCOMP_RET.TRACE:
      return { kind: "trace", data };
    case SECCOMP_RET.LOG:
      return { kind: "log" };
    case SECCOMP_RET.USER_NOTIF:
      return { kind: "user_notif" };
    default:
      return { kind: "kill_process" };
  }
}

/**
 * Readable form of an action: "ALLOW", "ERRNO(1)", "TRACE(7)", "KILL_PROCESS".
 *
 * @example
 * ```ts
 * import { formatAction } from "@forge/seccomp";
 * formatAction({ kind: "errno", data: 38 }); // "ERRNO(38)"
 * ```
 */
export function formatAction(a: Action): string {
  if (a.kind === "errno" || a.kind === "trace") return `${a.kind.toUpperCase()}(${a.data})`;
  return a.kind.toUpperCase();
}

/**
 * The OCI name and errnoRet of an action (inverse of {@link parseAction}).
 *
 * @example
 * ```ts
 * import { actionToOci } from "@forge/seccomp";
 * actionToOci({ kind: "errno", data: 38 }); // { action: "SCMP_ACT_ERRNO", errnoRet: 38 }
 * ```
 */
export function actionToOci(a: Action): { action: ActionName; errnoRet?: number } {
  switch (a.kind) {
    case "allow":
      return { action: "SCMP_ACT_ALLOW" };
    case "errno":
      return { action: "SCMP_ACT_ERRNO", errnoRet: a.data };
    case "kill_thread":
      return { action: "SCMP_ACT_KILL_THREAD" };
    case "kill_process":
      return { action: "SCMP_ACT_KILL_PROCESS" };
    case "trap":
      return { action: "SCMP_ACT_TRAP" };
    case "trace":
      return { action: "SCMP_ACT_TRACE", errnoRet: a.data };
    case "log":
      return { action: "SCMP_ACT_LOG" };
    case "user_notif":
      return { action: "SCMP_ACT_NOTIFY" };
  }
}

/**
 * The kernel's precedence key of a return value: lower wins. The kernel compares
 * `(s32)(ret & SECCOMP_RET_ACTION_FULL)`, so KILL_PROCESS (negative) beats every
 * other action and ALLOW loses to all.
 *
 * @example
 * ```ts
 * import { actionRank } from "@forge/seccomp";
 * actionRank(0x80000000) < actionRank(0x7fff0000); // true
 * ```
 */
export function actionRank(value: number): number {
  return ((value >>> 0) & SECCOMP_RET.ACTION_FULL) | 0;
}

/**
 * What the kernel does when several filters are stacked: every filter runs and the
 * result with the lowest precedence key wins; on a tie the most recently installed
 * filter (first in `results`) wins, so its errno or trace data are used.
 *
 * @example
 * ```ts
 * import { stackedResult } from "@forge/seccomp";
 * // newest filter first
 * stackedResult([0x7fff0000, 0x00050001]).toString(16); // "50001"
 * ```
 */
export function stackedResult(results: readonly number[]): number {
  if (results.length === 0) return SECCOMP_RET.ALLOW;
  let best = results[0]! >>> 0;
  for (const r of results.slice(1)) {
    if (actionRank(r) < actionRank(best)) best = r >>> 0;
  }
  return best;
}

/**
 * Whether two actions are identical (same kind and data).
 *
 * @example
 * ```ts
 * import { sameAction } from "@forge/seccomp";
 * sameAction({ kind: "allow" }, { kind: "allow" }); // true
 * ```
 */
export function sameAction(a: Action, b: Action): boolean {
  return actionValue(a) === actionValue(b);
}
