/**
 * Timers longer than Node's: a chain of timers for delays past 2^31 - 1 ms.
 *
 * @module
 */
import { checkDurationMs } from "./duration.ts";

/** What {@link setLongTimeout} returns: call `clear()` to cancel. */
export interface LongTimeout {
  clear(): void;
}

/** The longest delay one Node timer takes (longer ones fire at once, with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `setTimeout` for any delay up to MAX_DURATION_MS (2^53 - 1): Node's own timers fire at
 * once (with a TimeoutOverflowWarning) past 2^31 - 1 ms (~24.8 days), so a longer
 * delay is a chain of timers, each at most that long. Like a Node timer it keeps the
 * process alive unless `unref` is set.
 *
 * @example
 * ```ts
 * import { setLongTimeout } from "@forge/sandbox";
 * const t = setLongTimeout(() => console.log("30 days later"), 30 * 86_400_000);
 * t.clear();
 * ```
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  opts: { unref?: boolean } = {},
): LongTimeout {
  let left = checkDurationMs(ms, "setLongTimeout");
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      left -= step;
      if (left > 0) arm();
      else {
        timer = undefined;
        fn();
      }
    }, step);
    if (opts.unref) timer.unref();
  };
  arm();
  return {
    clear() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
