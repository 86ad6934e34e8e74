import { describe, expect, it } from "vitest";
import { FakeLibc } from "./fake_libc.ts";
import { SyscallError } from "./syscall_error.ts";

describe("FakeLibc", () => {
  it("records calls and answers from handlers", () => {
    const libc = new FakeLibc("x86_64").on("getuid", () => 1000).on("unshare", () => -1);
    expect(libc.getuid()).toBe(1000);
    expect(() => libc.unshare(0x10000000)).toThrow(SyscallError);
    try {
      libc.unshare(0x10000000);
    } catch (e) {
      expect((e as SyscallError).code).toBe("EPERM");
      expect((e as SyscallError).message).toBe(
        "unshare(0x10000000): EPERM (Operation not permitted)",
      );
    }
    expect(libc.callsTo("unshare").length).toBe(2);
    expect(libc.calls[0]).toEqual({ name: "getuid", args: [] });
  });

  it("builds structs the way the kernel expects", () => {
    const libc = new FakeLibc("x86_64");
    libc.openat2(-100, "/etc", { flags: 0o10000000, resolve: 0x0c });
    const [call] = libc.callsTo("openat2");
    const how = call!.args[2] as Uint8Array;
    const dv = new DataView(how.buffer);
    expect(dv.getBigUint64(0, true)).toBe(0o10000000n);
    expect(dv.getBigUint64(16, true)).toBe(0x0cn);
    expect(call!.args[3]).toBe(24);
    libc.sethostname("box");
    expect(libc.callsTo("sethostname")[0]!.args).toEqual(["box", 3]);
  });

  it("decodes waitid's siginfo", () => {
    const libc = new FakeLibc().on("waitid", (args) => {
      const dv = new DataView((args[2] as Uint8Array).buffer);
      dv.setInt32(8, 1, true);
      dv.setInt32(16, 42, true);
      dv.setInt32(24, 7, true);
      return 0;
    });
    expect(libc.waitid(3, 5, 4)).toEqual({ code: 1, pid: 42, status: 7 });
  });
});

describe("seccompSetFilter", () => {
  it("builds sock_fprog for the program and checks its size", () => {
    const libc = new FakeLibc("x86_64");
    libc.seccompSetFilter(1, new Uint8Array(16));
    const [call] = libc.callsTo("seccomp");
    expect(call!.args[0]).toBe(1);
    expect(call!.args[1]).toBe(1);
    expect(new DataView((call!.args[2] as Uint8Array).buffer).getUint16(0, true)).toBe(2);
    expect(() => libc.seccompSetFilter(0, new Uint8Array(12))).toThrow(
      "expected 1 to 65535 instructions of 8 bytes, got 12 bytes",
    );
  });
});
