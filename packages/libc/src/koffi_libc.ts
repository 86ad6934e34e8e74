import koffi from "koffi";
import { type Arch, hostArch } from "./arch.ts";
import { type Libc, LibcBase, type SysArg } from "./libc.ts";
import { requireSyscall } from "./syscall_table.ts";

let shared: KoffiLibc | undefined;

/**
 * The real {@link Libc}: the C library loaded with koffi, every syscall made through
 * `syscall(2)` by number for the host architecture. One instance is shared.
 *
 * @example
 * ```ts
 * import { openLibc } from "@forge/libc";
 * const libc = openLibc();
 * const [r, w] = libc.pipe2(0o2000000);
 * libc.close(r);
 * libc.close(w);
 * ```
 */
export function openLibc(): Libc {
  shared ??= new KoffiLibc();
  return shared;
}

class KoffiLibc extends LibcBase {
  readonly arch: Arch = hostArch();
  readonly #syscall: (...args: unknown[]) => unknown;
  readonly #numbers = new Map<string, number>();

  constructor() {
    super();
    const lib = koffi.load("libc.so.6");
    this.#syscall = lib.func("long syscall(long nr, ...)") as (...args: unknown[]) => unknown;
  }

  protected withPointer<T>(bytes: Uint8Array, f: (address: bigint) => T): T {
    // Native memory has a stable address; a Buffer's may move with the garbage collector.
    const mem = koffi.alloc("uint8_t", Math.max(bytes.length, 1));
    try {
      koffi.encode(mem, "uint8_t", Array.from(bytes), bytes.length);
      return f(koffi.address(mem));
    } finally {
      koffi.free(mem);
    }
  }

  protected rawSyscall(name: string, args: readonly SysArg[]): number {
    let nr = this.#numbers.get(name);
    if (nr === undefined) {
      nr = requireSyscall(name, this.arch);
      this.#numbers.set(name, nr);
    }
    const call: unknown[] = [nr];
    for (const a of args) {
      if (a === null) call.push("void *", null);
      else if (typeof a === "string") call.push("void *", Buffer.from(`${a}\0`));
      else if (a instanceof Uint8Array) call.push("void *", a);
      else call.push("int64_t", a);
    }
    const r = this.#syscall(...call) as number | bigint;
    if (Number(r) === -1) return -koffi.errno();
    return Number(r);
  }
}
