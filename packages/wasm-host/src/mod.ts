/// <reference types="node" preserve="true" />
/**
 * @forge/wasm-host: runs WebAssembly modules under limits with WASI preview1 written
 * in TypeScript and routed through @forge/policy. A {@link WasmHost} loads (validates,
 * hashes, verifies ed25519 signatures, rewrites memory limits, meters, compiles and
 * caches by hash), calls, hot-reloads and unloads modules; {@link WasiHost} is the
 * syscall bridge (every call → request → policy → execute → audit) whose paths never
 * leave their preopens; the `forge` host interface adds logging, system info, time and
 * sleep. No native code.
 *
 * @example
 * ```ts
 * import { AuditLog, WasmHost } from "@forge/wasm-host";
 * const audit = new AuditLog();
 * const host = new WasmHost({ audit, timeoutMs: 2000 });
 * await host.loadModule("hello", "hello.wasm", { wasi: { args: ["hello"], preopens: [{ host: "/tmp", guest: "/tmp" }] } });
 * const { exitCode } = await host.run("hello");
 * console.log(exitCode, AuditLog.verify(audit.export()).ok);
 * ```
 *
 * @module
 */
export { AuditLog, Policy } from "@forge/policy";
export { WasiExit, WasmLimitError, WasmModuleError } from "./errors.ts";
export { createHostApi, type HostApiContext } from "./host_api.ts";
export { BUDGET_EXPORT, INTERRUPT_IMPORT, instrumentModule, START_EXPORT } from "./instrument.ts";
export { Meter } from "./meter.ts";
export {
  type FuncType,
  inspectModule,
  limitMemory,
  type MemoryLimits,
  type ModuleShape,
  WASM_PAGE,
  type WasmExport,
  type WasmImport,
} from "./module_info.ts";
export {
  checkSymlinkTarget,
  fdPath,
  isInside,
  O_PATH,
  openPreopen,
  type Preopen,
  type PreopenSpec,
  type Resolved,
  resolvePath,
} from "./preopen.ts";
export {
  RIGHTS,
  type SocketOps,
  sleepSync,
  type TimeOps,
  WASI_FUNCTIONS,
  WasiHost,
  type WasiOptions,
  type WasiTimeSpec,
} from "./wasi.ts";
export { HOST_ERROR, WASI_ERRNO, wasiErrno } from "./wasi_errno.ts";
export {
  clearCompileCache,
  DEFAULT_MEMORY_LIMIT,
  type LoadOptions,
  type ModuleInfo,
  type ModuleWasi,
  type RunResult,
  WasmHost,
  type WasmHostOptions,
  type WasmHostStatus,
} from "./wasm_host.ts";
export {
  type WorkerDecision,
  type WorkerInit,
  WorkerInstance,
  workerEntry,
} from "./worker_instance.ts";

/**
 * The package version.
 *
 * @example
 * ```ts
 * import { PACKAGE_VERSION } from "@forge/wasm-host";
 * console.log(PACKAGE_VERSION);
 * ```
 */
export const PACKAGE_VERSION = "0.1.0";
