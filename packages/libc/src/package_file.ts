import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The path of a file shipped inside a Forge package (a prebuilt library, a profile, a
 * build output), for code that runs from the package's `dist/` folder or from a bundle.
 *
 * The package is looked for beside the calling module first (`dist/x.js` -> `..`),
 * which costs one stat; only when the file is not there (a bundle that moved the code
 * away from its package) is the package found by name, with Node's resolver (a few ms
 * on a cold start, which the CLI cannot spare). When neither has the file, the path
 * beside the module is returned, for the caller's "missing" message.
 *
 * @param metaUrl the caller's `import.meta.url`
 * @param pkgName the package's name, e.g. "@forge/seccomp"
 * @param rel the file's path inside the package, e.g. "dist/precompiled.json"
 *
 * @example
 * ```ts
 * import { packageFile } from "@forge/libc";
 * const schema = packageFile(import.meta.url, "@forge/sandbox", "schemas/sandbox_profile.schema.json");
 * ```
 */
export function packageFile(metaUrl: string, pkgName: string, rel: string): string {
  const near = path.resolve(path.dirname(fileURLToPath(metaUrl)), "..", rel);
  if (fs.existsSync(near)) return near;
  try {
    const dir = path.dirname(createRequire(metaUrl).resolve(`${pkgName}/package.json`));
    const found = path.join(dir, rel);
    if (fs.existsSync(found)) return found;
  } catch {
    // not resolvable from here: keep the path beside the module
  }
  return near;
}
