import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AT } from "./constants.ts";
import { FakeLibc } from "./fake_libc.ts";
import { openLibc } from "./koffi_libc.ts";
import { SyscallError } from "./syscall_error.ts";

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY, O_DIRECTORY, O_RDONLY } = fs.constants;
const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;

describe("the *at() file calls", () => {
  it("pass their arguments in the kernel's order (fake)", () => {
    const libc = new FakeLibc("x86_64").on("readlinkat", (args) => {
      (args[2] as Uint8Array).set(Buffer.from("/target"));
      return 7;
    });
    libc.openat(3, "x.tmp", 0o301, 0o644);
    libc.renameat(3, "x.tmp", 3, "x");
    libc.unlinkat(3, "x.tmp");
    libc.fsync(4);
    expect(libc.readlinkat(5, "")).toBe("/target");
    expect(
      libc.calls.map((c) => [c.name, ...c.args.filter((a) => !(a instanceof Uint8Array))]),
    ).toEqual([
      ["openat", 3, "x.tmp", 0o301, 0o644],
      ["renameat", 3, "x.tmp", 3, "x"],
      ["unlinkat", 3, "x.tmp", 0],
      ["fsync", 4],
      ["readlinkat", 5, "", 4096],
    ]);
  });

  it("create, rename and read links relative to a directory fd (real)", () => {
    const libc = openLibc();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-libc-at-"));
    let dfd = -1;
    try {
      dfd = libc.openat(AT.FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      const fd = libc.openat(
        dfd,
        "a.tmp",
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
        0o600,
      );
      libc.write(fd, Buffer.from("hello"));
      libc.fsync(fd);
      libc.close(fd);
      // O_EXCL: a second create of the same name fails.
      expect(() => libc.openat(dfd, "a.tmp", O_WRONLY | O_CREAT | O_EXCL, 0o600)).toThrow(
        SyscallError,
      );
      libc.renameat(dfd, "a.tmp", dfd, "a");
      expect(fs.readFileSync(path.join(dir, "a"), "utf8")).toBe("hello");
      expect(fs.statSync(path.join(dir, "a")).mode & 0o777).toBe(0o600);
      fs.symlinkSync("/etc/passwd", path.join(dir, "link"));
      // O_NOFOLLOW on a symlink: ELOOP; O_PATH|O_NOFOLLOW: the link itself, readable.
      let code = "";
      try {
        libc.openat(dfd, "link", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      } catch (e) {
        code = (e as SyscallError).code;
      }
      expect(code).toBe("ELOOP");
      const lfd = libc.openat(dfd, "link", O_PATH | O_NOFOLLOW | O_CLOEXEC);
      expect(fs.fstatSync(lfd).isSymbolicLink()).toBe(true);
      expect(libc.readlinkat(lfd, "")).toBe("/etc/passwd");
      libc.close(lfd);
      expect(libc.readlinkat(dfd, "link")).toBe("/etc/passwd");
      libc.unlinkat(dfd, "link");
      expect(fs.existsSync(path.join(dir, "link"))).toBe(false);
      libc.fsync(dfd);
    } finally {
      if (dfd >= 0) libc.close(dfd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
