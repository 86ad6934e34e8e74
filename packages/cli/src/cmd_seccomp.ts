import { CliError, type Command } from "./cli_error.ts";

/** `forge seccomp`: not built yet. */
export const command: Command = {
  summary: "seccomp (not built yet)",
  help: "forge seccomp: not built yet",
  async main(): Promise<number> {
    throw new CliError("forge seccomp is not built yet", 2);
  },
};
