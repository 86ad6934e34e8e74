import { WasmLimitError } from "./errors.ts";
import { BUDGET_EXPORT, INTERRUPT_IMPORT, START_EXPORT } from "./instrument.ts";

const MAX_SLICE = 1 << 30;
const TIME_SLICE = 1 << 20;

/**
 * The host side of an instrumented module's metering (see {@link instrumentModule}):
 * hands out fuel in slices through the exported budget global and, on each
 * interrupt, charges what was used, enforces the fuel budget and the deadline.
 *
 * @example
 * ```ts
 * import { Meter } from "@forge/wasm-host";
 * const meter = new Meter();
 * // instantiate with meter.imports(), then meter.attach(instance)
 * meter.begin(1_000_000, undefined);
 * // meter.start(instance) once, then call the module ...
 * console.log(meter.end()); // fuel used
 * ```
 */
export class Meter {
  #global: WebAssembly.Global | undefined;
  #fuelLeft = Number.POSITIVE_INFINITY;
  #granted = 0;
  #used = 0;
  #deadline: number | undefined;
  #timeoutMs = 0;

  /** The import object part for `forge:meter`. */
  imports(): Record<string, Record<string, () => void>> {
    return { [INTERRUPT_IMPORT.module]: { [INTERRUPT_IMPORT.name]: () => this.#interrupt() } };
  }

  /** Binds the meter to an instance of the instrumented module. */
  attach(instance: WebAssembly.Instance): void {
    const g = instance.exports[BUDGET_EXPORT];
    if (!(g instanceof WebAssembly.Global))
      throw new TypeError(`the module does not export ${BUDGET_EXPORT}; was it instrumented?`);
    this.#global = g;
  }

  /**
   * Runs the module's start function, which instrumentation deferred from instantiation
   * (see {@link START_EXPORT}); call it between {@link Meter.begin} and
   * {@link Meter.end}, before anything else, so that it is metered like a call. Does
   * nothing when the module has no start function.
   */
  start(instance: WebAssembly.Instance): void {
    const f = instance.exports[START_EXPORT];
    if (typeof f === "function") (f as () => void)();
  }

  /** Starts metering a call: `fuel` units (undefined: unlimited) and a deadline (performance.now() ms). */
  begin(fuel: number | undefined, deadline: number | undefined, timeoutMs = 0): void {
    this.#fuelLeft = fuel ?? Number.POSITIVE_INFINITY;
    this.#deadline = deadline;
    this.#timeoutMs = timeoutMs;
    this.#used = 0;
    this.#grant();
  }

  #grant(): void {
    const slice = this.#deadline !== undefined ? TIME_SLICE : MAX_SLICE;
    this.#granted = Math.max(0, Math.min(slice, this.#fuelLeft));
    if (this.#global) this.#global.value = this.#granted;
  }

  #charge(): void {
    if (!this.#global) return;
    const used = this.#granted - (this.#global.value as number);
    this.#used += used;
    this.#fuelLeft -= used;
    this.#granted = this.#global.value as number;
  }

  #interrupt(): void {
    if (!this.#global) return; // during instantiation (start section): not metered
    this.#charge();
    if (this.#fuelLeft < 0) {
      this.#global.value = 0;
      throw new WasmLimitError("fuel", `the call ran out of fuel (${this.#used} units used)`);
    }
    if (this.#deadline !== undefined && performance.now() > this.#deadline) {
      throw new WasmLimitError("time", `the call exceeded its timeout of ${this.#timeoutMs} ms`);
    }
    this.#grant();
  }

  /** Ends the call; returns the fuel it used. */
  end(): number {
    this.#charge();
    this.#deadline = undefined;
    return this.#used;
  }
}
