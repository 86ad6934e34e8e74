import { describe, expect, it } from "vitest";
import { errnoMessage, errnoName, errnoNumber, errnoTable } from "./errno.ts";
import { SyscallError } from "./syscall_error.ts";

describe("errno", () => {
  it("maps numbers, names and messages both ways", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoNumber("EPERM")).toBe(1);
    expect(errnoNumber("enoent")).toBe(2);
    expect(errnoMessage(13)).toBe("Permission denied");
    expect(errnoNumber("EWOULDBLOCK")).toBe(errnoNumber("EAGAIN"));
    expect(errnoName(95)).toBe("EOPNOTSUPP");
  });

  it("round-trips every entry of the table", () => {
    for (const [n, name] of errnoTable()) expect(errnoNumber(name)).toBe(n);
    expect(errnoTable().length).toBeGreaterThan(120);
  });

  it("names unknown numbers instead of failing", () => {
    expect(errnoName(4000)).toBe("E4000");
    expect(errnoMessage(4000)).toBe("Unknown error 4000");
    expect(errnoNumber("ENOTHING")).toBeUndefined();
  });
});

describe("SyscallError", () => {
  it("carries errno, code, syscall and readable arguments", () => {
    const e = new SyscallError("mount", 1, ["proc", "/proc", "proc", 0x400000, null]);
    expect(e.errno).toBe(1);
    expect(e.code).toBe("EPERM");
    expect(e.syscall).toBe("mount");
    expect(e.args).toEqual(['"proc"', '"/proc"', '"proc"', "0x400000", "NULL"]);
    expect(e.message).toBe(
      'mount("proc", "/proc", "proc", 0x400000, NULL): EPERM (Operation not permitted)',
    );
  });

  it("uses the context in place of the call when given", () => {
    const e = new SyscallError("mount", 1, [], "mount proc on /proc");
    expect(e.message).toBe("mount proc on /proc: EPERM (Operation not permitted)");
  });
});
