import { FakeLibc, PR } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { capgetSelf, describeCaps, parseProcStatusCaps, readCaps } from "./read_caps.ts";

describe("reading capabilities", () => {
  it("parses /proc/<pid>/status", () => {
    const s = parseProcStatusCaps(
      "Name:\tsh\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000400\nNoNewPrivs:\t1\n",
    );
    expect(s).toEqual({
      inheritable: 0n,
      permitted: 0x400n,
      effective: 0x400n,
      bounding: 0x1ffffffffffn,
      ambient: 0x400n,
      noNewPrivs: true,
    });
    expect(describeCaps(s).ambient).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(() => parseProcStatusCaps("Name:\tx\n")).toThrow(/CapInh/);
  });

  it("reads this process's sets from /proc", () => {
    const s = readCaps();
    expect(typeof s.bounding).toBe("bigint");
    expect(s.noNewPrivs === true || s.noNewPrivs === false).toBe(true);
  });

  it("reads its own sets through capget and prctl", () => {
    const libc = new FakeLibc()
      .on("capget", (args) => {
        const d = args[1] as Uint8Array;
        const v = new DataView(d.buffer);
        v.setUint32(0, 0x400, true); // effective low
        v.setUint32(4, 0x401, true); // permitted low
        v.setUint32(16, 0x1, true); // permitted high: cap 32
        return 0;
      })
      .on("prctl", (args) => {
        const [opt, a2, a3] = args as number[];
        if (opt === PR.CAPBSET_READ) return a2! <= 40 ? 1 : -22;
        if (opt === PR.CAP_AMBIENT) return a3 === 10 ? 1 : 0;
        if (opt === PR.GET_NO_NEW_PRIVS) return 1;
        return 0;
      });
    const s = capgetSelf(libc);
    expect(s.effective).toBe(0x400n);
    expect(s.permitted).toBe(0x401n | (1n << 32n));
    expect(s.bounding).toBe((1n << 41n) - 1n);
    expect(s.ambient).toBe(0x400n);
    expect(s.noNewPrivs).toBe(true);
    const header = libc.callsTo("capget")[0]!.args[0] as Uint8Array;
    expect(new DataView(header.buffer).getUint32(0, true)).toBe(0x20080522);
  });
});
