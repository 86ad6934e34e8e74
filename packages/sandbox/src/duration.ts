/**
 * Durations as people write them, for timeouts in profiles and on the command line.
 *
 * @module
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The longest duration accepted, in milliseconds (2^53 - 1, about 285616 years): past
 * it a millisecond count is no longer exact. Timers of any length up to it are chained
 * (see setLongTimeout), so a long timeout never fires early.
 *
 * @example
 * ```ts
 * import { MAX_DURATION_MS } from "@forge/sandbox";
 * console.log(MAX_DURATION_MS / 31_557_600_000); // ~285616 (years)
 * ```
 */
export const MAX_DURATION_MS: number = Number.MAX_SAFE_INTEGER;

/**
 * Parses `500ms`, `2s`, `1.5m` or `1h` into milliseconds. The unit is required: a
 * bare "1" could mean a second or a millisecond, so it is refused with both
 * spellings. Throws a one-line RangeError that names `what` and says what to write.
 *
 * @example
 * ```ts
 * import { parseDuration } from "@forge/sandbox";
 * parseDuration("1.5s", "--timeout"); // 1500
 * parseDuration("597h", "--timeout"); // 2149200000: longer than one Node timer, still exact
 * ```
 */
export function parseDuration(text: string, what = "duration"): number {
  const s = String(text).trim();
  const shown = JSON.stringify(String(text));
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m)
    throw new RangeError(`${what}: expected a duration such as 500ms, 10s, 2m or 1h, got ${shown}`);
  if (m[2] === undefined)
    throw new RangeError(
      `${what}: ${shown} has no unit; write ${m[1]}s for seconds or ${m[1]}ms for milliseconds`,
    );
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!(ms > 0)) throw new RangeError(`${what}: the duration must be more than zero, got ${shown}`);
  if (ms > MAX_DURATION_MS)
    throw new RangeError(
      `${what}: ${shown} is too long (at most 285616 years); leave ${what} out for no timeout`,
    );
  return ms;
}

/**
 * Checks a duration given in milliseconds by a library caller (`timeoutMs`...): a
 * finite number above zero and at most {@link MAX_DURATION_MS}; throws a RangeError
 * naming `what` otherwise. Returns it.
 *
 * @example
 * ```ts
 * import { checkDurationMs } from "@forge/sandbox";
 * checkDurationMs(2 ** 31, "timeoutMs"); // 2147483648: fine, timers are chained
 * ```
 */
export function checkDurationMs(ms: unknown, what: string): number {
  if (typeof ms !== "number" || !(ms > 0) || ms > MAX_DURATION_MS)
    throw new RangeError(
      `${what}: expected a number of milliseconds above 0 and at most 2^53 - 1, got ${typeof ms === "number" ? ms : (JSON.stringify(ms) ?? String(ms))}${ms === Number.POSITIVE_INFINITY ? ` (leave ${what} out for none)` : ""}`,
    );
  return ms;
}
