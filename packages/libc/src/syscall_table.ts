/**
 * Syscall numbers by name and names by number, per architecture, from the generated
 * tables (scripts/gen_syscalls.mjs).
 *
 * @module
 */
import { type Arch, hostArch } from "./arch.ts";
import { SYSCALL_TABLE_TEXT } from "./syscalls.generated.ts";

interface Table {
  byName: Map<string, number>;
  rows?: ReadonlyArray<readonly [string, number]>;
  byNumber?: Map<number, string>;
}
const cache = new Map<Arch, Table>();

/** An architecture's table, parsed from its text on first use (see gen_syscalls.mjs). */
function table(arch: Arch): Table {
  let t = cache.get(arch);
  if (!t) {
    const text = SYSCALL_TABLE_TEXT[arch];
    if (text === undefined) throw new RangeError(`no syscall table for architecture "${arch}"`);
    const words = text.split(" ");
    const byName = new Map<string, number>();
    for (let i = 0; i + 1 < words.length; i += 2) byName.set(words[i]!, Number(words[i + 1]));
    t = { byName };
    cache.set(arch, t);
  }
  return t;
}

/** The table's [name, number] rows, in its order (made on first use). */
function rows(t: Table): ReadonlyArray<readonly [string, number]> {
  t.rows ??= [...t.byName];
  return t.rows;
}

/**
 * The number of a syscall on an architecture (default: the host's), or undefined if
 * that architecture has no such syscall. Numbers are as the ABI's table lists them;
 * for x32 the 0x40000000 bit is not included.
 *
 * @example
 * ```ts
 * import { syscallNumber } from "@forge/libc";
 * syscallNumber("getpid", "x86_64"); // 39
 * syscallNumber("open", "aarch64"); // undefined
 * ```
 */
export function syscallNumber(name: string, arch: Arch = hostArch()): number | undefined {
  return table(arch).byName.get(name);
}

/**
 * The syscall number, or a RangeError naming the syscall and architecture.
 *
 * @example
 * ```ts
 * import { requireSyscall } from "@forge/libc";
 * requireSyscall("mount"); // 165 on x86_64
 * ```
 */
export function requireSyscall(name: string, arch: Arch = hostArch()): number {
  const nr = syscallNumber(name, arch);
  if (nr === undefined) throw new RangeError(`unknown syscall "${name}" on ${arch}`);
  return nr;
}

/**
 * The name of a syscall number on an architecture, or undefined.
 *
 * @example
 * ```ts
 * import { syscallName } from "@forge/libc";
 * syscallName(59, "x86_64"); // "execve"
 * ```
 */
export function syscallName(nr: number, arch: Arch = hostArch()): string | undefined {
  const t = table(arch);
  t.byNumber ??= new Map(rows(t).map(([n, k]) => [k, n]));
  return t.byNumber.get(nr);
}

/**
 * Every syscall of an architecture as `[name, number]`, in the shared table's order (by name).
 *
 * @example
 * ```ts
 * import { syscallEntries } from "@forge/libc";
 * syscallEntries("arm").length; // about 430
 * ```
 */
export function syscallEntries(arch: Arch = hostArch()): ReadonlyArray<readonly [string, number]> {
  return rows(table(arch));
}
