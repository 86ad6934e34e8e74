/**
 * A module could not be loaded: invalid bytes, a bad or missing signature, limits that
 * cannot hold, a missing import.
 *
 * @example
 * ```ts
 * import { WasmModuleError } from "@forge/wasm-host";
 * try { throw new WasmModuleError("bad magic"); } catch (e) { console.log(e instanceof WasmModuleError); }
 * ```
 */
export class WasmModuleError extends Error {
  override name = "WasmModuleError";
}

/**
 * A call ended because the module hit a limit or trapped. `limit` says which:
 * "time" (timeout), "fuel", "memory", "stack" (deep recursion) or "trap" (any other
 * trap: unreachable, out-of-bounds access, division by zero). The host stays usable.
 *
 * @example
 * ```ts
 * import { WasmLimitError } from "@forge/wasm-host";
 * const e = new WasmLimitError("time", "m.run exceeded its timeout of 100 ms");
 * console.log(e.limit); // "time"
 * ```
 */
export class WasmLimitError extends Error {
  override name = "WasmLimitError";
  readonly limit: "time" | "fuel" | "memory" | "stack" | "trap";
  constructor(limit: WasmLimitError["limit"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.limit = limit;
  }
}

/**
 * The module called `proc_exit`. Returned as an exit code by `run`; thrown by `call`.
 *
 * @example
 * ```ts
 * import { WasiExit } from "@forge/wasm-host";
 * const e = new WasiExit(3);
 * console.log(e.code); // 3
 * ```
 */
export class WasiExit extends Error {
  override name = "WasiExit";
  readonly code: number;
  constructor(code: number) {
    super(`the module exited with code ${code}`);
    this.code = code;
  }
}
