import { afterEach, describe, expect, it, vi } from "vitest";
import { setLongTimeout } from "./long_timeout.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("setLongTimeout", () => {
  it("fires after 2^31 ms, not at once (Node's own timer would), and can be cleared", () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    setLongTimeout(() => fired.push("long"), 2 ** 31);
    const cleared = setLongTimeout(() => fired.push("cleared"), 2 ** 32);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(2 ** 31 - 3);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(fired).toEqual(["long"]);
    cleared.clear();
    vi.advanceTimersByTime(2 ** 32);
    expect(fired).toEqual(["long"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("fires a short delay once, as setTimeout does", () => {
    vi.useFakeTimers();
    let n = 0;
    setLongTimeout(() => n++, 10);
    vi.advanceTimersByTime(9);
    expect(n).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(n).toBe(1);
  });
});
