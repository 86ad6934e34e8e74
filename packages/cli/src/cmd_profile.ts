import os from "node:os";
import {
  findProfile,
  listProfiles,
  readProfileFile,
  SYSTEM_PROFILE_DIR,
} from "@forge/sandbox/profile";
import { checkSandbox } from "@forge/sandbox/sandbox";
import { oneLine } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";
import { asksForHelp, HelpRequest } from "./help_request.ts";

const HELP = `forge profile: list, show and validate sandbox profiles

Usage:
  forge profile list              the search path, and every profile reachable by name
  forge profile show NAME|PATH    print a profile as JSON (where it came from: on stderr)
  forge profile validate FILE...  check profiles: every problem in the document with
                                  its JSON pointer, then, for a valid one, the launch
                                  plan forge run would make of it on this host (bind
                                  sources, a seccomp file...), without starting anything:
                                  ok here means forge run --profile FILE can start it
                                  (cgroup limits aside: see forge doctor). Exit 1 if any
                                  file is not ok.

A NAME ("forge run --profile NAME", and "default" when no --profile is given) is
looked up, first match winning, in:
  1. ${SYSTEM_PROFILE_DIR}/NAME.json: the file and every directory on the way must
     be owned by root and not group- or other-writable;
  2. rootless only: $XDG_CONFIG_HOME/forge/profiles/NAME.json (default
     ~/.config/forge/profiles), owned by you or root, same mode rule;
  3. the built-ins: default, minimal, python-safe, node-safe, shell-readonly.
A candidate that breaks the rule is refused with the reason and the fix (chown,
chmod), never skipped. The working directory is never searched: a file is loaded
only when given as a path (anything with a "/": ./mine.json, /srv/p.json).`;

/** Each sub-command's own help (`forge profile SUB --help`). */
const SUB_HELP: Readonly<Record<string, string>> = {
  list: `forge profile list: the search path for profile names, and every profile on it

Usage: forge profile list

Prints each directory searched for "--profile NAME" (first match wins) with the rule
its files must pass and whether it is there, then every profile reachable by name with
its description and file; a refused one with the reason and the fix.`,
  show: `forge profile show: print a profile as JSON

Usage: forge profile show NAME|PATH

NAME is looked up as "forge run --profile NAME" looks it up (see "forge profile
--help"); anything with a "/" is a file (./mine.json). The profile goes to stdout,
where it came from to stderr.`,
  validate: `forge profile validate: check profile files

Usage: forge profile validate FILE...

Lists every problem in each document with its JSON pointer; for a valid one, builds
the launch plan forge run would make of it on this host (bind sources, a seccomp
file...) without starting anything, and says "FILE: ok" when forge run --profile FILE
can start it (cgroup limits aside: see forge doctor). Exit 1 if any file is not ok. A
file named like an option is given as a path: ./--help.`,
};

/** `forge profile`. */
export const command: Command = {
  summary: "list, show and validate sandbox profiles",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub !== undefined && Object.hasOwn(SUB_HELP, sub) && asksForHelp(rest))
      throw new HelpRequest(SUB_HELP[sub]);
    switch (sub) {
      case "list": {
        if (rest.length) throw new CliError("forge profile list takes no arguments");
        const { dirs, profiles } = listProfiles();
        const home = os.homedir();
        const show = (d: string) =>
          home && home !== "/" && d.startsWith(`${home}/`) ? `~${d.slice(home.length)}` : d;
        let out =
          "Search path for profile names (first match wins; a file needs a path, e.g. ./x.json):\n";
        for (const d of dirs) {
          const rule =
            d.kind === "system"
              ? "root-owned, not group/other-writable"
              : d.kind === "user"
                ? "yours or root's, not group/other-writable"
                : "shipped with Forge";
          const state =
            d.state === "refused"
              ? `REFUSED: ${d.error}`
              : d.state === "absent"
                ? "not present"
                : "";
          out += `  ${d.kind.padEnd(9)} ${show(d.dir)}  (${rule})${state ? `: ${state}` : ""}\n`;
        }
        out += "\n";
        for (const p of profiles) {
          out += `${p.name.padEnd(16)} ${p.error ? `REFUSED: ${p.error}` : p.description}\n`;
          out += `${"".padEnd(16)} ${p.kind === "built-in" ? "built-in" : p.kind}: ${show(p.file)}\n`;
        }
        process.stdout.write(out);
        return 0;
      }
      case "show": {
        if (rest.length !== 1) throw new CliError("usage: forge profile show NAME|PATH");
        let found: ReturnType<typeof findProfile>;
        try {
          found = findProfile(rest[0]!);
        } catch (e) {
          if ((e as Error).name === "ProfileError") throw new CliError((e as Error).message);
          throw e;
        }
        // stdout stays the profile's JSON alone; where it came from goes to stderr.
        process.stderr.write(
          `forge: profile "${found.profile.name}" from ${found.file === "built-in" ? "the built-ins" : found.file}\n`,
        );
        process.stdout.write(`${JSON.stringify(found.profile, null, 2)}\n`);
        return 0;
      }
      case "validate": {
        if (rest.length === 0) throw new CliError("usage: forge profile validate FILE...");
        let bad = 0;
        for (const f of rest) {
          let profile: ReturnType<typeof readProfileFile>;
          try {
            profile = readProfileFile(f);
          } catch (e) {
            bad++;
            process.stderr.write(`${(e as Error).message}\n`);
            continue;
          }
          // The whole check: the plan forge run would make of it here, nothing started.
          try {
            const { warnings } = checkSandbox({ argv: ["/bin/true"], profile });
            for (const w of warnings) process.stderr.write(`${f}: warning: ${oneLine(w)}\n`);
            process.stdout.write(`${f}: ok\n`);
          } catch (e) {
            bad++;
            process.stderr.write(`${f}: on this host: ${oneLine((e as Error)?.message ?? e)}\n`);
          }
        }
        return bad ? 1 : 0;
      }
      default:
        throw new CliError(
          sub
            ? `unknown sub-command "forge profile ${sub}"; expected list, show or validate`
            : 'usage: forge profile list|show NAME|PATH|validate FILE... (see "forge profile --help")',
        );
    }
  },
};
