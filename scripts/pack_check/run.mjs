#!/usr/bin/env node
// Pack check: what a user gets from the tarballs, package by package.
//
// Packs every workspace package (`npm pack`; @forge/libc's prepack builds and checks
// the linux-x64 and linux-arm64 trampolines), then, for each package, in an empty temp
// project: installs its tarball with the tarballs of its declared @forge/* dependencies
// only (third-party dependencies such as koffi, ajv and pino come from the npm registry;
// the @forge scope is pointed at a dead registry, so nothing of the public @forge scope,
// which belongs to another vendor, can slip in), type-checks a small consumer
// (consumers/<package>.ts, skipLibCheck false) and runs it. Also checks what the
// tarballs hold (LICENSE, no .tsbuildinfo or tests, source maps that resolve, os/cpu,
// @types/node declared where the public types need it, the prebuilds' glibc baseline).
//
// Needs the packages built (`npm install` builds them). Run from anywhere:
//   node scripts/pack_check/run.mjs
// FORGE_PACK_CHECK_JOBS=N (default 3) consumers at a time; FORGE_PACK_CHECK_KEEP=1
// keeps the temp directory. Exit 0 when every check passed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const tsc = path.join(repo, "node_modules", "typescript", "bin", "tsc");
const jobs = Math.max(1, Number(process.env.FORGE_PACK_CHECK_JOBS ?? 3));
const keep = process.env.FORGE_PACK_CHECK_KEEP === "1";
const isRoot = process.getuid?.() === 0;
const t0 = performance.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[pack-check ${secs(performance.now() - t0).padStart(6)}] ${msg}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-pack-check-"));
let cleaned = false;
function cleanup() {
  if (cleaned || keep) return;
  cleaned = true;
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(128 + os.constants.signals[sig]);
  });
}

/** Runs a command; resolves with its code and output (never rejects). */
function run(cmd, args, { cwd = repo, env = process.env, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => (stderr += String(e)));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, stdout, stderr, ms: performance.now() - start });
    });
  });
}

const tail = (r) => `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n    ");

// ---- the packages -------------------------------------------------------------------
const manifests = new Map();
for (const dir of fs.readdirSync(path.join(repo, "packages")).sort()) {
  const file = path.join(repo, "packages", dir, "package.json");
  if (!fs.existsSync(file)) continue;
  const m = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!m.private) manifests.set(m.name, { ...m, dir });
}
const forgeDeps = (m) => Object.keys(m.dependencies ?? {}).filter((d) => manifests.has(d));
/** The package and every @forge package it depends on, transitively. */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const d of forgeDeps(manifests.get(name))) closure(d, seen);
  return seen;
}

const problems = []; // [package, message]
const fail = (pkg, msg) => problems.push([pkg, msg]);

const unbuilt = [...manifests.values()].filter(
  (m) => !fs.existsSync(path.join(repo, "packages", m.dir, "dist", "mod.js")),
);
if (unbuilt.length > 0) {
  console.error(
    `pack-check: not built: ${unbuilt.map((m) => m.name).join(", ")}; run "npm install" (it builds) or "npm run build" first`,
  );
  process.exit(1);
}

// ---- pack ---------------------------------------------------------------------------
const tarDir = path.join(tmp, "tarballs");
fs.mkdirSync(tarDir);
log(`packing ${manifests.size} packages into ${tarDir}`);
const packed = await run("npm", ["pack", "--workspaces", "--json", "--pack-destination", tarDir]);
const jsonStart = packed.stdout.search(/^\[\s*\{/m);
if (packed.code !== 0 || jsonStart < 0) {
  console.error(`pack-check: npm pack failed (exit ${packed.code}):\n    ${tail(packed)}`);
  process.exit(1);
}
for (const line of packed.stdout.slice(0, jsonStart).split("\n")) {
  if (line.startsWith("@forge/")) log(line); // the prebuilds' glibc baseline, from prepack
}
const packs = new Map(JSON.parse(packed.stdout.slice(jsonStart)).map((p) => [p.name, p]));
log(`packed in ${secs(packed.ms)}`);

// ---- what each tarball holds ----------------------------------------------------------
const needsLibc = (name) => closure(name).has("@forge/libc");
for (const [name, m] of manifests) {
  const p = packs.get(name);
  if (!p) {
    fail(name, "not packed");
    continue;
  }
  const files = p.files.map((f) => f.path);
  for (const f of ["LICENSE", "README.md", "package.json"])
    if (!files.includes(f)) fail(name, `the tarball has no ${f}`);
  const junk = files.filter((f) => /\.tsbuildinfo$|_test\.[a-z.]+$/.test(f));
  if (junk.length > 0) fail(name, `the tarball ships ${junk.slice(0, 5).join(", ")}`);
  if (!m.license) fail(name, "no license in package.json");
  if (
    needsLibc(name) &&
    !(m.os?.includes("linux") && m.cpu?.includes("x64") && m.cpu?.includes("arm64"))
  )
    fail(name, 'needs the trampoline but package.json lacks os ["linux"] / cpu ["x64", "arm64"]');
  for (const [d, v] of Object.entries(m.dependencies ?? {})) {
    if (manifests.has(d) && v !== manifests.get(d).version)
      fail(name, `depends on ${d} ${v}, but the packed ${d} is ${manifests.get(d).version}`);
  }
  const targets = [];
  const walk = (v) => {
    if (typeof v === "string") targets.push(v);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(m.exports ?? {});
  for (const t of targets.filter((t) => !t.includes("*"))) {
    if (!files.includes(t.replace(/^\.\//, "")))
      fail(name, `exports names ${t}, which is not in the tarball`);
  }
}
const libcFiles = packs.get("@forge/libc")?.files.map((f) => f.path) ?? [];
for (const arch of ["x64", "arm64"]) {
  for (const f of ["libforge_spawn.so", "forge-init"]) {
    if (!libcFiles.includes(`prebuilds/linux-${arch}/${f}`))
      fail("@forge/libc", `the tarball has no prebuilds/linux-${arch}/${f}`);
  }
}

// ---- one consumer project per package -------------------------------------------------
const short = (name) => name.replace("@forge/", "");
const tarball = (name) => path.join(tarDir, packs.get(name).filename);

/** Every *.map under dir whose sources are neither shipped nor embedded. */
function unresolvedMaps(dir) {
  const bad = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules") walk(f);
      } else if (e.name.endsWith(".map")) {
        const map = JSON.parse(fs.readFileSync(f, "utf8"));
        map.sources.forEach((s, i) => {
          if (map.sourcesContent?.[i] != null) return;
          const src = path.resolve(path.dirname(f), map.sourceRoot ?? "", s);
          if (!fs.existsSync(src)) bad.push(`${path.relative(dir, f)} -> ${s}`);
        });
      }
    }
  };
  walk(dir);
  return bad;
}

/** Whether a package's shipped .d.ts files name Node's types. */
function usesNodeTypes(dir) {
  const dist = path.join(dir, "dist");
  return fs
    .readdirSync(dist, { recursive: true })
    .filter((f) => String(f).endsWith(".d.ts"))
    .some((f) =>
      /from "node:|import\("node:|\bNodeJS\./.test(
        fs.readFileSync(path.join(dist, String(f)), "utf8"),
      ),
    );
}

// @forge/wasm-host's public types name the WebAssembly namespace (WebAssembly.Memory,
// .Module, .Instance), which TypeScript declares only in lib.dom.d.ts, and @types/node
// does not: a consumer of it (or of a package that re-exports it) needs "DOM" in "lib".
const needsDomLib = (name) => closure(name).has("@forge/wasm-host");

const results = [];
async function checkConsumer(name) {
  const r = { name, install: 0, tsc: 0, run: 0, ok: true, notes: [] };
  results.push(r);
  const bad = (msg) => {
    r.ok = false;
    fail(name, msg);
  };
  const dir = path.join(tmp, "consumers", short(name));
  fs.mkdirSync(dir, { recursive: true });
  const deps = [...closure(name)];
  // A consumer's own code that prints needs Node's types; a package whose public types
  // need them brings them as a peer, so the project adds them only for one that does not.
  const bringsNodeTypes = deps.some((d) => manifests.get(d).peerDependencies?.["@types/node"]);
  // The tarballs as dependencies, and as overrides for the @forge dependencies of each
  // other, so that npm never asks a registry for an @forge package; the @forge scope
  // points at a dead registry besides, to make any such lookup fail at once.
  const specs = Object.fromEntries(deps.map((d) => [d, `file:${tarball(d)}`]));
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify(
      {
        name: `pack-check-${short(name)}`,
        version: "0.0.0",
        private: true,
        type: "module",
        dependencies: specs,
        devDependencies: bringsNodeTypes ? {} : { "@types/node": "^20" },
        overrides: specs,
      },
      null,
      2,
    )}\n`,
  );
  fs.writeFileSync(
    path.join(dir, ".npmrc"),
    "@forge:registry=http://127.0.0.1:9/\nfetch-retries=0\naudit=false\nfund=false\nupdate-notifier=false\n",
  );
  const install = await run("npm", ["install", "--prefer-offline", "--loglevel=error"], {
    cwd: dir,
  });
  r.install = install.ms;
  if (install.code !== 0) {
    bad(`npm install of ${deps.map(short).join(", ")} failed:\n    ${tail(install)}`);
    return;
  }
  const lock = JSON.parse(
    fs.readFileSync(path.join(dir, "node_modules", ".package-lock.json"), "utf8"),
  );
  const forgeInstalled = Object.entries(lock.packages).filter(([k]) =>
    k.includes("node_modules/@forge/"),
  );
  for (const [k, v] of forgeInstalled) {
    if (!String(v.resolved ?? "").startsWith("file:"))
      bad(`${k} did not come from a local tarball (${v.resolved})`);
  }
  const extra = forgeInstalled
    .map(([k]) => k.replace(/^.*node_modules\//, ""))
    .filter((n) => !closure(name).has(n));
  if (extra.length > 0) bad(`installed undeclared @forge packages: ${extra.join(", ")}`);
  if (
    bringsNodeTypes &&
    !fs.existsSync(path.join(dir, "node_modules", "@types", "node", "package.json"))
  )
    bad("@types/node (a declared peer) was not installed");
  for (const d of deps) {
    const pdir = path.join(dir, "node_modules", d);
    const unresolved = unresolvedMaps(pdir);
    if (unresolved.length > 0)
      bad(
        `${unresolved.length} source map sources are neither shipped nor embedded in ${d}, e.g. ${unresolved[0]} (a build output whose source is gone? delete dist/ and rebuild)`,
      );
    const pm = manifests.get(d);
    if (
      d === name &&
      usesNodeTypes(pdir) &&
      !pm.peerDependencies?.["@types/node"] &&
      !pm.dependencies?.["@types/node"]
    )
      bad("its .d.ts files use Node's types, but it declares no @types/node");
  }
  if (name === "@forge/libc") {
    const { prebuildProblems, inspectElf } = await import(
      pathToFileURL(path.join(dir, "node_modules", "@forge", "libc", "scripts", "elf_check.mjs"))
        .href
    );
    for (const arch of ["x64", "arm64"]) {
      const pdir = path.join(dir, "node_modules", "@forge", "libc", "prebuilds", `linux-${arch}`);
      const p = prebuildProblems(pdir, arch);
      if (p.length > 0) bad(`prebuilds/linux-${arch}: ${p.join("; ")}`);
      else
        r.notes.push(
          `linux-${arch}: glibc >= ${inspectElf(path.join(pdir, "libforge_spawn.so")).maxGlibc}`,
        );
    }
  }

  // Type-check (skipLibCheck false: every .d.ts of every package in the program) and run.
  // For @forge/libc, afterwards: the build-on-install fallback (libcFallback).
  fs.copyFileSync(path.join(here, "consumers", `${short(name)}.ts`), path.join(dir, "index.ts"));
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: needsDomLib(name) ? ["ES2023", "DOM"] : ["ES2023"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        // A package whose .d.ts names Node's types references them itself
        // (`/// <reference types="node" preserve="true" />` in its mod.ts): its
        // consumer lists none (TypeScript 6 loads no @types by default).
        types: bringsNodeTypes ? [] : ["node"],
        strict: true,
        skipLibCheck: false,
        outDir: "out",
        rootDir: ".",
      },
      files: ["index.ts"],
    }),
  );
  const typed = await run(process.execPath, [tsc, "-p", dir], { cwd: dir });
  r.tsc = typed.ms;
  if (typed.code !== 0) {
    bad(`type-check failed:\n    ${tail(typed)}`);
    return;
  }
  const ran = await run(process.execPath, [path.join(dir, "out", "index.js")], {
    cwd: dir,
    timeoutMs: 60_000,
  });
  r.run = ran.ms;
  const okLine = ran.stdout.split("\n").find((l) => l.startsWith(`ok ${name}`));
  if (ran.code === 0 && okLine) {
    r.notes.push(okLine.slice(`ok ${name}: `.length));
  } else if (name === "@forge/sandbox" && !isRoot) {
    r.notes.push(
      `not root: the sandboxed echo failed (${tail(ran).split("\n")[0]}); as root it must pass`,
    );
  } else {
    bad(`the example failed (exit ${ran.code}):\n    ${tail(ran)}`);
  }
  if (name === "@forge/libc" && r.ok) await libcFallback(dir, r, bad);
  if (name === "@forge/cli") {
    const forge = path.join(dir, "node_modules", ".bin", "forge");
    const version = await run(forge, ["--version"], { cwd: dir });
    if (version.code !== 0) bad(`forge --version failed:\n    ${tail(version)}`);
    if (isRoot) {
      const echo = await run(forge, ["run", "--", "/bin/echo", "hello from forge run"], {
        cwd: dir,
      });
      if (echo.code !== 0 || echo.stdout.trim() !== "hello from forge run")
        bad(`forge run -- /bin/echo failed (exit ${echo.code}):\n    ${tail(echo)}`);
      else r.notes.push(`bin: forge ${version.stdout.trim()}, "forge run -- /bin/echo" ok`);
    }
  }
}

/**
 * The documented fallback for a prebuilt trampoline that does not load here: with
 * npm's install-script approval, `npm rebuild @forge/libc` builds it with the system C
 * compiler and the example runs again; without a compiler, the install script says
 * what to install and fails.
 */
async function libcFallback(dir, r, bad) {
  const libc = path.join(dir, "node_modules", "@forge", "libc");
  const so = path.join(libc, "prebuilds", `linux-${process.arch}`, "libforge_spawn.so");
  fs.writeFileSync(so, "not a library\n");
  const approve = await run("npm", ["install-scripts", "approve", "@forge/libc"], { cwd: dir });
  const rebuild =
    approve.code === 0
      ? await run("npm", ["rebuild", "@forge/libc", "--foreground-scripts"], { cwd: dir })
      : await run(process.execPath, [path.join(libc, "scripts", "install.mjs")], { cwd: dir });
  const again = await run(process.execPath, [path.join(dir, "out", "index.js")], { cwd: dir });
  if (rebuild.code !== 0 || !/built prebuilds/.test(rebuild.stdout) || again.code !== 0) {
    bad(`the build-on-install fallback failed:\n    ${tail(rebuild)}\n    ${tail(again)}`);
    return;
  }
  r.notes.push(
    `fallback: a prebuild that does not load is rebuilt by ${approve.code === 0 ? "npm rebuild @forge/libc (install script approved)" : "scripts/install.mjs"}, and works`,
  );
  fs.writeFileSync(so, "not a library\n");
  const emptyPath = path.join(dir, "no-compiler-here");
  fs.mkdirSync(emptyPath, { recursive: true });
  const env = { ...process.env, PATH: emptyPath };
  delete env.CC;
  const noCc = await run(process.execPath, [path.join(libc, "scripts", "install.mjs")], {
    cwd: dir,
    env,
  });
  if (noCc.code === 0 || !/apt-get install gcc/.test(noCc.stderr))
    bad(`without a C compiler the install script should explain and fail:\n    ${tail(noCc)}`);
  else
    r.notes.push(
      "fallback: without a C compiler the install script says what to install and fails",
    );
}

const queue = [...manifests.keys()];
log(`installing, type-checking and running ${queue.length} consumers, ${jobs} at a time`);
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (queue.length > 0) {
      const name = queue.shift();
      await checkConsumer(name);
      const r = results.find((x) => x.name === name);
      log(
        `${r.ok ? "ok  " : "FAIL"} ${name.padEnd(20)} install ${secs(r.install)}, tsc ${secs(r.tsc)}, run ${secs(r.run)}${r.notes.length ? `\n      ${r.notes.join("\n      ")}` : ""}`,
      );
    }
  }),
);

// ---- summary -----------------------------------------------------------------------
for (const p of packs.values()) {
  log(
    `${p.filename.padEnd(32)} ${String(p.entryCount).padStart(4)} files, ${(p.size / 1024).toFixed(1)} kB packed`,
  );
}
if (problems.length > 0) {
  console.error(`\npack-check: ${problems.length} problem(s):`);
  for (const [pkg, msg] of problems) console.error(`  ${pkg}: ${msg}`);
}
log(
  `${problems.length === 0 ? "passed" : "FAILED"}: ${results.filter((r) => r.ok).length} of ${manifests.size} packages, in ${secs(performance.now() - t0)}${keep ? ` (kept ${tmp})` : ""}`,
);
process.exitCode = problems.length === 0 ? 0 : 1;
