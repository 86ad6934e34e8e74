import { CliError, type Command } from "./cli_error.ts";

/**
 * Runs one sub-command with its arguments: "--help" prints its help, a user error
 * becomes one line on stderr. Resolves to the exit code.
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
    return reportError(e);
  }
}

/** Prints an error as one line ("forge: ...") and returns the exit code for it. */
export function reportError(e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`forge: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error & { code?: string; exitCode?: number };
  if (
    err &&
    typeof err.message === "string" &&
    (err.name?.endsWith("Error") ?? false) &&
    err.name !== "Error" &&
    err.name !== "TypeError" &&
    err.name !== "ReferenceError"
  ) {
    process.stderr.write(`forge: ${err.message}\n`);
    return typeof err.exitCode === "number" ? err.exitCode : 125;
  }
  process.stderr.write(`forge: internal error: ${err?.stack ?? String(e)}\n`);
  return 125;
}
