/**
 * Resource limits (setrlimit) applied in the sandbox's child as trampoline steps.
 *
 * @module
 */
import type { Step } from "@forge/libc";

/** RLIMIT_* numbers (the same on x86_64, aarch64, arm and i386). */
export const RLIMITS: Readonly<Record<string, number>> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

const INFINITY = 0xffffffffffffffffn;

/** A limit: soft and hard values (bigint, RLIM_INFINITY for unlimited). */
export interface Rlimit {
  readonly resource: string;
  readonly soft: bigint;
  readonly hard: bigint;
}

function value(text: string, what: string): bigint {
  if (text === "unlimited" || text === "infinity") return INFINITY;
  if (!/^\d+$/.test(text))
    throw new RangeError(
      `${what}: expected a whole number or "unlimited", got ${JSON.stringify(text)}`,
    );
  return BigInt(text);
}

/**
 * Parses `NAME=N` or `NAME=SOFT:HARD` (`--rlimit nofile=1024`), N a whole number or
 * "unlimited".
 *
 * @example
 * ```ts
 * import { parseRlimit } from "@forge/sandbox";
 * parseRlimit("nofile=256:1024"); // { resource: "nofile", soft: 256n, hard: 1024n }
 * ```
 */
export function parseRlimit(text: string): Rlimit {
  const m = /^([a-z]+)=(.+)$/.exec(text.trim());
  if (!m)
    throw new RangeError(
      `--rlimit: expected NAME=N or NAME=SOFT:HARD, got ${JSON.stringify(String(text))}`,
    );
  const resource = m[1]!;
  if (!(resource in RLIMITS))
    throw new RangeError(
      `--rlimit: unknown resource ${JSON.stringify(resource)}; expected one of ${Object.keys(RLIMITS).join(", ")}`,
    );
  const [s, h] = m[2]!.split(":");
  const soft = value(s!, `--rlimit ${resource}`);
  const hard = h === undefined ? soft : value(h, `--rlimit ${resource}`);
  if (soft > hard)
    throw new RangeError(`--rlimit ${resource}: the soft limit ${s} is above the hard limit ${h}`);
  return { resource, soft, hard };
}

/**
 * Steps that set each limit with prlimit64 in the child (last one for a resource wins).
 *
 * @example
 * ```ts
 * import { rlimitSteps } from "@forge/sandbox";
 * const steps = rlimitSteps([{ resource: "core", soft: 0n, hard: 0n }]);
 * ```
 */
export function rlimitSteps(limits: readonly Rlimit[]): Step[] {
  const last = new Map<string, Rlimit>();
  for (const l of limits) last.set(l.resource, l);
  return [...last.values()].map((l) => {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, l.soft, true);
    v.setBigUint64(8, l.hard, true);
    const show = (x: bigint) => (x === INFINITY ? "unlimited" : String(x));
    return {
      label: `set rlimit ${l.resource} to ${show(l.soft)}${l.soft === l.hard ? "" : `:${show(l.hard)}`}`,
      syscall: "prlimit64",
      args: [0, RLIMITS[l.resource]!, { bytes: b }, 0],
    };
  });
}

/** A profile's rlimits object as a list. */
export function rlimitsFromRecord(
  r: Readonly<Record<string, number | "unlimited">> | undefined,
): Rlimit[] {
  return Object.entries(r ?? {}).map(([k, v]) => parseRlimit(`${k}=${v}`));
}
