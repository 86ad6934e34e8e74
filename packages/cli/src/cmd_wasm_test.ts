import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));
let clang = true;
try {
  execFileSync("clang", ["--version"], { stdio: "ignore" });
} catch {
  clang = false;
}

const PROGRAM = `
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  printf("argv0=%s", argv[0]);
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf("\\nA=%s\\n", getenv("A") ? getenv("A") : "(unset)");
  FILE *f = fopen("/data/in.txt", "r");
  char line[64] = "";
  if (f && fgets(line, sizeof line, f)) printf("read=%s", line);
  FILE *w = fopen("/data/out.txt", "w");
  printf("write=%s\\n", w ? "allowed" : "refused");
  if (argc > 1 && argv[1][0] == 'l') for (;;) {}
  return 3;
}`;

function forge(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!built || !clang)("forge wasm (built CLI, clang for wasm32-wasi)", () => {
  let dir = "";
  let mod = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cli-wasm-"));
    fs.writeFileSync(path.join(dir, "prog.c"), PROGRAM);
    mod = path.join(dir, "prog.wasm");
    execFileSync("clang", [
      "--target=wasm32-wasi",
      "--sysroot=/usr",
      "-O1",
      "-o",
      mod,
      path.join(dir, "prog.c"),
    ]);
    fs.mkdirSync(path.join(dir, "data"));
    fs.writeFileSync(path.join(dir, "data", "in.txt"), "from the host\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs _start with argv, env and a read-only preopen, and exits with the module's code", () => {
    const r = forge([
      "wasm",
      "run",
      "--dir",
      `${path.join(dir, "data")}:/data:ro`,
      "--env",
      "A=1",
      mod,
      "--",
      "x",
      "y",
    ]);
    expect(r.code).toBe(3);
    expect(r.out).toBe("argv0=prog x y\nA=1\nread=from the host\nwrite=refused\n");
    expect(fs.existsSync(path.join(dir, "data", "out.txt"))).toBe(false);
  });

  it("lets a read-write preopen be written", () => {
    const r = forge(["wasm", "run", "--dir", `${path.join(dir, "data")}:/data`, mod]);
    expect(r.out).toContain("write=allowed");
    expect(fs.existsSync(path.join(dir, "data", "out.txt"))).toBe(true);
  });

  it("stops an infinite loop at --timeout (exit 124) and at --fuel", () => {
    const t = forge(["wasm", "run", "--timeout", "300ms", mod, "--", "loop"]);
    expect(t.code).toBe(124);
    expect(t.err).toMatch(/^forge: .*time/m);
    const f = forge(["wasm", "run", "--fuel", "100000", mod, "--", "loop"]);
    expect(f.code).toBe(124);
    expect(f.err).toMatch(/fuel/);
  });

  it("inspects a module", () => {
    const r = forge(["wasm", "inspect", mod]);
    expect(r.code).toBe(0);
    const sha = execFileSync("sha256sum", [mod], { encoding: "utf8" }).split(" ")[0];
    expect(r.out).toContain(sha!);
    expect(r.out).toMatch(/imports \(\d+\):/);
    expect(r.out).toContain("wasi_snapshot_preview1");
  });

  it("says in one line that a reactor has no _start, with the functions it exports (exit 125)", () => {
    const src = path.join(dir, "lib.c");
    fs.writeFileSync(
      src,
      '__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }\n' +
        '__attribute__((export_name("twice"))) int twice(int a) { return 2 * a; }\n',
    );
    const lib = path.join(dir, "lib.wasm");
    execFileSync("clang", [
      "--target=wasm32-wasi",
      "--sysroot=/usr",
      "-mexec-model=reactor",
      "-O1",
      "-o",
      lib,
      src,
    ]);
    const r = forge(["wasm", "run", lib]);
    expect(r.code).toBe(125);
    expect(r.out).toBe("");
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^forge: .*lib\.wasm has no _start export: it is a reactor/);
    const shape = JSON.parse(forge(["wasm", "inspect", "--json", lib]).out) as {
      exports: Array<{ name: string; kind: string }>;
    };
    const fns = shape.exports.filter((e) => e.kind === "function" && e.name !== "_initialize");
    expect(fns.length).toBeGreaterThan(0);
    for (const f of fns) expect(r.err).toContain(JSON.stringify(f.name));
  });

  it("says what is wrong with bad input, in one line", () => {
    const missing = forge(["wasm", "run", path.join(dir, "nope.wasm")]);
    expect(missing.code).not.toBe(0);
    expect(missing.err.trim().split("\n")).toHaveLength(1);
    expect(missing.err).toMatch(/^forge: .*nope\.wasm/);
    fs.writeFileSync(path.join(dir, "bad.wasm"), "not wasm");
    const bad = forge(["wasm", "inspect", path.join(dir, "bad.wasm")]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/^forge: /);
    expect(forge(["wasm", "run", "--dir", "relative-no-colon", mod]).err).toMatch(/^forge: --dir/);
  });
});
