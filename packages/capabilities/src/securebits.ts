/**
 * Securebits (linux/securebits.h) and the set Forge applies in a sandbox.
 *
 * @module
 */

/** The securebits flags. */
export const SECBIT = {
  /** Executing as uid 0 (or a setuid-root binary) grants no capabilities. */
  NOROOT: 1 << 0,
  NOROOT_LOCKED: 1 << 1,
  /** Changing uids does not touch the capability sets. */
  NO_SETUID_FIXUP: 1 << 2,
  NO_SETUID_FIXUP_LOCKED: 1 << 3,
  /** Keep permitted capabilities when all uids become non-zero. */
  KEEP_CAPS: 1 << 4,
  KEEP_CAPS_LOCKED: 1 << 5,
  /** Forbid raising ambient capabilities. */
  NO_CAP_AMBIENT_RAISE: 1 << 6,
  NO_CAP_AMBIENT_RAISE_LOCKED: 1 << 7,
} as const;

/**
 * What Forge sets in the sandbox, every bit locked so that a payload holding
 * CAP_SETPCAP cannot undo it:
 * - NOROOT: uid 0 inside gains nothing at execve; the kept capabilities reach the
 *   payload only through the ambient set, whatever its uid.
 * - NO_SETUID_FIXUP: the sandbox's own switch to the inside uid/gid (and any later one)
 *   leaves the capability sets alone, so the kept set is exactly `keep` for every
 *   inside uid; it can never grow because the bounding set is already reduced.
 * - KEEP_CAPS off and locked: a later setuid cannot carry capabilities it would
 *   otherwise lose (moot with NO_SETUID_FIXUP, locked for clarity).
 * - NO_CAP_AMBIENT_RAISE: the payload cannot raise ambient capabilities, so what its
 *   children inherit is at most what Forge chose.
 *
 * @example
 * ```ts
 * import { SANDBOX_SECUREBITS, describeSecurebits } from "@forge/capabilities";
 * console.log(describeSecurebits(SANDBOX_SECUREBITS));
 * ```
 */
export const SANDBOX_SECUREBITS: number =
  SECBIT.NOROOT |
  SECBIT.NOROOT_LOCKED |
  SECBIT.NO_SETUID_FIXUP |
  SECBIT.NO_SETUID_FIXUP_LOCKED |
  SECBIT.KEEP_CAPS_LOCKED |
  SECBIT.NO_CAP_AMBIENT_RAISE |
  SECBIT.NO_CAP_AMBIENT_RAISE_LOCKED;

/**
 * The names of the bits set in a securebits value.
 *
 * @example
 * ```ts
 * import { SECBIT, describeSecurebits } from "@forge/capabilities";
 * describeSecurebits(SECBIT.NOROOT | SECBIT.NOROOT_LOCKED); // ["NOROOT", "NOROOT_LOCKED"]
 * ```
 */
export function describeSecurebits(bits: number): string[] {
  return Object.entries(SECBIT)
    .filter(([, v]) => (bits & v) !== 0)
    .map(([k]) => k);
}
