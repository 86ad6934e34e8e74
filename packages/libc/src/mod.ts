/// <reference types="node" preserve="true" />
/**
 * @forge/libc: the one binding from Forge to the kernel. A typed koffi binding to libc
 * behind the {@link Libc} interface (with {@link FakeLibc} for unit tests), syscall
 * tables for x86_64, i386, x32, aarch64 and arm, errno names and messages with the
 * typed {@link SyscallError}, the spawn trampoline that runs a program of raw
 * syscalls in a fresh child before execve, pseudo-terminals (a child's own, made
 * inside it and handed back as the master), and file timestamps to the nanosecond
 * ({@link utimensat}, {@link futimens}).
 *
 * @example
 * ```ts
 * import { CLONE, spawn } from "@forge/libc";
 * const child = spawn({ argv: ["/bin/echo", "hello"], cloneFlags: CLONE.NEWUSER | CLONE.NEWNS });
 * const { exitCode } = await child.wait();
 * ```
 *
 * @module
 */
export * from "./arch.ts";
export * from "./constants.ts";
export * from "./errno.ts";
export { type ChildExit, type ParentWatch, watchExit, watchParent } from "./exit_watcher.ts";
export * from "./fake_libc.ts";
export * from "./koffi_libc.ts";
export * from "./libc.ts";
export { loadTrampoline, type Trampoline, trampolinePath } from "./native.ts";
export { packageFile } from "./package_file.ts";
export * from "./program.ts";
export * from "./pty.ts";
export { SparePool, type SparePoolOptions } from "./spare_pool.ts";
export * from "./spawn.ts";
export * from "./syscall_error.ts";
export * from "./syscall_table.ts";
export * from "./utimens.ts";
