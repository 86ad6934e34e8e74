/**
 * Joining existing namespaces: a step for a new child (e.g. to run a second command
 * in a running sandbox) and an in-process helper.
 *
 * @module
 */
import fs from "node:fs";
import type { Libc, Step } from "@forge/libc";
import { NAMESPACE_FLAGS, type NamespaceKind, namespaceFlags } from "./flags.ts";

const PROC_NS_NAMES: Readonly<Record<NamespaceKind, string>> = {
  user: "user",
  pid: "pid",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  net: "net",
  cgroup: "cgroup",
  time: "time",
};

/**
 * The step that moves a new child into the namespaces of the process behind `pidfd`
 * (setns with a pidfd and several CLONE_NEW* flags at once, Linux 5.8+). Entering a
 * pid namespace only affects the child's children: follow it with a reaper step.
 *
 * @example
 * ```ts
 * import { setnsStep } from "@forge/namespaces";
 * import { spawn } from "@forge/libc";
 * declare const sandbox: { pidfd: number };
 * spawn({ argv: ["/bin/sh"], steps: [setnsStep(sandbox.pidfd, ["user", "mount", "uts", "ipc", "net"])] });
 * ```
 */
export function setnsStep(pidfd: number, kinds: readonly NamespaceKind[]): Step {
  return {
    label: `join the ${kinds.join(", ")} namespaces of pidfd ${pidfd}`,
    syscall: "setns",
    args: [pidfd, namespaceFlags(kinds)],
  };
}

/**
 * Opens /proc/<pid>/ns/<kind> (O_RDONLY | O_CLOEXEC); the caller closes it.
 *
 * @example
 * ```ts
 * import { openNamespace } from "@forge/namespaces";
 * import fs from "node:fs";
 * const fd = openNamespace(process.pid, "net");
 * fs.closeSync(fd);
 * ```
 */
export function openNamespace(
  pid: number | "self",
  kind: NamespaceKind,
  procRoot = "/proc",
): number {
  return fs.openSync(
    `${procRoot}/${pid}/ns/${PROC_NS_NAMES[kind]}`,
    fs.constants.O_RDONLY | 0o2000000,
  );
}

/**
 * The namespace identity (`net:[4026531840]`) of a process, to compare two processes.
 *
 * @example
 * ```ts
 * import { namespaceId } from "@forge/namespaces";
 * console.log(namespaceId("self", "pid"));
 * ```
 */
export function namespaceId(pid: number | "self", kind: NamespaceKind, procRoot = "/proc"): string {
  return fs.readlinkSync(`${procRoot}/${pid}/ns/${PROC_NS_NAMES[kind]}`);
}

/**
 * Moves the calling thread into a namespace (an fd from {@link openNamespace}, or a
 * pidfd with several kinds). In Node only the calling thread moves, and the kernel
 * refuses user and mount namespaces to a multithreaded process (EINVAL): use
 * {@link setnsStep} in a spawned child for those.
 *
 * @example
 * ```ts
 * import { enterNamespace, openNamespace } from "@forge/namespaces";
 * import { openLibc } from "@forge/libc";
 * declare const sandboxPid: number;
 * const fd = openNamespace(sandboxPid, "uts");
 * enterNamespace(openLibc(), fd, ["uts"]);
 * ```
 */
export function enterNamespace(libc: Libc, fd: number, kinds: readonly NamespaceKind[]): void {
  const flags = kinds.reduce((f, k) => f | NAMESPACE_FLAGS[k], 0);
  libc.setns(fd, flags);
}
