// Compiles every built-in profile for this host's architecture and kernel into
// dist/precompiled.json and dist/precompiled/*.bpf (see src/precompiled.ts). Run by the package's build, after tsc.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hostArch } from "@forge/libc";
import { builtinProfiles, compileSeccompForRun } from "../dist/mod.js";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// The index (dist/precompiled.json) is small and each filter's bytes are a file of their
// own (dist/precompiled/NAME.bpf): a start reads the index and one filter, not all of
// them base64-encoded (~50 KB to parse on every cold `forge run`).
const dir = path.join(pkg, "dist", "precompiled");
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const filters = {};
for (const { name } of builtinProfiles()) {
  const f = compileSeccompForRun(name, { caps: [] });
  fs.writeFileSync(path.join(dir, `${name}.bpf`), f.bytes);
  filters[name] = {
    file: `precompiled/${name}.bpf`,
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
