import { globMatcher } from "./_util.ts";

/**
 * What an identity may do, as in the execution module's seed: the actions
 * ("syscalls") it may request, the resources (glob patterns) it may touch, the host
 * APIs it may call, and free-form custom entries.
 *
 * @example
 * ```ts
 * import type { CapabilitySet } from "@forge/policy";
 * const caps: CapabilitySet = { syscalls: ["fd_write"], resources: ["fd:1"], apis: ["log"], custom: {} };
 * ```
 */
export interface CapabilitySet {
  /** Action names (glob patterns allowed: "path_*", "*"). */
  readonly syscalls: readonly string[];
  /** Resource patterns: "*" matches inside one "/" segment, "**" across segments. */
  readonly resources: readonly string[];
  /** Host API names (glob patterns allowed). */
  readonly apis: readonly string[];
  /** Free-form key/value grants. */
  readonly custom: Readonly<Record<string, string>>;
}

/**
 * An empty capability set (grants nothing).
 *
 * @example
 * ```ts
 * import { emptyCapabilities } from "@forge/policy";
 * const caps = emptyCapabilities();
 * ```
 */
export function emptyCapabilities(): CapabilitySet {
  return { syscalls: [], resources: [], apis: [], custom: {} };
}

/**
 * A compiled, fast matcher for a {@link CapabilitySet}.
 *
 * @example
 * ```ts
 * import { CapabilityMatcher } from "@forge/policy";
 * const m = new CapabilityMatcher({ syscalls: ["fd_*"], resources: ["fd:*"], apis: [], custom: {} });
 * m.allows("fd_write", "fd:1"); // true
 * ```
 */
export class CapabilityMatcher {
  readonly #actions: (s: string) => boolean;
  readonly #resources: (s: string) => boolean;
  readonly #apis: (s: string) => boolean;
  /** The set this matcher was built from. */
  readonly caps: CapabilitySet;

  constructor(caps: CapabilitySet) {
    this.caps = caps;
    this.#actions = anyOf(caps.syscalls);
    this.#resources = anyOf(caps.resources);
    this.#apis = anyOf(caps.apis);
  }

  /** Whether the set grants `action` on `resource` (an empty resource needs no grant). */
  allows(action: string, resource: string): boolean {
    return this.#actions(action) && (resource === "" || this.#resources(resource));
  }

  /** Whether the set grants the host API `api`. */
  allowsApi(api: string): boolean {
    return this.#apis(api);
  }
}

function anyOf(patterns: readonly string[]): (s: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.includes("*") || patterns.includes("**")) return () => true;
  const ms = patterns.map(globMatcher);
  return (s) => ms.some((m) => m(s));
}
