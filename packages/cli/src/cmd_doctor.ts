import { probeKernel } from "@forge/sandbox/doctor";
import { parseCommandLine } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge doctor: report what this kernel offers a sandbox

Usage: forge doctor [--json]

Checks user namespaces (and what restricts unprivileged ones), seccomp actions,
Landlock, cgroups (and whether the default pids limit holds), pidfd, clone3 and
io_uring, with a one-line fix for each problem.

Options:
  --json      print the report as JSON
  -h, --help  this help`;

/** `forge doctor`. */
export const command: Command = {
  summary: "report what this kernel offers",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const { values, command: rest } = parseCommandLine(argv, { json: { type: "boolean" } });
    if (rest.length) throw new CliError(`forge doctor takes no arguments, got "${rest.join(" ")}"`);
    const r = probeKernel();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    const rows: [string, { ok: boolean; detail: string; fix?: string }][] = [
      ["user namespaces", r.userNamespaces],
      ["seccomp", r.seccomp],
      ["landlock", r.landlock],
      ["pidfd", r.pidfd],
      ["clone3", r.clone3],
      ["io_uring", r.ioUring],
    ];
    const lines = [`kernel ${r.kernel} (${r.arch}), running as uid ${r.uid}`];
    for (const [name, f] of rows) {
      lines.push(`${f.ok ? "ok  " : "WARN"} ${name.padEnd(16)} ${f.detail}`);
      if (f.fix) lines.push(`     ${"".padEnd(16)} fix: ${f.fix}`);
    }
    lines.push(
      `${r.cgroups.ok ? "ok  " : "WARN"} ${"cgroups".padEnd(16)} ${r.cgroups.lines[0]?.replace(/^cgroups: /, "") ?? r.cgroups.detail}`,
    );
    for (const l of r.cgroups.lines.slice(1)) lines.push(`     ${"".padEnd(16)} ${l.trim()}`);
    if (r.cgroups.fix) lines.push(`     ${"".padEnd(16)} fix: ${r.cgroups.fix}`);
    const pids = r.defaultPids;
    lines.push(`${pids.ok ? "ok  " : "WARN"} ${"default pids".padEnd(16)} ${pids.detail}`);
    if (pids.fix) lines.push(`     ${"".padEnd(16)} fix: ${pids.fix}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};
