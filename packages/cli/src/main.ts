import type { Command } from "./cli_error.ts";
import { reportError, runCommand } from "./run_command.ts";

// Loaded on demand so that `forge run` does not pay for the WebAssembly host or the
// seccomp compiler's schema when it does not use them.
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  run: () => import("./cmd_run.ts"),
  doctor: () => import("./cmd_doctor.ts"),
  seccomp: () => import("./cmd_seccomp.ts"),
  profile: () => import("./cmd_profile.ts"),
  wasm: () => import("./cmd_wasm.ts"),
};

const USAGE = `forge: sandbox untrusted code on Linux

Usage: forge <command> [options]

Commands:
  run       run a command in a sandbox         (forge run -- /bin/echo hello)
  doctor    report what this kernel offers     (forge doctor [--json])
  seccomp   compile, simulate and check seccomp profiles
  profile   list, show and validate sandbox profiles
  wasm      run and inspect WebAssembly modules

Run "forge <command> --help" (or "forge help <command>") for a command's options.`;

/**
 * The `forge` command: dispatches to a sub-command and turns user errors into one
 * line on stderr. Resolves to the exit code.
 *
 * @example
 * ```ts
 * import { main } from "@forge/cli";
 * process.exitCode = await main(["run", "--", "/bin/echo", "hello"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // "forge help COMMAND [SUB]" is "forge COMMAND [SUB] --help".
  if (name === "help" && rest.length) return main([...rest, "--help"]);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write("forge 0.1.0\n");
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`forge: unknown command "${name}"; run "forge --help" for the list\n`);
    return 2;
  }
  let command: Command;
  try {
    ({ command } = await load());
  } catch (e) {
    return reportError(e);
  }
  return runCommand(command, rest);
}
