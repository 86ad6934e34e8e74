/**
 * `--help` (or `-h`) where a command reads its options: not an error, but the end of
 * the command. {@link runCommand} prints `text` (or the command's own help) on stdout
 * and exits 0, wherever among the options it was given.
 *
 * @example
 * ```ts
 * import { HelpRequest } from "@forge/cli";
 * if (argv.includes("--help")) throw new HelpRequest("Usage: forge profile show NAME|PATH");
 * ```
 */
export class HelpRequest extends Error {
  override name = "HelpRequest";
  /** The help to print; undefined: the command's own. */
  readonly text: string | undefined;
  constructor(text?: string) {
    super("help requested");
    this.text = text;
  }
}

/**
 * Whether `argv` asks for help before any `--`: a word `--help` or `-h`.
 *
 * @example
 * ```ts
 * import { asksForHelp } from "@forge/cli";
 * asksForHelp(["show", "default", "--help"]); // true
 * asksForHelp(["--", "--help"]); // false
 * ```
 */
export function asksForHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}
