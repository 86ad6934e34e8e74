/**
 * Exports for fleets: the Security Profiles Operator's `SeccompProfile` resource, the
 * plain JSON kubelet loads from its seccomp directory, and an OCI `linux.seccomp`
 * fragment.
 *
 * @module
 */
import type { SeccompProfile } from "./profile.ts";

/**
 * The profile in OCI runtime-spec form: `{ "linux": { "seccomp": {...} } }` with
 * Docker-only fields (archMap, includes/excludes, comments) resolved away: the
 * architectures listed explicitly and rules kept only if they apply to `arch`
 * families without capabilities (pass `rules` from your own resolution to override).
 *
 * @example
 * ```ts
 * import { builtinProfile, toOciFragment } from "@forge/seccomp";
 * const frag = toOciFragment(builtinProfile("minimal"));
 * frag.linux.seccomp.defaultAction; // "SCMP_ACT_ERRNO"
 * ```
 */
export function toOciFragment(p: SeccompProfile): { linux: { seccomp: Record<string, unknown> } } {
  return { linux: { seccomp: toOciSeccomp(p) } };
}

function toOciSeccomp(p: SeccompProfile): Record<string, unknown> {
  const arches =
    p.architectures && p.architectures.length > 0
      ? p.architectures
      : (p.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])]);
  const syscalls = (p.syscalls ?? [])
    .filter(
      (r) =>
        !r.includes ||
        ((!r.includes.caps || r.includes.caps.length === 0) && !r.includes.minKernel),
    )
    .filter((r) => !r.excludes?.arches || r.excludes.arches.length === 0)
    .map((r) => {
      const out: Record<string, unknown> = {
        names: [...(r.names ?? []), ...(r.name ? [r.name] : [])],
        action: r.action,
      };
      if (r.errnoRet !== undefined) out.errnoRet = r.errnoRet;
      if (r.args && r.args.length > 0)
        out.args = r.args.map((a) => ({
          index: a.index,
          value: a.value,
          valueTwo: a.valueTwo ?? 0,
          op: a.op,
        }));
      return out;
    });
  const s: Record<string, unknown> = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) s.defaultErrnoRet = p.defaultErrnoRet;
  if (arches.length > 0) s.architectures = [...new Set(arches)];
  if (p.flags && p.flags.length > 0) s.flags = p.flags;
  if (p.listenerPath) s.listenerPath = p.listenerPath;
  s.syscalls = syscalls;
  return s;
}

/**
 * The JSON kubelet reads from `<kubelet root>/seccomp/` for
 * `securityContext.seccompProfile: { type: Localhost, localhostProfile: ... }`
 * (the Docker/OCI profile format).
 *
 * @example
 * ```ts
 * import { builtinProfile, toKubeletJson } from "@forge/seccomp";
 * const text = toKubeletJson(builtinProfile("default"));
 * ```
 */
export function toKubeletJson(p: SeccompProfile): string {
  return `${JSON.stringify(toOciSeccomp(p), null, 2)}\n`;
}

/**
 * A Security Profiles Operator `SeccompProfile` resource
 * (security-profiles-operator.x-k8s.io/v1beta1), as a JSON object (YAML is a superset).
 *
 * @example
 * ```ts
 * import { builtinProfile, toSpoSeccompProfile } from "@forge/seccomp";
 * const res = toSpoSeccompProfile(builtinProfile("minimal"), "forge-minimal", "default");
 * res.kind; // "SeccompProfile"
 * ```
 */
export function toSpoSeccompProfile(
  p: SeccompProfile,
  name: string,
  namespace?: string,
): Record<string, any> {
  const s = toOciSeccomp(p);
  // SPO's architectures use the SCMP_ARCH_* names; its syscall entries are {names, action, errnoRet, args}.
  return {
    apiVersion: "security-profiles-operator.x-k8s.io/v1beta1",
    kind: "SeccompProfile",
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      annotations: { "forge.dev/generated-by": "@forge/seccomp" },
    },
    spec: s,
  };
}
