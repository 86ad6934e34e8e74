// Builds the spawn trampoline (native/forge_spawn.c → libforge_spawn.so, loaded with
// koffi) and forge-init (native/forge_init.c → a static, libc-free PID 1) into
// prebuilds/linux-<arch>/. Needs a C compiler (cc, gcc or clang; CC overrides).
//
//   node scripts/build_native.mjs                 this machine's arch (npm run build:native)
//   node scripts/build_native.mjs --arch all      x64 and arm64, cross-compiling the other
//                                                 one (Debian: gcc-aarch64-linux-gnu
//                                                 libc6-dev-arm64-cross, or
//                                                 gcc-x86-64-linux-gnu libc6-dev-amd64-cross;
//                                                 CC_arm64 / CC_x64 override)
//   --force     rebuild even when the outputs are newer than their sources
//   --release   the builds that ship (npm pack): also check each prebuild with
//               elf_check.mjs (machine, glibc <= GLIBC_BASELINE, forge-init static)
//
// With glibc, native/glibc_baseline.h is force-included so the library binds to the
// oldest version of each libc symbol it uses: a build on any glibc runs on glibc 2.17+.
// -z nodelete: the exit watcher thread runs in the library until the process ends,
// so it must never be unmapped by a dlclose during Node's teardown.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GLIBC_BASELINE, inspectElf, prebuildProblems } from "./elf_check.mjs";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const native = (f) => path.join(pkg, "native", f);
const args = process.argv.slice(2);
const force = args.includes("--force");
const release = args.includes("--release");
const archArg = args.includes("--arch") ? args[args.indexOf("--arch") + 1] : process.arch;
const ARCHES = ["x64", "arm64"];
const TRIPLES = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };
const CROSS_PACKAGES = {
  x64: "gcc-x86-64-linux-gnu libc6-dev-amd64-cross",
  arm64: "gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
};
const arches = archArg === "all" ? ARCHES : [archArg];
for (const a of arches) {
  if (!ARCHES.includes(a)) {
    console.error(
      `@forge/libc: the trampoline is built for ${ARCHES.join(" and ")} only, not ${a}`,
    );
    process.exit(1);
  }
}

function works(cc) {
  try {
    execFileSync(cc, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The C compiler for arch, or undefined. */
function compilerFor(arch) {
  const own = process.env[`CC_${arch}`];
  if (own) return own;
  if (arch === process.arch) return process.env.CC ?? ["cc", "gcc", "clang"].find(works);
  return [`${TRIPLES[arch]}-gcc`].find(works);
}

/** True when cc compiles against glibc (false: musl or another libc). */
function isGlibc(cc) {
  const out = execFileSync(cc, ["-E", "-dM", "-include", "features.h", "-x", "c", "-"], {
    input: "",
    encoding: "utf8",
    stdio: ["pipe", "pipe", "ignore"],
  });
  return /#define __GLIBC__ /.test(out);
}

const sourcesMtime = Math.max(
  ...[
    fileURLToPath(import.meta.url),
    path.join(pkg, "scripts", "elf_check.mjs"),
    native("forge_spawn.c"),
    native("forge_init.c"),
    native("forge_raw.h"),
    native("glibc_baseline.h"),
  ].map((f) => fs.statSync(f).mtimeMs),
);

let failed = false;
for (const arch of arches) {
  const outDir = path.join(pkg, "prebuilds", `linux-${arch}`);
  const targets = [
    { out: path.join(outDir, "libforge_spawn.so"), src: native("forge_spawn.c"), lib: true },
    { out: path.join(outDir, "forge-init"), src: native("forge_init.c"), lib: false },
  ];
  const stale = targets.filter(
    (t) => force || !fs.existsSync(t.out) || fs.statSync(t.out).mtimeMs < sourcesMtime,
  );
  if (stale.length > 0) {
    const cc = compilerFor(arch);
    if (!cc) {
      console.error(
        arch === process.arch
          ? "@forge/libc: no C compiler found to build the spawn trampoline; install one (Debian/Ubuntu: apt-get install gcc libc6-dev; Fedora: dnf install gcc; Alpine: apk add gcc musl-dev linux-headers) or set CC."
          : `@forge/libc: no ${TRIPLES[arch]}-gcc to build the linux-${arch} trampoline (Debian: apt-get install ${CROSS_PACKAGES[arch]}), or set CC_${arch}.`,
      );
      failed = true;
      continue;
    }
    const glibc = isGlibc(cc);
    fs.mkdirSync(outDir, { recursive: true });
    for (const t of stale) {
      const flags = t.lib
        ? [
            "-fPIC",
            "-shared",
            "-D_GNU_SOURCE",
            "-Wl,-z,nodelete",
            ...(glibc ? ["-include", native("glibc_baseline.h")] : []),
          ]
        : ["-static", "-nostdlib", "-fno-builtin", "-fno-asynchronous-unwind-tables"];
      // With glibc < 2.34, pthread_* live in libpthread.so.0: name it, so that the
      // library finds them even in a process that did not load it.
      const libs = t.lib
        ? glibc
          ? ["-Wl,--no-as-needed", "-l:libpthread.so.0"]
          : ["-lpthread"]
        : [];
      const tmp = `${t.out}.${process.pid}.tmp`;
      execFileSync(
        cc,
        [
          "-O2",
          "-Wall",
          "-Wextra",
          "-Werror",
          "-fno-stack-protector",
          ...flags,
          "-o",
          tmp,
          t.src,
          ...libs,
        ],
        { stdio: "inherit" },
      );
      fs.renameSync(tmp, t.out);
    }
  }
  if (release && fs.existsSync(outDir)) {
    const problems = prebuildProblems(outDir, arch);
    const so = path.join(outDir, "libforge_spawn.so");
    if (problems.length > 0) {
      console.error(`@forge/libc: prebuilds/linux-${arch}: ${problems.join("; ")}`);
      failed = true;
    } else {
      const e = inspectElf(so);
      console.log(
        `@forge/libc: prebuilds/linux-${arch}: libforge_spawn.so needs glibc >= ${e.maxGlibc} (baseline ${GLIBC_BASELINE[arch]}), forge-init static`,
      );
    }
  }
}
if (failed) process.exit(1);
