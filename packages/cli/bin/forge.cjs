#!/usr/bin/env node
// The forge command. Runs a bundle made by scripts/bundle.mjs (the CLI and the packages
// it uses in one CommonJS file: dist/bundle/run.js for `forge run`, forge.js for the
// rest) with the V8 code cache the build made beside it, so that a cold start neither
// resolves modules nor compiles what `forge run` runs. Without the bundles (not built)
// it runs dist/main.js, the same code as ES modules. A cache is used only with the
// bundle it was made from (same id, cut to its recorded length, and not older than
// the bundle, so that a bundle edited in place is compiled afresh); one that this Node
// rejects (another version or flags) is ignored too: the code is then compiled as
// usual. V8 does not checksum a code cache: a cache file damaged on disk (not merely
// cut short) can crash Node; delete it (forge works without it) or rebuild.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const BUNDLES = path.join(__dirname, "..", "dist", "bundle");
const MAGIC = "FORGECC2";
const ID_LENGTH = 32;
/** MAGIC, the bundle's id, then the V8 data's length (uint32 LE). */
const HEAD = MAGIC.length + ID_LENGTH + 4;

/** The id on the bundle's first line ("// forge-bundle <id>"), or "" if there is none. */
function bundleId(source) {
  const m = /^\/\/ forge-bundle ([0-9a-f]+)\n/.exec(source.slice(0, 64));
  return m ? m[1] : "";
}

/**
 * The cache's V8 data if it was made from the bundle with this id, whole, and not
 * before the bundle was last written; else undefined.
 */
function readCache(file, id, bundleMtimeMs) {
  let data;
  try {
    if (fs.statSync(file).mtimeMs < bundleMtimeMs) return undefined;
    data = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (data.length < HEAD || data.toString("latin1", 0, HEAD - 4) !== MAGIC + id) return undefined;
  if (data.readUInt32LE(HEAD - 4) !== data.length - HEAD) return undefined;
  return data.subarray(HEAD);
}

/**
 * Loads a bundle as a CommonJS module; undefined when it is not built.
 * Returns its exports and what writeCodeCache needs.
 */
function loadBundle(file, options = {}) {
  file = path.resolve(file);
  let source;
  try {
    // The bundle is ASCII (esbuild escapes the rest): latin1 decodes it without checks.
    source = fs.readFileSync(file, "latin1");
  } catch (e) {
    if (e.code === "ENOENT") return undefined;
    throw e;
  }
  const id = bundleId(source);
  const cacheFile = `${file}.cache`;
  const cachedData =
    options.ignoreCache || !id ? undefined : readCache(cacheFile, id, fs.statSync(file).mtimeMs);
  // The file is "// forge-bundle ID" and a module wrapper expression: its value is the function.
  const script = new vm.Script(source, {
    filename: file,
    cachedData,
  });
  const mod = { exports: {}, filename: file };
  const req = require("node:module").createRequire(file);
  script.runInThisContext().call(mod.exports, mod.exports, req, mod, file, path.dirname(file));
  return {
    exports: mod.exports,
    script,
    cacheFile,
    id,
    cacheUsed: !!cachedData && !script.cachedDataRejected,
  };
}

/** Writes the code cache of a loaded bundle (the functions compiled so far included). */
function writeCodeCache(loaded) {
  if (!loaded.id) throw new Error(`${loaded.cacheFile}: the bundle has no id line`);
  const data = loaded.script.createCachedData();
  const tmp = `${loaded.cacheFile}.${process.pid}.tmp`;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(data.length);
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC + loaded.id, "latin1"), length, data]));
  fs.renameSync(tmp, loaded.cacheFile);
}

/**
 * The line for a failure of forge itself (not a command's error, which main reports):
 * one line without the stack trace, unless FORGE_DEBUG=1.
 */
function crashLine(e, env = process.env) {
  if (env.FORGE_DEBUG === "1") return `forge: internal error: ${e?.stack ?? e}`;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : `thrown ${String(e)}`;
  // One line: control characters (a newline in the message...) escaped.
  const line = [...what]
    .map((ch) => {
      const c = ch.charCodeAt(0);
      return c < 0x20 ? JSON.stringify(ch).slice(1, -1) : c === 0x7f ? "\\u007f" : ch;
    })
    .join("");
  return `forge: internal error: ${line} (a bug in forge; FORGE_DEBUG=1 shows where)`;
}

module.exports = { loadBundle, writeCodeCache, crashLine };

if (require.main === module) {
  let settled = false;
  // What escapes every handler (a throw in a timer, a promise nobody awaits) is forge's
  // own failure: one line and exit 125, never Node's stack dump.
  const crash = (e) => {
    settled = true;
    try {
      process.stderr.write(`${crashLine(e)}\n`);
    } finally {
      process.exit(125);
    }
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  const loaded = loadBundle(path.join(BUNDLES, process.argv[2] === "run" ? "run.js" : "forge.js"));
  const main = loaded
    ? Promise.resolve(loaded.exports.main)
    : import("../dist/main.js").then((m) => m.main);
  // A command whose promise never settles must not pass for a success.
  process.on("exit", () => {
    if (settled) return;
    process.stderr.write("forge: internal error: the command ended without a result\n");
    process.exitCode = 125;
  });
  main
    .then((run) => run(process.argv.slice(2)))
    .then((code) => {
      settled = true;
      // `forge run` is over when its sandbox is gone (reaped, cgroup removed) and its
      // status written, all synchronously done: exiting now skips Node's teardown of
      // the environment (2-4 ms of a cold run here). Other commands end naturally, so
      // that nothing they still flush (the audit log) is cut short.
      if (process.argv[2] === "run") process.exit(code);
      process.exitCode = code;
    })
    .catch((e) => {
      // Not a command's failure (those are reported by main): forge itself is broken.
      settled = true;
      process.stderr.write(`${crashLine(e)}\n`);
      process.exitCode = 125;
    });
}
