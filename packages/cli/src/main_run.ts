// The entry of the `forge run` bundle (dist/bundle/run.js): the run command alone, so
// that a cold `forge run` loads and caches none of the other commands' code.
import { command } from "./cmd_run.ts";
import { runCommand } from "./run_command.ts";

/**
 * `forge run ...`: argv as for {@link main}, starting with "run".
 *
 * @example
 * ```ts
 * import { mainRun } from "@forge/cli";
 * process.exitCode = await mainRun(["run", "--", "/bin/echo", "hello"]);
 * ```
 */
export function mainRun(argv: string[]): Promise<number> {
  return runCommand(command, argv.slice(1));
}
