// Fuzzing `forge run`'s command line: in-process (option parsing, the profile, and the
// whole launch plan, nothing started), and a bounded handful through the real CLI. A
// crash is anything but a CliError with a one-line message and a documented exit code.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CliError } from "./cli_error.ts";
import { planRun } from "./cmd_run.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/bundle/run.js"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "forge-run-fuzz-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** forge run's exit codes for its own errors, as `forge run --help` documents them. */
const FORGE_CODES = [2, 124, 125, 126, 127];

const OPTIONS = [
  "profile",
  "bind",
  "tmpfs",
  "net",
  "hostname",
  "cwd",
  "uid",
  "gid",
  "id-map",
  "cap-add",
  "seccomp",
  "landlock",
  "rlimit",
  "env",
  "keep-env",
  "memory",
  "swap",
  "no-swap",
  "cpus",
  "pids",
  "io-max",
  "limits",
  "cgroup-parent",
  "timeout",
  "stop-timeout",
  "die-with-parent",
  "json-status",
  "nope",
];

/** Values that have broken parsers somewhere, and some that are valid. */
const VALUES = [
  "",
  "-5M",
  "1e309",
  "NaN",
  "0",
  "-1",
  "9".repeat(400),
  "1.5",
  "a b",
  "a\nb",
  "/usr/../etc",
  "/usr:/usr",
  "/usr:/x",
  "/etc:/x:ro",
  "/usr",
  "/proc",
  "/dev/null",
  "/tmp:64m",
  "/x:1g:100k",
  "/x:0",
  "/x:0:100",
  "/x::",
  "/",
  "/../x",
  "host",
  "none",
  "strict",
  "best-effort",
  "off",
  "clawos",
  "clawos,best-effort",
  "identity",
  "unprivileged",
  "SYS_ADMIN",
  "CAP_FOO",
  "NET_RAW",
  "nofile=1024",
  "nproc=1:2",
  "nofile=x",
  "core=2:1",
  "A=1",
  "=x",
  "__proto__=1",
  "constructor",
  "256M",
  "max",
  "0.001",
  "0.0001",
  "99",
  "8:0 rbps=1M",
  "/dev/null wbps=1",
  "597h",
  "1",
  "10s",
  "0ms",
  "0s",
  "default",
  "minimal",
  "docker-default",
  "unconfined",
  "./nope.json",
  "no-such",
  "4294967295",
  "4294967294",
  "\u00e9",
  "-",
  "--",
  "x".repeat(9000),
  "status.json",
  "dir/",
];

const word = fc.oneof(
  fc.constantFrom(...VALUES),
  fc.string({ maxLength: 12 }).filter((s) => !s.includes("\0")),
);
const option = fc
  .tuple(fc.constantFrom(...OPTIONS), word, fc.boolean())
  .map(([name, value, inline]) => (inline ? [`--${name}=${value}`] : [`--${name}`, value]));
const argvOf = (commands: string[][]) =>
  fc
    .tuple(fc.array(option, { maxLength: 6 }), fc.constantFrom(...commands))
    .map(([opts, cmd]) => [...opts.flat(), ...cmd]);

/** What a failure of forge run looks like: a CliError, one line, a documented code. */
function expectUserError(e: unknown, argv: string[]): void {
  if (!(e instanceof CliError)) throw e;
  // One line; a profile's problems (several) one line each, indented under a heading.
  const [first, ...more] = e.message.split("\n");
  expect(first, JSON.stringify(argv)).not.toMatch(/\r/);
  for (const line of more) expect(line, JSON.stringify(argv)).toMatch(/^ {2}\S[^\r]*$/);
  expect(e.message.length).toBeGreaterThan(0);
  expect(FORGE_CODES, JSON.stringify(argv)).toContain(e.exitCode);
}

describe("forge run argv (in-process: options, profile, plan; nothing started)", () => {
  it("never fails with anything but a one-line CliError", () => {
    fc.assert(
      fc.property(argvOf([["--", "/bin/true"], ["true"], ["sh", "-c", "exit 3"], []]), (argv) => {
        try {
          planRun(argv);
        } catch (e) {
          expectUserError(e, argv);
        }
      }),
    );
  });

  // Counterexamples the fuzzer found (and the issue's), fixed and kept.
  it.each([
    [["--memory", "-5M", "--", "true"], 2, /^--memory needs a value, and the next word "-5M"/],
    [["--memory=-5M", "--", "true"], 2, /^invalid --memory "-5M": expected a number of bytes/],
    [["--cwd", "--", "--cap-add", "off", "true"], 2, /^--cwd needs a value/],
    [["--rlimit=a\nb", "true"], 2, /^--rlimit: expected NAME=N or NAME=SOFT:HARD, got "a\\nb"$/],
    [["--cap-add", "a\nb", "true"], 2, /^unknown capability "a\\nb"/],
    [["--timeout", "1", "true"], 2, /^--timeout: "1" has no unit; write 1s/],
    [["--timeout", "9".repeat(400), "true"], 2, /has no unit/],
    [["--timeout", `${"9".repeat(400)}h`, "true"], 2, /is too long \(at most 285616 years\)/],
    [["--stop-timeout", "1", "true"], 2, /^--stop-timeout: "1" has no unit/],
    [["--json-status", "", "true"], 2, /^--json-status: "" is not a file name/],
    [
      ["--json-status", "/dev/null", "true"],
      2,
      /^--json-status \/dev\/null: it is a character device, not a file/,
    ],
    [["--tmpfs", "/x:0:100", "true"], 2, /^invalid tmpfs size in "\/x:0:100"/],
    [["--cwd", "relative", "true"], 2, /^cwd: expected an absolute path inside the sandbox/],
    [["--env", "=x", "true"], 2, /^--env: expected NAME=VALUE, got "=x"$/],
    [["--no-swap=1", "true"], 2, /^--no-swap takes no value/],
    [["--__proto__", "x", "true"], 2, /^unknown option '--__proto__'/],
    [["--hostname", "a b", "true"], 2, /^invalid hostname "a b"/],
    [
      ["--landlock", "a\nb", "true"],
      2,
      /^--landlock: expected "strict" or "best-effort" or "off", got "a\\nb"$/,
    ],
    [["--limits", "a\nb", "true"], 2, /^invalid --limits "a\\nb"/],
    [["--profile", "a\nb", "true"], 2, /^a\\nb: not a profile name/],
  ] as [string[], number, RegExp][])("%j → exit %i", (argv, code, message) => {
    let err: unknown;
    try {
      planRun(argv);
    } catch (e) {
      err = e;
    }
    expectUserError(err, argv);
    expect((err as CliError).exitCode).toBe(code);
    expect((err as CliError).message).toMatch(message);
  });

  it("accepts long timeouts and an environment variable named __proto__", () => {
    expect(planRun(["--timeout", "597h", "--stop-timeout", "0s", "--", "true"]).warnings).toEqual(
      [],
    );
    expect(() => planRun(["--env", "__proto__=1", "--", "true"])).not.toThrow();
  });
});

describe.skipIf(!built)("forge run argv (the real CLI, a bounded handful)", () => {
  it("exits with a documented code and at most one line of error, never a stack", () => {
    // Nothing that writes on the host outside `work`: --cgroup-parent (cgroups) and
    // --json-status (a file at any path: "/x:0" would land in /) are fuzzed in-process.
    const safe = OPTIONS.filter((o) => o !== "cgroup-parent" && o !== "json-status");
    const realOption = fc
      .tuple(fc.constantFrom(...safe), word, fc.boolean())
      .map(([name, value, inline]) => (inline ? [`--${name}=${value}`] : [`--${name}`, value]));
    const argv = fc
      .tuple(fc.array(realOption, { maxLength: 4 }), fc.constantFrom(["--", "sh", "-c", "exit 3"]))
      .map(([opts, cmd]) => [...opts.flat(), ...cmd]);
    fc.assert(
      fc.property(argv, (a) => {
        const r = spawnSync(process.execPath, [bin, "run", ...a], {
          encoding: "utf8",
          cwd: work,
          timeout: 5000,
          env: { ...process.env, FORGE_DEBUG: "" },
        });
        const where = JSON.stringify(a);
        expect(r.signal, where).toBeNull(); // not killed, not hung past 5 s
        expect([0, 3, ...FORGE_CODES], where).toContain(r.status);
        const lines = r.stderr.split("\n").filter(Boolean);
        for (const l of lines) expect(l, where).toMatch(/^forge: /);
        expect(r.stderr, where).not.toMatch(/\n\s+at |internal error/);
        expect(
          lines.filter((l) => !l.startsWith("forge: warning: ")).length,
          where,
        ).toBeLessThanOrEqual(1);
        if (r.status === 3 || r.status === 0)
          expect(
            lines.filter((l) => !l.startsWith("forge: warning: ")),
            where,
          ).toEqual([]);
      }),
      { numRuns: 16 },
    );
  });
});
