/**
 * @forge/cli: the `forge` command, a thin shell over @forge/sandbox.
 *
 * @example
 * ```ts
 * import { main } from "@forge/cli";
 * process.exitCode = await main(["doctor", "--json"]);
 * ```
 *
 * @module
 */

export { many, parseCommandLine, parseDuration, parseInteger } from "./args.ts";
export { CliError, type Command } from "./cli_error.ts";
export { main } from "./main.ts";
export { mainRun } from "./main_run.ts";
export { reportError, runCommand } from "./run_command.ts";
