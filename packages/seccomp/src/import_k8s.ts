/**
 * Reading back what `forge seccomp export --format k8s` writes: a Security Profiles
 * Operator `SeccompProfile` resource (security-profiles-operator.x-k8s.io), as JSON or
 * as YAML (`kubectl get seccompprofile NAME -o yaml`). Its `spec` is the profile, with
 * two differences the import undoes: `errnoRet` is a string ("1"), and there is no
 * `defaultErrnoRet` (an ERRNO default is EPERM). What the operator adds and Forge cannot
 * honour is refused (`spec.baseProfileName`: the operator merges the base profile on
 * the node) or warned about (`spec.disabled`).
 *
 * Problems are reported where they are in the file: `/spec/syscalls/0/action`, with
 * the line and column of the JSON or YAML text.
 *
 * @module
 */
import { type Position, positionOf } from "./_json.ts";
import { parseYaml, YamlSyntaxError } from "./_yaml.ts";
import { isSeccompPath, loadProfile, readProfileFile } from "./load.ts";
import {
  checkProfile,
  ProfileError,
  type ProfileIssue,
  ProfileSyntaxError,
  parseProfileText,
  type SeccompProfile,
} from "./profile.ts";

/** The API group of the Security Profiles Operator's resources. */
export const SPO_API_GROUP = "security-profiles-operator.x-k8s.io";

/** A profile read from a profile file, a built-in or a `SeccompProfile` resource. */
export interface ImportedProfile {
  readonly profile: SeccompProfile;
  /** "profile" (OCI / Docker JSON, or a built-in) or "k8s" (a SeccompProfile's spec). */
  readonly format: "profile" | "k8s";
  /** What the import found questionable but read anyway (located, see {@link locate}). */
  readonly warnings: readonly ProfileIssue[];
  /**
   * An issue about `profile` (its pointer relative to the profile) as it is in the text
   * it came from: for a resource, `/spec/...` with the line and column in the file.
   */
  locate(issue: ProfileIssue): ProfileIssue;
}

/**
 * Whether a parsed document is a Security Profiles Operator `SeccompProfile` resource.
 *
 * @example
 * ```ts
 * import { isSpoSeccompProfile } from "@forge/seccomp";
 * isSpoSeccompProfile({ apiVersion: "security-profiles-operator.x-k8s.io/v1beta1", kind: "SeccompProfile", spec: {} }); // true
 * isSpoSeccompProfile({ defaultAction: "SCMP_ACT_ALLOW" }); // false
 * ```
 */
export function isSpoSeccompProfile(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.kind === "SeccompProfile" &&
    typeof v.apiVersion === "string" &&
    v.apiVersion.startsWith(`${SPO_API_GROUP}/`)
  );
}

const identity = (i: ProfileIssue) => i;

/** The position of `pointer`, or of its nearest ancestor that has one. */
function nearest(
  lookup: (pointer: string) => Position | undefined,
  pointer: string,
): Position | undefined {
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf("/"))) {
    const at = lookup(p);
    if (at) return at;
    if (p === "") return undefined;
  }
}

/**
 * The profile in a `SeccompProfile` resource (parsed JSON or YAML): its `spec`, with
 * string `errnoRet`s made numbers. Throws a {@link ProfileError} listing every problem
 * (pointers into the resource, `/spec/...`; with line and column when `position` can
 * say where a pointer is in the text). Validates the profile; `warnings` holds what the
 * import read anyway, the profile's own warnings come from `resolveProfile`.
 *
 * @example
 * ```ts
 * import { fromSpoSeccompProfile } from "@forge/seccomp";
 * const { profile } = fromSpoSeccompProfile({
 *   apiVersion: "security-profiles-operator.x-k8s.io/v1beta1",
 *   kind: "SeccompProfile",
 *   metadata: { name: "x" },
 *   spec: { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: "38" }] },
 * });
 * profile.syscalls![0]!.errnoRet; // 38
 * ```
 */
export function fromSpoSeccompProfile(
  resource: unknown,
  source?: string,
  position: (pointer: string) => Position | undefined = (p) => positionOf(resource, p),
): ImportedProfile {
  const at = (i: ProfileIssue): ProfileIssue => {
    if (i.line !== undefined) return i;
    const p = nearest(position, i.pointer);
    return p ? { ...i, line: p.line, column: p.column } : i;
  };
  const locate = (i: ProfileIssue): ProfileIssue =>
    at({ pointer: `/spec${i.pointer}`, message: i.message });
  const fail = (issues: ProfileIssue[]): never => {
    throw new ProfileError(issues.map(at), source);
  };
  if (!isSpoSeccompProfile(resource)) {
    fail([
      {
        pointer: "/kind",
        message: `expected a SeccompProfile of ${SPO_API_GROUP} (apiVersion ${SPO_API_GROUP}/v1beta1, kind SeccompProfile)`,
      },
    ]);
  }
  const r = resource as Record<string, unknown>;
  const warnings: ProfileIssue[] = [];
  if (r.apiVersion !== `${SPO_API_GROUP}/v1beta1`) {
    warnings.push({
      pointer: "/apiVersion",
      message: `${String(r.apiVersion)}: read as ${SPO_API_GROUP}/v1beta1, the version Forge knows`,
    });
  }
  const spec = r.spec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    fail([
      {
        pointer: spec === undefined ? "" : "/spec",
        message:
          spec === undefined
            ? 'missing "spec": the profile is the resource\'s spec ({"defaultAction": ...})'
            : 'expected an object: the profile ({"defaultAction": ...})',
      },
    ]);
  }
  const errors: ProfileIssue[] = [];
  const profile: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
    if (key === "baseProfileName") {
      errors.push({
        pointer: "/spec/baseProfileName",
        message:
          "a base profile is merged by the operator on the node, which Forge cannot do; copy the base profile's rules into spec.syscalls and remove baseProfileName",
      });
      continue;
    }
    if (key === "disabled") {
      if (value === true)
        warnings.push({
          pointer: "/spec/disabled",
          message:
            "true: the operator does not install this profile on nodes; Forge reads it anyway",
        });
      continue;
    }
    if (key === "syscalls" && Array.isArray(value)) {
      profile.syscalls = value.map((rule, i) => {
        if (typeof rule !== "object" || rule === null || Array.isArray(rule)) return rule;
        const e = (rule as Record<string, unknown>).errnoRet;
        if (typeof e === "string") {
          if (!/^(0|[1-9][0-9]{0,4})$/.test(e)) {
            errors.push({
              pointer: `/spec/syscalls/${i}/errnoRet`,
              message: `${JSON.stringify(e.slice(0, 40))} is not an errno; write a number 0..65535 as a string, e.g. "1"`,
            });
            return rule;
          }
          return { ...rule, errnoRet: Number(e) };
        }
        return rule;
      });
      continue;
    }
    Object.defineProperty(profile, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const check = checkProfile(profile);
  // One problem per place: an errnoRet refused above is no integer to the schema either.
  const said = new Set(errors.map((i) => i.pointer));
  const all = [
    ...errors,
    ...check.errors
      .map((i) => ({ ...i, pointer: `/spec${i.pointer}` }))
      .filter((i) => !said.has(i.pointer)),
  ];
  if (all.length > 0 || !check.profile) fail(all);
  return {
    profile: check.profile as SeccompProfile,
    format: "k8s",
    warnings: warnings.map(at),
    locate,
  };
}

/** Text that is meant as a YAML SeccompProfile (not a JSON document with a typo). */
function looksLikeYamlResource(text: string): boolean {
  return (
    /^\s*kind:\s*["']?SeccompProfile["']?\s*(#.*)?$/m.test(text) ||
    new RegExp(`^\\s*apiVersion:\\s*["']?${SPO_API_GROUP.replace(/\./g, "\\.")}/`, "m").test(text)
  );
}

/**
 * Reads profile text: an OCI / Docker profile (JSON), or a `SeccompProfile` resource
 * in JSON or YAML (see {@link fromSpoSeccompProfile}). Throws a {@link ProfileError}
 * (`ProfileSyntaxError` for text that is neither, `FILE:LINE:COLUMN: ...`).
 *
 * @example
 * ```ts
 * import { parseProfileOrResource } from "@forge/seccomp";
 * const yaml = `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
 * kind: SeccompProfile
 * metadata: {name: forge-minimal}
 * spec:
 *   defaultAction: SCMP_ACT_ERRNO
 *   syscalls:
 *   - names: [read, write]
 *     action: SCMP_ACT_ALLOW
 * `;
 * parseProfileOrResource(yaml, "p.yaml").profile.syscalls![0]!.names; // ["read", "write"]
 * ```
 */
export function parseProfileOrResource(text: string, source?: string): ImportedProfile {
  let json: unknown;
  try {
    json = parseProfileText(text, source);
  } catch (e) {
    if (!(e instanceof ProfileSyntaxError) || !looksLikeYamlResource(text)) throw e;
    return fromYaml(text, source);
  }
  if (isSpoSeccompProfile(json)) return fromSpoSeccompProfile(json, source);
  return plainProfile(json as SeccompProfile, source);
}

function fromYaml(text: string, source?: string): ImportedProfile {
  let docs: ReturnType<typeof parseYaml>;
  try {
    docs = parseYaml(text);
  } catch (e) {
    if (!(e instanceof YamlSyntaxError)) throw e;
    const issue = { pointer: "", message: e.message, line: e.line, column: e.column };
    const err = new ProfileSyntaxError(issue, source, true);
    err.message = `${source ? `${source}:` : ""}${e.line}:${e.column}: not valid YAML: ${e.message}`;
    throw err;
  }
  const found = docs.filter((d) => isSpoSeccompProfile(d.value));
  if (found.length !== 1) {
    const line = found[1]?.line ?? docs[0]?.line ?? 1;
    throw new ProfileError(
      [
        {
          pointer: "",
          message:
            found.length === 0
              ? `no SeccompProfile of ${SPO_API_GROUP} in the file; give one (apiVersion ${SPO_API_GROUP}/v1beta1, kind SeccompProfile)`
              : `${found.length} SeccompProfile documents; give a file with one`,
          line,
          column: 1,
        },
      ],
      source,
    );
  }
  const doc = found[0]!;
  return fromSpoSeccompProfile(doc.value, source, (p) => doc.positions.get(p));
}

/**
 * Like `loadProfile` (a built-in name, or a file given as a path with a "/"), and the
 * file may also be a `SeccompProfile` resource in JSON or YAML, as `forge seccomp
 * export --format k8s` writes it or `kubectl get -o yaml` shows it.
 *
 * @example
 * ```ts
 * import { loadProfileOrResource } from "@forge/seccomp";
 * const { profile, format } = loadProfileOrResource("./forge-default.k8s.json");
 * ```
 */
export function loadProfileOrResource(spec: string): ImportedProfile & { source: string } {
  // A file is read once, here: a pipe (`<(...)`, a FIFO) could not be read again for
  // the YAML that is not JSON.
  if (isSeccompPath(spec))
    return { ...parseProfileOrResource(readProfileFile(spec), spec), source: spec };
  const loaded = loadProfile(spec);
  if (isSpoSeccompProfile(loaded.profile))
    return { ...fromSpoSeccompProfile(loaded.profile, loaded.source), source: loaded.source };
  return { ...plainProfile(loaded.profile, loaded.source), source: loaded.source };
}

/** A document that is no resource: the profile itself (another Kubernetes kind is refused). */
function plainProfile(profile: SeccompProfile, source?: string): ImportedProfile {
  const o = profile as unknown as Record<string, unknown>;
  if (
    typeof o === "object" &&
    o !== null &&
    !Array.isArray(o) &&
    typeof o.kind === "string" &&
    typeof o.apiVersion === "string" &&
    !("defaultAction" in o)
  ) {
    const p = positionOf(profile, "/kind");
    throw new ProfileError(
      [
        {
          pointer: "/kind",
          message: `a ${o.apiVersion} ${o.kind}, not a seccomp profile; give an OCI or Docker profile, or a ${SPO_API_GROUP} SeccompProfile`,
          ...(p ? { line: p.line, column: p.column } : {}),
        },
      ],
      source,
    );
  }
  return { profile, format: "profile", warnings: [], locate: identity };
}
