/**
 * @forge/namespaces: Linux namespaces as steps for the @forge/libc spawn trampoline.
 *
 * @module
 */
export * from "./flags.ts";
export * from "./id_map.ts";
export * from "./mount_plan.ts";
