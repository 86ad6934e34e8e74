// Bundles the built CLI (dist/ and the workspace packages it imports) into CommonJS
// files in dist/bundle/: run.js (`forge run`) and forge.js (every command), each with
// the V8 code cache that bin/forge.cjs loads it with (NAME.js.cache), and seccomp.cjs
// and hints.cjs, the parts run.js loads only when a run needs them (see below). Run by
// the package's build.
//
// Why not ESM, as the rest of the tree: a cold `forge run` is mostly Node loading code.
// One CommonJS script skips the ESM loader (module records, linking, a resolve per
// import), and a code cache made after a real run skips compiling the functions that
// run uses; see the README's "Start-up" section for the figures.
//
// What the bundle changes, each checked here so that an esbuild upgrade cannot quietly
// undo it:
// - import("node:...") becomes a require wrapped in a promise: a script compiled
//   with vm.Script cannot import(); any other import() left in the output fails the build.
// - import.meta.url in each bundled file becomes that file's own URL (resolved beside
//   the bundle at run time), so that code finding its package's data files from its own
//   location keeps working, without Node's resolver.
// - "koffi" loads koffi's native module directly (one dlopen) when it is where the
//   build found it and has the same version, else through the koffi package as before.
// - esbuild's interop helper for `import x from "cjs"`, which copies every property of
//   the module (all of node:fs, all of koffi) into a new object at start-up, is
//   replaced by one that inherits from the module instead: same reads, no copies.
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(pkg, "dist", "bundle");
const packagesDir = path.dirname(pkg);

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });

const rel = (to) => path.relative(outDir, to).split(path.sep).join("/");

/** Where koffi's native module is, as the build sees it (undefined: let koffi find it). */
function koffiNative() {
  const libcRequire = createRequire(path.join(packagesDir, "libc", "package.json"));
  // koffi exports no package.json: its entry (index.cjs) is at its root.
  const koffiDir = path.dirname(libcRequire.resolve("koffi"));
  const version = JSON.parse(fs.readFileSync(path.join(koffiDir, "package.json"), "utf8")).version;
  try {
    const koffiRequire = createRequire(path.join(koffiDir, "package.json"));
    const dir = path.dirname(
      koffiRequire.resolve(`@koromix/koffi-${process.platform}-${process.arch}/package.json`),
    );
    const file = path.join(dir, `${process.platform}_${process.arch}`, "koffi.node");
    if (fs.existsSync(file)) return { file, version };
  } catch {
    // no prebuilt package for this platform: koffi built itself; it knows where
  }
  return undefined;
}

const native = koffiNative();
const libcPackageJson = rel(path.join(packagesDir, "libc", "package.json"));
// koffi's native module, tried where the build found it, then where the installed koffi
// finds it (an installed package's layout differs from the workspace's), then through
// koffi itself (which also knows musl and other platforms).
const koffiShim = `"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const version = ${JSON.stringify(native?.version ?? "")};
const platformDir = process.platform + "-" + process.arch;
const abiDir = process.platform + "_" + process.arch;
const libc = createRequire(path.join(__dirname, ${JSON.stringify(libcPackageJson)}));
// process.dlopen, not require: the module is named by path, and require's resolution
// (package scopes, package.json reads) costs a cold start ~1 ms.
function direct(file) {
  try {
    const m = { exports: {} };
    process.dlopen(m, file());
    return typeof m.exports.load === "function" && m.exports.version === version ? m.exports : undefined;
  } catch {
    return undefined;
  }
}
module.exports =
  (version && (direct(() => path.join(__dirname, ${JSON.stringify(native ? rel(native.file) : "")})) ??
    direct(() => path.join(path.dirname(createRequire(libc.resolve("koffi")).resolve("@koromix/koffi-" + platformDir + "/package.json")), abiDir, "koffi.node")))) ||
  libc("koffi");
`;

const forgePlugin = {
  name: "forge",
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: "koffi", namespace: "forge-koffi" }));
    b.onLoad({ filter: /.*/, namespace: "forge-koffi" }, () => ({
      contents: koffiShim,
      loader: "js",
      resolveDir: outDir,
    }));
    // Only the workspace's own built files: their import.meta.url becomes their own URL.
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, "utf8");
      // import() of Node's own modules becomes a require (a vm.Script has no import()).
      const contents = text
        .replaceAll("import.meta.url", `__forgeFileUrl(${JSON.stringify(rel(args.path))})`)
        .replace(/\bimport\((["'])(node:[\w/]+)\1\)/g, "__forgeImportBuiltin($1$2$1)");
      if (/import\.meta\b/.test(contents))
        throw new Error(`${args.path}: import.meta other than import.meta.url cannot be bundled`);
      return { contents, loader: "js" };
    });
  },
};

const helper = /var __toESM = \(mod, isNodeMode, target\) => \(target = [\s\S]*?\n\)\);\n/;
const fastHelper =
  "var __toESM = (mod, isNodeMode) => mod != null && mod.__esModule && !isNodeMode ? mod : { __proto__: mod ?? null, default: mod };\n";

/**
 * Bundles one entry into dist/bundle/NAME.js: "// forge-bundle ID" on the first line
 * (ID names the content, so that a cache is only used with the bundle it was made
 * from), then a CommonJS module wrapper as an expression, which bin/forge.cjs compiles
 * with vm.Script (and its code cache) and calls.
 */
async function bundle(name, entry, plugins = []) {
  // Every such bundle exports the same name, main(argv), for bin/forge.cjs.
  const code = await bundledCode(name, entry, plugins);
  const body = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
  const id = crypto.createHash("sha256").update(body).digest("hex").slice(0, 32);
  const file = path.join(outDir, `${name}.js`);
  fs.writeFileSync(file, `// forge-bundle ${id}\n${body}`);
  return file;
}

/** The code of a bundle of `entry`: the workspace's dist files, checked and minified. */
async function bundledCode(name, entry, plugins) {
  const result = await build({
    stdin: { contents: entry, resolveDir: path.join(pkg, "dist"), sourcefile: `${name}_entry.js` },
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    // pino and ajv load parts of themselves by path at run time: they stay packages.
    external: ["pino", "pino/*", "ajv", "ajv/*"],
    plugins: [forgePlugin, ...plugins],
    banner: {
      js: [
        `"use strict";`,
        // A plain path needs no percent-encoding: its URL is "file://" + path, made without
        // the URL machinery (cold, ~0.5 ms); any other goes through pathToFileURL.
        `const __forgeFileUrl = (rel) => { const p = require("node:path").join(__dirname, rel); return /^[\\w./-]+$/.test(p) ? "file://" + p : require("node:url").pathToFileURL(p).href; };`,
        `const __forgeImportBuiltin = (id) => Promise.resolve().then(() => { const m = require(id); return { __proto__: m, default: m }; });`,
      ].join("\n"),
    },
    logLevel: "warning",
    legalComments: "none",
    write: false,
  });
  let code = result.outputFiles[0].text;
  if (!helper.test(code))
    throw new Error("bundle.mjs: esbuild's __toESM helper changed; update the replacement");
  code = code.replace(helper, fastHelper);
  const dynamic = /\bimport\(/.exec(code);
  if (dynamic)
    throw new Error(
      `bundle.mjs: ${name}: an import() is left in the bundle: ${code.slice(dynamic.index, dynamic.index + 60)}`,
    );
  // Fewer bytes to read, scan and deserialize at every start.
  // FORGE_BUNDLE_MINIFY=0 keeps the lines (for profiling).
  if (process.env.FORGE_BUNDLE_MINIFY !== "0")
    code = (
      await transform(code, {
        format: "cjs",
        target: "node20",
        minifyWhitespace: true,
        minifySyntax: true,
        // Short local names: less to read and a smaller code cache. Errors keep their
        // names (each class sets `name`); FORGE_BUNDLE_MINIFY=0 keeps everything.
        minifyIdentifiers: true,
        legalComments: "none",
      })
    ).code;
  return code;
}

// `forge run` with a built-in profile installs a filter compiled at build time: the
// seccomp compiler is needed only for other profiles, kept capabilities or another
// kernel. In run.js, @forge/sandbox's imports of @forge/seccomp (all in its
// seccomp_filter.js, which the launch and profile validation share) get what every run
// uses and a stand-in for the rest, which loads a plain CommonJS bundle beside it
// (seccomp.cjs) on first use: less to read and deserialize at every start. A name
// seccomp_filter.js imports by name that is not here fails the build; a namespace import
// (`seccomp.x`) of a name left out is undefined at run time, so keep the list whole.
// seccomp.cjs gets only @forge/libc's pure modules (tables, architectures). The cgroup
// code is not split off: every run makes a cgroup where it can (the default pids
// limit), so it is in run.js and its code cache.
const dist = (name) => path.join(packagesDir, name, "dist");
const virtual = (name, filter, contents) => ({
  name,
  setup(b) {
    b.onResolve({ filter: /^@forge\/(seccomp|cgroups|libc)$/ }, (args) =>
      filter(args) ? { path: args.path, namespace: name } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: name }, () => ({
      contents: contents.join("\n"),
      loader: "js",
      resolveDir: outDir,
    }));
  },
});

/** The stand-in for a module whose `lazy` functions are loaded from dist/bundle/FILE when first called. */
const lazyStub = (file, lazy) => [
  `let full;`,
  `const load = () => (full ??= require(require("node:path").join(__dirname, "${file}")));`,
  ...lazy.map((f) => `export const ${f} = (...a) => load().${f}(...a);`),
];

/**
 * What @forge/sandbox's seccomp_filter.js and idmap_guard.js import from package
 * `name`: the `hot` exports (file -> names) from the package's dist, and the `lazy`
 * functions, loaded from dist/bundle/NAME.cjs when first called.
 */
function splitFor(name, hot, lazy) {
  return virtual(
    `forge-split-${name}`,
    (args) =>
      args.path === `@forge/${name}` &&
      /[\\/]sandbox[\\/]dist[\\/](seccomp_filter|idmap_guard)\.js$/.test(args.importer),
    [
      ...Object.entries(hot).map(
        ([file, names]) =>
          `export { ${names.join(", ")} } from ${JSON.stringify(path.join(dist(name), file))};`,
      ),
      ...lazyStub(`${name}.cjs`, lazy),
    ],
  );
}

/**
 * @forge/sandbox's own modules that only some runs need, each replaced in run.js by a
 * stand-in whose functions load it from dist/bundle/FILE on first call: `modules` maps
 * a module (its file in sandbox's dist) to [FILE, its functions that the importer uses].
 */
function lazyModules(modules) {
  return {
    name: "forge-lazy-modules",
    setup(b) {
      b.onResolve({ filter: /^\.\/\w+\.js$/ }, (args) => {
        const file = path.join(args.resolveDir, args.path);
        return modules[file] && path.dirname(file) === dist("sandbox")
          ? // not a path ending in .js: forgePlugin's onLoad would take it as the file itself
            { path: `${file}#lazy`, namespace: "forge-lazy-modules" }
          : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: "forge-lazy-modules" }, (args) => ({
        contents: lazyStub(...modules[args.path.slice(0, -"#lazy".length)]).join("\n"),
        loader: "js",
        resolveDir: outDir,
      }));
    },
  };
}

/** Writes dist/bundle/NAME.cjs: the `lazy` functions (name -> built file), as a plain CommonJS module. */
async function writeSplit(name, lazy, plugins) {
  const entry = Object.entries(lazy)
    .map(([f, file]) => `export { ${f} } from ${JSON.stringify(file)};`)
    .join("\n");
  fs.writeFileSync(path.join(outDir, `${name}.cjs`), await bundledCode(name, entry, plugins));
}

// The idmap guard (idmapped read-write binds only) builds its profile with the builder
// (idmap_guard_profile.js, in seccomp.cjs) and compiles it with compileProfile: neither
// is in run.js. The steps that install it (seccompSteps) are the default filter's too.
const LAZY_SECCOMP = {
  compileSeccompForRun: path.join(dist("seccomp"), "load.js"),
  compileProfile: path.join(dist("seccomp"), "compile.js"),
};
const splitSeccomp = splitFor(
  "seccomp",
  { "precompiled.js": ["precompiledFilter", "precompiledSteps"], "install.js": ["seccompSteps"] },
  Object.keys(LAZY_SECCOMP),
);
// Not in run.js either: the idmap guard's profile (in seccomp.cjs, beside the compiler
// it needs), and the hints given after a failed start or a failed command (hints.cjs).
// A cold run loads, and deserializes the code cache of, less code (~15 KB); node:tty
// (which loads node:net and Node's streams) is not loaded by a run without a terminal
// either: see @forge/sandbox's tty.ts.
const lazySandbox = lazyModules({
  [path.join(dist("sandbox"), "idmap_guard_profile.js")]: ["seccomp.cjs", ["idmapGuardProfile"]],
  [path.join(dist("sandbox"), "path_hints.js")]: [
    "hints.cjs",
    ["argumentHint", "explainSetupError"],
  ],
});
// seccomp.cjs's idmap_guard_profile.js gets the builder alone from @forge/seccomp.
const builderOnly = virtual(
  "forge-builder-only",
  (args) => args.path === "@forge/seccomp" && /idmap_guard_profile\.js$/.test(args.importer),
  [
    `export { arg, SeccompProfileBuilder } from ${JSON.stringify(path.join(dist("seccomp"), "builder.js"))};`,
    `export { everyCombination } from ${JSON.stringify(path.join(dist("seccomp"), "cover.js"))};`,
  ],
);
const pureLibc = virtual(
  "forge-pure-libc",
  (args) => args.path === "@forge/libc",
  ["arch.js", "constants.js", "errno.js", "syscall_table.js"].map(
    (f) => `export * from ${JSON.stringify(path.join(dist("libc"), f))};`,
  ),
);

/**
 * The code cache of one bundle: load it as bin/forge.cjs does, run what a cold start
 * of that command runs (a real sandbox when this machine allows it; where it does not,
 * the cache covers what ran), then keep every function V8 compiled on the way.
 */
async function cache(file, warmUps) {
  const loaded = loadBundle(file, { ignoreCache: true });
  const saved = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = process.stderr.write = () => true;
  try {
    for (const argv of warmUps) await loaded.exports.main(argv);
  } catch {
    // a machine without namespaces: keep what was compiled
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
  writeCodeCache(loaded);
}

const { loadBundle, writeCodeCache } = createRequire(import.meta.url)("../bin/forge.cjs");
const forge = await bundle("forge", 'export { main } from "./main.js";');
const run = await bundle("run", 'export { mainRun as main } from "./main_run.js";', [
  splitSeccomp,
  lazySandbox,
]);
await writeSplit(
  "seccomp",
  { ...LAZY_SECCOMP, idmapGuardProfile: path.join(dist("sandbox"), "idmap_guard_profile.js") },
  [builderOnly, pureLibc],
);
await writeSplit(
  "hints",
  {
    argumentHint: path.join(dist("sandbox"), "path_hints.js"),
    explainSetupError: path.join(dist("sandbox"), "path_hints.js"),
  },
  [],
);
// The warm-up is what a plain `forge run` runs (no --timeout: its code would only
// make the cache bigger).
await cache(run, [["run", "--", "/bin/true"]]);
await cache(forge, [["--version"]]);
