/**
 * A module could not be loaded: invalid bytes, a bad or missing signature, limits that
 * cannot hold, a missing import. Every problem a module's bytes can cause while Forge
 * reads, checks, rewrites or instantiates it is this class (never a TypeError or a
 * RangeError); when the bytes are at fault, `section` names the section ("import",
 * "code", ...) and `offset` the byte of the module where the problem is, as far as
 * they are known.
 *
 * @example
 * ```ts
 * import { inspectModule, WasmModuleError } from "@forge/wasm-host";
 * try {
 *   inspectModule(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 1]));
 * } catch (e) {
 *   if (e instanceof WasmModuleError) console.log(e.message, e.section, e.offset);
 *   // not a valid WebAssembly module: memory section: the section at byte 10 is 1 byte long,
 *   // but only 0 bytes are left memory 10
 * }
 * ```
 */
export class WasmModuleError extends Error {
  override name = "WasmModuleError";
  /** The section where the bytes are wrong, e.g. "import" (undefined when not about bytes). */
  readonly section?: string;
  /** The byte of the module where the problem is (undefined when not known). */
  readonly offset?: number;
  constructor(
    message: string,
    options?: { readonly section?: string; readonly offset?: number; readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.section !== undefined) this.section = options.section;
    if (options?.offset !== undefined) this.offset = options.offset;
  }
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
