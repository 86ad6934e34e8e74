import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCommandLine, parseDuration, parseInteger } from "./args.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");

function forge(args: string[], opts: { asNobody?: boolean; input?: string } = {}) {
  const cmd = opts.asNobody ? "setpriv" : process.execPath;
  const argv = opts.asNobody
    ? ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, bin, ...args]
    : [bin, ...args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", input: opts.input ?? "", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("argument parsing", () => {
  it("finds the command after -- or at the first word", () => {
    const opts = { net: { type: "string" }, env: { type: "string", multiple: true } } as const;
    expect(parseCommandLine(["--net", "host", "--", "ls", "-l"], opts)).toEqual({
      values: { net: "host" },
      command: ["ls", "-l"],
    });
    expect(parseCommandLine(["--env=A=1", "sh", "-c", "x"], opts).command).toEqual([
      "sh",
      "-c",
      "x",
    ]);
    expect(() => parseCommandLine(["--nope", "--", "ls"], opts)).toThrow(/unknown option '--nope'/);
    // No option words at all: no options, the whole command.
    const bare = parseCommandLine(["--", "ls", "--net"], opts);
    expect({ ...bare.values }).toEqual({});
    expect(bare.command).toEqual(["ls", "--net"]);
    expect(parseCommandLine(["ls", "-l"], opts).command).toEqual(["ls", "-l"]);
  });

  it("parses durations and integers with errors that name the option", () => {
    expect(parseDuration("250ms", "--timeout")).toBe(250);
    // A bare number is refused (seconds or milliseconds?), with both spellings as the fix.
    expect(() => parseDuration("2", "--timeout")).toThrow(
      '--timeout: "2" has no unit; write 2s for seconds or 2ms for milliseconds',
    );
    expect(parseDuration("1.5m", "--timeout")).toBe(90_000);
    expect(() => parseDuration("soon", "--timeout")).toThrow(
      '--timeout: expected a duration such as 500ms, 10s, 2m or 1h, got "soon"',
    );
    expect(() => parseInteger("-1", "--uid", 0, 10)).toThrow(
      '--uid: expected a whole number, got "-1"',
    );
    expect(() => parseInteger("11", "--uid", 0, 10)).toThrow("--uid: 11 is out of range (0 to 10)");
  });
});

describe.skipIf(!fs.existsSync(path.resolve(bin, "../../dist/main.js")))(
  "forge (built CLI)",
  () => {
    it("prints hello from inside the namespaces", () => {
      const r = forge(["run", "--", "/bin/echo", "hello"]);
      expect(r).toMatchObject({ code: 0, out: "hello\n", err: "" });
    });

    it("exits with the command's code, 128+N for a signal", () => {
      expect(forge(["run", "--", "sh", "-c", "exit 42"]).code).toBe(42);
      expect(forge(["run", "--", "sh", "-c", "kill -TERM $$"]).code).toBe(143);
    });

    it("gives one line, not a stack trace, for user errors", () => {
      const nf = forge(["run", "--", "no-such-command-xyz"]);
      expect(nf.code).toBe(127);
      expect(nf.err).toMatch(/^forge: command not found: no-such-command-xyz \(searched .*\)\n$/);
      const bad = forge(["run", "--net", "maybe", "--", "true"]);
      expect(bad).toMatchObject({
        code: 2,
        err: 'forge: --net: expected "none" or "host", got "maybe"\n',
      });
      expect(forge(["run"]).err).toMatch(/^forge: no command given/);
      expect(forge(["frobnicate"])).toMatchObject({
        code: 2,
        err: 'forge: unknown command "frobnicate"; run "forge --help" for the list\n',
      });
    });

    it("has help for every command", () => {
      for (const c of ["run", "doctor"]) {
        const r = forge([c, "--help"]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`^forge ${c}: `));
      }
      expect(forge(["--help"]).out).toMatch(/Commands:/);
    });

    it("keeps the environment clean and applies --env and --keep-env", () => {
      const r = forge(["run", "--env", "A=1", "--keep-env", "HOME", "--", "/usr/bin/env"]);
      const keys = r.out
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0])
        .sort();
      expect(keys).toEqual(
        [
          "A",
          "HOME",
          "PATH",
          ...(process.env.LANG ? ["LANG"] : []),
          ...(process.env.TERM ? ["TERM"] : []),
        ].sort(),
      );
    });

    it("compiles a seccomp filter when none was precompiled for the case (--cap-add, a profile file)", () => {
      // The forge run bundle loads the seccomp compiler (dist/bundle/seccomp.cjs) only here.
      const kept = forge([
        "run",
        "--cap-add",
        "NET_BIND_SERVICE",
        "--",
        "/bin/sh",
        "-c",
        "grep CapBnd /proc/self/status",
      ]);
      expect(kept).toMatchObject({ code: 0, out: "CapBnd:\t0000000000000400\n" });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-seccomp-file-"));
      try {
        const file = path.join(dir, "deny-uname.json");
        fs.writeFileSync(
          file,
          JSON.stringify({
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{ names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
          }),
        );
        const denied = forge(["run", "--seccomp", file, "--", "/bin/uname"]);
        expect(denied.code).not.toBe(0);
        expect(forge(["run", "--", "/bin/uname"])).toMatchObject({ code: 0, out: "Linux\n" });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it.skipIf(process.getuid?.() !== 0)(
      "sets cgroup limits (the forge run bundle loads the cgroup code only then)",
      () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-limits-"));
        try {
          const status = path.join(dir, "status.json");
          const r = forge(["run", "--pids", "32", "--json-status", status, "--", "/bin/true"]);
          expect(r).toMatchObject({ code: 0, err: "" });
          expect(JSON.parse(fs.readFileSync(status, "utf8"))).toMatchObject({
            reason: "exit",
            exitCode: 0,
            limits: { pids: 32 },
          });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    );

    it("kills the sandbox on --timeout and records why in --json-status", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cli-"));
      try {
        const file = path.join(dir, "status.json");
        const r = forge(["run", "--timeout", "200ms", "--json-status", file, "--", "sleep", "30"]);
        expect(r.code).toBe(124);
        expect(r.err).toBe("forge: timed out after 200ms; the sandbox was killed\n");
        expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({
          reason: "timeout",
          signal: "SIGKILL",
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it.skipIf(process.getuid?.() !== 0)("runs rootless as an unprivileged user", () => {
      const r = forge(["run", "--", "/bin/sh", "-c", "echo hello; id -u; cat /proc/self/uid_map"], {
        asNobody: true,
      });
      expect(r.code).toBe(0);
      const [hello, uid, map] = r.out.trim().split("\n");
      expect(hello).toBe("hello");
      expect(uid).toBe("0");
      expect(map!.trim().split(/\s+/)).toEqual(["0", "65534", "1"]);
      const self = forge(["run", "--uid", "65534", "--gid", "65534", "--", "id", "-u"], {
        asNobody: true,
      });
      expect(self.out).toBe("65534\n");
    });

    it("reports the kernel's offer as JSON", () => {
      const r = forge(["doctor", "--json"]);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.seccomp.actions).toContain("allow");
      expect(j.userNamespaces.ok).toBe(true);
    });
  },
);

/**
 * The commands `forge --help` lists, each with the sub-commands its own help's usage
 * lines name (`forge profile show ...` → "show").
 */
function commandTree(): { command: string; subs: string[] }[] {
  const top = forge(["--help"]).out;
  const section = top.split(/^Commands:\n/m)[1]?.split("\n\n")[0] ?? "";
  const commands = section
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter(Boolean);
  return commands.map((command) => {
    const help = forge([command, "--help"]).out;
    const subs = [...help.matchAll(new RegExp(`^\\s*forge ${command} ([a-z][a-z-]*)\\b`, "gm"))];
    return { command, subs: [...new Set(subs.map((m) => m[1]!))] };
  });
}

describe.skipIf(!fs.existsSync(path.resolve(bin, "../../dist/main.js")))(
  "forge: --help everywhere (every command and sub-command forge --help lists)",
  () => {
    const tree = fs.existsSync(path.resolve(bin, "../../dist/main.js")) ? commandTree() : [];
    // seccomp and wasm belong to other work in progress: listed here so that they are
    // held to the same rule once it lands.
    const owner = (c: string) =>
      c === "seccomp" || c === "wasm" ? ` (expected to pass once the ${c} work lands)` : "";
    const cases: [string, string[]][] = [];
    for (const { command, subs } of tree) {
      cases.push([`forge ${command} --help${owner(command)}`, [command, "--help"]]);
      cases.push([`forge help ${command}${owner(command)}`, ["help", command]]);
      for (const sub of subs) {
        cases.push([`forge ${command} ${sub} --help${owner(command)}`, [command, sub, "--help"]]);
        cases.push([`forge ${command} ${sub} -h${owner(command)}`, [command, sub, "-h"]]);
      }
    }
    // --help after other options.
    cases.push(["forge doctor --json --help", ["doctor", "--json", "--help"]]);
    cases.push(["forge run --net none --help", ["run", "--net", "none", "--help"]]);

    it("finds every command and their sub-commands", () => {
      expect(tree.map((t) => t.command)).toEqual(["run", "doctor", "seccomp", "profile", "wasm"]);
      expect(tree.find((t) => t.command === "profile")?.subs).toEqual(["list", "show", "validate"]);
      expect(tree.find((t) => t.command === "wasm")?.subs).toEqual(["run", "inspect"]);
      expect(tree.find((t) => t.command === "seccomp")?.subs.length).toBeGreaterThan(3);
    });

    it.each(cases)("%s: its usage on stdout, exit 0, nothing on stderr", (_name, args) => {
      const r = forge(args);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage:/m);
    });

    it("forge help COMMAND prints that command's help; an unknown one is one line, exit 2", () => {
      expect(forge(["help", "run"]).out).toBe(forge(["run", "--help"]).out);
      expect(forge(["help"])).toMatchObject({ code: 0, err: "" });
      expect(forge(["help", "nope"])).toMatchObject({
        code: 2,
        out: "",
        err: 'forge: unknown command "nope"; run "forge --help" for the list\n',
      });
    });

    it("a --help that belongs to the sandboxed command is passed on", () => {
      const r = forge(["run", "--", "/bin/sh", "-c", 'echo "$1"', "sh", "--help"]);
      expect(r).toMatchObject({ code: 0, out: "--help\n", err: "" });
      const bare = forge(["run", "/bin/sh", "-c", 'echo "$1"', "sh", "--help"]);
      expect(bare).toMatchObject({ code: 0, out: "--help\n", err: "" });
    });
  },
);
