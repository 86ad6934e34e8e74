/**
 * The capability drop plan: steps that leave the child with exactly the kept
 * capabilities in all five sets.
 *
 * @module
 */
import { PR, type Step } from "@forge/libc";
import { capData, capHeader } from "./_util.ts";
import { CAPABILITIES, capMask, capName, capNumber, lastCap } from "./names.ts";
import { SANDBOX_SECUREBITS } from "./securebits.ts";

/** What {@link capDropSteps} keeps and how. */
export interface CapDropOptions {
  /** Capabilities to keep ("NET_BIND_SERVICE" or "CAP_NET_BIND_SERVICE"); default none. */
  readonly keep?: readonly (string | number)[];
  /** The kernel's last capability (default: /proc/sys/kernel/cap_last_cap). */
  readonly lastCap?: number;
  /** Securebits to set and lock (default {@link SANDBOX_SECUREBITS}); null leaves them alone. */
  readonly securebits?: number | null;
  /**
   * Steps that must run with the working capabilities still effective but after the
   * securebits are set, typically the switch to the inside uid/gid (setgroups,
   * setresgid, setresuid from @forge/namespaces' `idMapPlan(...).identitySteps`).
   */
  readonly identitySteps?: readonly Step[];
}

// Needed by the plan itself until its last step: securebits (SETPCAP) and the identity switch.
const WORKING = ["CAP_SETPCAP", "CAP_SETUID", "CAP_SETGID"].map((n) => CAPABILITIES.indexOf(n));

/**
 * Steps that drop every capability except `keep` from the bounding, ambient,
 * inheritable, permitted and effective sets. They expect the child to start with a
 * full permitted set, as it does in a fresh user namespace or as root. Order:
 *
 * 1. PR_CAPBSET_DROP every capability not kept (bounding set);
 * 2. capset v3: inheritable = keep; permitted = effective = keep + SETPCAP, SETUID, SETGID;
 * 3. PR_CAP_AMBIENT_CLEAR_ALL, then PR_CAP_AMBIENT_RAISE each kept capability
 *    (so a payload with any uid receives them at execve);
 * 4. PR_SET_SECUREBITS (default {@link SANDBOX_SECUREBITS}, all locked);
 * 5. `identitySteps` (the uid/gid switch; NO_SETUID_FIXUP keeps the sets unchanged);
 * 6. capset v3: effective = permitted = inheritable = keep.
 *
 * @example
 * ```ts
 * import { capDropSteps } from "@forge/capabilities";
 * import { spawn, CLONE } from "@forge/libc";
 * const steps = capDropSteps({ keep: ["NET_BIND_SERVICE"] });
 * spawn({ argv: ["/bin/true"], cloneFlags: CLONE.NEWUSER, lateSteps: steps });
 * ```
 */
export function capDropSteps(opts: CapDropOptions = {}): Step[] {
  const last = opts.lastCap ?? lastCap();
  const keep = [...new Set((opts.keep ?? []).map(capNumber))].sort((a, b) => a - b);
  for (const k of keep) {
    if (k > last)
      throw new RangeError(
        `cannot keep ${capName(k)}: this kernel's last capability is ${capName(last)} (${last})`,
      );
  }
  const keepMask = capMask(keep);
  const working = keepMask | capMask(WORKING);
  const steps: Step[] = [];
  for (let c = 0; c <= last; c++) {
    if (keep.includes(c)) continue;
    steps.push({
      label: `drop ${capName(c)} from the bounding set`,
      syscall: "prctl",
      args: [PR.CAPBSET_DROP, c, 0, 0, 0],
    });
  }
  steps.push({
    label: `set inheritable capabilities to {${keep.map(capName).join(", ")}}`,
    syscall: "capset",
    args: [{ bytes: capHeader() }, { bytes: capData(working, working, keepMask) }],
  });
  steps.push({
    label: "clear the ambient capabilities",
    syscall: "prctl",
    args: [PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL, 0, 0, 0],
  });
  for (const k of keep) {
    steps.push({
      label: `raise ${capName(k)} in the ambient set`,
      syscall: "prctl",
      args: [PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, k, 0, 0],
    });
  }
  const bits = opts.securebits === undefined ? SANDBOX_SECUREBITS : opts.securebits;
  if (bits !== null) {
    steps.push({
      label: `set and lock securebits 0x${bits.toString(16)}`,
      syscall: "prctl",
      args: [PR.SET_SECUREBITS, bits, 0, 0, 0],
    });
  }
  steps.push(...(opts.identitySteps ?? []));
  steps.push({
    label: keep.length ? `keep only ${keep.map(capName).join(", ")}` : "drop every capability",
    syscall: "capset",
    args: [{ bytes: capHeader() }, { bytes: capData(keepMask, keepMask, keepMask) }],
  });
  return steps;
}
