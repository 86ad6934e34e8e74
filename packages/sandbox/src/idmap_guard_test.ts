import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ARCHES, type Arch, requireSyscall, syscallNumber } from "@forge/libc";
import {
  compileProfile,
  emulate,
  runcWarnings,
  validateProfile,
  verifyFilter,
} from "@forge/seccomp";
import { describe, expect, it } from "vitest";
import { idmapGuardFilter, idmapGuardProfile, idmapGuardSteps } from "./idmap_guard.ts";
import { type LaunchOptions, planLaunch } from "./launch.ts";

const O_CREAT = 0o100n;
const O_TMPFILE = 0o20200000n; // __O_TMPFILE | O_DIRECTORY (x86)
const O_WRONLY = 1n;
const JUNK = 0xdead_beef_0000_0000n; // upper bits the kernel ignores

/** The guard's answer for `name(args)` on an ABI of a filter compiled for `native`. */
const filters = new Map<Arch, ReturnType<typeof compileProfile>>();
function decide(native: Arch, abi: Arch, name: string, args: bigint[]): string {
  let f = filters.get(native);
  if (!f) {
    f = compileProfile(idmapGuardProfile(), { arch: native, conflicts: "error" });
    filters.set(native, f);
  }
  const nr = requireSyscall(name, abi) | ARCHES[abi].syscallBit;
  const a = emulate(f.program, { nr, arch: ARCHES[abi].auditArch, args }).action;
  return a.kind === "errno" ? `errno ${a.data}` : a.kind;
}

/** The ABIs of each native architecture the guard covers. */
const FAMILIES: [Arch, Arch[]][] = [
  ["x86_64", ["x86_64", "i386", "x32"]],
  ["aarch64", ["aarch64", "arm"]],
];

describe("idmapGuardProfile", () => {
  it("is a valid profile that runc + libseccomp would decide as Forge does (no warnings, no conflicts)", () => {
    const p = idmapGuardProfile();
    expect(() => validateProfile(p)).not.toThrow();
    expect(runcWarnings(p)).toEqual([]);
    expect(p.defaultAction).toBe("SCMP_ACT_ALLOW");
    for (const r of p.syscalls ?? []) {
      expect(r.action).toBe("SCMP_ACT_ERRNO");
      // One condition per argument index (runc ANDs them; two on one index would OR).
      const idx = (r.args ?? []).map((a) => a.index);
      expect(new Set(idx).size).toBe(idx.length);
    }
    for (const [native] of FAMILIES) {
      const f = compileProfile(p, { arch: native, conflicts: "error" });
      expect(f.conflicts).toEqual([]);
      expect(verifyFilter(f.program, f.resolved).differences).toEqual([]);
    }
  });

  for (const [native, abis] of FAMILIES)
    for (const abi of abis) {
      const has = (n: string) => syscallNumber(n, abi) !== undefined;
      const wide = ARCHES[abi].bits === 64;
      it(`refuses set-id modes and xattr writes on ${abi} (filter for ${native})`, () => {
        const d = (name: string, args: bigint[]) => decide(native, abi, name, args);
        // chmod family: S_ISUID, S_ISGID, both; plain modes pass.
        for (const [name, i] of [
          ["chmod", 1],
          ["fchmod", 1],
          ["fchmodat", 2],
          ["fchmodat2", 2],
        ] as const) {
          if (!has(name)) continue;
          const at = (mode: bigint) => {
            const args = [3n, 0x1000n, 0n, 0n];
            args[i] = mode;
            return d(name, args);
          };
          expect(at(0o4755n), name).toBe("errno 1");
          expect(at(0o2755n), name).toBe("errno 1");
          expect(at(0o6755n), name).toBe("errno 1");
          expect(at(0o2000n), name).toBe("errno 1");
          expect(at(0o755n), name).toBe("allow");
          expect(at(0o1777n), name).toBe("allow"); // sticky is fine
          if (wide) {
            expect(at(JUNK | 0o4755n), `${name} with junk`).toBe("errno 1");
            expect(at(JUNK | 0o755n), `${name} with junk`).toBe("allow");
          }
        }
        // Creating: open/openat/creat/mknod/mknodat.
        if (has("open")) {
          expect(d("open", [0x1000n, O_CREAT | O_WRONLY, 0o4755n])).toBe("errno 1");
          expect(d("open", [0x1000n, O_TMPFILE | O_WRONLY, 0o2700n])).toBe("errno 1");
          expect(d("open", [0x1000n, O_CREAT | O_WRONLY, 0o755n])).toBe("allow");
          // Without O_CREAT the mode is ignored by the kernel (and may be junk).
          expect(d("open", [0x1000n, O_WRONLY, 0o4755n])).toBe("allow");
        }
        const openat = (flags: bigint, mode: bigint) => d("openat", [0n, 0x1000n, flags, mode]);
        expect(openat(O_CREAT, 0o4755n)).toBe("errno 1");
        expect(openat(O_CREAT | O_WRONLY, 0o2644n)).toBe("errno 1");
        expect(openat(O_TMPFILE | O_WRONLY, 0o6700n)).toBe("errno 1");
        expect(openat(O_CREAT, 0o644n)).toBe("allow");
        expect(openat(0n, 0o4755n)).toBe("allow");
        if (wide) expect(openat(JUNK | O_CREAT, JUNK | 0o4000n)).toBe("errno 1");
        if (has("creat")) {
          expect(d("creat", [0x1000n, 0o4755n])).toBe("errno 1");
          expect(d("creat", [0x1000n, 0o644n])).toBe("allow");
        }
        const S_IFREG = 0o100000n;
        if (has("mknod")) {
          expect(d("mknod", [0x1000n, S_IFREG | 0o4755n, 0n])).toBe("errno 1");
          expect(d("mknod", [0x1000n, S_IFREG | 0o644n, 0n])).toBe("allow");
        }
        expect(d("mknodat", [0n, 0x1000n, S_IFREG | 0o2755n, 0n])).toBe("errno 1");
        expect(d("mknodat", [0n, 0x1000n, S_IFREG | 0o644n, 0n])).toBe("allow");
        // openat2's mode is in memory: ENOSYS, so libc uses openat.
        expect(d("openat2", [0n, 0x1000n, 0x2000n, 24n])).toBe("errno 38");
        // Every xattr write; reading and removing stay allowed.
        for (const name of ["setxattr", "lsetxattr", "fsetxattr", "setxattrat"])
          if (has(name)) expect(d(name, [0n, 0n, 0n, 0n, 0n]), name).toBe("errno 1");
        for (const name of ["getxattr", "fgetxattr", "listxattr", "removexattr", "fremovexattr"])
          if (has(name)) expect(d(name, [0n, 0n, 0n, 0n]), name).toBe("allow");
        for (const name of ["io_uring_setup", "io_uring_enter", "io_uring_register"])
          expect(d(name, [0n, 0n]), name).toBe("errno 1");
        // Everything else: allowed (the profile's own filter decides).
        for (const name of ["read", "write", "execve", "mkdirat", "fchown", "seccomp", "prctl"])
          if (has(name)) expect(d(name, [0n, 0n, 0n]), name).toBe("allow");
      });
    }
});

describe("idmapGuardSteps", () => {
  it("installs the host's guard after no_new_privs, with a label that names it; the same array each time", () => {
    const steps = idmapGuardSteps();
    expect(idmapGuardSteps()).toBe(steps);
    expect(steps.map((s) => ("syscall" in s ? s.syscall : s.kind))).toEqual(["prctl", "seccomp"]);
    expect(steps[1]!.label).toMatch(/^install the idmap guard's seccomp filter \(\d+ instructions/);
    expect(idmapGuardFilter().program.length).toBeLessThan(200);
  });
});

describe.skipIf(process.getuid?.() !== 0)("planLaunch and the idmap guard (as root)", () => {
  it("adds the guard's steps before the profile's only when a bind is idmapped", () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-guard-"));
    const guard = idmapGuardSteps();
    const profile = [{ label: "the profile's filter", syscall: "getpid", args: [] }];
    const late = (o: Partial<LaunchOptions>) => {
      const plan = planLaunch({ argv: ["/bin/true"], seccompSteps: profile, ...o });
      try {
        return plan.lateSteps;
      } finally {
        plan.close();
      }
    };
    try {
      const rw = late({ root: { binds: [{ src: d, dst: "/w" }] } });
      const at = rw.indexOf(guard[1]!);
      expect(at).toBeGreaterThan(0);
      expect(rw.indexOf(profile[0]!)).toBe(at + 1);
      expect(rw[at - 1]).toBe(guard[0]);
      for (const o of [
        { root: { binds: [{ src: d, dst: "/w" }] }, idMap: "identity" as const },
        { root: { binds: [{ src: d, dst: "/w", readonly: true }] } },
        { root: {} },
        {},
      ])
        expect(
          late(o).some((s) => guard.includes(s)),
          JSON.stringify(o),
        ).toBe(false);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
