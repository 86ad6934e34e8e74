import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseDuration as parseSandboxDuration } from "@forge/sandbox/duration";
import { CliError } from "./cli_error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Splits `forge <cmd> [options] [--] COMMAND [ARGS...]` into the options and the
 * command: the command starts after `--` or at the first word that is neither an
 * option nor an option's value, so `forge run sh -c 'echo hi'` works too.
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
): {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  command: string[];
} {
  let end = argv.length;
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      end = i;
      rest = argv.slice(i + 1);
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      end = i;
      rest = argv.slice(i);
      break;
    }
    const name = a.startsWith("--") ? a.slice(2).split("=")[0]! : undefined;
    const opt =
      name !== undefined
        ? options[name]
        : Object.values(options).find((o) => o.short === a.slice(1, 2));
    if (opt?.type === "string" && !a.includes("=") && !(a.length > 2 && !a.startsWith("--"))) i++;
  }
  // No option words (`forge run -- CMD`): nothing for util.parseArgs to do, and its
  // first use costs a cold start ~1 ms. (No option here has a default value.)
  if (end === 0) return { values: Object.create(null), command: rest };
  try {
    const { values } = parseArgs({
      args: argv.slice(0, end),
      options,
      strict: true,
      allowPositionals: false,
    });
    return {
      values: values as Record<string, string | boolean | string[] | boolean[] | undefined>,
      command: rest,
    };
  } catch (e) {
    throw new CliError(
      (e as Error).message
        .replace(/^Unknown option/, "unknown option")
        .replace(/\. To specify a positional.*$/s, ""),
    );
  }
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
    throw new CliError(`${what}: expected a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`${what}: ${n} is out of range (${min} to ${max})`);
  return n;
}

/** Reads a repeatable string option as an array. */
export function many(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
