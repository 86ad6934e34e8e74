import { errnoMessage, errnoName } from "./errno.ts";

/**
 * A failed syscall: carries the errno number, its name (`code`), the syscall and its
 * arguments in readable form. The message reads like `mount("proc", "/proc", ...):
 * EPERM (Operation not permitted)`, or uses `context` in place of the call when given
 * ("mount proc on /proc: EPERM (Operation not permitted)").
 *
 * @example
 * ```ts
 * import { SyscallError } from "@forge/libc";
 * try {
 *   throw new SyscallError("unshare", 1, ["CLONE_NEWUSER"]);
 * } catch (e) {
 *   if (e instanceof SyscallError && e.code === "EPERM") console.log(e.message);
 * }
 * ```
 */
export class SyscallError extends Error {
  override name = "SyscallError";
  /** The errno number. */
  readonly errno: number;
  /** The errno name, e.g. "EPERM". */
  readonly code: string;
  /** The syscall that failed. */
  readonly syscall: string;
  /** The syscall's arguments, rendered for people. */
  readonly args: readonly string[];

  constructor(syscall: string, errno: number, args: readonly unknown[] = [], context?: string) {
    const call = context ?? `${syscall}(${args.map(renderArg).join(", ")})`;
    super(`${call}: ${errnoName(errno)} (${errnoMessage(errno)})`);
    this.errno = errno;
    this.code = errnoName(errno);
    this.syscall = syscall;
    this.args = args.map(renderArg);
  }
}

/** Renders one syscall argument for an error message. */
export function renderArg(a: unknown): string {
  if (typeof a === "string") return JSON.stringify(a);
  if (typeof a === "bigint") return a < 0n ? `${a}` : `0x${a.toString(16)}`;
  if (typeof a === "number")
    return Number.isInteger(a) && a > 0xffff ? `0x${a.toString(16)}` : `${a}`;
  if (a instanceof Uint8Array) return `<${a.length} bytes>`;
  if (a === null || a === undefined) return "NULL";
  if (typeof a === "object") {
    const o = a as Record<string, unknown>;
    if ("cstring" in o) return JSON.stringify(o.cstring);
    if ("strings" in o)
      return `[${(o.strings as string[]).map((s) => JSON.stringify(s)).join(", ")}]`;
    if ("bytes" in o) return `<${(o.bytes as Uint8Array).length} bytes>`;
    if ("result" in o) return `<result of ${String(o.result)}>`;
    if ("out" in o) return `<buffer ${String(o.out)}>`;
    if ("load32" in o) return `<int from ${String(o.load32)}>`;
  }
  return String(a);
}
