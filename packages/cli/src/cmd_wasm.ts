import { CliError, type Command } from "./cli_error.ts";

/** `forge wasm`: not built yet. */
export const command: Command = {
  summary: "wasm (not built yet)",
  help: "forge wasm: not built yet",
  async main(): Promise<number> {
    throw new CliError("forge wasm is not built yet", 2);
  },
};
