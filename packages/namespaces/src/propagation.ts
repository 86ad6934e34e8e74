/**
 * Mount propagation: nothing mounted inside a sandbox may reach the host's mount
 * table, and nothing the host mounts later may reach the sandbox.
 *
 * A new mount namespace starts as a copy of its parent's, and a copy of a shared mount
 * stays in the host's peer group (in a new user namespace it becomes its slave). Bind
 * sources cloned with `open_tree(OPEN_TREE_CLONE)` in the parent are copies made in the
 * host's namespace: a clone of a shared mount joins the host's peer group, and a tmpfs
 * or bind mounted under it inside the sandbox appears on the host. Two walls, as bwrap
 * and runc build them: the child makes its whole tree private (recursively) before its
 * first mount ({@link privateMountsStep}), and every cloned tree is made private
 * recursively right after it is cloned (the mount plan does it with mount_setattr).
 *
 * @module
 */
import type { Step } from "@forge/libc";
import { MS } from "./_util.ts";

/** `MS_PRIVATE` and `MS_SLAVE`, for `struct mount_attr.propagation` and mount(2). */
export const PROPAGATION = { private: MS.PRIVATE, slave: MS.SLAVE } as const;

/**
 * The step that makes every mount of the child's mount namespace private (or slave:
 * it still receives the host's later mounts, but sends nothing back), recursively:
 * `mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)`. Put it before the child's first
 * mount; it needs CAP_SYS_ADMIN in the user namespace that owns the mount namespace.
 *
 * @example
 * ```ts
 * import { namespaceFlags, privateMountsStep } from "@forge/namespaces";
 * import { spawn } from "@forge/libc";
 * const child = spawn({ argv: ["/bin/true"], cloneFlags: namespaceFlags(["user", "mount"]), steps: [privateMountsStep()] });
 * await child.wait();
 * ```
 */
export function privateMountsStep(
  kind: "private" | "slave" = "private",
  what = "the mount tree",
): Step {
  return {
    label: `make ${what} ${kind} (recursive)`,
    syscall: "mount",
    args: [0, { cstring: "/" }, 0, MS.REC | PROPAGATION[kind], 0],
  };
}
