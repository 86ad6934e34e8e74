/**
 * The WebAssembly host, re-exported for the `forge wasm` command so that it loads
 * without the native layers (koffi, the trampoline).
 *
 * @example
 * ```ts
 * import { WasmHost } from "@forge/sandbox/wasm";
 * const host = new WasmHost();
 * ```
 *
 * @module
 */
export * from "@forge/wasm-host";
