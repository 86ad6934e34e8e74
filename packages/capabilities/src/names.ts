/**
 * Capability names and numbers (linux/capability.h), and the running kernel's last
 * capability.
 *
 * @module
 */
import fs from "node:fs";

/** Every capability the uapi headers name, by number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The highest capability number Forge knows by name. */
export const CAP_LAST_KNOWN = CAPABILITIES.length - 1;

/**
 * A capability's number from its name, with or without the `CAP_` prefix, in any
 * case ("NET_BIND_SERVICE", "cap_net_bind_service"), or from a number.
 *
 * @example
 * ```ts
 * import { capNumber } from "@forge/capabilities";
 * capNumber("NET_BIND_SERVICE"); // 10
 * capNumber("CAP_SYS_ADMIN"); // 21
 * ```
 */
export function capNumber(cap: string | number): number {
  if (typeof cap === "number") {
    if (!Number.isInteger(cap) || cap < 0 || cap > 63)
      throw new RangeError(`capability number ${cap} is out of range (0..63)`);
    return cap;
  }
  const up = cap.trim().toUpperCase();
  const name = up.startsWith("CAP_") ? up : `CAP_${up}`;
  const n = CAPABILITIES.indexOf(name);
  if (n < 0) {
    throw new RangeError(
      `unknown capability "${cap}": expected a name such as NET_BIND_SERVICE or CAP_CHOWN (see capabilities(7))`,
    );
  }
  return n;
}

/**
 * A capability's name ("CAP_CHOWN") from its number; unknown numbers render as `CAP_<n>`.
 *
 * @example
 * ```ts
 * import { capName } from "@forge/capabilities";
 * capName(0); // "CAP_CHOWN"
 * ```
 */
export function capName(n: number): string {
  return CAPABILITIES[n] ?? `CAP_${n}`;
}

/**
 * The set of capabilities as a 64-bit mask.
 *
 * @example
 * ```ts
 * import { capMask } from "@forge/capabilities";
 * capMask(["CHOWN", "KILL"]); // 33n
 * ```
 */
export function capMask(caps: Iterable<string | number>): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(capNumber(c));
  return m;
}

/**
 * The capability names in a 64-bit mask, lowest first.
 *
 * @example
 * ```ts
 * import { capNames } from "@forge/capabilities";
 * capNames(0x400n); // ["CAP_NET_BIND_SERVICE"]
 * ```
 */
export function capNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(capName(i));
  return out;
}

const lastCapOf = new Map<string, number>();

/**
 * The running kernel's last capability (/proc/sys/kernel/cap_last_cap); falls back to
 * the last one Forge knows when the file cannot be read. Read once per file and
 * process: the kernel's value cannot change while it runs (every launch asks).
 *
 * @example
 * ```ts
 * import { lastCap } from "@forge/capabilities";
 * console.log(lastCap()); // 40 on Linux 5.9 and later
 * ```
 */
export function lastCap(file = "/proc/sys/kernel/cap_last_cap"): number {
  let n = lastCapOf.get(file);
  if (n === undefined) {
    n = readLastCap(file);
    lastCapOf.set(file, n);
  }
  return n;
}

function readLastCap(file: string): number {
  try {
    const n = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10);
    if (Number.isInteger(n) && n >= 0 && n < 64) return n;
  } catch {
    // fall through
  }
  return CAP_LAST_KNOWN;
}
