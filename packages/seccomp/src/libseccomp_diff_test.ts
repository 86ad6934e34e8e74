// Differential tests: Forge's filters and its reference semantics against what runc
// loads (runc's -ENOSYS stub in front of libseccomp 2.5.4's BPF, built as runc's
// InitSeccomp builds it) on docker-default, every built-in profile and random
// profiles. Every input is decided three ways: the reference semantics (decide, with
// the profile's runc semantics), Forge's BPF and runc's filter, both emulated. All
// three must agree exactly: the old list of "libseccomp discrepancies" (x32 compared
// on 32 bits, MASKED_EQ datum masked, unconditional rules winning, merged rule trees)
// is now part of the runc semantics. The one exclusion left: names on which
// libseccomp's tables lag Forge's are left out of the profile first (libseccompAgreed),
// and profiles on which seccomp_export_bpf never returns are skipped (counted).
import { ARCHES, type Arch } from "@forge/libc";
import { describe, expect, test } from "vitest";
import {
  libseccompAgreed,
  libseccompAvailable,
  libseccompCompile,
  libseccompWouldHang,
  runcEmulate,
} from "./_libseccomp.ts";
import { randomProfile } from "./_random_profile.ts";
import { formatAction, sameAction } from "./action.ts";
import { compileResolved } from "./compile.ts";
import { DOCKER_DEFAULT_TEXT } from "./embedded.generated.ts";
import { emulate } from "./emulator.ts";
import { parseProfileText, type SeccompProfile } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import { decide, type ResolvedProfile, resolveProfile } from "./resolve.ts";
import { runcArches } from "./runc_semantics.ts";
import { describeVector, testVectors, type Vector } from "./verify.ts";

interface Outcome {
  forgeDiffs: string[];
  runcDiffs: string[];
  checked: number;
}

function differential(
  input: SeccompProfile,
  arch: Arch,
  opts: { random?: number; seed?: number } = {},
): Outcome {
  const profile = libseccompAgreed(input, arch);
  const resolved = resolveProfile(profile, { arch, kernel: "6.1", semantics: "runc" });
  const forge = compileResolved(resolved);
  const lib = libseccompCompile(profile, { arch, kernel: "6.1" });
  expect(lib.refused).toEqual([]);
  const out: Outcome = { forgeDiffs: [], runcDiffs: [], checked: 0 };
  // runc also adds the listed architectures the target cannot run (aarch64 on an
  // x86_64 host); the kernel never hands the filter their calls, and Forge builds no
  // ABI for them: leave those calls out.
  const covered = new Set(resolved.abis.map((a) => a.auditArch));
  const unreachable = new Set(
    runcArches(profile, arch)
      .map((a) => ARCHES[a].auditArch >>> 0)
      .filter((a) => !covered.has(a)),
  );
  for (const v of [...testVectors(resolved, opts), ...hardInputs(resolved)]) {
    if (unreachable.has(v.arch >>> 0)) continue;
    out.checked++;
    const want = decide(resolved, v.arch, v.nr, v.args);
    const f = emulate(forge.program, v).action;
    const l = runcEmulate(lib, v);
    const call = describeVector(resolved, v);
    if (!sameAction(want, f))
      out.forgeDiffs.push(`${call}: want ${formatAction(want)}, forge ${formatAction(f)}`);
    if (!sameAction(want, l))
      out.runcDiffs.push(`${call}: want ${formatAction(want)}, runc ${formatAction(l)}`);
  }
  return out;
}

const RANDOM_PROFILES = 100;

describe.skipIf(!libseccompAvailable())("differential against runc + libseccomp", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    for (const { name } of builtinProfiles()) {
      test(`${name} on ${arch} and its sub-architectures`, () => {
        const o = differential(builtinProfile(name), arch);
        expect(o.runcDiffs).toEqual([]);
        expect(o.forgeDiffs).toEqual([]);
        expect(o.checked).toBeGreaterThan(2000);
      });
    }
    // 100 random profiles per target (200 in all): several rules per syscall, values
    // around 2^32 and 2^64, on the target and its sub-architectures.
    test(`random profiles on ${arch}`, () => {
      const hangs: number[] = [];
      const runcDiffs: string[] = [];
      const forgeDiffs: string[] = [];
      let checked = 0;
      for (let seed = 1; seed <= RANDOM_PROFILES; seed++) {
        const profile = randomProfile(seed * 7919 + (arch === "x86_64" ? 0 : 1));
        if (libseccompWouldHang(libseccompAgreed(profile, arch))) {
          hangs.push(seed);
          continue;
        }
        const o = differential(profile, arch, { random: 6, seed });
        runcDiffs.push(...o.runcDiffs.map((d) => `seed ${seed}: ${d}`));
        forgeDiffs.push(...o.forgeDiffs.map((d) => `seed ${seed}: ${d}`));
        checked += o.checked;
      }
      if (process.env.FORGE_DIFF_REPORT) console.log(arch, { checked, hangs });
      // The reference semantics first (runc's filter), then Forge's compiler.
      expect(runcDiffs.slice(0, 20)).toEqual([]);
      expect(forgeDiffs.slice(0, 20)).toEqual([]);
      expect(hangs.length).toBeLessThan(RANDOM_PROFILES / 5);
      expect(checked).toBeGreaterThan(RANDOM_PROFILES * 1500);
    });
  }

  test("docker-default as shipped: runc's filter, exactly", () => {
    const o = differential(parseProfileText(DOCKER_DEFAULT_TEXT), "x86_64");
    expect(o.runcDiffs).toEqual([]);
    expect(o.forgeDiffs).toEqual([]);
  });
});

/**
 * The inputs issue 11 found hard, on every ABI of a resolution: socket families 40
 * (AF_VSOCK), 17 (AF_PACKET), 16 (AF_NETLINK) and others with and without junk in the
 * upper half, SOCK_RAW; TIOCSTI/TIOCLINUX and other ioctl commands with junk (musl
 * sign-extends); clone/unshare with CLONE_NEWUSER plus junk; personality with junk;
 * open/openat/creat/openat2 with write flags; i386 socketcall/ipc sub-calls; clone3;
 * and the numbers -1, -2 and x32's first.
 */
function hardInputs(r: ResolvedProfile): Vector[] {
  const JUNK = [0n, 1n << 32n, 0xdead00000000n, 0xffffffff00000000n];
  const out: Vector[] = [];
  for (const abi of r.abis) {
    const nrOf = new Map([...abi.names].map(([nr, n]) => [n, nr]));
    const add = (name: string, values: readonly bigint[], at: number, rest: readonly bigint[]) => {
      const nr = nrOf.get(name);
      if (nr === undefined) return;
      for (const v of values)
        for (const hi of JUNK) {
          const args = [...rest];
          args.splice(at, 0, hi | v);
          out.push({ arch: abi.auditArch, nr, args });
        }
    };
    const families = [40n, 17n, 16n, 38n, 0n, 1n, 2n, 10n, 41n, 45n, 63n, 64n, 0xffffffffn];
    for (const type of [1n, 3n, 0x80002n, 0x80803n, (1n << 32n) | 3n, (1n << 32n) | 1n])
      add("socket", families, 0, [type, 0n]);
    add("socket", [3n, 1n, 0x80003n], 1, [2n, 0n]);
    add("socketpair", [1n, 40n], 0, [1n, 0n, 0n]);
    add("ioctl", [0x5412n, 0x541cn, 0x5413n, 0x5401n, 0x541bn, 0x80045430n, 0n], 1, [0n, 0n]);
    add("clone", [0x10000000n, 0x10000011n, 0x11n, 0x3d0f00n, 0x20000n, 0x7e020000n], 0, [
      0n,
      0n,
      0n,
      0n,
    ]);
    add("unshare", [0x10000000n, 0x20000n, 0x10020000n, 0x400n, 0n], 0, []);
    add("personality", [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn, 1n, 0x40000n], 0, []);
    for (const mode of [0n, 0o644n]) {
      add("open", [0n, 0x241n, 0x40n, 0x80000n, 0x200n, 1n, 2n], 1, [0n, mode]);
      add("openat", [0n, 0x241n, 0x40n, 0x90800n, 0x200n], 2, [0xffffff9cn, 0n, mode]);
      add("creat", [0n], 0, [mode]);
    }
    add("openat2", [0xffffff9cn], 0, [0n, 0n, 24n]);
    add("open_by_handle_at", [0n, 0x241n], 2, [3n, 0n]);
    add("clone3", [0n], 0, [88n]);
    add("io_uring_setup", [8n], 0, [0n]);
    add("socketcall", [0n, 1n, 8n, 11n, 99n], 0, [0x1000n]);
    add("ipc", [0n, 1n, 11n, 21n, 23n, 0x10017n], 0, [0n, 4096n, 0x380n, 0n, 0n]);
    add("getpid", [0n], 0, []);
    for (const nr of [0xffffffff, 0xfffffffe, 0x40000000 | 39])
      out.push({ arch: abi.auditArch, nr, args: [] });
  }
  return out;
}

describe.skipIf(!libseccompAvailable())(
  "built-in profiles: runc decides the hard inputs exactly as Forge",
  () => {
    // The ABIs come from the profile, as runc takes them: the "no x32" variant lists
    // x86_64 and i386 only.
    const variants = [
      { arch: "x86_64", label: "x86_64 + i386 + x32" },
      {
        arch: "x86_64",
        only: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        label: "x86_64 + i386, no x32",
      },
      { arch: "aarch64", label: "aarch64 + arm" },
    ] as const;
    for (const { name } of builtinProfiles()) {
      for (const v of variants) {
        test(`${name}, ${v.label}`, () => {
          let profile = libseccompAgreed(builtinProfile(name), v.arch);
          if ("only" in v) {
            const { archMap: _, ...rest } = profile;
            profile = { ...rest, architectures: [...v.only] };
          }
          for (const caps of [[], ["CAP_SYS_ADMIN"]]) {
            const opts = { arch: v.arch, kernel: "6.1", caps, semantics: "runc" as const };
            const r = resolveProfile(profile, opts);
            const forge = compileResolved(r);
            const inputs = hardInputs(r);
            expect(inputs.length).toBeGreaterThan(500);
            const lib = libseccompCompile(profile, opts);
            expect(lib.refused).toEqual([]);
            const diffs: string[] = [];
            for (const vec of inputs) {
              const want = decide(r, vec.arch, vec.nr, vec.args);
              const f = emulate(forge.program, vec).action;
              const l = runcEmulate(lib, vec);
              if (!sameAction(want, f) || !sameAction(want, l))
                diffs.push(
                  `${describeVector(r, vec)} [${caps.join()}]: decide ${formatAction(want)}, forge ${formatAction(f)}, runc ${formatAction(l)}`,
                );
            }
            expect(diffs).toEqual([]);
          }
        });
      }
    }
  },
);
