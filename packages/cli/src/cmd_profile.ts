import { CliError, type Command } from "./cli_error.ts";

/** `forge profile`: not built yet. */
export const command: Command = {
  summary: "profile (not built yet)",
  help: "forge profile: not built yet",
  async main(): Promise<number> {
    throw new CliError("forge profile is not built yet", 2);
  },
};
