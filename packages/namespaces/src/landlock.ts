/**
 * Landlock: filesystem rights per path, applied in the child as a second wall behind
 * the mount namespace.
 *
 * @module
 */
import fs from "node:fs";
import { AT, type Libc, O, openLibc, type Step, type StepArg } from "@forge/libc";
import { openHow, SAFE_HOST } from "./_util.ts";
import type { MountSpec } from "./mount_plan.ts";

/** LANDLOCK_ACCESS_FS_* rights (linux/landlock.h) and the ABI that introduced each. */
export const LANDLOCK_ACCESS_FS = {
  EXECUTE: 1 << 0,
  WRITE_FILE: 1 << 1,
  READ_FILE: 1 << 2,
  READ_DIR: 1 << 3,
  REMOVE_DIR: 1 << 4,
  REMOVE_FILE: 1 << 5,
  MAKE_CHAR: 1 << 6,
  MAKE_DIR: 1 << 7,
  MAKE_REG: 1 << 8,
  MAKE_SOCK: 1 << 9,
  MAKE_FIFO: 1 << 10,
  MAKE_BLOCK: 1 << 11,
  MAKE_SYM: 1 << 12,
  REFER: 1 << 13,
  TRUNCATE: 1 << 14,
  IOCTL_DEV: 1 << 15,
} as const;

/** LANDLOCK_SCOPE_* (ABI 6). */
export const LANDLOCK_SCOPE = { ABSTRACT_UNIX_SOCKET: 1, SIGNAL: 2 } as const;

const A = LANDLOCK_ACCESS_FS;
const FILE_RIGHTS = A.EXECUTE | A.WRITE_FILE | A.READ_FILE | A.TRUNCATE | A.IOCTL_DEV;

/** The rights a rule can grant, in words. */
export type LandlockRight = "read" | "write" | "execute" | "list" | "ioctl-dev";

const RIGHT_BITS: Readonly<Record<LandlockRight, number>> = {
  read: A.READ_FILE | A.READ_DIR,
  list: A.READ_DIR,
  write:
    A.WRITE_FILE |
    A.REMOVE_DIR |
    A.REMOVE_FILE |
    A.MAKE_CHAR |
    A.MAKE_DIR |
    A.MAKE_REG |
    A.MAKE_SOCK |
    A.MAKE_FIFO |
    A.MAKE_BLOCK |
    A.MAKE_SYM |
    A.REFER |
    A.TRUNCATE,
  execute: A.EXECUTE,
  "ioctl-dev": A.IOCTL_DEV,
};

/**
 * One rule: the rights granted beneath a path. `path` is a host path, opened O_PATH by
 * the parent before the child pivots (use it for bind sources); `inside` is a path in
 * the sandbox, opened by the child after pivot_root (use it for what the sandbox
 * creates itself: tmpfs, /proc, /dev, the root).
 */
export interface LandlockRule {
  readonly path?: string;
  readonly inside?: string;
  readonly access: readonly LandlockRight[];
}

/** Landlock cannot enforce what was asked (strict mode), or is unusable. */
export class LandlockError extends Error {
  override name = "LandlockError";
}

/**
 * The Landlock ABI version of the running kernel, 0 when Landlock is missing or
 * disabled (landlock_create_ruleset with LANDLOCK_CREATE_RULESET_VERSION).
 *
 * @example
 * ```ts
 * import { landlockAbi } from "@forge/namespaces";
 * import { openLibc } from "@forge/libc";
 * console.log(landlockAbi(openLibc())); // 7 on Linux 6.15+
 * ```
 */
export function landlockAbi(libc: Libc = openLibc()): number {
  try {
    return libc.landlockCreateRuleset(null, 1);
  } catch {
    return 0;
  }
}

/**
 * The filesystem rights an ABI version can restrict.
 *
 * @example
 * ```ts
 * import { landlockFsRights } from "@forge/namespaces";
 * landlockFsRights(1).toString(16); // "1fff"
 * ```
 */
export function landlockFsRights(abi: number): number {
  if (abi < 1) return 0;
  let m = (1 << 13) - 1;
  if (abi >= 2) m |= A.REFER;
  if (abi >= 3) m |= A.TRUNCATE;
  if (abi >= 5) m |= A.IOCTL_DEV;
  return m;
}

/**
 * The names of the rights in a mask.
 *
 * @example
 * ```ts
 * import { landlockRightNames } from "@forge/namespaces";
 * landlockRightNames(5); // ["EXECUTE", "READ_FILE"]
 * ```
 */
export function landlockRightNames(mask: number): string[] {
  return Object.entries(A)
    .filter(([, v]) => (mask & v) !== 0)
    .map(([k]) => k);
}

/**
 * Rules that mirror a mount spec: read-only binds get read + execute, read-write binds
 * and tmpfs read + write + execute (no execute on noexec tmpfs), /proc read + write,
 * /dev read + write + ioctl on devices, extra directories read, the root list only.
 * Symlink sources (replicated as symlinks) need no rule.
 *
 * @example
 * ```ts
 * import { landlockRulesFromMounts } from "@forge/namespaces";
 * landlockRulesFromMounts({ binds: [{ src: "/usr", dst: "/usr", readonly: true }], tmpfs: [{ dst: "/tmp" }] });
 * ```
 */
export function landlockRulesFromMounts(spec: MountSpec): LandlockRule[] {
  const rules: LandlockRule[] = [{ inside: "/", access: ["list"] }];
  for (const b of spec.binds ?? []) {
    let src = b.src;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(src, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st) continue; // mountPlan reports a missing source
    if (st.isSymbolicLink()) {
      if ((b.symlink ?? "replicate") !== "follow") continue;
      src = fs.realpathSync(src);
    }
    rules.push({
      path: src,
      access: b.readonly ? ["read", "execute"] : ["read", "write", "execute"],
    });
  }
  for (const t of spec.tmpfs ?? []) {
    const access: LandlockRight[] = t.readonly ? ["read"] : ["read", "write"];
    if (!t.noexec) access.push("execute");
    rules.push({ inside: t.dst, access });
  }
  for (const d of spec.dirs ?? []) rules.push({ inside: d, access: ["read"] });
  if (spec.proc ?? true) rules.push({ inside: "/proc", access: ["read", "write"] });
  if (spec.dev ?? true) rules.push({ inside: "/dev", access: ["read", "write", "ioctl-dev"] });
  return rules;
}

/** What {@link landlockSteps} does when the kernel falls short. */
export interface LandlockOptions {
  /** "strict" (default) throws {@link LandlockError}; "best-effort" enforces what it can and warns. */
  readonly mode?: "strict" | "best-effort";
  /** Also scope abstract unix sockets and signals to the sandbox (ABI 6+; default: when available). */
  readonly scope?: boolean;
  /** The ABI to plan for (default: the running kernel's). */
  readonly abi?: number;
  readonly libc?: Libc;
}

/** The Landlock part of a launch plan. */
export interface LandlockPlan {
  /**
   * Child steps right after pivot_root (before rlimits can lower RLIMIT_NOFILE): open
   * the `inside` paths and move each fd to a fixed number the rules refer to.
   */
  readonly prepareSteps: Step[];
  /** Child steps after no_new_privs: create the ruleset, add the rules, restrict self. */
  readonly steps: Step[];
  /** Parent-opened O_PATH fds (for `path` rules); close them after spawn (or `close`). */
  readonly fds: number[];
  /** What this kernel enforces with this plan. */
  readonly enforced: { readonly abi: number; readonly fs: string[]; readonly scoped: string[] };
  readonly warnings: string[];
  close(): void;
}

/** `struct landlock_path_beneath_attr` (packed: u64 allowed_access, s32 parent_fd). */
function pathBeneath(allowed: number, fd: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(allowed), true);
  v.setInt32(8, fd, true);
  return b;
}

/** A free fd number base well above anything this process has open. */
function fixedFdBase(): number {
  let max = 0;
  try {
    for (const n of fs.readdirSync("/proc/self/fd")) max = Math.max(max, Number(n) || 0);
  } catch {
    max = 0;
  }
  return Math.max(1000, max + 256);
}

/**
 * Plans the Landlock ruleset: everything the running kernel can restrict is denied
 * except what the rules grant. Rights the kernel cannot restrict make "strict" throw
 * and "best-effort" warn; without Landlock at all, best-effort returns no steps.
 *
 * @example
 * ```ts
 * import { landlockRulesFromMounts, landlockSteps } from "@forge/namespaces";
 * const spec = { binds: [{ src: "/usr", dst: "/usr", readonly: true }], tmpfs: [{ dst: "/tmp" }] };
 * const ll = landlockSteps(landlockRulesFromMounts(spec), { mode: "best-effort" });
 * console.log(ll.enforced.fs, ll.warnings);
 * ll.close();
 * ```
 */
export function landlockSteps(
  rules: readonly LandlockRule[],
  opts: LandlockOptions = {},
): LandlockPlan {
  const libc = opts.libc ?? openLibc();
  const mode = opts.mode ?? "strict";
  const abi = opts.abi ?? landlockAbi(libc);
  const warnings: string[] = [];
  const fds: number[] = [];
  const close = () => {
    for (const fd of fds.splice(0)) {
      try {
        libc.close(fd);
      } catch {
        // already closed
      }
    }
  };
  const fail = (msg: string) => {
    if (mode === "strict") {
      close();
      throw new LandlockError(
        `${msg}; use --landlock best-effort to run with what this kernel enforces`,
      );
    }
    warnings.push(msg);
  };
  if (abi < 1) {
    fail(
      "Landlock is not available on this kernel (needs Linux 5.13+ with landlock in the lsm= list)",
    );
    return {
      prepareSteps: [],
      steps: [],
      fds,
      enforced: { abi: 0, fs: [], scoped: [] },
      warnings,
      close,
    };
  }
  const handled = landlockFsRights(abi);
  let asked = 0;
  for (const r of rules) for (const a of r.access) asked |= RIGHT_BITS[a] ?? 0;
  // Denying is the point: every read/write/execute right must be restrictable.
  const needed = RIGHT_BITS.read | RIGHT_BITS.write | RIGHT_BITS.execute;
  const missing = needed & ~handled;
  if (missing)
    fail(`Landlock ABI ${abi} cannot restrict ${landlockRightNames(missing).join(", ")}`);
  if (asked & A.IOCTL_DEV & ~handled)
    warnings.push(`Landlock ABI ${abi} cannot restrict device ioctls (needs ABI 5)`);
  let scoped = 0;
  if (opts.scope ?? true) {
    if (abi >= 6) scoped = LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE.SIGNAL;
    else if (opts.scope === true)
      fail(`Landlock ABI ${abi} cannot scope abstract unix sockets and signals (needs ABI 6)`);
  }

  const attr = new Uint8Array(24);
  const av = new DataView(attr.buffer);
  av.setBigUint64(0, BigInt(handled), true);
  av.setBigUint64(16, BigInt(scoped), true);
  const attrSize = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;

  const prepareSteps: Step[] = [];
  const steps: Step[] = [
    {
      label: `create a Landlock ruleset (ABI ${abi})`,
      syscall: "landlock_create_ruleset",
      args: [{ bytes: attr.slice(0, attrSize) }, attrSize, 0],
      id: "ll.ruleset",
    },
  ];
  const base = fixedFdBase();
  let k = 0;
  try {
    for (const r of rules) {
      const where = r.path ?? r.inside;
      if ((r.path === undefined) === (r.inside === undefined) || !where?.startsWith("/")) {
        throw new TypeError(
          `Landlock rule needs exactly one absolute "path" (host) or "inside" (sandbox) path, got ${JSON.stringify(r)}`,
        );
      }
      let allowed = 0;
      for (const a of r.access) {
        const bits = RIGHT_BITS[a];
        if (bits === undefined)
          throw new TypeError(
            `unknown Landlock right "${a}" for ${where}: expected read, write, execute, list or ioctl-dev`,
          );
        allowed |= bits;
      }
      allowed &= handled;
      let fd: number;
      let dir = true;
      if (r.path !== undefined) {
        try {
          fd = libc.openat2(AT.FDCWD, r.path, {
            flags: O.PATH | O.CLOEXEC | O.NOFOLLOW,
            resolve: SAFE_HOST,
          });
        } catch (e) {
          throw new LandlockError(
            `cannot open ${r.path} for a Landlock rule: ${(e as { code?: string }).code ?? (e as Error).message} (symlinks are refused)`,
            { cause: e },
          );
        }
        fds.push(fd);
        const stx = new Uint8Array(256);
        libc.syscall("statx", fd, "", AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW, 1 /* STATX_TYPE */, stx);
        dir = (new DataView(stx.buffer).getUint16(28, true) & 0o170000) === 0o040000;
      } else {
        fd = base + k;
        const id = `ll.in${k}`;
        prepareSteps.push(
          {
            label: `open ${r.inside} for a Landlock rule (no symlinks)`,
            syscall: "openat2",
            args: [
              AT.FDCWD,
              { cstring: r.inside! },
              { bytes: openHow(O.PATH | O.CLOEXEC, SAFE_HOST) },
              24,
            ],
            id,
          },
          {
            label: `move the fd of ${r.inside} to ${fd}`,
            syscall: "dup3",
            args: [{ result: id }, fd, O.CLOEXEC],
          },
          { label: `close the first fd of ${r.inside}`, syscall: "close", args: [{ result: id }] },
        );
        k++;
      }
      if (!dir) allowed &= FILE_RIGHTS;
      const grant: StepArg = { bytes: pathBeneath(allowed, fd) };
      steps.push({
        label: `allow ${landlockRightNames(allowed).join(",") || "nothing"} beneath ${where}`,
        syscall: "landlock_add_rule",
        args: [{ result: "ll.ruleset" }, 1, grant, 0],
      });
    }
  } catch (e) {
    close();
    throw e;
  }
  steps.push(
    {
      label: "enforce the Landlock ruleset",
      syscall: "landlock_restrict_self",
      args: [{ result: "ll.ruleset" }, 0],
    },
    { label: "close the Landlock ruleset", syscall: "close", args: [{ result: "ll.ruleset" }] },
  );
  const scopedNames = Object.entries(LANDLOCK_SCOPE)
    .filter(([, v]) => (scoped & v) !== 0)
    .map(([n]) => n);
  return {
    prepareSteps,
    steps,
    fds,
    enforced: { abi, fs: landlockRightNames(handled), scoped: scopedNames },
    warnings,
    close,
  };
}
