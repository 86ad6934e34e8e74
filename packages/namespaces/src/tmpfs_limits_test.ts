import { describe, expect, it } from "vitest";
import {
  BYTES_PER_INODE,
  MIN_TMPFS_INODES,
  parseTmpfsInodes,
  tmpfsBytes,
  tmpfsInodes,
} from "./tmpfs_limits.ts";

describe("tmpfs sizes and inode caps", () => {
  it("reads sizes as the kernel does", () => {
    expect(tmpfsBytes("64m")).toBe(64 * 2 ** 20);
    expect(tmpfsBytes("64M")).toBe(64 * 2 ** 20);
    expect(tmpfsBytes("1g")).toBe(2 ** 30);
    expect(tmpfsBytes("4096")).toBe(4096);
    expect(tmpfsBytes(8192)).toBe(8192);
    expect(tmpfsBytes("10%", 2 ** 30)).toBe(Math.floor(2 ** 30 / 10));
    expect(() => tmpfsBytes("lots")).toThrow('tmpfs size "lots": expected bytes');
    expect(() => tmpfsBytes(0)).toThrow(/at least|>= 1/);
  });

  it("derives one inode per 4 KiB of size, never fewer than the floor", () => {
    expect(BYTES_PER_INODE).toBe(4096);
    expect(MIN_TMPFS_INODES).toBe(1024);
    expect(tmpfsInodes("64m")).toBe(16384);
    expect(tmpfsInodes()).toBe(16384); // the default size, 64m
    expect(tmpfsInodes("1m")).toBe(1024);
    expect(tmpfsInodes("4k")).toBe(1024);
    expect(tmpfsInodes("10%", undefined, 16 * 2 ** 30)).toBe(Math.ceil((16 * 2 ** 30) / 10 / 4096));
    expect(tmpfsInodes("64m", 10)).toBe(10); // asked for: no floor
    expect(tmpfsInodes("64m", "2k")).toBe(2048);
  });

  it("parses inode counts with binary units and names what was wrong", () => {
    expect(parseTmpfsInodes("16k")).toBe(16384);
    expect(parseTmpfsInodes(7)).toBe(7);
    expect(parseTmpfsInodes("1m")).toBe(2 ** 20);
    expect(() => parseTmpfsInodes("0")).toThrow(
      'tmpfs inodes "0": expected a whole number of inodes from 1 to 4294967295',
    );
    expect(() => parseTmpfsInodes("-3", "--tmpfs /x")).toThrow('--tmpfs /x "-3"');
    expect(() => parseTmpfsInodes("8g")).toThrow(/from 1 to 4294967295/);
  });
});
