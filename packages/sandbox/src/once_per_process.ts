/**
 * Warnings that are facts about the host, not about one run (no delegated cgroup for
 * this user...): a process that starts many sandboxes shows each once.
 *
 * @module
 */

const said = new Set<string>();

/**
 * The lines of `warnings` not given before by this process (through this function),
 * in order; each is remembered. For warnings that are the same for every run here,
 * such as the cgroup layer's.
 *
 * @example
 * ```ts
 * import { firstTimeOnly } from "@forge/sandbox";
 * firstTimeOnly(["no delegated cgroup: ..."]); // ["no delegated cgroup: ..."]
 * firstTimeOnly(["no delegated cgroup: ..."]); // []
 * ```
 */
export function firstTimeOnly(warnings: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of warnings) {
    if (said.has(w)) continue;
    said.add(w);
    out.push(w);
  }
  return out;
}
