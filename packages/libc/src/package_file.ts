import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Package roots already checked: root -> the name in its package.json ("" if none). */
const names = new Map<string, string>();

function packageName(root: string): string {
  let name = names.get(root);
  if (name === undefined) {
    try {
      name = String(
        JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).name ?? "",
      );
    } catch {
      name = "";
    }
    names.set(root, name);
  }
  return name;
}

/**
 * The path of a file shipped inside a Forge package (a prebuilt library, a profile, a
 * build output), for code that runs from the package's `dist/` folder or from a bundle.
 *
 * The package is looked for beside the calling module first (`dist/x.js` -> `..`),
 * and used when that folder's package.json names it: a read and a stat. Only when it
 * does not (someone else's bundle moved the code away from its package, and the folder
 * above may be any application's) is the package found by name, with Node's resolver
 * (a few ms on a cold start, which the CLI cannot spare). When it cannot be found,
 * the path it would have in a node_modules folder there is returned (not a file of the
 * folder above, which may be any application's), for the caller's "missing" message.
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
  // A plain file URL ("file:///a/b.js", nothing percent-encoded) is its path after
  // "file://": no URL parsing on a cold start's path.
  const file = /^file:\/\/\/[\w./-]+$/.test(metaUrl) ? metaUrl.slice(7) : fileURLToPath(metaUrl);
  const root = path.resolve(path.dirname(file), "..");
  const near = path.join(root, rel);
  if (packageName(root) === pkgName) return near;
  try {
    return path.join(path.dirname(createRequire(metaUrl).resolve(`${pkgName}/package.json`)), rel);
  } catch {
    // Not resolvable from here: where it would be, for the caller's message.
    return path.join(root, "node_modules", pkgName, rel);
  }
}
