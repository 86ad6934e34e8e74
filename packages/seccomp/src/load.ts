/**
 * Loading a profile from a file path or a built-in name, and the one call the
 * `forge run --seccomp PROFILE` path needs: resolve, validate and compile for the host.
 *
 * @module
 */
import fs from "node:fs";
import { type Arch, hostArch } from "@forge/libc";
import { type CompiledFilter, compileResolved } from "./compile.ts";
import { loadProfileOrResource } from "./import_k8s.ts";
import { ProfileError, parseProfileText, type SeccompProfile } from "./profile.ts";
import { builtinProfile, builtinProfiles } from "./profiles.ts";
import { resolveProfile } from "./resolve.ts";

/**
 * Loads a profile: a built-in name ("default", "docker-default"...) or a path to a
 * JSON file. A spec with a "/" ("./mine.json", "/etc/x.json") is a file; anything
 * else is a built-in name and nothing else: a bare name never reads a file from the
 * working directory, where an untrusted checkout or an earlier sandboxed job could
 * have put one. Throws a ProfileError (every problem listed; `FILE:LINE:COLUMN` for
 * text that is not JSON) for a bad file, or a RangeError naming the built-ins for an
 * unknown name or a file that cannot be read (or is larger than 16 MiB).
 *
 * @example
 * ```ts
 * import { loadProfile } from "@forge/seccomp";
 * const p = loadProfile("default");
 * const mine = loadProfile("./mine.json");
 * ```
 */
export function loadProfile(spec: string): { profile: SeccompProfile; source: string } {
  const names = () =>
    builtinProfiles()
      .map((b) => b.name)
      .join(", ");
  if (!isSeccompPath(spec)) {
    if (builtinProfiles().some((b) => b.name === spec))
      return { profile: builtinProfile(spec), source: spec };
    throw new RangeError(
      `seccomp profile "${spec}": no built-in of that name (built-in: ${names()}); a file is loaded only when given as a path, e.g. ./${spec}`,
    );
  }
  return { profile: parseProfileText(readProfileFile(spec), spec), source: spec };
}

/**
 * The text of a profile file (given as a path), read once and bounded (16 MiB): a pipe
 * (`<(...)`, a FIFO) can be read only once. Throws a RangeError naming the built-ins
 * for a file that cannot be read or is too large.
 *
 * @example
 * ```ts
 * import { readProfileFile } from "@forge/seccomp";
 * const text = readProfileFile("./mine.json");
 * ```
 */
export function readProfileFile(spec: string): string {
  try {
    return readBounded(spec, MAX_PROFILE_BYTES);
  } catch (e) {
    if (e instanceof RangeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const names = builtinProfiles()
      .map((b) => b.name)
      .join(", ");
    throw new RangeError(
      `seccomp profile "${spec}": ${code === "ENOENT" ? "no such file" : `cannot read it (${code})`}; built-in: ${names}`,
    );
  }
}

/** The largest profile file read (Docker's default is 20 KiB). */
const MAX_PROFILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a file as UTF-8, refusing one larger than `max` bytes without reading more
 * than that (a pipe, /dev/zero or a huge file cannot exhaust memory).
 */
function readBounded(file: string, max: number): string {
  const fd = fs.openSync(file, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) {
        throw new RangeError(
          `seccomp profile "${file}": larger than ${max / 1024 / 1024} MiB; a profile is a small JSON file`,
        );
      }
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * True when a seccomp profile spec names a file (it has a "/"), false for a built-in name.
 *
 * @example
 * ```ts
 * import { isSeccompPath } from "@forge/seccomp";
 * isSeccompPath("./mine.json"); // true
 * isSeccompPath("mine.json"); // false: a (missing) built-in name
 * ```
 */
export function isSeccompPath(spec: string): boolean {
  return spec.includes("/");
}

/** Options of {@link compileSeccompForRun}. */
export interface RunSeccompOptions {
  /** Default: the host's architecture. */
  readonly arch?: Arch;
  /** The capabilities the sandboxed process keeps (for Docker's includes.caps). */
  readonly caps?: readonly string[];
}

/**
 * What `forge run --seccomp PROFILE` calls: loads PROFILE (file, Kubernetes
 * SeccompProfile resource in JSON or YAML, or built-in),
 * validates it (a ProfileError lists every problem), compiles it for the host with
 * its sub-architectures and returns the filter; pass it to `seccompSteps()` for
 * spawn's `lateSteps`. Conflicting rules are returned in `conflicts` and what runc
 * loads but is likely a mistake in `warnings`, as lines to print.
 *
 * @example
 * ```ts
 * import { compileSeccompForRun, seccompSteps } from "@forge/seccomp";
 * const filter = compileSeccompForRun("default");
 * const lateSteps = seccompSteps(filter);
 * ```
 */
export function compileSeccompForRun(spec: string, opts: RunSeccompOptions = {}): CompiledFilter {
  // A file may also be the SeccompProfile resource `forge seccomp export --format k8s` writes.
  const { profile, source } = loadProfileOrResource(spec);
  // Built-ins are validated by this package's tests; files always go through the schema.
  const trusted = !isSeccompPath(spec) && builtinProfiles().some((b) => b.name === spec);
  try {
    return compileResolved(
      resolveProfile(
        profile,
        { arch: opts.arch ?? hostArch(), caps: opts.caps ?? [], trusted },
        source,
      ),
    );
  } catch (e) {
    if (e instanceof ProfileError) throw e;
    throw new RangeError(`seccomp profile "${source}": ${(e as Error).message}`);
  }
}
