// `forge doctor`'s line about the default pids limit (issue 11, item 9): whether each
// sandbox's cgroup gets pids.max 1024 here, and the one-line fix when it does not.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as cgroups from "@forge/cgroups";
import { describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));
const isRoot = process.getuid?.() === 0;

function doctor(asNobody: boolean) {
  const argv = [process.execPath, bin, "doctor"];
  const r = asNobody
    ? spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", ...argv], {
        encoding: "utf8",
        cwd: "/",
        timeout: 30_000,
      })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: "/", timeout: 30_000 });
  expect(r.status).toBe(0);
  const lines = r.stdout.split("\n");
  const i = lines.findIndex((l) => / default pids /.test(l));
  return { line: lines[i] ?? "", next: lines[i + 1] ?? "" };
}

describe.skipIf(!built)("forge doctor: the default pids limit", () => {
  it("says whether it is in force, as this user", () => {
    const s = cgroups.defaultPidsStatus();
    const { line, next } = doctor(false);
    expect(line).toBe(`${s.inForce ? "ok  " : "WARN"} default pids     ${s.detail}`);
    if (s.fix) expect(next.trim()).toBe(`fix: ${s.fix}`);
  });

  it.skipIf(!isRoot || cgroups.pidsControllerOf(cgroups.detectCgroupLayout()) !== "v1")(
    "rootless on a v1 host: not in force, and how to get it, in one line",
    () => {
      const { line, next } = doctor(true);
      expect(line).toBe(
        `WARN default pids     not in force: uid 65534 may not create cgroups in the v1 pids hierarchy at ${cgroups.detectCgroupLayout().v1.pids!.mount}`,
      );
      expect(next.trim()).toMatch(
        /^fix: run forge as root \(cgroup v1 has no delegation to users\)/,
      );
    },
  );
});
