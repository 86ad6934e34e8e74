/**
 * The WebAssembly host, re-exported for the `forge wasm` command so that it loads
 * without the native layers, plus the native socket and timestamp operations
 * @forge/wasm-host cannot make itself (it stays free of native code).
 *
 * @example
 * ```ts
 * import { nativeSocketOps, nativeTimeOps, WasiHost } from "@forge/sandbox/wasm";
 * const wasi = new WasiHost({
 *   listeners: [3],
 *   socketOps: nativeSocketOps(),
 *   timeOps: nativeTimeOps(),
 * });
 * ```
 *
 * @module
 */
import { AT, futimens, type Libc, openLibc, utimensat } from "@forge/libc";
import type { SocketOps, WasiOptions } from "@forge/wasm-host";

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

/**
 * utimensat and futimens through @forge/libc, for WasiOptions.timeOps: WASI timestamps
 * set to the nanosecond (Node's fs.utimes keeps microseconds). libc is opened on first
 * use, so a module that never sets a time does not load it. In-thread hosts only
 * (functions cannot cross into worker isolation).
 *
 * @example
 * ```ts
 * import { nativeTimeOps, WasmHost } from "@forge/sandbox/wasm";
 * const host = new WasmHost();
 * await host.loadModule("tool", "tool.wasm", {
 *   wasi: { preopens: [{ host: "./data", guest: "/data" }], timeOps: nativeTimeOps() },
 * });
 * ```
 */
export function nativeTimeOps(): NonNullable<WasiOptions["timeOps"]> {
  let libc: Libc | undefined;
  const lib = () => (libc ??= openLibc());
  return {
    utimensat: (dirFd, name, atime, mtime, nofollow) =>
      utimensat(lib(), dirFd, name, atime, mtime, nofollow ? AT.SYMLINK_NOFOLLOW : 0),
    futimens: (fd, atime, mtime) => futimens(lib(), fd, atime, mtime),
  };
}
