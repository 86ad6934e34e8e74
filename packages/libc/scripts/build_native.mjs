// Builds the spawn trampoline (native/*.c) into prebuilds/linux-<arch>/.
// Run by `npm run build:native`; needs a C compiler (cc, gcc or clang).
// -z nodelete: the exit watcher thread runs in this library until the process ends,
// so it must never be unmapped by a dlclose during Node's teardown.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(pkg, "prebuilds", `linux-${process.arch}`);
const out = path.join(outDir, "libforge_spawn.so");
const sources = fs
  .readdirSync(path.join(pkg, "native"))
  .filter((f) => f.endsWith(".c"))
  .map((f) => path.join(pkg, "native", f));

const newest = Math.max(
  ...sources.map((s) => fs.statSync(s).mtimeMs),
  fs.statSync(fileURLToPath(import.meta.url)).mtimeMs,
);
if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest) process.exit(0);

const cc =
  process.env.CC ??
  ["cc", "gcc", "clang"].find((c) => {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
if (!cc) {
  console.error(
    "@forge/libc: no C compiler found to build the spawn trampoline; install one (Debian: apt-get install gcc) or set CC.",
  );
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
execFileSync(
  cc,
  [
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fPIC",
    "-shared",
    "-fno-stack-protector",
    "-D_GNU_SOURCE",
    "-Wl,-z,nodelete",
    "-o",
    tmp,
    ...sources,
    "-lpthread",
  ],
  { stdio: "inherit" },
);
fs.renameSync(tmp, out);
