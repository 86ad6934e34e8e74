/**
 * The WebAssembly host, re-exported for the `forge wasm` command so that it loads
 * without the native layers, plus the native socket operations @forge/wasm-host
 * cannot make itself (it stays free of native code).
 *
 * @example
 * ```ts
 * import { nativeSocketOps, WasiHost } from "@forge/sandbox/wasm";
 * const wasi = new WasiHost({ listeners: [3], socketOps: nativeSocketOps() });
 * ```
 *
 * @module
 */
import { openLibc } from "@forge/libc";
import type { SocketOps } from "@forge/wasm-host";

export * from "@forge/wasm-host";

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/**
 * accept4 and shutdown through @forge/libc, for WasiOptions.socketOps (in-thread hosts;
 * functions cannot cross into worker isolation).
 *
 * @example
 * ```ts
 * import { nativeSocketOps } from "@forge/sandbox/wasm";
 * const ops = nativeSocketOps();
 * ```
 */
export function nativeSocketOps(): SocketOps {
  const libc = openLibc();
  return {
    accept: (fd, nonblock) =>
      libc.syscall("accept4", fd, null, null, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0)),
    shutdown: (fd, how) => {
      libc.syscall("shutdown", fd, how);
    },
  };
}
