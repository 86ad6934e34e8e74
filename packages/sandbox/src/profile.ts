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
    readonly tmpfs?: ReadonlyArray<{ readonly dst: string; readonly size?: string }>;
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
    super(
      problems.length === 1 && problems[0]!.pointer === ""
        ? `${source}: ${problems[0]!.message}`
        : `${source}: invalid profile:\n${problems.map((p) => `  ${p.pointer || "/"}: ${p.message}`).join("\n")}`,
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
 * Validates a parsed profile; returns it typed, or throws a {@link ProfileError} that
 * lists every problem with its JSON pointer.
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
  if (validator(doc)) return doc as SandboxProfile;
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
 * Reads and validates a profile file.
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

/** Where `--profile NAME` looks, in order: /etc/forge/profiles, ./profiles, the built-ins. */
export function profileSearchPath(cwd = process.cwd()): string[] {
  return ["/etc/forge/profiles", path.join(cwd, "profiles"), BUILTIN_PROFILE_DIR];
}

/**
 * Finds a profile by name (searching {@link profileSearchPath}) or by path (anything
 * with a "/" or ending in .json).
 *
 * @example
 * ```ts
 * import { loadProfile } from "@forge/sandbox";
 * const p = loadProfile("default");
 * console.log(p.description);
 * ```
 */
export function loadProfile(nameOrPath: string, cwd = process.cwd()): SandboxProfile {
  if (nameOrPath.includes("/") || nameOrPath.endsWith(".json"))
    return readProfileFile(path.resolve(cwd, nameOrPath));
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath)) {
    throw new ProfileError(nameOrPath, [
      {
        pointer: "",
        message: "not a profile name (letters, digits, . _ -) nor a path to a .json file",
      },
    ]);
  }
  for (const dir of profileSearchPath(cwd)) {
    const file = path.join(dir, `${nameOrPath}.json`);
    if (!fs.existsSync(file)) continue;
    // Built-ins are validated by the package's tests; skipping ajv here saves ~30 ms per run.
    if (dir === BUILTIN_PROFILE_DIR)
      return JSON.parse(fs.readFileSync(file, "utf8")) as SandboxProfile;
    return readProfileFile(file);
  }
  throw new ProfileError(nameOrPath, [
    {
      pointer: "",
      message: `no such profile; looked in ${profileSearchPath(cwd).join(", ")} (try "forge profile list")`,
    },
  ]);
}

/**
 * Every profile reachable by name, first match winning, with where it was found.
 *
 * @example
 * ```ts
 * import { listProfiles } from "@forge/sandbox";
 * for (const p of listProfiles()) console.log(p.name, p.file);
 * ```
 */
export function listProfiles(
  cwd = process.cwd(),
): Array<{ name: string; file: string; description: string }> {
  const seen = new Map<string, { name: string; file: string; description: string }>();
  for (const dir of profileSearchPath(cwd)) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    } catch {
      continue;
    }
    for (const f of names.sort()) {
      const name = f.slice(0, -5);
      if (seen.has(name)) continue;
      let description = "";
      try {
        description = readProfileFile(path.join(dir, f)).description ?? "";
      } catch (e) {
        description = `(invalid: ${(e as Error).message.split("\n")[0]})`;
      }
      seen.set(name, { name, file: path.join(dir, f), description });
    }
  }
  return [...seen.values()];
}
