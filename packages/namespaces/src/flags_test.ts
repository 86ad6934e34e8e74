import { CLONE } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { DEFAULT_NAMESPACES, namespaceFlags, namespaceKinds } from "./flags.ts";

describe("namespaceFlags", () => {
  it("maps names to CLONE_NEW* flags", () => {
    expect(namespaceFlags(["user", "mount"])).toBe(CLONE.NEWUSER | CLONE.NEWNS);
    expect(namespaceKinds(namespaceFlags(DEFAULT_NAMESPACES))).toEqual([
      "user",
      "pid",
      "mount",
      "ipc",
      "uts",
      "net",
      "cgroup",
    ]);
  });
  it("drops the net namespace for --net host and adds time on request", () => {
    expect(namespaceFlags({ net: "host" }) & CLONE.NEWNET).toBe(0);
    expect(namespaceFlags({}) & CLONE.NEWNET).toBe(CLONE.NEWNET);
    expect(namespaceFlags({ time: true }) & CLONE.NEWTIME).toBe(CLONE.NEWTIME);
  });
  it("rejects unknown names", () => {
    expect(() => namespaceFlags(["users" as "user"])).toThrow(/unknown namespace "users"/);
  });
});
