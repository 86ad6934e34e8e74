import { describe, expect, it } from "vitest";
import { parseCommandLine, parseDuration, parseInteger } from "./args.ts";
import { CliError } from "./cli_error.ts";

const OPTS = {
  memory: { type: "string" },
  env: { type: "string", multiple: true },
  "no-swap": { type: "boolean" },
  o: { type: "string", short: "o" },
} as const;

/** The CliError a command line gets, or undefined. */
function errorOf(argv: string[]): CliError | undefined {
  try {
    parseCommandLine(argv, OPTS);
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  return undefined;
}

describe("parseCommandLine", () => {
  it("says in one line what to write when a value starts with a dash (--memory -5M)", () => {
    const e = errorOf(["--memory", "-5M", "--", "true"]);
    expect(e?.exitCode).toBe(2);
    expect(e?.message).toBe(
      '--memory needs a value, and the next word "-5M" starts with "-"; if that is the value, write --memory=-5M',
    );
    expect(parseCommandLine(["--memory=-5M", "true"], OPTS).values.memory).toBe("-5M");
  });

  it("names the option and the fix for a missing value, a value given to a flag, an unknown option", () => {
    expect(errorOf(["--memory"])?.message).toBe(
      "--memory needs a value; write --memory VALUE or --memory=VALUE",
    );
    expect(errorOf(["--memory", "--", "true"])?.message).toMatch(
      /^--memory needs a value, and the next word "--" starts with "-"/,
    );
    expect(errorOf(["--no-swap=yes", "true"])?.message).toBe(
      '--no-swap takes no value; write --no-swap alone, not "--no-swap=yes"',
    );
    expect(errorOf(["--nope=1", "true"])?.message).toBe(
      "unknown option '--nope'; see --help for the options (a command that starts with \"-\" goes after --)",
    );
    expect(errorOf(["-x", "true"])?.message).toMatch(/^unknown option '-x'; /);
    // Names inherited from Object.prototype are not options.
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"])
      expect(errorOf([`--${name}`, "x", "true"])?.message).toMatch(/^unknown option /);
  });

  it("keeps every message on one line, whatever the input", () => {
    for (const argv of [["--a\nb"], ["--no-swap=\n"], ["--memory", "-\n"], ["-\n"]])
      expect(errorOf(argv)?.message).not.toMatch(/[\n\r]/);
  });

  it("parses long, inline, short and repeated options", () => {
    const r = parseCommandLine(
      ["--memory", "1M", "--env=A=1", "--env", "B=", "--no-swap", "-ofile", "--", "ls", "-l"],
      OPTS,
    );
    expect({ ...r.values }).toEqual({
      memory: "1M",
      env: ["A=1", "B="],
      "no-swap": true,
      o: "file",
    });
    expect(r.command).toEqual(["ls", "-l"]);
    expect(parseCommandLine(["-o", "x", "cmd"], OPTS).values.o).toBe("x");
    // "-" alone is a word (stdin, by convention), so a value or the command's start.
    expect(parseCommandLine(["--memory", "-", "cmd"], OPTS).values.memory).toBe("-");
    expect(parseCommandLine(["-", "x"], OPTS).command).toEqual(["-", "x"]);
    expect(parseCommandLine([], OPTS).command).toEqual([]);
  });
});

describe("parseDuration (command line)", () => {
  it("refuses a duration without a unit, saying which units to write", () => {
    expect(() => parseDuration("1", "--timeout")).toThrow(
      new CliError('--timeout: "1" has no unit; write 1s for seconds or 1ms for milliseconds'),
    );
  });

  it("takes durations past 2^31 ms (597h), and refuses what no timer can mean", () => {
    expect(parseDuration("597h", "--timeout")).toBe(597 * 3_600_000);
    expect(() => parseDuration(`${"9".repeat(400)}h`, "--timeout")).toThrow(
      /^--timeout: .* is too long \(at most 285616 years\); leave --timeout out for no timeout$/,
    );
    expect(() => parseDuration("0s", "--timeout")).toThrow(
      '--timeout: the duration must be more than zero, got "0s"',
    );
  });
});

describe("parseInteger", () => {
  it("shows the value in one line", () => {
    expect(() => parseInteger("1\n2", "--uid", 0, 10)).toThrow(
      '--uid: expected a whole number, got "1\\n2"',
    );
  });
});

describe("--help among the options", () => {
  it("throws a HelpRequest, unless the command declares it or it belongs to the command", async () => {
    const { HelpRequest } = await import("./help_request.ts");
    const opts = { json: { type: "boolean" } } as const;
    expect(() => parseCommandLine(["--json", "--help"], opts)).toThrow(HelpRequest);
    expect(() => parseCommandLine(["-h"], opts)).toThrow(HelpRequest);
    expect(parseCommandLine(["--", "--help"], opts).command).toEqual(["--help"]);
    expect(parseCommandLine(["ls", "--help"], opts).command).toEqual(["ls", "--help"]);
    const declared = { host: { type: "string", short: "h" } } as const;
    expect(parseCommandLine(["-h", "box"], declared).values.host).toBe("box");
  });
});
