/**
 * Architectures Forge knows: their seccomp audit identifiers, word size and how they
 * relate (x86_64 hosts also run i386 and x32 code; aarch64 hosts also run arm code).
 *
 * @module
 */

/** An architecture name as Forge spells it. */
export type Arch = "x86_64" | "i386" | "x32" | "aarch64" | "arm";

/** What the kernel and a seccomp filter need to know of an architecture. */
export interface ArchInfo {
  /** Forge's name. */
  readonly name: Arch;
  /** The AUDIT_ARCH_* value that seccomp_data.arch carries for this ABI. */
  readonly auditArch: number;
  /** Pointer/register width of the ABI: syscall arguments wider than this are truncated. */
  readonly bits: 32 | 64;
  /** Bit ORed into syscall numbers by this ABI (x32: 0x40000000), else 0. */
  readonly syscallBit: number;
  /** libseccomp / OCI spelling (SCMP_ARCH_X86_64...). */
  readonly scmpName: string;
}

/** Every supported architecture. */
export const ARCHES: Readonly<Record<Arch, ArchInfo>> = {
  x86_64: {
    name: "x86_64",
    auditArch: 0xc000003e,
    bits: 64,
    syscallBit: 0,
    scmpName: "SCMP_ARCH_X86_64",
  },
  i386: { name: "i386", auditArch: 0x40000003, bits: 32, syscallBit: 0, scmpName: "SCMP_ARCH_X86" },
  x32: {
    name: "x32",
    auditArch: 0xc000003e,
    bits: 32,
    syscallBit: 0x40000000,
    scmpName: "SCMP_ARCH_X32",
  },
  aarch64: {
    name: "aarch64",
    auditArch: 0xc00000b7,
    bits: 64,
    syscallBit: 0,
    scmpName: "SCMP_ARCH_AARCH64",
  },
  arm: { name: "arm", auditArch: 0x40000028, bits: 32, syscallBit: 0, scmpName: "SCMP_ARCH_ARM" },
};

/** The ABIs a host of each native architecture can also run. */
export const SUB_ARCHES: Readonly<Partial<Record<Arch, readonly Arch[]>>> = {
  x86_64: ["i386", "x32"],
  aarch64: ["arm"],
};

/**
 * Parses an architecture name in Forge, Node, uname or libseccomp spelling.
 *
 * @example
 * ```ts
 * import { parseArch } from "@forge/libc";
 * parseArch("SCMP_ARCH_X86_64"); // "x86_64"
 * parseArch("x64"); // "x86_64"
 * ```
 */
export function parseArch(name: string): Arch {
  const n = name.toLowerCase().replace(/^scmp_arch_/, "");
  const map: Record<string, Arch> = {
    x86_64: "x86_64",
    x64: "x86_64",
    amd64: "x86_64",
    i386: "i386",
    x86: "i386",
    ia32: "i386",
    i686: "i386",
    x32: "x32",
    aarch64: "aarch64",
    arm64: "aarch64",
    arm: "arm",
    armv7l: "arm",
    armhf: "arm",
  };
  const a = map[n];
  if (!a) {
    throw new RangeError(
      `unknown architecture "${name}"; expected one of ${Object.keys(ARCHES).join(", ")}`,
    );
  }
  return a;
}

/**
 * The architecture this process runs on.
 *
 * @example
 * ```ts
 * import { hostArch } from "@forge/libc";
 * console.log(hostArch()); // "x86_64" on a PC
 * ```
 */
export function hostArch(): Arch {
  return parseArch(process.arch);
}
