/**
 * Built-in profiles compiled at build time (scripts/precompile.mjs writes an index,
 * dist/precompiled.json, and each filter's bytes, dist/precompiled/NAME.bpf, for the
 * build host's architecture and kernel), so that
 * `forge run` does not parse and compile docker-default on every start. Used only when
 * nothing that changes the result differs: same architecture, same kernel release
 * (minKernel rules), no kept capabilities (includes.caps rules).
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hostArch, PR, packageFile, type Step } from "@forge/libc";
import { filterFlags, SECCOMP_SET_MODE_FILTER, sockFprogHeader } from "./install.ts";

/** A built-in profile's filter, ready to install. */
export interface PrecompiledFilter {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly instructions: number;
  /** SECCOMP_FILTER_FLAG_* names from the profile. */
  readonly flags: readonly string[];
  readonly conflicts: readonly string[];
}

interface Store {
  readonly kernel: string;
  readonly arch: string;
  readonly filters: Record<
    string,
    { file: string; instructions: number; flags: string[]; conflicts: string[] }
  >;
}

let store: Store | null | undefined;

/** Where the build writes the precompiled filters' index (their bytes are beside it). */
export function precompiledPath(): string {
  return packageFile(import.meta.url, "@forge/seccomp", "dist/precompiled.json");
}

/**
 * The build-time filter of a built-in profile for this host, or undefined when there
 * is none that applies (other kernel or architecture, no build output).
 *
 * @example
 * ```ts
 * import { precompiledFilter } from "@forge/seccomp";
 * const f = precompiledFilter("default"); // undefined on a host the build did not run on
 * ```
 */
export function precompiledFilter(name: string): PrecompiledFilter | undefined {
  const index = precompiledPath();
  if (store === undefined) {
    try {
      store = JSON.parse(fs.readFileSync(index, "utf8")) as Store;
    } catch {
      store = null;
    }
  }
  if (!store || store.kernel !== os.release() || store.arch !== hostArch()) return undefined;
  const f = store.filters[name];
  if (!f) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path.join(path.dirname(index), f.file));
  } catch {
    return undefined; // an incomplete build: compile instead
  }
  if (bytes.length !== f.instructions * 8) return undefined;
  return {
    name,
    bytes,
    instructions: f.instructions,
    flags: f.flags,
    conflicts: f.conflicts,
  };
}

/**
 * Trampoline steps that install a precompiled filter (the same steps as seccompSteps).
 *
 * @example
 * ```ts
 * import { precompiledFilter, precompiledSteps } from "@forge/seccomp";
 * const f = precompiledFilter("default");
 * const steps = f ? precompiledSteps(f) : [];
 * ```
 */
export function precompiledSteps(f: PrecompiledFilter): Step[] {
  return [
    { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] },
    {
      label: `install seccomp filter "${f.name}" (${f.instructions} instructions)`,
      syscall: "seccomp",
      args: [
        SECCOMP_SET_MODE_FILTER,
        filterFlags({ profileFlags: f.flags }),
        { bytes: sockFprogHeader(f.instructions), pointers: [{ at: 8, to: f.bytes }] },
      ],
    },
  ];
}
