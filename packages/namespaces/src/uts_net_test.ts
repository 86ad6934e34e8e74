import type { SyscallStep } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { setnsStep } from "./setns.ts";
import { hostnameStep, loopbackUpSteps } from "./uts_net.ts";

describe("hostname, loopback, setns steps", () => {
  it("sets a valid hostname and rejects bad ones", () => {
    const s = hostnameStep("box-1") as SyscallStep;
    expect(s.syscall).toBe("sethostname");
    expect(s.args).toEqual([{ cstring: "box-1" }, 5]);
    expect(() => hostnameStep("-bad")).toThrow(TypeError);
    expect(() => hostnameStep("x".repeat(65))).toThrow(TypeError);
  });
  it("brings lo up with SIOCSIFFLAGS", () => {
    const [sock, ioctl] = loopbackUpSteps() as SyscallStep[];
    expect(sock!.syscall).toBe("socket");
    expect(ioctl!.args[1]).toBe(0x8914);
    const ifr = (ioctl!.args[2] as { bytes: Uint8Array }).bytes;
    expect(Buffer.from(ifr.subarray(0, 2)).toString()).toBe("lo");
    expect(new DataView(ifr.buffer).getInt16(16, true) & 1).toBe(1);
  });
  it("joins several namespaces through a pidfd", () => {
    expect((setnsStep(9, ["net", "uts"]) as SyscallStep).args).toEqual([9, 0x40000000 | 0x4000000]);
  });
});
