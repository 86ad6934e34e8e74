import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { verifyAuditChain } from "@forge/policy";
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

  it("inspect shows hostile names escaped on one line, and answers --help", () => {
    // A memory exported under a name that would retitle and recolour the terminal.
    const name = Buffer.from("\u001b]0;pwned\u0007\u001b[31mred\u202e\nx", "utf8");
    const bytes = Buffer.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...[0x05, 0x03, 0x01, 0x00, 0x01],
      ...[0x07, name.length + 4, 0x01, name.length, ...name, 0x02, 0x00],
    ]);
    const file = path.join(dir, "hostile.wasm");
    fs.writeFileSync(file, bytes);
    const r = forge(["wasm", "inspect", file]);
    expect(r.code).toBe(0);
    const raw = [...r.out].filter((c) => {
      const n = c.codePointAt(0)!;
      return (n < 0x20 && n !== 0x0a) || (n >= 0x7f && n <= 0x9f) || n === 0x202e;
    });
    expect(raw).toEqual([]);
    expect(r.out).toContain('"\\u001b]0;pwned\\u0007\\u001b[31mred\\u202e\\nx": memory');
    const h = forge(["wasm", "inspect", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Usage|usage/);
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

// A reactor for --invoke: functions of each parameter type, a loop, memory growth, a trap.
const LIBRARY = `
#include <stdlib.h>
__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }
__attribute__((export_name("add64"))) long long add64(long long a, long long b) { return a + b; }
__attribute__((export_name("half"))) double half(double x) { return x / 2; }
__attribute__((export_name("hello"))) void hello(void) {}
__attribute__((export_name("spin"))) int spin(void) { volatile unsigned x = 0; for (;;) x++; return 0; }
__attribute__((export_name("grow"))) int grow(int pages) { return __builtin_wasm_memory_grow(0, pages); }
__attribute__((export_name("boom"))) int boom(void) { abort(); }
__attribute__((export_name("quit"))) int quit(int code) { exit(code); }
`;

/** Exactly one line on stderr, starting "forge: " and matching `re`. */
function oneLineError(r: { err: string }, re: RegExp): void {
  const lines = r.err.trim().split("\n");
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^forge: /);
  expect(lines[0]).toMatch(re);
}

describe.skipIf(!built || !clang)("forge wasm run: --invoke, --policy, --audit and limits", () => {
  let dir = "";
  let mod = "";
  let lib = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cli-wasm-flags-"));
    fs.writeFileSync(path.join(dir, "prog.c"), PROGRAM);
    fs.writeFileSync(path.join(dir, "lib.c"), LIBRARY);
    mod = path.join(dir, "prog.wasm");
    lib = path.join(dir, "lib.wasm");
    const cc = ["--target=wasm32-wasi", "--sysroot=/usr", "-O1"];
    execFileSync("clang", [...cc, "-o", mod, path.join(dir, "prog.c")]);
    execFileSync("clang", [...cc, "-mexec-model=reactor", "-o", lib, path.join(dir, "lib.c")]);
    fs.mkdirSync(path.join(dir, "data"));
    fs.writeFileSync(path.join(dir, "data", "in.txt"), "from the host\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("calls a reactor's export with --invoke and prints its result", () => {
    expect(forge(["wasm", "run", "--invoke", "add", lib, "--", "2", "3"])).toMatchObject({
      code: 0,
      out: "5\n",
    });
    expect(forge(["wasm", "run", "--invoke=add", lib, "-2", "4294967295"]).out).toBe("-3\n");
    expect(
      forge(["wasm", "run", "--invoke", "add64", lib, "--", "9007199254740993", "-1"]).out,
    ).toBe("9007199254740992\n");
    expect(forge(["wasm", "run", "--invoke", "half", lib, "--", "5"]).out).toBe("2.5\n");
    expect(forge(["wasm", "run", "--invoke", "hello", lib])).toMatchObject({ code: 0, out: "" });
    expect(forge(["wasm", "run", "--invoke", "quit", lib, "--", "7"]).code).toBe(7);
    const trap = forge(["wasm", "run", "--invoke", "boom", lib]);
    expect(trap.code).toBe(134);
    oneLineError(trap, /lib: .*trap/);
    // a reactor run without --invoke says to use it
    oneLineError(forge(["wasm", "run", lib]), /it is a reactor.*--invoke NAME/);
  });

  it("refuses a bad --invoke in one line that names it", () => {
    const missing = forge(["wasm", "run", "--invoke", "nope", lib]);
    expect(missing.code).toBe(2);
    oneLineError(
      missing,
      /--invoke: .*lib\.wasm has no exported function "nope"; it exports .*"add"/,
    );
    const count = forge(["wasm", "run", "--invoke", "add", lib, "--", "1"]);
    expect(count.code).toBe(2);
    oneLineError(count, /--invoke add: the function takes 2 arguments \(i32, i32\), got 1/);
    oneLineError(
      forge(["wasm", "run", "--invoke", "add", lib, "--", "1", "x"]),
      /--invoke add: argument 2, "x", is not an i32: expected a whole number/,
    );
    oneLineError(
      forge(["wasm", "run", "--invoke", "add", lib, "--", "1", "4294967296"]),
      /--invoke add: argument 2, "4294967296", is out of the i32 range/,
    );
    oneLineError(
      forge(["wasm", "run", "--invoke", "half", lib, "--", "half"]),
      /--invoke half: argument 1, "half", is not an f64: expected a number/,
    );
    oneLineError(forge(["wasm", "run", "--invoke", lib]), /--invoke needs a value|no module given/);
    oneLineError(forge(["wasm", "run", "--invoke=", lib]), /--invoke: expected the name/);
  });

  it("applies --timeout, --fuel and --memory to an --invoke call", () => {
    const t = forge(["wasm", "run", "--timeout", "300ms", "--invoke", "spin", lib]);
    expect(t.code).toBe(124);
    oneLineError(t, /timeout of 300 ms/);
    const f = forge(["wasm", "run", "--fuel", "100000", "--invoke", "spin", lib]);
    expect(f.code).toBe(124);
    oneLineError(f, /fuel/);
    // 100 pages (6.25 MiB) more fit in 256M but not in 1M
    expect(forge(["wasm", "run", "--invoke", "grow", lib, "--", "100"]).out).toMatch(/^\d+\n$/);
    expect(forge(["wasm", "run", "--memory", "1M", "--invoke", "grow", lib, "--", "100"]).out).toBe(
      "-1\n",
    );
  });

  it("validates --timeout, --memory and --fuel in one line naming the flag and the form", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--timeout", "5"], /--timeout: "5" has no unit; write 5s .* or 5ms/],
      [["--timeout", "soon"], /--timeout: expected a duration such as 500ms, 10s/],
      [["--memory", "lots"], /--memory: expected a size such as 64M, 1G or 65536, got "lots"/],
      [["--memory", "1K"], /--memory: 1K is below one WebAssembly page/],
      [["--memory", "8G"], /--memory: 8G is above the 4G/],
      [["--fuel", "1.5"], /--fuel: expected a whole number, got "1.5"/],
      [["--fuel", "0"], /--fuel: 0 is out of range \(1 to/],
      [["--fuel", "-3"], /--fuel needs a value.*--fuel=-3/],
      [["--timeout="], /--timeout: expected a duration such as 500ms/],
    ];
    for (const [flags, re] of cases) {
      const r = forge(["wasm", "run", ...flags, mod]);
      expect(r.code, flags.join(" ")).toBe(2);
      oneLineError(r, re);
    }
  });

  it("documents every run option in its help", () => {
    const r = forge(["wasm", "run", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--invoke NAME",
      "--policy FILE",
      "--identity ID",
      "--audit FILE",
      "--timeout DURATION",
      "--memory SIZE",
      "--fuel N",
    ])
      expect(r.out).toContain(flag);
  });

  it("checks calls against --policy as --identity and writes a verifiable --audit log", () => {
    const policy = path.join(dir, "policy.json");
    fs.writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        identities: [
          {
            id: "prog",
            trustLevel: "Standard",
            capabilities: {
              syscalls: ["*"],
              resources: ["args", "env", "fd:*", "clock:*", "proc", "/data/in.txt"],
            },
          },
        ],
      }),
    );
    const log = path.join(dir, "audit.jsonl");
    // the directory is writable, but the policy grants only /data/in.txt
    const r = forge([
      "wasm",
      "run",
      "--dir",
      `${path.join(dir, "data")}:/data`,
      "--policy",
      policy,
      "--identity",
      "prog",
      "--audit",
      log,
      mod,
      "--",
      "x",
    ]);
    expect(r.code).toBe(3);
    expect(r.out).toBe("argv0=prog x\nA=(unset)\nread=from the host\nwrite=refused\n");
    expect(fs.existsSync(path.join(dir, "data", "out.txt"))).toBe(false);
    const text = fs.readFileSync(log, "utf8");
    expect(verifyAuditChain(text)).toMatchObject({ ok: true });
    const events = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).event);
    expect(events[0]).toMatchObject({ kind: "wasm.load", subject: "prog" });
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: "decision",
        subject: "prog",
        action: "path_open",
        resource: "/data/out.txt",
        effect: "deny",
      }),
    );
    expect(events).toContainEqual(expect.objectContaining({ kind: "wasm.exit", exitCode: 3 }));
    // tampering shows
    fs.writeFileSync(log, text.replace('"exitCode":3', '"exitCode":0'));
    expect(verifyAuditChain(fs.readFileSync(log, "utf8")).ok).toBe(false);
  });

  it("writes --audit without --policy too, continuing a log already there", () => {
    const log = path.join(dir, "plain.jsonl");
    expect(forge(["wasm", "run", "--audit", log, mod]).code).toBe(3);
    const first = fs.readFileSync(log, "utf8").trim().split("\n").length;
    expect(forge(["wasm", "run", "--audit", log, "--invoke", "add", lib, "--", "1", "1"]).out).toBe(
      "2\n",
    );
    const text = fs.readFileSync(log, "utf8");
    expect(text.trim().split("\n").length).toBeGreaterThan(first);
    expect(verifyAuditChain(text).ok).toBe(true);
  });

  it("refuses bad --policy, --identity and --audit in one line that names the flag", () => {
    const good = path.join(dir, "good.json");
    fs.writeFileSync(
      good,
      JSON.stringify({ version: 1, identities: [{ id: "a", trustLevel: "Limited" }] }),
    );
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ version: 1, rules: [{ id: "r", decision: "maybe" }] }));
    const cases: Array<[string[], RegExp]> = [
      [["--policy", good], /--policy needs --identity ID/],
      [["--identity", "a"], /--identity needs --policy FILE/],
      [
        ["--policy", path.join(dir, "none.json"), "--identity", "a"],
        /--policy: cannot read .*none\.json/,
      ],
      [
        ["--policy", bad, "--identity", "a"],
        /--policy: .*bad\.json: \/rules\/0\/decision must be one of/,
      ],
      [
        ["--policy", good, "--identity", "b"],
        /--identity: "b" is not an identity of .*; it defines "a"/,
      ],
      [["--audit", path.join(dir, "no", "such", "dir.jsonl")], /--audit: .*dir\.jsonl/],
    ];
    for (const [flags, re] of cases) {
      const r = forge(["wasm", "run", ...flags, mod]);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.out).toBe("");
      oneLineError(r, re);
    }
  });
});
