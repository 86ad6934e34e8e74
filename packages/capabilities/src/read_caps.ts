/**
 * Reading capabilities: of any pid from /proc/<pid>/status, of the calling process
 * through capget.
 *
 * @module
 */
import fs from "node:fs";
import { type Libc, PR } from "@forge/libc";
import { capHeader, readCapData } from "./_util.ts";
import { capNames } from "./names.ts";

/** A process's five capability sets (bit masks) and its no_new_privs flag. */
export interface CapState {
  readonly inheritable: bigint;
  readonly permitted: bigint;
  readonly effective: bigint;
  readonly bounding: bigint;
  readonly ambient: bigint;
  /** null when unknown (capget cannot tell; old kernels do not print it). */
  readonly noNewPrivs: boolean | null;
}

/**
 * Parses the Cap* and NoNewPrivs lines of a /proc/<pid>/status text.
 *
 * @example
 * ```ts
 * import { parseProcStatusCaps } from "@forge/capabilities";
 * const s = parseProcStatusCaps("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t400\nCapAmb:\t0\nNoNewPrivs:\t1\n");
 * console.log(s.bounding, s.noNewPrivs); // 1024n true
 * ```
 */
export function parseProcStatusCaps(text: string): CapState {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(text)?.[1];
  const mask = (name: string): bigint => {
    const v = field(name);
    if (v === undefined || !/^[0-9a-fA-F]+$/.test(v))
      throw new SyntaxError(`/proc status text has no valid ${name} line`);
    return BigInt(`0x${v}`);
  };
  const nnp = field("NoNewPrivs");
  return {
    inheritable: mask("CapInh"),
    permitted: mask("CapPrm"),
    effective: mask("CapEff"),
    bounding: mask("CapBnd"),
    ambient: field("CapAmb") === undefined ? 0n : mask("CapAmb"),
    noNewPrivs: nnp === undefined ? null : nnp === "1",
  };
}

/**
 * The capability sets of a process (default: this one), from /proc/<pid>/status.
 *
 * @example
 * ```ts
 * import { readCaps, capNames } from "@forge/capabilities";
 * console.log(capNames(readCaps().effective));
 * ```
 */
export function readCaps(pid: number | "self" = "self", procRoot = "/proc"): CapState {
  return parseProcStatusCaps(fs.readFileSync(`${procRoot}/${pid}/status`, "utf8"));
}

/**
 * The calling thread's sets through capget(2) v3 and prctl (bounding, ambient,
 * no_new_privs), without /proc.
 *
 * @example
 * ```ts
 * import { capgetSelf } from "@forge/capabilities";
 * import { openLibc } from "@forge/libc";
 * console.log(capgetSelf(openLibc()).effective);
 * ```
 */
export function capgetSelf(libc: Libc, last = 63): CapState {
  const data = new Uint8Array(24);
  libc.capget(capHeader(0), data);
  const { effective, permitted, inheritable } = readCapData(data);
  let bounding = 0n;
  let ambient = 0n;
  for (let c = 0; c <= last; c++) {
    let inBounding: number;
    try {
      inBounding = libc.prctl(PR.CAPBSET_READ, c, 0, 0, 0);
    } catch {
      break; // EINVAL past the kernel's last capability
    }
    if (inBounding === 1) bounding |= 1n << BigInt(c);
    if (libc.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_IS_SET, c, 0, 0) === 1)
      ambient |= 1n << BigInt(c);
  }
  const noNewPrivs = libc.prctl(PR.GET_NO_NEW_PRIVS, 0, 0, 0, 0) === 1;
  return { inheritable, permitted, effective, bounding, ambient, noNewPrivs };
}

/**
 * A capability state with the masks rendered as names, for reports and JSON.
 *
 * @example
 * ```ts
 * import { describeCaps, readCaps } from "@forge/capabilities";
 * console.log(describeCaps(readCaps()).effective);
 * ```
 */
export function describeCaps(s: CapState): Record<
  "inheritable" | "permitted" | "effective" | "bounding" | "ambient",
  string[]
> & {
  noNewPrivs: boolean | null;
} {
  return {
    inheritable: capNames(s.inheritable),
    permitted: capNames(s.permitted),
    effective: capNames(s.effective),
    bounding: capNames(s.bounding),
    ambient: capNames(s.ambient),
    noNewPrivs: s.noNewPrivs,
  };
}
