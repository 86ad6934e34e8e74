import { type Arch, hostArch } from "./arch.ts";
import { LibcBase, type SysArg } from "./libc.ts";

/** One call the fake saw. */
export interface FakeCall {
  readonly name: string;
  readonly args: readonly SysArg[];
}

/** Decides a fake syscall's result: a number (>= 0 success, < 0 is -errno). */
export type FakeHandler = (args: readonly SysArg[]) => number;

/**
 * A recording {@link Libc} for unit tests: makes no syscall, records every call and
 * answers from handlers you set (default: 0, success).
 *
 * @example
 * ```ts
 * import { FakeLibc } from "@forge/libc";
 * const libc = new FakeLibc().on("unshare", () => -1); // EPERM
 * try { libc.unshare(0x10000000); } catch (e) { console.log((e as Error).message); }
 * console.log(libc.calls); // [{ name: "unshare", args: [268435456] }]
 * ```
 */
export class FakeLibc extends LibcBase {
  readonly arch: Arch;
  readonly calls: FakeCall[] = [];
  readonly #handlers = new Map<string, FakeHandler>();

  constructor(arch: Arch = hostArch()) {
    super();
    this.arch = arch;
  }

  /** Sets the handler for a syscall; returns this for chaining. */
  on(name: string, handler: FakeHandler): this {
    this.#handlers.set(name, handler);
    return this;
  }

  /** The calls made to one syscall. */
  callsTo(name: string): FakeCall[] {
    return this.calls.filter((c) => c.name === name);
  }

  protected withPointer<T>(_bytes: Uint8Array, f: (address: bigint) => T): T {
    return f(0n);
  }

  protected rawSyscall(name: string, args: readonly SysArg[]): number {
    this.calls.push({ name, args: [...args] });
    return this.#handlers.get(name)?.(args) ?? 0;
  }
}
