import fs from "node:fs";
import { cleanEnv, launch } from "@forge/sandbox/launch";
import { many, parseCommandLine, parseDuration, parseInteger } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge run: run a command in a sandbox

Usage: forge run [options] -- COMMAND [ARGS...]

The command runs in new user, pid, mount, ipc, uts and net namespaces with
no_new_privs set, as root or as an unprivileged user. forge exits with the
command's exit code (128+N when signal N ended it).

Options:
  --uid N              uid inside the sandbox (default 0)
  --gid N              gid inside the sandbox (default 0)
  --net none|host      none: a new network namespace (default); host: share ours
  --env K=V            set an environment variable (repeatable)
  --keep-env K         pass the caller's K through (repeatable)
  --cwd DIR            working directory inside the sandbox
  --timeout DUR        kill the whole sandbox after DUR (e.g. 10s, 500ms); exit 124
  --json-status FILE   write how the command ended as JSON to FILE
  -h, --help           this help

The environment is clean: PATH, HOME, TERM and LANG, plus --env and --keep-env.

Exit codes: the command's own; 124 timeout; 125 the sandbox could not be set up;
126 the command could not be executed; 127 the command was not found.

Example:
  forge run -- /bin/echo hello`;

const OPTIONS = {
  uid: { type: "string" },
  gid: { type: "string" },
  net: { type: "string" },
  env: { type: "string", multiple: true },
  "keep-env": { type: "string", multiple: true },
  cwd: { type: "string" },
  timeout: { type: "string" },
  "json-status": { type: "string" },
} as const;

/** `forge run`. */
export const command: Command = {
  summary: "run a command in a sandbox",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const { values: v, command: cmd } = parseCommandLine(argv, OPTIONS);
    if (cmd.length === 0)
      throw new CliError(
        'no command given; usage: forge run [options] -- COMMAND [ARGS...] (try "forge run --help")',
      );
    const net = (v.net as string | undefined) ?? "none";
    if (net !== "none" && net !== "host")
      throw new CliError(`--net: expected "none" or "host", got "${net}"`);
    const env = cleanEnv();
    for (const k of many(v["keep-env"])) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    for (const kv of many(v.env)) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new CliError(`--env: expected K=V, got "${kv}"`);
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const timeoutMs =
      v.timeout !== undefined ? parseDuration(v.timeout as string, "--timeout") : undefined;
    const statusFile = v["json-status"] as string | undefined;
    const started = Date.now();

    let box: ReturnType<typeof launch>;
    try {
      box = launch({
        argv: cmd,
        env,
        ...(v.cwd !== undefined ? { cwd: v.cwd as string } : {}),
        ...(v.uid !== undefined
          ? { uid: parseInteger(v.uid as string, "--uid", 0, 4294967294) }
          : {}),
        ...(v.gid !== undefined
          ? { gid: parseInteger(v.gid as string, "--gid", 0, 4294967294) }
          : {}),
        namespaces: { net: net === "none" },
      });
    } catch (e) {
      const err = e as Error & { code?: string; syscall?: string };
      if (err.name === "SpawnError") {
        const code = err.syscall === "execve" ? (err.code === "ENOENT" ? 127 : 126) : 125;
        writeStatus(statusFile, {
          reason: "setup-failed",
          error: err.message,
          durationMs: Date.now() - started,
        });
        throw new CliError(err.message, code);
      }
      throw e;
    }

    const forward = (sig: NodeJS.Signals) => box.kill(sig);
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
    for (const s of signals) process.on(s, forward);
    let timedOut = false;
    const timer =
      timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            box.kill("SIGKILL");
          }, timeoutMs)
        : undefined;
    try {
      const st = await box.wait();
      const exitCode = timedOut ? 124 : st.exitCode;
      writeStatus(statusFile, {
        reason: timedOut ? "timeout" : st.signal ? "signal" : "exit",
        exitCode: st.code,
        signal: st.signal,
        durationMs: Date.now() - started,
      });
      if (timedOut)
        process.stderr.write(`forge: timed out after ${v.timeout}; the sandbox was killed\n`);
      return exitCode;
    } finally {
      if (timer) clearTimeout(timer);
      for (const s of signals) process.off(s, forward);
    }
  },
};

function writeStatus(file: string | undefined, status: Record<string, unknown>): void {
  if (!file) return;
  fs.writeFileSync(file, `${JSON.stringify(status, null, 2)}\n`);
}
