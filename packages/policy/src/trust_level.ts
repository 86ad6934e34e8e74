/**
 * Trust levels, from most to least trusted, as in the execution module's seed:
 * Core, Trusted, Standard, Limited, Quarantined.
 *
 * @example
 * ```ts
 * import { TRUST_LEVELS } from "@forge/policy";
 * console.log(TRUST_LEVELS[0]); // "Core"
 * ```
 */
export const TRUST_LEVELS = ["Core", "Trusted", "Standard", "Limited", "Quarantined"] as const;

/**
 * One of {@link TRUST_LEVELS}.
 *
 * @example
 * ```ts
 * import type { TrustLevel } from "@forge/policy";
 * const level: TrustLevel = "Standard";
 * ```
 */
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/**
 * The rank of a trust level: 0 for Core (most trusted) up to 4 for Quarantined.
 * Throws a TypeError for an unknown name.
 *
 * @example
 * ```ts
 * import { trustRank } from "@forge/policy";
 * trustRank("Core"); // 0
 * ```
 */
export function trustRank(level: TrustLevel): number {
  const i = TRUST_LEVELS.indexOf(level);
  if (i < 0) {
    throw new TypeError(
      `unknown trust level "${String(level)}"; expected one of ${TRUST_LEVELS.join(", ")}`,
    );
  }
  return i;
}

/**
 * Whether `level` is at least as trusted as `minimum` (Core ≥ Trusted ≥ ... ≥ Quarantined).
 * A Quarantined subject never meets any minimum except Quarantined itself.
 *
 * @example
 * ```ts
 * import { meetsTrust } from "@forge/policy";
 * meetsTrust("Trusted", "Standard"); // true
 * meetsTrust("Limited", "Standard"); // false
 * ```
 */
export function meetsTrust(level: TrustLevel, minimum: TrustLevel): boolean {
  return trustRank(level) <= trustRank(minimum);
}
