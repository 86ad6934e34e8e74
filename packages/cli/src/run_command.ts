import { oneLine } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";
import { HelpRequest } from "./help_request.ts";

/**
 * Runs one sub-command with its arguments: "--help" prints its help (first, or where
 * its options are read: a {@link HelpRequest}, with a sub-command's own help), a user
 * error becomes one line on stderr. Resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runCommand } from "@forge/cli";
 * const hello = { summary: "greet", help: "hello [NAME]", main: async (a: string[]) => (console.log(`hello ${a[0] ?? "world"}`), 0) };
 * process.exitCode = await runCommand(hello, ["forge"]);
 * ```
 */
export async function runCommand(command: Command, argv: string[]): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.main(argv);
  } catch (e) {
    if (e instanceof HelpRequest) {
      process.stdout.write(`${e.text ?? command.help}\n`);
      return 0;
    }
    return reportError(e);
  }
}

/**
 * Prints an error as one line ("forge: ...") and returns the exit code for it: a
 * CliError or another named error class (the user's to fix) with its message; anything
 * else is forge's own failure, "internal error" with exit 125, whose stack trace is
 * shown only when FORGE_DEBUG=1. A multi-line message (a profile's problems) keeps one
 * line per problem.
 *
 * @example
 * ```ts
 * import { CliError, reportError } from "@forge/cli";
 * process.exitCode = reportError(new CliError("--net: expected \"none\" or \"host\", got \"x\""));
 * ```
 */
export function reportError(e: unknown): number {
  const lines = (m: string) => m.split("\n").map(oneLine).join("\n");
  if (e instanceof CliError) {
    process.stderr.write(`forge: ${lines(e.message)}\n`);
    return e.exitCode;
  }
  const err = e as Error & { code?: string; exitCode?: number };
  if (
    err &&
    typeof err.message === "string" &&
    typeof err.name === "string" &&
    err.name.endsWith("Error") &&
    err.name !== "Error" &&
    err.name !== "TypeError" &&
    err.name !== "ReferenceError"
  ) {
    process.stderr.write(`forge: ${lines(err.message)}\n`);
    return typeof err.exitCode === "number" ? err.exitCode : 125;
  }
  process.stderr.write(`${internalError(e)}\n`);
  return 125;
}

/**
 * The line (the stack too with FORGE_DEBUG=1) for a failure of forge itself.
 *
 * @example
 * ```ts
 * import { internalError } from "@forge/cli";
 * internalError(new TypeError("x")); // "forge: internal error: TypeError: x (a bug in forge; FORGE_DEBUG=1 shows where)"
 * ```
 */
export function internalError(e: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const err = e as Error | undefined;
  if (env.FORGE_DEBUG === "1") return `forge: internal error: ${err?.stack ?? String(e)}`;
  const what =
    err instanceof Error ? `${err.name}: ${err.message}` : `thrown ${oneLine(String(e))}`;
  return `forge: internal error: ${oneLine(what)} (a bug in forge; FORGE_DEBUG=1 shows where)`;
}
