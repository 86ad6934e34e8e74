// Bundles the built CLI (dist/main.js and the packages it imports) into dist/bundle/,
// one chunk per command, so that `forge run` starts without resolving and loading
// dozens of modules. Run by the package's build.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// Chunk names carry content hashes: start from an empty folder so old chunks do not pile up.
fs.rmSync(path.join(pkg, "dist", "bundle"), { recursive: true, force: true });
await build({
  entryPoints: { forge: path.join(pkg, "dist", "main.js") },
  outdir: path.join(pkg, "dist", "bundle"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Third-party packages stay external: koffi is native, pino and ajv load parts of
  // themselves by path at run time. Only the workspace's own code is bundled.
  external: ["koffi", "pino", "pino/*", "ajv", "ajv/*"],
  banner: {
    js: 'import { createRequire as __forgeCreateRequire } from "node:module"; const require = __forgeCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
  legalComments: "none",
});
