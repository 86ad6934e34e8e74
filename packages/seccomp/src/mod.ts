/**
 * @forge/seccomp: compiles OCI/Docker seccomp profiles to optimised seccomp-BPF.
 *
 * Profile schema and validation (every problem as a JSON pointer), a compiler that
 * dispatches with a balanced tree over syscall-number ranges, an emulator that
 * counts instructions, a disassembler, a verifier that checks a filter against its
 * profile, built-in profiles, a profile builder, exports for Kubernetes and OCI,
 * installation (into this process, or as spawn steps) and the user-notification
 * listener.
 *
 * @example
 * ```ts
 * import { builtinProfile, compileProfile, emulate } from "@forge/seccomp";
 * const f = compileProfile(builtinProfile("default"), { arch: "x86_64" });
 * const r = emulate(f.program, { nr: 39, arch: 0xc000003e }); // getpid
 * console.log(r.action.kind, r.executed); // "allow" 9
 * ```
 *
 * @module
 */
export * from "./action.ts";
export * from "./bpf.ts";
export * from "./builder.ts";
export * from "./compile.ts";
export * from "./cover.ts";
export * from "./decision.ts";
export * from "./disasm.ts";
export * from "./emulator.ts";
export * from "./export.ts";
export * from "./import_k8s.ts";
export * from "./install.ts";
export * from "./load.ts";
export * from "./notify.ts";
export * from "./precompiled.ts";
export * from "./profile.ts";
export * from "./profiles.ts";
export * from "./resolve.ts";
export * from "./runc_semantics.ts";
export * from "./verify.ts";
