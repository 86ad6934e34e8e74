/**
 * The seccomp filter of a sandbox: a built-in profile's filter compiled at build time
 * when it applies, else the compiler's, cached per process. Shared by the launch
 * (`Sandbox.start`) and by profile validation, so that a profile naming a seccomp
 * profile is checked by the very code that will install it.
 *
 * (The `forge run` bundle loads the seccomp compiler only when this module first needs
 * it: see packages/cli/scripts/bundle.mjs.)
 *
 * @module
 */
import fs from "node:fs";
import type { Step } from "@forge/libc";
import * as seccomp from "@forge/seccomp";

const filters = new Map<string, seccomp.CompiledFilter>();

/**
 * Compiles a seccomp profile for the host, once per process for the same profile,
 * capabilities and (for files) modification time: a warm process that starts many
 * sandboxes does not pay the compiler each time.
 */
function compiledFilter(spec: string, caps: readonly string[]): seccomp.CompiledFilter {
  let stamp = "";
  // A path (with a "/", as @forge/seccomp's isSeccompPath says; a bare name is a built-in).
  if (spec.includes("/")) {
    try {
      const st = fs.statSync(spec);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = "missing"; // compileSeccompForRun reports it
    }
  }
  const key = JSON.stringify([spec, [...caps].sort(), stamp]);
  let f = filters.get(key);
  if (!f) {
    f = seccomp.compileSeccompForRun(spec, { caps });
    if (filters.size > 64) filters.clear();
    filters.set(key, f);
  }
  return f;
}

const stepsOf = new Map<string, { steps: Step[]; conflicts: readonly string[] }>();
const compiledSteps = new WeakMap<seccomp.CompiledFilter, Step[]>();

/**
 * The steps that install a seccomp profile (a built-in name, or a file by path): a built-in one compiled at build time for
 * this kernel when nothing changes it (decoded once per process), else the compiler's
 * (cached as above). The same filter always gives the same steps object, which lets a
 * launch recognise a plan made ahead for it. Throws what the seccomp package throws for
 * a profile it cannot load or compile (a RangeError or a ProfileError, one line).
 *
 * @example
 * ```ts
 * import { filterSteps } from "@forge/sandbox";
 * const { steps, conflicts } = filterSteps("default", []);
 * ```
 */
export function filterSteps(
  spec: string,
  caps: readonly string[],
): { steps: Step[]; conflicts: readonly string[]; warnings?: readonly string[] } {
  if (!caps.length) {
    let pre = stepsOf.get(spec);
    if (!pre) {
      const f = seccomp.precompiledFilter(spec);
      if (f) {
        pre = { steps: seccomp.precompiledSteps(f), conflicts: f.conflicts };
        stepsOf.set(spec, pre);
      }
    }
    if (pre) return pre;
  }
  const filter = compiledFilter(spec, caps);
  let steps = compiledSteps.get(filter);
  if (!steps) {
    steps = seccomp.seccompSteps(filter);
    compiledSteps.set(filter, steps);
  }
  // The profile's warnings: what runc loads but is likely a mistake (unknown names...).
  return { steps, conflicts: filter.conflicts, warnings: filter.warnings ?? [] };
}
