import { FakeLibc, type SyscallStep } from "@forge/libc";
import { describe, expect, it } from "vitest";
import {
  LANDLOCK_ACCESS_FS,
  LandlockError,
  landlockAbi,
  landlockFsRights,
  landlockRulesFromMounts,
  landlockSteps,
} from "./landlock.ts";

const A = LANDLOCK_ACCESS_FS;
const fake = () =>
  new FakeLibc()
    .on("openat2", () => 77)
    .on("statx", (args) => {
      new DataView((args[4] as Uint8Array).buffer).setUint16(28, 0o040755, true);
      return 0;
    });

describe("landlock", () => {
  it("reads the ABI and maps it to restrictable rights", () => {
    expect(landlockAbi(new FakeLibc().on("landlock_create_ruleset", () => 4))).toBe(4);
    expect(landlockAbi(new FakeLibc().on("landlock_create_ruleset", () => -38))).toBe(0);
    expect(landlockFsRights(1)).toBe(0x1fff);
    expect(landlockFsRights(3) & A.TRUNCATE).toBe(A.TRUNCATE);
    expect(landlockFsRights(4) & A.IOCTL_DEV).toBe(0);
    expect(landlockFsRights(5) & A.IOCTL_DEV).toBe(A.IOCTL_DEV);
  });

  it("derives rules from the mount spec", () => {
    const rules = landlockRulesFromMounts({
      binds: [
        { src: "/usr", dst: "/usr", readonly: true },
        { src: "/tmp", dst: "/work" },
      ],
      tmpfs: [{ dst: "/run", noexec: true }],
    });
    expect(rules).toEqual([
      { inside: "/", access: ["list"] },
      { path: "/usr", access: ["read", "execute"] },
      { path: "/tmp", access: ["read", "write", "execute"] },
      { inside: "/run", access: ["read", "write"] },
      { inside: "/proc", access: ["read", "write"] },
      { inside: "/dev", access: ["read", "write", "ioctl-dev"] },
    ]);
  });

  it("builds the ruleset: parent fds for host paths, fixed fds for inside paths", () => {
    const libc = fake();
    const p = landlockSteps(
      [
        { path: "/usr", access: ["read", "execute"] },
        { inside: "/tmp", access: ["read", "write"] },
      ],
      { libc, abi: 7 },
    );
    expect(p.fds).toEqual([77]);
    expect(p.enforced.abi).toBe(7);
    expect(p.enforced.fs).toContain("IOCTL_DEV");
    expect(p.enforced.scoped).toEqual(["ABSTRACT_UNIX_SOCKET", "SIGNAL"]);
    const steps = p.steps as SyscallStep[];
    const attr = (steps[0]!.args[0] as { bytes: Uint8Array }).bytes;
    expect(attr.length).toBe(24);
    expect(new DataView(attr.buffer).getBigUint64(0, true)).toBe(BigInt(landlockFsRights(7)));
    const rules = steps
      .filter((s) => s.syscall === "landlock_add_rule")
      .map((s) => new DataView((s.args[2] as { bytes: Uint8Array }).bytes.buffer));
    expect(rules[0]!.getBigUint64(0, true)).toBe(BigInt(A.READ_FILE | A.READ_DIR | A.EXECUTE));
    expect(rules[0]!.getInt32(8, true)).toBe(77);
    const fixed = rules[1]!.getInt32(8, true);
    expect(fixed).toBeGreaterThanOrEqual(1000);
    const prep = p.prepareSteps as SyscallStep[];
    expect(prep.map((s) => s.syscall)).toEqual(["openat2", "dup3", "close"]);
    expect(prep[1]!.args[1]).toBe(fixed);
    expect(steps.at(-2)!.syscall).toBe("landlock_restrict_self");
    p.close();
    expect(libc.callsTo("close")).toHaveLength(1);
  });

  it("strict refuses what an old kernel cannot restrict; best-effort warns", () => {
    const rules = [{ path: "/usr", access: ["read", "write"] as const }];
    expect(() => landlockSteps(rules, { libc: fake(), abi: 2 })).toThrow(LandlockError);
    expect(() => landlockSteps(rules, { libc: fake(), abi: 2 })).toThrow(
      /cannot restrict TRUNCATE/,
    );
    const p = landlockSteps(rules, { libc: fake(), abi: 2, mode: "best-effort" });
    expect(p.warnings.join()).toMatch(/TRUNCATE/);
    expect(p.enforced.fs).not.toContain("TRUNCATE");
    expect(() => landlockSteps(rules, { libc: fake(), abi: 0 })).toThrow(/not available/);
    const none = landlockSteps(rules, { libc: fake(), abi: 0, mode: "best-effort" });
    expect(none.steps).toEqual([]);
    expect(() => landlockSteps(rules, { libc: fake(), abi: 5, scope: true })).toThrow(/ABI 6/);
  });

  it("rejects malformed rules", () => {
    expect(() => landlockSteps([{ access: ["read"] }], { libc: fake(), abi: 7 })).toThrow(
      /exactly one absolute/,
    );
    expect(() =>
      landlockSteps([{ inside: "/x", access: ["fly" as "read"] }], { libc: fake(), abi: 7 }),
    ).toThrow(/unknown Landlock right "fly"/);
  });
});
