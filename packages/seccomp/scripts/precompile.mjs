// Compiles every built-in profile for this host's architecture and kernel into
// dist/precompiled.json (see src/precompiled.ts). Run by the package's build, after tsc.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hostArch } from "@forge/libc";
import { builtinProfiles, compileSeccompForRun } from "../dist/mod.js";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const filters = {};
for (const { name } of builtinProfiles()) {
  const f = compileSeccompForRun(name, { caps: [] });
  filters[name] = {
    bytes: Buffer.from(f.bytes).toString("base64"),
    instructions: f.program.length,
    flags: [...f.resolved.flags],
    conflicts: [...f.conflicts],
  };
}
const out = path.join(pkg, "dist", "precompiled.json");
fs.writeFileSync(
  `${out}.tmp`,
  `${JSON.stringify({ kernel: os.release(), arch: hostArch(), filters })}\n`,
);
fs.renameSync(`${out}.tmp`, out);
