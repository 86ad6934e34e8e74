// The built-in profiles: every argument rule tests the parameter it means (checked
// against the kernel's signatures per ABI), junk in the upper half of an `int` changes
// no decision, no two rules with different actions overlap (so runc+libseccomp need no
// precedence to decide as Forge), i386 socketcall/ipc fail with ENOSYS, and the attacks
// of issue 11 are refused in the emulator and on the real kernel.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ARCHES, type Arch, spawn, syscallNumber } from "@forge/libc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { syscallParams } from "./_signatures.ts";
import { type Action, formatAction, sameAction } from "./action.ts";
import { arg } from "./builder.ts";
import { type CompiledFilter, compileProfile, compileResolved } from "./compile.ts";
import { DOCKER_DEFAULT_TEXT } from "./embedded.generated.ts";
import { emulate } from "./emulator.ts";
import { seccompSteps } from "./install.ts";
import { parseProfileText, type SeccompProfile } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import {
  type Condition,
  decide,
  type ResolvedProfile,
  type ResolvedRule,
  resolveProfile,
} from "./resolve.ts";

const TARGETS = ["x86_64", "aarch64"] as const;
/** Docker's includes/excludes on capabilities change the rules: both sets are checked. */
const CAP_SETS: readonly (readonly string[])[] = [[], ["CAP_SYS_ADMIN"]];
const NAMES = builtinProfiles().map((b) => b.name);
const ENOSYS: Action = { kind: "errno", data: 38 };
const EPERM: Action = { kind: "errno", data: 1 };

/** Every resolution of a profile the checks look at: both targets, with and without CAP_SYS_ADMIN. */
function resolutions(p: SeccompProfile): { label: string; r: ResolvedProfile }[] {
  return TARGETS.flatMap((arch) =>
    CAP_SETS.map((caps) => ({
      label: `${arch}${caps.length ? ` +${caps.join(",")}` : ""}`,
      r: resolveProfile(p, { arch, caps, kernel: "6.1" }),
    })),
  );
}

/** Calls a visitor with every condition of every rule, per ABI and syscall. */
function eachCondition(
  r: ResolvedProfile,
  fn: (
    abi: ResolvedProfile["abis"][number],
    call: string,
    rule: ResolvedRule,
    c: Condition,
  ) => void,
): void {
  for (const abi of r.abis)
    for (const [nr, rules] of abi.rules)
      for (const rule of rules)
        for (const c of rule.conditions) fn(abi, abi.names.get(nr)!, rule, c);
}

/**
 * What is wrong with a profile's argument rules: a parameter that is not a value a rule
 * may test (open's mode instead of its flags), an index past the parameters, a syscall
 * the signature table lacks, or a test on a 32-bit parameter that reads the upper half
 * on a 64-bit ABI (only masked equality with a mask below 2^32 reads what the kernel does).
 */
function argumentProblems(p: SeccompProfile, label: string): string[] {
  const problems = new Set<string>();
  for (const { label: how, r } of resolutions(p)) {
    eachCondition(r, (abi, call, rule, c) => {
      const where = `${label} (${how}) ${abi.arch} ${call} /syscalls/${rule.source} arg${c.index}`;
      const params = syscallParams(call, abi.arch);
      if (!params) {
        problems.add(`${where}: ${call} is not in _signatures.ts; add its kernel signature`);
        return;
      }
      const param = params[c.index];
      if (!param) {
        problems.add(`${where}: ${call} has only ${params.length} parameters on ${abi.arch}`);
        return;
      }
      if (!param.selector)
        problems.add(
          `${where} is ${call}'s ${param.type} ${param.name}, not a value a rule may test (${params
            .filter((x) => x.selector)
            .map((x) => `arg${params.indexOf(x)} ${x.name}`)
            .join(", ")})`,
        );
      if (abi.argBits === 64 && param.bits === 32) {
        if (c.op !== "SCMP_CMP_MASKED_EQ" || c.value > 0xffffffffn)
          problems.add(
            `${where}: ${param.type} ${param.name} is 32 bits to the kernel, but ${c.op} 0x${c.value.toString(16)} also reads the upper half (use a MASKED_EQ whose mask has no upper bits)`,
          );
      }
      if (c.op === "SCMP_CMP_MASKED_EQ" && (c.valueTwo & ~c.value) !== 0n)
        problems.add(`${where}: datum 0x${c.valueTwo.toString(16)} has bits outside the mask`);
    });
  }
  return [...problems];
}

/** A condition as (mask, datum) at the ABI's width, or undefined for a range test. */
function masked(c: Condition, bits: 32 | 64): [bigint, bigint] | undefined {
  const all = bits === 32 ? 0xffffffffn : 0xffffffffffffffffn;
  if (c.op === "SCMP_CMP_MASKED_EQ") return [c.value & all, c.valueTwo & all];
  if (c.op === "SCMP_CMP_EQ") return [all, c.value & all];
  return undefined;
}

/**
 * Rules of one syscall with different actions that some call matches both of (exact
 * for equality and masked equality; a range test is reported, the check does not
 * reason about it), and rules with two conditions on one argument (runc ORs those).
 */
function overlapProblems(p: SeccompProfile, label: string): string[] {
  const problems = new Set<string>();
  for (const { label: how, r } of resolutions(p)) {
    for (const abi of r.abis) {
      for (const [nr, rules] of abi.rules) {
        const where = `${label} (${how}) ${abi.arch} ${abi.names.get(nr)}`;
        for (const rule of rules) {
          const idx = rule.conditions.map((c) => c.index);
          if (new Set(idx).size !== idx.length)
            problems.add(`${where} /syscalls/${rule.source}: two conditions on one argument`);
          for (const c of rule.conditions)
            if (!masked(c, abi.argBits))
              problems.add(
                `${where} /syscalls/${rule.source}: ${c.op} (the check knows equality and masked equality)`,
              );
        }
        for (let i = 0; i < rules.length; i++) {
          for (let j = i + 1; j < rules.length; j++) {
            const [a, b] = [rules[i]!, rules[j]!];
            if (sameAction(a.action, b.action)) continue;
            const exclusive = a.conditions.some((ca) =>
              b.conditions.some((cb) => {
                if (ca.index !== cb.index) return false;
                const [x, y] = [masked(ca, abi.argBits), masked(cb, abi.argBits)];
                return !!x && !!y && ((x[1] ^ y[1]) & x[0] & y[0]) !== 0n;
              }),
            );
            if (!exclusive)
              problems.add(
                `${where}: /syscalls/${a.source} (${formatAction(a.action)}) and /syscalls/${b.source} (${formatAction(b.action)}) both match some call`,
              );
          }
        }
      }
    }
  }
  return [...problems];
}

describe("built-in profiles: rules", () => {
  test("every argument rule tests the parameter it means, on every ABI, on the low word for 32-bit parameters", () => {
    for (const name of NAMES) expect(argumentProblems(builtinProfile(name), name)).toEqual([]);
  });

  test("the argument check catches a wrong index and a 64-bit test of an int", () => {
    // shell-readonly's old rule (open's arg 2 is its mode) and Docker's "family > 40".
    const bad = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
      syscalls: [
        {
          names: ["open"],
          action: "SCMP_ACT_ALLOW",
          args: [arg(2, "SCMP_CMP_MASKED_EQ", 0x643, 0)],
        },
        { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [arg(0, "SCMP_CMP_GT", 40)] },
      ],
    };
    const problems = argumentProblems(bad, "bad").join("\n");
    expect(problems).toMatch(
      /x86_64 open \/syscalls\/0 arg2 is open's umode_t mode, not a value a rule may test \(arg1 flags\)/,
    );
    expect(problems).toMatch(/i386 open \/syscalls\/0 arg2 is open's umode_t mode/);
    expect(problems).toMatch(
      /x86_64 socket \/syscalls\/1 arg0: int family is 32 bits to the kernel, but SCMP_CMP_GT 0x28 also reads the upper half/,
    );
    // Docker's JSON as shipped has the 64-bit family and personality tests.
    expect(argumentProblems(parseProfileText(DOCKER_DEFAULT_TEXT), "docker").join("\n")).toMatch(
      /socket .*arg0: int family is 32 bits to the kernel, but SCMP_CMP_GT 0x28/,
    );
  });

  test("no two rules of a syscall with different actions overlap; one condition per argument", () => {
    for (const name of NAMES) {
      expect(overlapProblems(builtinProfile(name), name)).toEqual([]);
      for (const caps of CAP_SETS)
        expect(
          compileProfile(builtinProfile(name), { arch: "x86_64", caps, kernel: "6.1" }).conflicts,
        ).toEqual([]);
    }
    // The check sees the old shape "allow ioctl, except TIOCSTI".
    const old = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["ioctl"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["ioctl"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 13,
          args: [arg(1, "SCMP_CMP_MASKED_EQ", 0xffffffff, 0x5412)],
        },
      ],
    };
    expect(overlapProblems(old, "old").join("\n")).toMatch(/x86_64 ioctl: .* both match some call/);
  });

  test("i386 socketcall and ipc fail with ENOSYS, in every built-in, from the first rule", () => {
    for (const name of NAMES) {
      const p = builtinProfile(name);
      expect(p.syscalls![0], name).toMatchObject({
        names: ["socketcall", "ipc"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
      });
      expect(
        p.syscalls!.slice(1).some((r) => r.names?.some((n) => n === "socketcall" || n === "ipc")),
        name,
      ).toBe(false);
      const r = resolveProfile(p, { arch: "x86_64", kernel: "6.1" });
      for (const nr of [102, 117]) {
        for (const sub of [0n, 1n, 11n, 23n, 0x10017n, 0xdead00000001n])
          expect(decide(r, ARCHES.i386.auditArch, nr, [sub]), `${name} i386 ${nr}(${sub})`).toEqual(
            ENOSYS,
          );
      }
    }
  });
});

/** The decision of a compiled built-in for a call, after checking it equals decide(). */
function decision(f: CompiledFilter, abi: Arch, name: string, args: bigint[]): Action {
  const info = ARCHES[abi];
  const nr = syscallNumber(name, abi);
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${abi}`);
  const v = { arch: info.auditArch >>> 0, nr: (nr | info.syscallBit) >>> 0, args };
  const got = emulate(f.program, v).action;
  expect(got, `${abi} ${name}: the filter and decide() agree`).toEqual(
    decide(f.resolved, v.arch, v.nr, v.args),
  );
  return got;
}

const HI = [0n, 1n << 32n, 0xdead00000000n, 0xffffffff00000000n];
const O_WRONLY_CREAT_TRUNC = 0x241n;

describe("built-in profiles: the attacks, in the emulator", () => {
  const filters = new Map<string, CompiledFilter>();
  const filter = (name: string, arch: Arch = "x86_64", caps: readonly string[] = []) => {
    const key = `${name}/${arch}/${caps.join()}`;
    let f = filters.get(key);
    if (!f) {
      f = compileResolved(resolveProfile(builtinProfile(name), { arch, caps, kernel: "6.1" }));
      filters.set(key, f);
    }
    return f;
  };
  const x64abis = ["x86_64", "i386", "x32"] as const;

  test("no vsock or packet socket through junk in the family's upper half", () => {
    for (const abi of x64abis) {
      for (const hi of HI) {
        const at = `${abi} hi 0x${hi.toString(16)}`;
        // Docker's own rules deny AF_VSOCK (EPERM); Forge's say EAFNOSUPPORT for it and AF_PACKET.
        expect(decision(filter("docker-default"), abi, "socket", [hi | 40n, 1n]), at).toEqual(
          EPERM,
        );
        expect(decision(filter("docker-default"), abi, "socket", [hi | 2n, 1n]), at).toEqual({
          kind: "allow",
        });
        for (const fam of [17n, 40n])
          expect(decision(filter("default"), abi, "socket", [hi | fam, 1n]), at).toEqual({
            kind: "errno",
            data: 97,
          });
        expect(decision(filter("default"), abi, "socket", [hi | 16n, 3n]), at).toEqual({
          kind: "allow",
        });
        expect(decision(filter("node-safe"), abi, "socket", [hi | 40n, 1n]).kind, at).toBe("errno");
        expect(decision(filter("node-safe"), abi, "socket", [hi | 17n, 3n]).kind, at).toBe("errno");
        expect(decision(filter("node-safe"), abi, "socket", [2n, hi | 3n]).kind, at).toBe("errno"); // SOCK_RAW
        expect(decision(filter("node-safe"), abi, "socket", [hi | 10n, 0x80001n]), at).toEqual({
          kind: "allow",
        });
        expect(decision(filter("python-safe"), abi, "socket", [hi | 1n, 1n]), at).toEqual({
          kind: "allow",
        });
        expect(decision(filter("python-safe"), abi, "socket", [hi | 40n, 1n]).kind, at).toBe(
          "errno",
        );
      }
    }
  });

  test("TIOCSTI/TIOCLINUX denied with any upper half; other ioctls allowed with any (musl sign-extends)", () => {
    for (const name of ["default", "minimal", "python-safe", "node-safe", "shell-readonly"]) {
      for (const abi of x64abis) {
        for (const hi of HI) {
          const at = `${name} ${abi} hi 0x${hi.toString(16)}`;
          for (const cmd of [0x5412n, 0x541cn])
            expect(decision(filter(name), abi, "ioctl", [0n, hi | cmd]), at).toEqual(EPERM);
          for (const cmd of [0x5401n, 0x5413n, 0x541bn, 0x80045430n])
            expect(decision(filter(name), abi, "ioctl", [0n, hi | cmd]), at).toEqual({
              kind: "allow",
            });
        }
      }
    }
  });

  test("shell-readonly: no chattr (FS_IOC_SETFLAGS and friends), with any upper half; other ioctls allowed", () => {
    // Found in review: ioctl(fd, FS_IOC_SETFLAGS) on a read-only fd changed a host
    // file's attributes through a read-write bind.
    for (const arch of ["x86_64", "aarch64"] as const) {
      const f = filter("shell-readonly", arch);
      for (const abi of arch === "x86_64" ? x64abis : (["aarch64", "arm"] as const)) {
        for (const hi of HI) {
          const at = `${arch} ${abi} hi 0x${hi.toString(16)}`;
          for (const cmd of [0x40086602n, 0x40046602n, 0x401c5820n, 0x40087602n, 0x40047602n])
            expect(decision(f, abi, "ioctl", [3n, hi | cmd]), at).toEqual(EPERM);
          for (const cmd of [0x80086601n, 0x5401n, 0x541bn])
            expect(decision(f, abi, "ioctl", [3n, hi | cmd]), at).toEqual({ kind: "allow" });
        }
      }
    }
  });

  test("shell-readonly: writes are left to the mounts (a read-only one answers EROFS); no sockets", () => {
    // The filter cannot tell a scratch /tmp or /dev/null from /usr: its old "no write
    // flags" rules refused `2>/dev/null` and the profile's own /tmp with EPERM. The
    // sandbox profile mounts everything else read-only, and the kernel says EROFS.
    const f = filter("shell-readonly");
    const g = filter("shell-readonly", "aarch64");
    const allow = { kind: "allow" };
    for (const abi of x64abis) {
      for (const hi of HI) {
        const at = `${abi} hi 0x${hi.toString(16)}`;
        expect(decision(f, abi, "open", [0n, hi | O_WRONLY_CREAT_TRUNC, 0o644n]), at).toEqual(
          allow,
        );
        expect(decision(f, abi, "open", [0n, hi | 0x80000n, 0n]), at).toEqual(allow);
        expect(
          decision(f, abi, "openat", [0xffffff9cn, 0n, hi | O_WRONLY_CREAT_TRUNC, 0o644n]),
          at,
        ).toEqual(allow);
        // No sockets at all: AF_UNIX, AF_INET, AF_VSOCK.
        for (const fam of [1n, 2n, 40n])
          expect(decision(f, abi, "socket", [hi | fam, 1n]), at).toEqual(EPERM);
      }
      for (const call of ["creat", "mkdir", "unlink", "rename", "truncate", "mknod", "setxattr"])
        expect(decision(f, abi, call, [0n, 0o644n]), `${abi} ${call}`).toEqual(allow);
      expect(decision(f, abi, "openat2", [0xffffff9cn, 0n, 0n, 24n]), abi).toEqual(allow);
      // Administration, namespaces and io_uring stay refused.
      for (const call of ["mount", "unshare", "setns", "ptrace", "io_uring_setup", "bpf"])
        expect(decision(f, abi, call, [0n]), `${abi} ${call}`).toEqual(EPERM);
    }
    for (const abi of ["aarch64", "arm"] as const) {
      expect(decision(g, abi, "openat", [0xffffff9cn, 0n, 0x241n, 0o644n]), abi).toEqual(allow);
      expect(decision(g, abi, "socket", [1n, 1n]), abi).toEqual(EPERM);
    }
  });

  test("default: no new user namespace, with CAP_SYS_ADMIN too; clone3 ENOSYS; personality on the low word", () => {
    const CLONE_NEWUSER = 0x10000000n;
    const CLONE_NEWNS = 0x20000n;
    for (const caps of CAP_SETS) {
      const f = filter("default", "x86_64", caps);
      for (const abi of x64abis) {
        const at = `${abi} caps [${caps.join()}]`;
        for (const hi of HI) {
          expect(decision(f, abi, "clone", [hi | CLONE_NEWUSER | 17n]), at).toEqual(EPERM);
          expect(decision(f, abi, "unshare", [hi | CLONE_NEWUSER]), at).toEqual(EPERM);
          expect(decision(f, abi, "clone", [hi | 0x3d0f00n]), at).toEqual({ kind: "allow" }); // a thread
          // New mount namespaces only with CAP_SYS_ADMIN, as in Docker's profile.
          expect(decision(f, abi, "unshare", [hi | CLONE_NEWNS]).kind, at).toBe(
            caps.length ? "allow" : "errno",
          );
          for (const pers of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn])
            expect(decision(f, abi, "personality", [hi | pers]), at).toEqual({ kind: "allow" });
          expect(decision(f, abi, "personality", [hi | 0x40000n]), at).toEqual(EPERM); // ADDR_NO_RANDOMIZE
        }
        expect(decision(f, abi, "clone3", [0n, 88n]), at).toEqual(ENOSYS);
      }
    }
  });

  test("syscall -1 is never killed: each built-in answers as decide() does, on every ABI, with x32 and without", () => {
    // -1 is no call (tracers set it to skip one): it gets the default action, or ENOSYS
    // where runc's -ENOSYS stub covers it (runc's semantics, the default), never the
    // bad-arch kill.
    for (const name of NAMES) {
      for (const subArches of [undefined, ["i386"]] as const) {
        const r = resolveProfile(builtinProfile(name), {
          arch: "x86_64",
          kernel: "6.1",
          ...(subArches ? { subArches } : {}),
        });
        const f = compileResolved(r);
        for (const arch of [ARCHES.x86_64.auditArch, ARCHES.i386.auditArch]) {
          const want = decide(r, arch, -1, []);
          expect([r.defaultAction, ENOSYS], name).toContainEqual(want);
          expect(emulate(f.program, { nr: -1, arch }).action, name).toEqual(want);
        }
      }
    }
  });
});

describe("built-in docker-default: Docker's decisions but for its corrections", () => {
  test("equal on every syscall without arguments but i386 socketcall/ipc, and on families and personalities without junk", () => {
    const docker = parseProfileText(DOCKER_DEFAULT_TEXT);
    for (const arch of TARGETS) {
      for (const caps of CAP_SETS) {
        const a = resolveProfile(docker, { arch, caps, kernel: "6.1" });
        const b = resolveProfile(builtinProfile("docker-default"), { arch, caps, kernel: "6.1" });
        for (const abi of a.abis) {
          for (const [nr, call] of abi.names) {
            const args = call === "clone" ? [0x11n] : [];
            const want =
              abi.arch === "i386" && (call === "socketcall" || call === "ipc")
                ? ENOSYS
                : decide(a, abi.auditArch, nr, args);
            expect(decide(b, abi.auditArch, nr, args), `${abi.arch} ${call}`).toEqual(want);
            if (call === "socket")
              for (let fam = 0n; fam < 64n; fam++)
                expect(decide(b, abi.auditArch, nr, [fam]), `${abi.arch} socket(${fam})`).toEqual(
                  decide(a, abi.auditArch, nr, [fam]),
                );
            if (call === "personality")
              for (const pers of [0n, 1n, 8n, 0x20000n, 0x20008n, 0x40000n, 0xffffffffn])
                expect(decide(b, abi.auditArch, nr, [pers])).toEqual(
                  decide(a, abi.auditArch, nr, [pers]),
                );
          }
        }
      }
    }
  });
});

// The same attacks on the real kernel: a small C program under each built-in's filter.
const PROBE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
static long int80(long nr, long a, long b, long c, long d) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory", "r8", "r9", "r10", "r11", "cc");
  int r32 = (int)r;
  if (r32 < 0 && r32 > -4096) { errno = -r32; return -1; }
  return r32;
}
static char *low;
/* One line per command "name=value": "name=value <return> <errno>". */
int main(int argc, char **argv) {
  low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  for (int i = 1; i < argc; i++) {
    char label[512];
    snprintf(label, sizeof label, "%s", argv[i]);
    char *v = strchr(argv[i], '=');
    if (v) *v++ = 0; else v = "";
    const char *c = argv[i];
    long r = -1;
    errno = 0;
    if (!strcmp(c, "socketcall")) {
      /* socketcall=FAMILY[:TYPE] */
      char *end;
      unsigned *a = (unsigned *)low;
      a[0] = strtoul(v, &end, 0); a[1] = *end == ':' ? strtoul(end + 1, 0, 0) : SOCK_STREAM; a[2] = 0;
      r = int80(102, 1 /* SYS_SOCKET */, (long)(uintptr_t)a, 0, 0);
    } else if (!strcmp(c, "ipc")) {
      r = int80(117, 23 /* SHMGET */, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
      if (r >= 0) shmctl((int)r, IPC_RMID, 0);
    } else if (!strcmp(c, "socket")) {
      /* socket=FAMILY[:TYPE], FAMILY with any upper bits */
      char *end;
      unsigned long fam = strtoul(v, &end, 0);
      long type = *end == ':' ? strtol(end + 1, 0, 0) : SOCK_STREAM;
      r = syscall(SYS_socket, fam, type | SOCK_CLOEXEC, 0);
    } else if (!strcmp(c, "minus1")) {
      r = syscall(-1L, 0, 0, 0);
    } else if (!strcmp(c, "open")) {
      r = syscall(SYS_open, v, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    } else if (!strcmp(c, "openat")) {
      r = syscall(SYS_openat, AT_FDCWD, v, O_WRONLY | O_CREAT, 0644);
    } else if (!strcmp(c, "creat")) {
      r = syscall(SYS_creat, v, 0644);
    } else if (!strcmp(c, "openat2")) {
      struct open_how how = { .flags = O_WRONLY | O_CREAT, .mode = 0644 };
      r = syscall(SYS_openat2, AT_FDCWD, v, &how, sizeof how);
    } else if (!strcmp(c, "read")) {
      r = syscall(SYS_open, v, O_RDONLY, 0644);
    } else if (!strcmp(c, "i386open")) {
      strcpy(low + 64, v);
      r = int80(5, (long)(uintptr_t)(low + 64), O_WRONLY | O_CREAT | O_TRUNC, 0644, 0);
    } else if (!strcmp(c, "i386openat")) {
      strcpy(low + 64, v);
      r = int80(295, AT_FDCWD, (long)(uintptr_t)(low + 64), O_WRONLY | O_CREAT, 0644);
    }
    printf("%s %ld %d\n", label, r, r < 0 ? errno : 0);
    fflush(stdout);
  }
  return 0;
}
`;

const x86 = process.arch === "x64";
let dir = "";
let probe = "";
let int80 = false;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-profiles-"));
  fs.writeFileSync(path.join(dir, "probe.c"), PROBE);
  probe = path.join(dir, "probe");
  execFileSync("cc", ["-O1", "-o", probe, path.join(dir, "probe.c")]);
  if (x86) {
    try {
      execFileSync(probe, ["ipc"], { stdio: "ignore" });
      int80 = true;
    } catch {
      int80 = false; // int $0x80 faults here: no i386 ABI to attack
    }
  }
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the probe with commands under a filter: its lines by command, and the signal if killed. */
async function underFilter(
  f: CompiledFilter,
  commands: string[],
): Promise<{ lines: Map<string, [number, number]>; signal: string | null }> {
  const child = spawn({
    argv: [probe, ...commands],
    stdio: ["ignore", "pipe", "inherit"],
    lateSteps: seccompSteps(f),
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const closed = new Promise<void>((resolve) => child.stdout!.on("close", () => resolve()));
  const [st] = await Promise.all([child.wait(), closed]);
  const lines = new Map<string, [number, number]>();
  for (const l of out.trim().split("\n").filter(Boolean)) {
    const [c, r, e] = l.split(" ");
    lines.set(c!, [Number(r), Number(e)]);
  }
  return { lines, signal: st.signal };
}

describe.skipIf(!x86)("built-in profiles: the attacks, on the real kernel", () => {
  for (const name of NAMES) {
    test(`${name}: no socket through i386 socketcall or a junk family, no ipc, syscall(-1) survives`, async () => {
      const f = compileProfile(builtinProfile(name), { kernel: os.release() });
      // The i386 calls only where int $0x80 reaches the kernel (it does on the build
      // machine; some VMs fault it first, and then there is no i386 ABI to attack).
      const i386 = int80 ? ["socketcall=40", "socketcall=17:3", "ipc"] : [];
      const r = await underFilter(f, [
        ...i386,
        "socket=0x100000028",
        "socket=0xdead00000011:3",
        "minus1",
      ]);
      expect(r.signal).toBe(null);
      for (const call of i386) expect(r.lines.get(call), call).toEqual([-1, 38]);
      // No vsock socket; EAFNOSUPPORT (Forge's default) or EPERM (the default action).
      // AF_PACKET too, but in docker-default (Docker allows it, to CAP_NET_RAW).
      for (const call of ["socket=0x100000028", "socket=0xdead00000011:3"]) {
        if (name === "docker-default" && call.endsWith(":3")) continue;
        const s = r.lines.get(call)!;
        expect(s[0], call).toBe(-1);
        expect([1, 97], call).toContain(s[1]);
      }
      // -1: what decide() says (the default action, EPERM for every built-in, or runc's
      // ENOSYS stub), not a kill.
      const minus1 = decide(f.resolved, ARCHES.x86_64.auditArch, -1, []);
      expect([EPERM, ENOSYS]).toContainEqual(minus1);
      expect(r.lines.get("minus1")).toEqual([-1, minus1.kind === "errno" ? minus1.data : -1]);
    });
  }

  test("syscall(-1) under a filter without x32 gets the default action, not a kill", async () => {
    // docker-default's rules for x86_64 alone: x32 numbers are a foreign ABI (killed),
    // -1 is not. EPERM is the filter's answer (the kernel's own would be ENOSYS).
    const { archMap: _, ...p } = builtinProfile("docker-default");
    const f = compileProfile(
      { ...p, architectures: ["SCMP_ARCH_X86_64"] },
      { arch: "x86_64", kernel: os.release() },
    );
    expect(f.resolved.abis.map((a) => a.arch)).toEqual(["x86_64"]);
    const r = await underFilter(f, ["minus1"]);
    expect(r.signal).toBe(null);
    expect(r.lines.get("minus1")).toEqual([-1, 1]);
  });

  test("shell-readonly: open/openat/creat/openat2 create files (native and i386): writes are the mounts' to refuse; no socket", async () => {
    const f = compileProfile(builtinProfile("shell-readonly"), { kernel: os.release() });
    const target = (n: string) => path.join(dir, `created-${n}`);
    // The i386 calls only where int $0x80 reaches the kernel (see above).
    const i386 = int80 ? ["i386open", "i386openat"] : [];
    const calls = ["open", "openat", "creat", "openat2", ...i386];
    try {
      const r = await underFilter(f, [...calls.map((c) => `${c}=${target(c)}`), "socket=1"]);
      expect(r.signal).toBe(null);
      for (const c of calls) {
        expect(r.lines.get(`${c}=${target(c)}`)![0], c).toBeGreaterThanOrEqual(0);
        expect(fs.existsSync(target(c)), c).toBe(true);
      }
      expect(r.lines.get("socket=1")).toEqual([-1, 1]); // AF_UNIX: EPERM, the default
    } finally {
      for (const c of calls) fs.rmSync(target(c), { force: true });
    }
  });
});
