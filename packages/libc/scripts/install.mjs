// @forge/libc's install script: makes sure this machine has a spawn trampoline that
// loads. The package ships prebuilds/linux-x64 and prebuilds/linux-arm64 (built for
// glibc >= 2.17); where the one for this machine does not load (another libc such as
// musl, a glibc older than 2.17, a stale build in the repository), it is built from
// native/ with the system C compiler (scripts/build_native.mjs). Neither works: it says
// what to install and fails, since no sandbox can start without it.
//   FORGE_TRAMPOLINE=/path/libforge_spawn.so   use that one (nothing is checked here)
//   FORGE_SKIP_TRAMPOLINE=1                    install without a trampoline
// Rerun with `npm rebuild @forge/libc`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const platform = `${process.platform}-${process.arch}`;
const file = path.join(pkg, "prebuilds", platform, "libforge_spawn.so");
const say = (msg) => console.log(`@forge/libc: ${msg}`);

if (process.env.FORGE_TRAMPOLINE) {
  say(`FORGE_TRAMPOLINE is set: using ${process.env.FORGE_TRAMPOLINE}`);
  process.exit(0);
}
if (process.env.FORGE_SKIP_TRAMPOLINE) {
  say("FORGE_SKIP_TRAMPOLINE is set: no spawn trampoline checked or built");
  process.exit(0);
}

/**
 * Loads the trampoline in a child process (a library that crashes must not take npm
 * down): with the package's own loader when it is built (checks the ABI too), else
 * with koffi alone. Returns undefined when it loads, else why not.
 */
function loadProblem() {
  if (!fs.existsSync(file)) return `${path.relative(pkg, file)} is missing`;
  const nativeJs = path.join(pkg, "dist", "native.js");
  const code = fs.existsSync(nativeJs)
    ? `const m = await import(${JSON.stringify(pathToFileURL(nativeJs).href)}); m.loadTrampoline();`
    : `import { createRequire } from "node:module";
       const koffi = createRequire(${JSON.stringify(path.join(pkg, "package.json"))})("koffi");
       koffi.load(${JSON.stringify(file)}).func("int forge_abi_version(void)")();`;
  const env = { ...process.env };
  delete env.FORGE_TRAMPOLINE;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status === 0) return undefined;
  const why = (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split("\n");
  const line = why.find((l) => /^\w*Error\b/.test(l)) ?? why.at(-1);
  return line.replace(/; build one for this machine.*$/, "");
}

if (process.platform !== "linux") {
  say(`Forge's sandboxes run on Linux only: no spawn trampoline for ${platform}`);
  process.exit(0);
}
let problem = loadProblem();
if (problem === undefined) process.exit(0);

let buildError;
if (fs.existsSync(path.join(pkg, "native", "forge_spawn.c"))) {
  say(`no usable prebuilt trampoline (${problem}); building one with the system C compiler`);
  const exists = fs.existsSync(file);
  const r = spawnSync(
    process.execPath,
    [path.join(pkg, "scripts", "build_native.mjs"), ...(exists ? ["--force"] : [])],
    { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" },
  );
  if (r.status === 0) {
    problem = loadProblem();
    if (problem === undefined) {
      say(`built ${path.relative(pkg, file)}`);
      process.exit(0);
    }
    buildError = `the build does not load either: ${problem}`;
  } else {
    buildError = (r.stderr || `exit ${r.status}`).trim();
  }
}

console.error(`@forge/libc: no spawn trampoline for ${platform} could be loaded or built.
  prebuilt: ${problem}${buildError ? `\n  build:    ${buildError.split("\n").join("\n            ")}` : ""}
Forge cannot start a sandbox without it. Install a C compiler and the Linux headers,
then run "npm rebuild @forge/libc":
  Debian/Ubuntu: apt-get install gcc libc6-dev
  Fedora/RHEL:   dnf install gcc glibc-devel kernel-headers
  Alpine:        apk add gcc musl-dev linux-headers
Or set FORGE_TRAMPOLINE to a libforge_spawn.so built elsewhere, or FORGE_SKIP_TRAMPOLINE=1
to install without it (the syscall tables, FakeLibc and the profile tools still work).`);
process.exit(1);
