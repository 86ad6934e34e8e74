import { describe, expect, it } from "vitest";
import { firstTimeOnly } from "./once_per_process.ts";

describe("firstTimeOnly", () => {
  it("gives each line once per process, in order, a repeat within one call included", () => {
    expect(firstTimeOnly(["a", "b", "a"])).toEqual(["a", "b"]);
    expect(firstTimeOnly(["b", "c"])).toEqual(["c"]);
    expect(firstTimeOnly(["a", "b", "c"])).toEqual([]);
  });
});
