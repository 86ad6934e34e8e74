/**
 * no_new_privs: execve can no longer grant privileges (setuid bits, file capabilities).
 *
 * @module
 */
import { type Libc, PR, type Step } from "@forge/libc";

/**
 * The step that sets no_new_privs in the child (required before Landlock and an
 * unprivileged seccomp filter; Forge always sets it).
 *
 * @example
 * ```ts
 * import { noNewPrivsStep } from "@forge/capabilities";
 * import { spawn } from "@forge/libc";
 * spawn({ argv: ["/bin/true"], lateSteps: [noNewPrivsStep()] });
 * ```
 */
export function noNewPrivsStep(): Step {
  return { label: "set no_new_privs", syscall: "prctl", args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] };
}

/**
 * Sets no_new_privs on the calling process (irreversible).
 *
 * @example
 * ```ts
 * import { setNoNewPrivs } from "@forge/capabilities";
 * import { openLibc } from "@forge/libc";
 * setNoNewPrivs(openLibc());
 * ```
 */
export function setNoNewPrivs(libc: Libc): void {
  libc.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/**
 * Whether no_new_privs is set on the calling process.
 *
 * @example
 * ```ts
 * import { getNoNewPrivs } from "@forge/capabilities";
 * import { openLibc } from "@forge/libc";
 * console.log(getNoNewPrivs(openLibc()));
 * ```
 */
export function getNoNewPrivs(libc: Libc): boolean {
  return libc.prctl(PR.GET_NO_NEW_PRIVS, 0, 0, 0, 0) === 1;
}
