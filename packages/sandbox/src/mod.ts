/// <reference types="node" preserve="true" />
/**
 * @forge/sandbox: the facade that composes every Forge layer into one launch plan.
 *
 * The layers are re-exported as namespaces so that the CLI (and embedders) need one
 * dependency.
 *
 * @module
 */

export * as capabilities from "@forge/capabilities";
export * as cgroups from "@forge/cgroups";
export * as libc from "@forge/libc";
export * as namespaces from "@forge/namespaces";
export * as policy from "@forge/policy";
export * as seccomp from "@forge/seccomp";
export * as wasm from "@forge/wasm-host";
export * from "./cap_warnings.ts";
export * from "./doctor.ts";
export * from "./duration.ts";
// launch() and planLaunch() run exactly what they are given (no profile, no new root
// unless asked): the unopinionated primitive under Sandbox.start, imported by name
// from "@forge/sandbox/launch", so that nothing on the main entry is weaker than the
// default profile.
export {
  checkCwd,
  checkEnvironment,
  cleanEnv,
  type LaunchOptions,
  type LaunchPlan,
  type NamespaceOptions,
  namespaceProblems,
  type RootOptions,
  type SandboxProcess,
} from "./launch.ts";
export * from "./long_timeout.ts";
export * from "./mount_overrides.ts";
export * from "./once_per_process.ts";
export * from "./one_line.ts";
export * from "./path_hints.ts";
export * from "./plugin_host.ts";
export * from "./profile.ts";
export * from "./profile_check.ts";
export * from "./profile_guard.ts";
export * from "./resolve_command.ts";
export * from "./rlimits.ts";
export * from "./sandbox.ts";
export * from "./seccomp_filter.ts";
export * from "./trusted_file.ts";
export * from "./tty.ts";
