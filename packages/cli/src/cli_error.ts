/**
 * An error the user can fix: printed as one line ("forge: ..."), no stack trace.
 *
 * @example
 * ```ts
 * import { CliError } from "@forge/cli";
 * throw new CliError("--memory: expected a size such as 256M, got \"lots\"", 2);
 * ```
 */
export class CliError extends Error {
  override name = "CliError";
  /** The exit code to use (2 for usage errors by convention). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** One `forge` sub-command group. */
export interface Command {
  /** One line for `forge --help`. */
  readonly summary: string;
  /** The full help text. */
  readonly help: string;
  /** Runs the command; resolves to the process exit code. */
  main(argv: string[]): Promise<number>;
}
