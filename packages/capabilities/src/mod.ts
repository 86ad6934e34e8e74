/**
 * @forge/capabilities: capability names and numbers, the drop plan that leaves a
 * sandboxed child with exactly the kept capabilities in all five sets, securebits,
 * no_new_privs, and reading the current sets of any process.
 *
 * Layers return steps for the @forge/libc spawn trampoline; nothing here runs
 * JavaScript in the child.
 *
 * @example
 * ```ts
 * import { capDropSteps, noNewPrivsStep } from "@forge/capabilities";
 * import { CLONE, spawn } from "@forge/libc";
 * const child = spawn({
 *   argv: ["/bin/grep", "Cap", "/proc/self/status"],
 *   cloneFlags: CLONE.NEWUSER,
 *   lateSteps: [...capDropSteps({ keep: ["NET_BIND_SERVICE"] }), noNewPrivsStep()],
 * });
 * await child.wait();
 * ```
 *
 * @module
 */
export * from "./drop.ts";
export * from "./names.ts";
export * from "./no_new_privs.ts";
export * from "./read_caps.ts";
export * from "./securebits.ts";
