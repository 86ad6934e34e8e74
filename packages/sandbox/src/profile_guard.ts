/**
 * A sandbox must not be able to write where profiles are looked up by name: a job that
 * planted `default.json` there would shape the next `forge run`. As root the ownership
 * rule already refuses what a job writes (its files belong to uid 65534), but rootless
 * the job writes as the caller, whose config directory is trusted: so a read-write
 * bind that contains a directory of the search path is refused before the sandbox
 * starts.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { ProfileError, profileSearchPath } from "./profile.ts";

/** The real path of `p`, resolving what exists of it (the rest appended as given). */
function realish(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  // Up to the deepest part that exists (without throwing: this runs on every start).
  const exists = (p: string): boolean => {
    try {
      return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false; // not even visible to us (EACCES...): look at its parent
    }
  };
  while (!exists(cur)) {
    const parent = path.dirname(cur);
    if (parent === cur) break;
    rest.push(path.basename(cur));
    cur = parent;
  }
  try {
    return path.join(fs.realpathSync(cur), ...rest.reverse());
  } catch {
    return path.join(cur, ...rest.reverse());
  }
}

function within(dir: string, top: string): boolean {
  return dir === top || dir.startsWith(top.endsWith("/") ? top : `${top}/`);
}

/**
 * Throws a {@link ProfileError} when a read-write bind's source contains a directory
 * where profiles are looked up by name (`profileSearchPath`, the built-ins aside).
 *
 * @example
 * ```ts
 * import { refuseBindsOverProfileDirs } from "@forge/sandbox";
 * refuseBindsOverProfileDirs([{ src: "/srv/build", readonly: false }]); // fine
 * ```
 */
export function refuseBindsOverProfileDirs(
  binds: ReadonlyArray<{ readonly src: string; readonly readonly?: boolean }>,
  dirs?: readonly string[],
): void {
  if (binds.every((b) => b.readonly)) return;
  const searched =
    dirs ??
    profileSearchPath()
      .filter((d) => d.kind !== "built-in")
      .map((d) => d.dir);
  const real = searched.map((d) => ({ dir: d, real: realish(d) }));
  for (const b of binds) {
    if (b.readonly) continue;
    const src = realish(b.src);
    for (const d of real) {
      if (!within(d.real, src)) continue;
      throw new ProfileError(`bind ${b.src}`, [
        {
          pointer: "",
          message: `read-write, it contains ${d.dir}, where forge looks up profiles by name: a job could plant one there that the next run loads. Bind it read-only (:ro) or a narrower directory${d.dir.startsWith("/etc/") ? "" : ", or set FORGE_USER_PROFILES=off to stop looking there"}`,
        },
      ]);
    }
  }
}
