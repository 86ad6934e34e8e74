import { describe, expect, it } from "vitest";
import { checkDurationMs, MAX_DURATION_MS, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it("parses each unit", () => {
    expect(parseDuration("250ms", "--timeout")).toBe(250);
    expect(parseDuration("1.5m", "--timeout")).toBe(90_000);
    expect(parseDuration(" 2h ", "--timeout")).toBe(7_200_000);
  });

  it("refuses a bare number (seconds or milliseconds?) with both spellings", () => {
    expect(() => parseDuration("1", "--timeout")).toThrow(
      new RangeError('--timeout: "1" has no unit; write 1s for seconds or 1ms for milliseconds'),
    );
  });

  it("takes 597h (past one Node timer), refuses past 2^53 ms, zero and junk, in one line", () => {
    expect(parseDuration("597h")).toBe(2_149_200_000);
    expect(() => parseDuration("3000000000000h", "timeout")).toThrow(
      'timeout: "3000000000000h" is too long (at most 285616 years); leave timeout out for no timeout',
    );
    expect(() => parseDuration("0ms", "timeout")).toThrow("more than zero");
    expect(() => parseDuration("1\n2s", "timeout")).toThrow(
      'timeout: expected a duration such as 500ms, 10s, 2m or 1h, got "1\\n2s"',
    );
  });
});

describe("checkDurationMs", () => {
  it("takes a finite positive number up to 2^53 - 1 and says what else to do", () => {
    expect(checkDurationMs(2 ** 31, "timeoutMs")).toBe(2 ** 31);
    expect(checkDurationMs(MAX_DURATION_MS, "timeoutMs")).toBe(MAX_DURATION_MS);
    expect(() => checkDurationMs(Number.POSITIVE_INFINITY, "timeoutMs")).toThrow(
      "timeoutMs: expected a number of milliseconds above 0 and at most 2^53 - 1, got Infinity (leave timeoutMs out for none)",
    );
    for (const bad of [0, -1, Number.NaN, "10", 2 ** 53])
      expect(() => checkDurationMs(bad, "timeoutMs")).toThrow(RangeError);
  });
});
