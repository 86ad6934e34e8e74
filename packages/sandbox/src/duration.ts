/**
 * Durations as people write them, for timeouts in profiles and on the command line.
 *
 * @module
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses `500ms`, `2s`, `1.5m` or `1h` (a bare number is seconds) into milliseconds;
 * throws a RangeError that names `what` and shows the accepted forms.
 *
 * @example
 * ```ts
 * import { parseDuration } from "@forge/sandbox";
 * parseDuration("1.5s", "--timeout"); // 1500
 * ```
 */
export function parseDuration(text: string, what = "duration"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m)
    throw new RangeError(
      `${what}: expected a duration such as 500ms, 10s, 2m or 1h, got "${text}"`,
    );
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS];
  if (ms <= 0) throw new RangeError(`${what}: the duration must be more than zero, got "${text}"`);
  return ms;
}
