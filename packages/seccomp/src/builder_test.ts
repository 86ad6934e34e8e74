import { ARCHES, syscallNumber } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { arg, SeccompProfileBuilder } from "./builder.ts";
import { compileProfile } from "./compile.ts";
import { emulate } from "./emulator.ts";
import { validateProfile } from "./profile.ts";
import { verifyFilter } from "./verify.ts";

const ARCHS = ["x86_64", "aarch64"] as const;

function decision(p: unknown, arch: "x86_64" | "aarch64", name: string, args: bigint[] = []) {
  const f = compileProfile(p, { arch, kernel: "6.1" });
  const nr = syscallNumber(name, arch);
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${arch}`);
  return emulate(f.program, { nr, arch: ARCHES[arch].auditArch, args }).action;
}

describe("SeccompProfileBuilder", () => {
  const all = () =>
    new SeccompProfileBuilder()
      .allowFileIO()
      .allowNetworking()
      .allowProcessManagement()
      .allowMemoryManagement()
      .allowSignals()
      .allowTime()
      .allowMisc()
      .blockDangerous();

  test("every group, alone and together, is a valid profile that compiles and verifies", () => {
    const groups = [
      "allowFileIO",
      "allowNetworking",
      "allowProcessManagement",
      "allowMemoryManagement",
      "allowSignals",
      "allowTime",
      "allowMisc",
      "blockDangerous",
    ] as const;
    const profiles = [
      ...groups.map((g) => new SeccompProfileBuilder()[g]().build()),
      all().build(),
    ];
    for (const p of profiles) {
      expect(() => validateProfile(p)).not.toThrow();
      for (const arch of ARCHS) {
        const f = compileProfile(p, { arch, kernel: "6.1" });
        expect(f.resolved.abis.map((a) => a.arch)).toEqual(
          arch === "x86_64" ? ["x86_64", "i386", "x32"] : ["aarch64", "arm"],
        );
        expect(verifyFilter(f.program, f.resolved, { random: 2 }).differences).toEqual([]);
      }
    }
  });

  test("the groups decide what their names say", () => {
    const p = all().build();
    for (const arch of ARCHS) {
      for (const name of [
        "openat",
        "read",
        "write",
        "socket",
        "connect",
        "mmap",
        "clock_gettime",
        "rt_sigaction",
        "exit_group",
      ])
        expect(decision(p, arch, name), `${arch} ${name}`).toEqual({ kind: "allow" });
      for (const name of [
        "mount",
        "ptrace",
        "bpf",
        "kexec_load",
        "unshare",
        "io_uring_setup",
        "init_module",
      ])
        expect(decision(p, arch, name), `${arch} ${name}`).toEqual({ kind: "errno", data: 1 });
      // In no group: the default action.
      expect(decision(p, arch, "syslog")).toEqual({ kind: "errno", data: 1 });
    }
    const custom = new SeccompProfileBuilder("SCMP_ACT_ERRNO", 13).allowTime().build();
    expect(custom.defaultErrnoRet).toBe(13);
    expect(decision(custom, "aarch64", "syslog")).toEqual({ kind: "errno", data: 13 });
    // Only file I/O: no network.
    const files = new SeccompProfileBuilder().allowFileIO().build();
    expect(decision(files, "x86_64", "openat")).toEqual({ kind: "allow" });
    expect(decision(files, "x86_64", "socket")).toEqual({ kind: "errno", data: 1 });
  });

  test("blockDangerous wins over an allow of the same syscall (kernel precedence)", () => {
    const p = new SeccompProfileBuilder("SCMP_ACT_ALLOW")
      .allow(["ptrace"])
      .blockDangerous()
      .build();
    expect(p.precedence).toBe("strictest");
    expect(decision(p, "x86_64", "ptrace")).toEqual({ kind: "errno", data: 1 });
    const f = compileProfile(p, { arch: "x86_64", kernel: "6.1" });
    expect(f.conflicts.some((c) => c.includes("ptrace"))).toBe(true);
  });

  test("rules with arguments, custom errnos, architectures and flags", () => {
    const p = new SeccompProfileBuilder("SCMP_ACT_KILL_PROCESS")
      .allow(["write"], [arg(0, "SCMP_CMP_LE", 2)])
      .deny(["write"], 9)
      .rule(["getpid"], "SCMP_ACT_TRACE", { errnoRet: 7 })
      .allow(["ioctl"], [arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffffn, 0x5413n)])
      .architectures(["SCMP_ARCH_X86_64"])
      .flags(["SECCOMP_FILTER_FLAG_LOG"])
      .build();
    expect(p.architectures).toEqual(["SCMP_ARCH_X86_64"]);
    expect(p.archMap).toBeUndefined();
    expect(p.flags).toEqual(["SECCOMP_FILTER_FLAG_LOG"]);
    expect(p.syscalls![3]!.args![0]).toEqual({
      index: 1,
      op: "SCMP_CMP_MASKED_EQ",
      value: "4294967295",
      valueTwo: "21523",
    });
    const f = compileProfile(p, { arch: "x86_64", kernel: "6.1" });
    expect(f.resolved.abis.map((a) => a.arch)).toEqual(["x86_64"]);
    expect(f.resolved.flags).toEqual(["SECCOMP_FILTER_FLAG_LOG"]);
    const run = (name: string, args: bigint[] = []) =>
      emulate(f.program, {
        nr: syscallNumber(name, "x86_64")!,
        arch: ARCHES.x86_64.auditArch,
        args,
      }).action;
    // The unconditional deny ranks above the narrower allow: every write fails.
    expect(run("write", [1n])).toEqual({ kind: "errno", data: 9 });
    expect(run("getpid")).toEqual({ kind: "trace", data: 7 });
    expect(run("ioctl", [0n, 0xdead00005413n])).toEqual({ kind: "allow" });
    expect(run("ioctl", [0n, 0x5412n])).toEqual({ kind: "kill_process" });
    // Another architecture: KILL_THREAD, libseccomp's default bad-arch action, as runc.
    expect(emulate(f.program, { nr: 20, arch: ARCHES.i386.auditArch }).action.kind).toBe(
      "kill_thread",
    );
  });

  test("sockets, ioctls and the i386 multiplexers are allowed by values, on the low word", () => {
    const p = new SeccompProfileBuilder().denyMultiplexers().allowNetworking().allowMisc().build();
    // No two rules with different actions share a syscall: plain runc JSON.
    expect(p.precedence).toBeUndefined();
    const f = compileProfile(p, { arch: "x86_64", kernel: "6.1" });
    const run = (abi: "x86_64" | "i386", name: string, args: bigint[]) =>
      emulate(f.program, {
        nr: syscallNumber(name, abi)!,
        arch: ARCHES[abi].auditArch,
        args,
      }).action.kind;
    for (const abi of ["x86_64", "i386"] as const) {
      for (const hi of [0n, 1n << 32n, 0xffffffff00000000n]) {
        expect(run(abi, "socket", [hi | 2n, 1n])).toBe("allow"); // AF_INET, SOCK_STREAM
        expect(run(abi, "socket", [hi | 10n, hi | 0x80802n])).toBe("allow"); // DGRAM|NONBLOCK|CLOEXEC
        expect(run(abi, "socket", [hi | 2n, 3n])).toBe("errno"); // SOCK_RAW
        expect(run(abi, "socket", [2n, hi | 0x80003n])).toBe("errno");
        expect(run(abi, "socket", [hi | 17n, 2n])).toBe("errno"); // AF_PACKET
        expect(run(abi, "socket", [hi | 40n, 1n])).toBe("errno"); // AF_VSOCK
        expect(run(abi, "ioctl", [0n, hi | 0x5412n])).toBe("errno"); // TIOCSTI
        expect(run(abi, "ioctl", [0n, hi | 0x541cn])).toBe("errno"); // TIOCLINUX
        expect(run(abi, "ioctl", [0n, hi | 0x5413n])).toBe("allow");
      }
    }
    // socketcall and ipc exist on i386 only: ENOSYS there, whatever the sub-call.
    for (const nr of [102, 117])
      expect(emulate(f.program, { nr, arch: ARCHES.i386.auditArch, args: [1n] }).action).toEqual({
        kind: "errno",
        data: 38,
      });
    expect(() => new SeccompProfileBuilder().allowAny(["socket"], [])).toThrow(
      /allowAny\(socket\): no alternative given/,
    );
  });

  test("build() returns a fresh copy; toJSON() is the profile", () => {
    const b = new SeccompProfileBuilder().allowTime();
    const a = b.build();
    a.syscalls!.push({ names: ["ptrace"], action: "SCMP_ACT_ALLOW" });
    expect(b.build().syscalls!.some((r) => r.names!.includes("ptrace"))).toBe(false);
    expect(JSON.parse(JSON.stringify(b))).toEqual(b.build());
  });
});
