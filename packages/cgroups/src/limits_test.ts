import { describe, expect, it } from "vitest";
import {
  CLAWOS_LIMITS,
  hasLimits,
  parseCpus,
  parseCpuWeight,
  parseIoMax,
  parseLimits,
  parseLimitsOption,
  parsePids,
  parseSize,
} from "./limits.ts";

describe("parseSize", () => {
  it("reads binary units and max", () => {
    expect(parseSize("256M")).toBe(268435456);
    expect(parseSize("1G")).toBe(1073741824);
    expect(parseSize("1GiB")).toBe(1073741824);
    expect(parseSize("512k")).toBe(524288);
    expect(parseSize("1.5G")).toBe(1610612736);
    expect(parseSize("4096")).toBe(4096);
    expect(parseSize("0")).toBe(0);
    expect(parseSize("max")).toBe("max");
  });
  it("rejects garbage with a message that shows the accepted forms", () => {
    expect(() => parseSize("abc", "--memory")).toThrow(/invalid --memory "abc".*256M/);
    expect(() => parseSize("-5M")).toThrow(RangeError);
    expect(() => parseSize("5X")).toThrow(RangeError);
  });
});

describe("parseCpus", () => {
  it("maps a CPU count to a quota per 1 s period, as the seeds' 50000/1000000", () => {
    expect(parseCpus("0.05")).toEqual({ quota: 50000, period: 1000000 });
    expect(parseCpus("2")).toEqual({ quota: 2000000, period: 1000000 });
    expect(parseCpus("max")).toEqual({ quota: "max", period: 1000000 });
  });
  it("rejects zero, negatives and quotas below the kernel's 1 ms", () => {
    expect(() => parseCpus("0")).toThrow(/positive/);
    expect(() => parseCpus("-1")).toThrow(RangeError);
    expect(() => parseCpus("0.0001")).toThrow(/1 ms/);
  });
});

describe("parsePids / parseCpuWeight", () => {
  it("accepts the ranges the kernel accepts", () => {
    expect(parsePids("32")).toBe(32);
    expect(parsePids(32)).toBe(32);
    expect(parsePids("max")).toBe("max");
    expect(() => parsePids("0")).toThrow(RangeError);
    expect(() => parsePids("3.5")).toThrow(RangeError);
    expect(parseCpuWeight("100")).toBe(100);
    expect(() => parseCpuWeight("0")).toThrow(/1 to 10000/);
    expect(() => parseCpuWeight("10001")).toThrow(RangeError);
  });
});

describe("parseIoMax", () => {
  it("reads MAJ:MIN lines with size units on byte rates", () => {
    expect(parseIoMax("8:0 rbps=1M wbps=max riops=100 wiops=200")).toEqual({
      major: 8,
      minor: 0,
      rbps: 1048576,
      wbps: "max",
      riops: 100,
      wiops: 200,
    });
  });
  it("resolves a device path", () => {
    const resolve = (p: string) => {
      expect(p).toBe("/dev/vda");
      return { major: 254, minor: 0 };
    };
    expect(parseIoMax("/dev/vda wbps=10M", resolve)).toEqual({
      major: 254,
      minor: 0,
      wbps: 10485760,
    });
  });
  it("rejects unknown keys, missing keys and zero rates", () => {
    expect(() => parseIoMax("8:0")).toThrow(/key=value/);
    expect(() => parseIoMax("8:0 foo=1")).toThrow(/"foo=1"/);
    expect(() => parseIoMax("8:0 riops=abc")).toThrow(/integer/);
    expect(() => parseIoMax("8:0 wbps=0")).toThrow(/block all I\/O/);
  });
  it("rejects a path that is not a block device", () => {
    expect(() => parseIoMax("/etc/passwd wbps=1M")).toThrow(/not a block device/);
    expect(() => parseIoMax("/nonexistent wbps=1M")).toThrow(/invalid io-max device/);
  });
});

describe("parseLimits", () => {
  it("builds Limits from command-line strings", () => {
    expect(
      parseLimits({
        memory: "256M",
        cpus: "0.05",
        pids: "32",
        noSwap: true,
        ioMax: ["8:0 wbps=1M"],
      }),
    ).toEqual({
      memory: 268435456,
      cpu: { quota: 50000, period: 1000000 },
      pids: 32,
      swap: 0,
      io: [{ major: 8, minor: 0, wbps: 1048576 }],
    });
  });
  it("the clawos preset carries the seeds' values and explicit options override it", () => {
    expect(parseLimits({ preset: "clawos" })).toEqual({
      memory: 256 * 1024 * 1024,
      swap: 0,
      cpu: { quota: 50000, period: 1000000 },
      pids: 32,
      oomGroupKill: true,
    });
    expect(parseLimits({ preset: "clawos", memory: "512M" }).memory).toBe(512 * 2 ** 20);
    expect(CLAWOS_LIMITS.pids).toBe(32);
  });
  it("rejects --no-swap with a non-zero --swap", () => {
    expect(() => parseLimits({ noSwap: true, swap: "1G" })).toThrow(/conflicts/);
  });
  it("parseLimitsOption reads presets and modes", () => {
    expect(parseLimitsOption("clawos")).toEqual({ preset: "clawos" });
    expect(parseLimitsOption("best-effort")).toEqual({ mode: "best-effort" });
    expect(parseLimitsOption(["clawos", "best-effort"])).toEqual({
      preset: "clawos",
      mode: "best-effort",
    });
    expect(parseLimitsOption("clawos,strict")).toEqual({ preset: "clawos", mode: "strict" });
    expect(() => parseLimitsOption("tight")).toThrow(/clawos.*best-effort/);
  });
  it("hasLimits", () => {
    expect(hasLimits({})).toBe(false);
    expect(hasLimits({ io: [] })).toBe(false);
    expect(hasLimits({ pids: 1 })).toBe(true);
  });
});
