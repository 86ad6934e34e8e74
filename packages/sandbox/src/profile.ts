/**
 * Sandbox profiles: JSON documents that describe a whole sandbox (namespaces, the new
 * root, seccomp, capabilities, Landlock, rlimits, cgroup limits, environment),
 * validated with ajv against the schema shipped in `schemas/`.
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { packageFile } from "@forge/libc";
import type { Ajv as AjvType, ErrorObject } from "ajv";
import type { NamespaceOptions } from "./launch.ts";
import { oneLine } from "./one_line.ts";
import { profileProblems } from "./profile_check.ts";
import { checkTrustedDir, readTrustedFile, UntrustedFileError } from "./trusted_file.ts";

/** A bind mount of the new root. */
export interface ProfileBind {
  readonly src: string;
  /** Where it appears inside (default: the same path). */
  readonly dst?: string;
  readonly readonly?: boolean;
  /** Skip the bind when the source does not exist on this host. */
  readonly optional?: boolean;
}

/** A sandbox profile (see schemas/sandbox_profile.schema.json). */
export interface SandboxProfile {
  readonly name: string;
  readonly description?: string;
  readonly namespaces?: NamespaceOptions;
  readonly net?: "none" | "host";
  readonly hostname?: string;
  readonly root?: {
    readonly binds?: readonly ProfileBind[];
    /** `inodes` caps its files (default: one per 4 KiB of `size`, at least 1024). */
    readonly tmpfs?: ReadonlyArray<{
      readonly dst: string;
      readonly size?: string;
      readonly inodes?: number;
    }>;
    readonly proc?: boolean;
    readonly dev?: boolean;
    readonly readonly?: boolean;
  };
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: {
    readonly set?: Readonly<Record<string, string>>;
    readonly keep?: readonly string[];
  };
  readonly capabilities?: { readonly add?: readonly string[] };
  readonly seccomp?: string;
  readonly landlock?: "strict" | "best-effort" | "off";
  readonly rlimits?: Readonly<Record<string, number | "unlimited">>;
  readonly limits?: {
    readonly memory?: string;
    readonly swap?: string;
    readonly cpus?: number;
    readonly pids?: number;
    readonly oomGroupKill?: boolean;
    readonly mode?: "strict" | "best-effort";
  };
  readonly timeout?: string;
}

/** One problem in a profile: where (a JSON pointer) and what. */
export interface ProfileProblem {
  readonly pointer: string;
  readonly message: string;
}

/**
 * A profile that could not be found, read or validated. `problems` lists every
 * problem with its JSON pointer; the message has one line per problem.
 *
 * @example
 * ```ts
 * import { ProfileError, validateProfile } from "@forge/sandbox";
 * try {
 *   validateProfile({ name: "x", net: "maybe" }, "x.json");
 * } catch (e) {
 *   if (e instanceof ProfileError) console.log(e.problems); // [{ pointer: "/net", message: ... }]
 * }
 * ```
 */
export class ProfileError extends Error {
  override name = "ProfileError";
  readonly problems: readonly ProfileProblem[];
  readonly source: string;
  constructor(source: string, problems: readonly ProfileProblem[]) {
    // One problem: one line. More: a line each under a heading.
    const where = oneLine(source);
    const line = (p: ProfileProblem) => `${oneLine(p.pointer)}: ${oneLine(p.message)}`;
    super(
      problems.length === 1
        ? `${where}: ${problems[0]!.pointer ? `${line(problems[0]!)}` : oneLine(problems[0]!.message)}`
        : `${where}: invalid profile:\n${problems.map((p) => `  ${p.pointer ? line(p) : `/: ${oneLine(p.message)}`}`).join("\n")}`,
    );
    this.source = source;
    this.problems = problems;
  }
}

/** The folder of the built-in profiles. */
export const BUILTIN_PROFILE_DIR: string = path.dirname(
  packageFile(import.meta.url, "@forge/sandbox", "profiles/default.json"),
);
/** This package's folder. */
const PKG = path.dirname(BUILTIN_PROFILE_DIR);
/** The JSON Schema of sandbox profiles, for editors and other tools. */
export const PROFILE_SCHEMA_PATH = path.join(PKG, "schemas", "sandbox_profile.schema.json");

let validator: ReturnType<AjvType["compile"]> | undefined;

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return `unknown property "${p.additionalProperty}"`;
    case "enum":
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern":
      if (e.instancePath === "/timeout")
        return "must be a duration with its unit: 500ms, 10s, 2m or 1h";
      return e.instancePath.endsWith("/src") ||
        e.instancePath.endsWith("/dst") ||
        e.instancePath === "/cwd"
        ? "must be an absolute path"
        : `must match ${p.pattern}`;
    case "anyOf":
      return 'must be a whole number >= 0 or "unlimited"';
    case "propertyNames":
      return `unknown name "${p.propertyName}"`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * Validates a parsed profile: its JSON Schema, then everything a launch plan would
 * refuse in it (see {@link profileProblems}: hostname, mount paths and clashes, tmpfs
 * sizes, capabilities, a built-in seccomp profile's name, limits, timeout,
 * environment). Returns it typed, or throws a {@link ProfileError} that lists every
 * problem with its JSON pointer (one line when there is one). What depends on the host
 * (bind sources, a seccomp file, cgroups) is checked when a plan is made: `forge
 * profile validate` does both (see checkSandbox).
 *
 * @example
 * ```ts
 * import { validateProfile } from "@forge/sandbox";
 * const p = validateProfile({ name: "mine", net: "none" }, "mine.json");
 * ```
 */
export function validateProfile(doc: unknown, source = "profile"): SandboxProfile {
  if (!validator) {
    // Loaded on first use: ajv costs ~30 ms at start-up, which built-in profiles skip.
    const { Ajv } = createRequire(path.join(PKG, "package.json"))("ajv") as { Ajv: typeof AjvType };
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(fs.readFileSync(PROFILE_SCHEMA_PATH, "utf8")));
  }
  if (validator(doc)) {
    const found = profileProblems(doc as SandboxProfile);
    if (found.length) throw new ProfileError(source, found);
    return doc as SandboxProfile;
  }
  const problems = (validator.errors ?? [])
    .filter((e) => !e.schemaPath.includes("/anyOf/") && !e.schemaPath.includes("/propertyNames/"))
    .map((e) => {
      const extra =
        e.keyword === "propertyNames"
          ? `/${(e.params as { propertyName: string }).propertyName}`
          : "";
      return { pointer: e.instancePath + extra, message: describe(e) };
    })
    .filter(
      (p, i, all) => all.findIndex((q) => q.pointer === p.pointer && q.message === p.message) === i,
    );
  throw new ProfileError(source, problems);
}

/**
 * Reads and validates a profile file (see {@link validateProfile}); a relative seccomp
 * path in it comes back resolved against the file's own directory.
 *
 * @example
 * ```ts
 * import { readProfileFile } from "@forge/sandbox";
 * const p = readProfileFile("./profiles/mine.json");
 * ```
 */
export function readProfileFile(file: string): SandboxProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ProfileError(file, [
      {
        pointer: "",
        message: `cannot read the profile: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      },
    ]);
  }
  return fromFile(parseAndValidate(text, file), file);
}

/**
 * The system's profile directory: root-owned files only (see {@link profileSearchPath}).
 *
 * @example
 * ```ts
 * import { SYSTEM_PROFILE_DIR } from "@forge/sandbox";
 * console.log(SYSTEM_PROFILE_DIR); // "/etc/forge/profiles"
 * ```
 */
export const SYSTEM_PROFILE_DIR = "/etc/forge/profiles";

/** One directory of the search for profiles by name. */
export interface ProfileSearchDir {
  /** An absolute directory. */
  readonly dir: string;
  /** "system" (/etc/forge/profiles), "user" (your config directory, rootless only) or "built-in". */
  readonly kind: "system" | "user" | "built-in";
  /** The uids that may own its files and every directory on the way (none for the built-ins). */
  readonly owners: readonly number[];
}

/** Where profiles come from; every field has a default for real use, tests set them. */
export interface ProfileSearchOptions {
  /** What relative paths ("./x.json") are resolved against (default: the process's cwd). */
  readonly cwd?: string;
  /** The system directory (default {@link SYSTEM_PROFILE_DIR}). */
  readonly systemDir?: string;
  /**
   * The user's directory, consulted only when rootless (default: see
   * {@link userProfileDir}); null for none.
   */
  readonly userDir?: string | null;
  /** The effective uid the rules are for (default: this process's). */
  readonly uid?: number;
}

/**
 * The user's profile directory: `$XDG_CONFIG_HOME/forge/profiles`, else
 * `~/.config/forge/profiles` (undefined when neither is an absolute path).
 *
 * @example
 * ```ts
 * import { userProfileDir } from "@forge/sandbox";
 * userProfileDir({ HOME: "/home/ada" }); // "/home/ada/.config/forge/profiles"
 * ```
 */
export function userProfileDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  // FORGE_USER_PROFILES=off: profiles by name only from /etc/forge/profiles and the
  // built-ins (for a user who binds their home read-write into sandboxes).
  if (env.FORGE_USER_PROFILES === "off") return undefined;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "forge", "profiles");
  const home = env.HOME;
  if (home && path.isAbsolute(home)) return path.join(home, ".config", "forge", "profiles");
  return undefined;
}

/**
 * Where a bare profile name is looked up, in order, first match winning:
 * `/etc/forge/profiles` (files and every directory on the way owned by root and not
 * group/other-writable), then, rootless only, the user's config directory (owned by
 * the user or root, same mode rule), then the built-ins. The working directory is
 * never searched: a file is loaded only when given as a path.
 *
 * @example
 * ```ts
 * import { profileSearchPath } from "@forge/sandbox";
 * for (const d of profileSearchPath()) console.log(d.kind, d.dir);
 * ```
 */
export function profileSearchPath(opts: ProfileSearchOptions = {}): ProfileSearchDir[] {
  const uid = opts.uid ?? process.geteuid?.() ?? 0;
  const dirs: ProfileSearchDir[] = [
    { dir: path.resolve(opts.systemDir ?? SYSTEM_PROFILE_DIR), kind: "system", owners: [0] },
  ];
  if (uid !== 0) {
    const user = opts.userDir === undefined ? userProfileDir() : opts.userDir;
    if (user) dirs.push({ dir: path.resolve(user), kind: "user", owners: [uid, 0] });
  }
  dirs.push({ dir: BUILTIN_PROFILE_DIR, kind: "built-in", owners: [] });
  return dirs;
}

/** A profile and where it came from. */
export interface LoadedProfile {
  readonly profile: SandboxProfile;
  /** The absolute path of the file it was read from, or "built-in". */
  readonly file: string;
}

/**
 * True when `spec` names a file (it has a "/"), false for a bare name.
 *
 * @example
 * ```ts
 * import { isProfilePath } from "@forge/sandbox";
 * isProfilePath("./mine.json"); // true
 * isProfilePath("mine"); // false: looked up by name, never in the working directory
 * ```
 */
export function isProfilePath(spec: string): boolean {
  return spec.includes("/");
}

/** A profile read from `file`: a relative seccomp path in it is relative to the file's directory. */
function fromFile(profile: SandboxProfile, file: string): SandboxProfile {
  const sc = profile.seccomp;
  if (sc && isProfilePath(sc) && !path.isAbsolute(sc))
    return { ...profile, seccomp: path.resolve(path.dirname(file), sc) };
  return profile;
}

function parseAndValidate(text: string, file: string): SandboxProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(file, [
      { pointer: "", message: `not valid JSON: ${(e as Error).message}` },
    ]);
  }
  return validateProfile(doc, file);
}

/** Reads a profile from a search directory by its rule; undefined when absent. */
function readFromDir(d: ProfileSearchDir, name: string): LoadedProfile | undefined {
  const file = path.join(d.dir, `${name}.json`);
  if (d.kind === "built-in") {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
    // Built-ins are validated by the package's tests; skipping ajv here saves ~30 ms per run.
    return { profile: JSON.parse(text) as SandboxProfile, file: "built-in" };
  }
  let text: string | undefined;
  try {
    text = readTrustedFile(file, { owners: d.owners });
  } catch (e) {
    const message =
      e instanceof UntrustedFileError
        ? e.detail
        : `cannot read the profile: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    throw new ProfileError(file, [{ pointer: "", message }]);
  }
  if (text === undefined) return undefined;
  return { profile: fromFile(parseAndValidate(text, file), file), file };
}

/**
 * Finds a profile and says where it came from. A spec with a "/" ("./mine.json",
 * "/srv/p.json") is a file, read as given (relative to `cwd`); anything else is a
 * name, looked up only along {@link profileSearchPath}. A candidate that fails the
 * ownership and mode rule is refused with a {@link ProfileError} that names the file,
 * the reason and the fix; it is never skipped for the next directory.
 *
 * @example
 * ```ts
 * import { findProfile } from "@forge/sandbox";
 * const { profile, file } = findProfile("default");
 * console.log(profile.name, file); // "default" "built-in" (unless /etc/forge/profiles has one)
 * ```
 */
export function findProfile(nameOrPath: string, opts: ProfileSearchOptions = {}): LoadedProfile {
  if (isProfilePath(nameOrPath)) {
    const file = path.resolve(opts.cwd ?? process.cwd(), nameOrPath);
    return { profile: readProfileFile(file), file };
  }
  if (nameOrPath.endsWith(".json")) {
    throw new ProfileError(nameOrPath, [
      {
        pointer: "",
        message: `not a profile name; a file is loaded only when given as a path (./${nameOrPath})`,
      },
    ]);
  }
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath)) {
    throw new ProfileError(nameOrPath, [
      {
        pointer: "",
        message: "not a profile name (letters, digits, . _ -) nor a path (with a /) to a file",
      },
    ]);
  }
  const dirs = profileSearchPath(opts);
  for (const d of dirs) {
    const found = readFromDir(d, nameOrPath);
    if (found) return found;
  }
  throw new ProfileError(nameOrPath, [
    {
      pointer: "",
      message: `no such profile; looked in ${dirs.map((d) => (d.kind === "built-in" ? "the built-ins" : d.dir)).join(", ")} (try "forge profile list"; a file needs a path, e.g. ./${nameOrPath}.json)`,
    },
  ]);
}

/**
 * Finds a profile by name or path (see {@link findProfile}) and returns it.
 *
 * @example
 * ```ts
 * import { loadProfile } from "@forge/sandbox";
 * const p = loadProfile("default");
 * console.log(p.description);
 * ```
 */
export function loadProfile(nameOrPath: string, opts: ProfileSearchOptions = {}): SandboxProfile {
  return findProfile(nameOrPath, opts).profile;
}

/** One profile reachable by name, as {@link listProfiles} reports it. */
export interface ListedProfile {
  readonly name: string;
  /** The file it would be read from (for the built-ins, the shipped file). */
  readonly file: string;
  readonly kind: ProfileSearchDir["kind"];
  readonly description: string;
  /** Why loading it fails (refused, invalid): `forge run --profile NAME` would stop with this. */
  readonly error?: string;
}

/**
 * The search path with each directory's state, and every profile reachable by name
 * (first match winning, refused and invalid ones included with their error).
 *
 * @example
 * ```ts
 * import { listProfiles } from "@forge/sandbox";
 * const { dirs, profiles } = listProfiles();
 * for (const p of profiles) console.log(p.name, p.kind, p.error ?? p.description);
 * ```
 */
export function listProfiles(opts: ProfileSearchOptions = {}): {
  dirs: Array<ProfileSearchDir & { state: "present" | "absent" | "refused"; error?: string }>;
  profiles: ListedProfile[];
} {
  const seen = new Map<string, ListedProfile>();
  const dirs: Array<
    ProfileSearchDir & { state: "present" | "absent" | "refused"; error?: string }
  > = [];
  for (const d of profileSearchPath(opts)) {
    if (d.kind !== "built-in") {
      try {
        if (!checkTrustedDir(d.dir, { owners: d.owners })) {
          dirs.push({ ...d, state: "absent" });
          continue;
        }
      } catch (e) {
        dirs.push({ ...d, state: "refused", error: (e as Error).message });
        continue;
      }
    }
    dirs.push({ ...d, state: "present" });
    let names: string[] = [];
    try {
      names = fs.readdirSync(d.dir).filter((f) => f.endsWith(".json"));
    } catch {
      continue;
    }
    for (const f of names.sort()) {
      const name = f.slice(0, -5);
      if (seen.has(name) || !/^[a-z0-9][a-z0-9._-]*$/.test(name)) continue;
      const file = path.join(d.dir, f);
      try {
        const found = readFromDir(d, name);
        if (!found) continue;
        seen.set(name, {
          name,
          file,
          kind: d.kind,
          description:
            d.kind === "built-in"
              ? (readProfileFile(file).description ?? "")
              : (found.profile.description ?? ""),
        });
      } catch (e) {
        const message = (e as Error).message.split("\n")[0]!;
        seen.set(name, { name, file, kind: d.kind, description: "", error: message });
      }
    }
  }
  return { dirs, profiles: [...seen.values()] };
}
