// Runs every benchmark (bench/<name>/run.mjs) one after the other.
// Run: npm run bench   (or: node bench/run_all.mjs spawn seccomp)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const names = fs
  .readdirSync(here)
  .filter((d) => fs.existsSync(path.join(here, d, "run.mjs")))
  .filter((d) => only.length === 0 || only.includes(d))
  .sort();
let failed = 0;
for (const name of names) {
  const r = spawnSync(process.execPath, [path.join(here, name, "run.mjs")], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;
