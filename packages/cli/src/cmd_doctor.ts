import { CliError, type Command } from "./cli_error.ts";

/** `forge doctor`: not built yet. */
export const command: Command = {
  summary: "doctor (not built yet)",
  help: "forge doctor: not built yet",
  async main(): Promise<number> {
    throw new CliError("forge doctor is not built yet", 2);
  },
};
