import { parseDuration as parseSandboxDuration } from "@forge/sandbox/duration";
import { oneLine } from "@forge/sandbox/one_line";
import { CliError } from "./cli_error.ts";
import { HelpRequest } from "./help_request.ts";

/** One option a command accepts (the shape of node:util's parseArgs options). */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** A one-letter alias ("o" for -o). */
  readonly short?: string;
  /** Repeatable: the values come as an array. */
  readonly multiple?: boolean;
}

type Options = Readonly<Record<string, OptionSpec>>;
type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/**
 * A value as it appears in an error message: in double quotes, with control
 * characters (a newline...) escaped, so that the message stays one line.
 *
 * @example
 * ```ts
 * import { shown } from "@forge/cli";
 * shown("a\nb"); // "\"a\\nb\""
 * ```
 */
export function shown(text: string): string {
  return `"${oneLine(text).replaceAll('"', '\\"')}"`;
}

// One-line messages: the same rule as @forge/sandbox's (re-exported for the CLI's callers).
export { oneLine };

/**
 * Splits `forge <cmd> [options] [--] COMMAND [ARGS...]` into the options and the
 * command: the command starts after `--` or at the first word that is neither an
 * option nor an option's value, so `forge run sh -c 'echo hi'` works too.
 *
 * A string option takes the next word as its value (`--net host`) or the text after
 * `=` (`--net=host`). `--help` or `-h` among the options (unless declared) throws a
 * {@link HelpRequest}: the command's help, exit 0. A next word that starts with "-" is not taken: that is a
 * forgotten value more often than a value, and the error says to write
 * `--memory=-5M` when it is meant. Every error is a {@link CliError} (exit 2) whose
 * one-line message names the option and the fix.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "@forge/cli";
 * const { values, command } = parseCommandLine(["--net", "host", "--", "ls", "-l"], { net: { type: "string" } });
 * // values.net === "host", command = ["ls", "-l"]
 * ```
 */
export function parseCommandLine(
  argv: readonly string[],
  options: Options,
): { values: Values; command: string[] } {
  const values: Values = Object.create(null);
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const set = (name: string, o: OptionSpec, v: string | boolean) => {
    if (!o.multiple) values[name] = v;
    else if (Array.isArray(values[name])) (values[name] as (string | boolean)[]).push(v);
    else values[name] = [v] as string[] | boolean[];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return { values, command: argv.slice(i + 1) };
    if (!a.startsWith("-") || a === "-") return { values, command: argv.slice(i) };
    // Help among the options (not the command's: that starts at its first word).
    if ((a === "--help" && !Object.hasOwn(options, "help")) || (a === "-h" && !byShort.has("h")))
      throw new HelpRequest();
    const long = a.startsWith("--");
    const eq = long ? a.indexOf("=") : -1;
    const name = long ? a.slice(2, eq < 0 ? undefined : eq) : byShort.get(a.slice(1, 2));
    const o = name !== undefined && Object.hasOwn(options, name) ? options[name] : undefined;
    if (!o || name === undefined)
      throw new CliError(
        `unknown option '${shown(long && eq >= 0 ? a.slice(0, eq) : a).slice(1, -1)}'; see --help for the options (a command that starts with "-" goes after --)`,
      );
    const flag = long ? `--${name}` : `-${a.slice(1, 2)}`;
    // An inline value: --name=VALUE, or -oVALUE for a short option.
    const inline = long
      ? eq >= 0
        ? a.slice(eq + 1)
        : undefined
      : a.length > 2
        ? a.slice(2)
        : undefined;
    if (o.type === "boolean") {
      if (inline !== undefined)
        throw new CliError(`${flag} takes no value; write ${flag} alone, not ${shown(a)}`);
      set(name, o, true);
      continue;
    }
    if (inline !== undefined) {
      set(name, o, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined)
      throw new CliError(`${flag} needs a value; write ${flag} VALUE or ${flag}=VALUE`);
    if (next.startsWith("-") && next !== "-")
      throw new CliError(
        `${flag} needs a value, and the next word ${shown(next)} starts with "-"; if that is the value, write ${oneLine(next) === next ? `${flag}=${next}` : shown(`${flag}=${next}`)}`,
      );
    set(name, o, next);
    i++;
  }
  return { values, command: [] };
}

/**
 * Parses a duration such as `500ms`, `2s`, `1.5m` or `1h` (a bare number is seconds)
 * into milliseconds; a bad one is a usage error naming the option.
 *
 * @example
 * ```ts
 * import { parseDuration } from "@forge/cli";
 * parseDuration("1.5s", "--timeout"); // 1500
 * ```
 */
export function parseDuration(text: string, what: string): number {
  try {
    return parseSandboxDuration(text, what);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * Parses a whole number within bounds, naming the option in the error.
 *
 * @example
 * ```ts
 * import { parseInteger } from "@forge/cli";
 * parseInteger("1000", "--uid", 0, 2 ** 32 - 2); // 1000
 * ```
 */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()))
    throw new CliError(`${what}: expected a whole number, got ${shown(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`${what}: ${n} is out of range (${min} to ${max})`);
  return n;
}

/** Reads a repeatable string option as an array. */
export function many(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
