import { describe, expect, it } from "vitest";
import { capabilityWarnings, WALL_BREAKING_CAPABILITIES } from "./cap_warnings.ts";

describe("capabilityWarnings", () => {
  it("gives one line per kept wall-breaking capability, at most 160 characters as forge run prints it", () => {
    const all = Object.keys(WALL_BREAKING_CAPABILITIES);
    const lines = capabilityWarnings([...all, "NET_BIND_SERVICE", "CAP_SYS_ADMIN"]);
    expect(lines).toHaveLength(all.length);
    for (const l of lines) {
      expect(l).not.toMatch(/\n/);
      expect(`forge: warning: ${l}`.length, l).toBeLessThanOrEqual(160);
    }
  });
});
