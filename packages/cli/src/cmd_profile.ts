import { listProfiles, loadProfile, readProfileFile } from "@forge/sandbox/profile";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge profile: list, show and validate sandbox profiles

Usage:
  forge profile list              every profile reachable by name, and where it is
  forge profile show NAME|FILE    print a profile as JSON
  forge profile validate FILE...  check profiles; lists every problem with its JSON pointer

"forge run --profile NAME" looks in /etc/forge/profiles/NAME.json, then
./profiles/NAME.json, then the built-ins (default, minimal, python-safe, node-safe,
shell-readonly). A name with a "/" or ending in .json is a path.`;

/** `forge profile`. */
export const command: Command = {
  summary: "list, show and validate sandbox profiles",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "list": {
        if (rest.length) throw new CliError("forge profile list takes no arguments");
        for (const p of listProfiles())
          process.stdout.write(
            `${p.name.padEnd(16)} ${p.description}\n${"".padEnd(16)} ${p.file}\n`,
          );
        return 0;
      }
      case "show": {
        if (rest.length !== 1) throw new CliError("usage: forge profile show NAME|FILE");
        process.stdout.write(`${JSON.stringify(loadProfile(rest[0]!), null, 2)}\n`);
        return 0;
      }
      case "validate": {
        if (rest.length === 0) throw new CliError("usage: forge profile validate FILE...");
        let bad = 0;
        for (const f of rest) {
          try {
            readProfileFile(f);
            process.stdout.write(`${f}: ok\n`);
          } catch (e) {
            bad++;
            process.stderr.write(`${(e as Error).message}\n`);
          }
        }
        return bad ? 1 : 0;
      }
      default:
        throw new CliError(
          sub
            ? `unknown sub-command "forge profile ${sub}"; expected list, show or validate`
            : "usage: forge profile list|show NAME|validate FILE",
        );
    }
  },
};
