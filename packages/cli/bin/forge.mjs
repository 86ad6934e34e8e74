#!/usr/bin/env node
// The bundle (dist/bundle/forge.js) starts faster; dist/main.js is the same code unbundled.
let mod;
try {
  mod = await import("../dist/bundle/forge.js");
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  mod = await import("../dist/main.js");
}
process.exitCode = await mod.main(process.argv.slice(2));
