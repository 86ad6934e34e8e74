import { CliError, type Command } from "./cli_error.ts";

/** `forge run`: not built yet. */
export const command: Command = {
  summary: "run (not built yet)",
  help: "forge run: not built yet",
  async main(): Promise<number> {
    throw new CliError("forge run is not built yet", 2);
  },
};
