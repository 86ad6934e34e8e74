/// <reference types="node" preserve="true" />
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

export {
  many,
  type OptionSpec,
  oneLine,
  parseCommandLine,
  parseDuration,
  parseInteger,
  shown,
} from "./args.ts";
export { CliError, type Command } from "./cli_error.ts";
export { planRun } from "./cmd_run.ts";
export { asksForHelp, HelpRequest } from "./help_request.ts";
export { main } from "./main.ts";
export { mainRun } from "./main_run.ts";
export { internalError, reportError, runCommand } from "./run_command.ts";
