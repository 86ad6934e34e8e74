// Builds the spawn trampoline (native/forge_spawn.c → libforge_spawn.so, loaded with
// koffi) and forge-init (native/forge_init.c → a static, libc-free PID 1) into
// prebuilds/linux-<arch>/. Run by `npm run build:native`; needs a C compiler
// (cc, gcc or clang).
// -z nodelete: the exit watcher thread runs in the library until the process ends,
// so it must never be unmapped by a dlclose during Node's teardown.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(pkg, "prebuilds", `linux-${process.arch}`);
const native = (f) => path.join(pkg, "native", f);
const targets = [
  {
    out: path.join(outDir, "libforge_spawn.so"),
    src: native("forge_spawn.c"),
    flags: ["-fPIC", "-shared", "-D_GNU_SOURCE", "-Wl,-z,nodelete"],
    libs: ["-lpthread"],
  },
  {
    out: path.join(outDir, "forge-init"),
    src: native("forge_init.c"),
    flags: ["-static", "-nostdlib", "-fno-builtin", "-fno-asynchronous-unwind-tables"],
    libs: [],
  },
];
const script = fs.statSync(fileURLToPath(import.meta.url)).mtimeMs;
const stale = targets.filter(
  (t) =>
    !fs.existsSync(t.out) ||
    fs.statSync(t.out).mtimeMs < Math.max(script, fs.statSync(t.src).mtimeMs),
);
if (stale.length === 0) process.exit(0);

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
for (const t of stale) {
  const tmp = `${t.out}.${process.pid}.tmp`;
  execFileSync(
    cc,
    [
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-fno-stack-protector",
      ...t.flags,
      "-o",
      tmp,
      t.src,
      ...t.libs,
    ],
    { stdio: "inherit" },
  );
  fs.renameSync(tmp, t.out);
}
