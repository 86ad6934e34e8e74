import { describe, expect, it } from "vitest";
import { CAPABILITIES, capMask, capName, capNames, capNumber, lastCap } from "./names.ts";

describe("capability names", () => {
  it("maps names with and without CAP_ to numbers", () => {
    expect(capNumber("CHOWN")).toBe(0);
    expect(capNumber("NET_BIND_SERVICE")).toBe(10);
    expect(capNumber("CAP_NET_BIND_SERVICE")).toBe(10);
    expect(capNumber("cap_sys_admin")).toBe(21);
    expect(capNumber("CHECKPOINT_RESTORE")).toBe(40);
    expect(capNumber(7)).toBe(7);
    expect(CAPABILITIES).toHaveLength(41);
  });
  it("rejects unknown names with a hint", () => {
    expect(() => capNumber("NET_BIND")).toThrow(/unknown capability "NET_BIND".*NET_BIND_SERVICE/);
    expect(() => capNumber(64)).toThrow(RangeError);
  });
  it("round-trips numbers, names and masks", () => {
    for (let i = 0; i < CAPABILITIES.length; i++) expect(capNumber(capName(i))).toBe(i);
    expect(capName(50)).toBe("CAP_50");
    expect(capMask(["CHOWN", "KILL"])).toBe(33n);
    expect(capNames(capMask(["SYS_ADMIN", "BPF"]))).toEqual(["CAP_SYS_ADMIN", "CAP_BPF"]);
  });
  it("reads the kernel's last capability", () => {
    const n = lastCap();
    expect(n).toBeGreaterThanOrEqual(36);
    expect(lastCap("/nonexistent")).toBe(40);
  });
});
