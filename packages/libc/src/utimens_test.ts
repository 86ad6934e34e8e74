import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AT } from "./constants.ts";
import { FakeLibc } from "./fake_libc.ts";
import { openLibc } from "./koffi_libc.ts";
import { SyscallError } from "./syscall_error.ts";
import { futimens, timespecPair, UTIME_NOW, UTIME_OMIT, utimensat } from "./utimens.ts";

/** The four int64 of a `struct timespec[2]`. */
function words(b: Uint8Array): bigint[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [0, 8, 16, 24].map((o) => v.getBigInt64(o, true));
}

describe("timespecPair", () => {
  it("lays out {atime, mtime} as int64 pairs, with UTIME_NOW and UTIME_OMIT", () => {
    expect(words(timespecPair({ sec: 1_200_000_000n, nsec: 123_456_789 }, "omit"))).toEqual([
      1_200_000_000n,
      123_456_789n,
      0n,
      BigInt(UTIME_OMIT),
    ]);
    expect(words(timespecPair("now", { sec: -1, nsec: 999_999_999 }))).toEqual([
      0n,
      BigInt(UTIME_NOW),
      -1n,
      999_999_999n,
    ]);
  });

  it("refuses a time the kernel would refuse, naming which one", () => {
    expect(() => timespecPair("omit", { sec: 0n, nsec: 1_000_000_000 })).toThrow(
      /mtime: nsec must be a whole number from 0 to 999999999/,
    );
    expect(() => timespecPair({ sec: 0n, nsec: -1 }, "omit")).toThrow(RangeError);
    expect(() => timespecPair({ sec: 2n ** 63n, nsec: 0 }, "omit")).toThrow(
      /atime: sec 9223372036854775808 does not fit a 64-bit time_t/,
    );
    expect(() => timespecPair({ sec: 1.5, nsec: 0 }, "omit")).toThrow(RangeError);
  });
});

describe("utimensat and futimens (fake)", () => {
  it("call utimensat, or utimensat_time64 where time_t was 32 bits", () => {
    for (const [arch, name] of [
      ["x86_64", "utimensat"],
      ["aarch64", "utimensat"],
      ["arm", "utimensat_time64"],
      ["i386", "utimensat_time64"],
    ] as const) {
      const libc = new FakeLibc(arch);
      utimensat(libc, 5, "f", "now", "omit", AT.SYMLINK_NOFOLLOW);
      futimens(libc, 7, "omit", { sec: 1n, nsec: 2 });
      expect(
        libc.calls.map((c) => [c.name, ...c.args.filter((a) => !(a instanceof Uint8Array))]),
      ).toEqual([
        [name, 5, "f", AT.SYMLINK_NOFOLLOW],
        [name, 7, null, 0],
      ]);
      expect(words(libc.calls[1]!.args[2] as Uint8Array)).toEqual([0n, BigInt(UTIME_OMIT), 1n, 2n]);
    }
  });
});

describe("utimensat and futimens (real)", () => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-libc-utimens-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("set a time to the nanosecond and leave the other as it is", () => {
    const libc = openLibc();
    const f = path.join(dir, "f");
    fs.writeFileSync(f, "x");
    fs.utimesSync(f, 1_000_000_000, 1_000_000_000);
    utimensat(libc, AT.FDCWD, f, "omit", { sec: 1_200_000_000n, nsec: 123_456_789 });
    let st = fs.statSync(f, { bigint: true });
    expect(st.mtimeNs).toBe(1_200_000_000_123_456_789n);
    expect(st.atimeNs).toBe(1_000_000_000_000_000_000n);

    const fd = fs.openSync(f, "r");
    try {
      futimens(libc, fd, { sec: 1_100_000_000n, nsec: 1 }, "omit");
      st = fs.statSync(f, { bigint: true });
      expect(st.atimeNs).toBe(1_100_000_000_000_000_001n);
      expect(st.mtimeNs).toBe(1_200_000_000_123_456_789n);
      const before = BigInt(Date.now() - 1000) * 1_000_000n;
      futimens(libc, fd, "omit", "now");
      st = fs.statSync(f, { bigint: true });
      expect(st.mtimeNs).toBeGreaterThan(before);
      expect(st.atimeNs).toBe(1_100_000_000_000_000_001n);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("change a symlink itself with AT_SYMLINK_NOFOLLOW, relative to a directory fd", () => {
    const libc = openLibc();
    fs.writeFileSync(path.join(dir, "target"), "x");
    fs.utimesSync(path.join(dir, "target"), 1_000_000_000, 1_000_000_000);
    fs.symlinkSync("target", path.join(dir, "link"));
    const dfd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const t = { sec: 1_300_000_000n, nsec: 987_654_321 };
      utimensat(libc, dfd, "link", t, t, AT.SYMLINK_NOFOLLOW);
      expect(fs.lstatSync(path.join(dir, "link"), { bigint: true }).mtimeNs).toBe(
        1_300_000_000_987_654_321n,
      );
      expect(fs.statSync(path.join(dir, "target"), { bigint: true }).mtimeNs).toBe(
        1_000_000_000_000_000_000n,
      );
      // Without the flag the link is followed.
      utimensat(libc, dfd, "link", "omit", t);
      expect(fs.statSync(path.join(dir, "target"), { bigint: true }).mtimeNs).toBe(
        1_300_000_000_987_654_321n,
      );
    } finally {
      fs.closeSync(dfd);
    }
  });

  it("throws a SyscallError with the errno name", () => {
    let err: unknown;
    try {
      utimensat(openLibc(), AT.FDCWD, path.join(dir, "missing"), "now", "now");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe("ENOENT");
  });
});
