import fs from "node:fs";
import { findProfile } from "@forge/sandbox/profile";
import { parseRlimit } from "@forge/sandbox/rlimits";
import {
  checkSandbox,
  DEFAULT_STOP_TIMEOUT_MS,
  openStatusFile,
  parseBind,
  parseLimitsOption,
  parseTmpfs,
  Sandbox,
  type SandboxOptions,
  stdioIsTerminal,
} from "@forge/sandbox/sandbox";
import { many, oneLine, parseCommandLine, parseDuration, parseInteger, shown } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge run: run a command in a sandbox

Usage: forge run [options] -- COMMAND [ARGS...]

By default the command runs under the "default" profile: new user, pid, mount, ipc,
uts, cgroup and net namespaces; a new root with the host's /usr, /bin, /lib* and /etc
read-only, a private /tmp, a fresh /proc and a minimal /dev; every capability
dropped; no_new_privs; Landlock; Forge's default seccomp filter; a clean environment.
As root the sandbox's root is mapped to uid 65534 on the host; rootless, to you.
As root a read-write --bind is idmapped: its owner appears as the sandbox's user,
and what the sandbox creates there is the owner's on the host (:ro binds never are).

Sandbox:
  --profile P          a profile name (looked up in /etc/forge/profiles, root-owned
                       files only; rootless, also ~/.config/forge/profiles; then the
                       built-ins) or a path with a "/" (./mine.json); never the
                       working directory by name; default "default" (see "forge profile")
  --bind SRC:DST[:ro]  bind a host path into the sandbox (repeatable); SRC alone
                       binds it at the same path (--bind "$PWD:ro")
  --tmpfs DST[:SIZE[:INODES]]
                       a tmpfs at DST, e.g. /scratch:64m or /scratch:1g:100k
                       (default 64m; INODES caps its files, default one per
                       4 KiB of SIZE, at least 1024) (repeatable)
                       A --bind or --tmpfs at the destination of one of the
                       profile's mounts replaces it (--tmpfs /tmp:256m)
  --net none|host      none: only lo (default); host: share the host's network
  --hostname H         hostname inside
  --cwd DIR            working directory inside (an absolute path); default: the
                       profile's, "/" for every built-in one, never the caller's:
                       only what is bound is there (--bind "$PWD:ro" --cwd "$PWD")
  --uid N, --gid N     ids inside the sandbox (default 0)
  --id-map identity    as root: map the sandbox's ids to the same host ids (no
                       idmapped binds needed: also where a filesystem has none)
  --cap-add CAP        keep a capability, e.g. NET_BIND_SERVICE (repeatable); one that
                       lets the sandbox undo its walls (SYS_ADMIN, SYS_PTRACE,
                       NET_ADMIN, DAC_READ_SEARCH, ...) is kept with a warning
  --seccomp PROFILE    a built-in seccomp profile by name, a file by path (with a
                       "/": ./mine.json), or "unconfined"
  --landlock MODE      strict, best-effort or off
  --rlimit R=N         a resource limit, e.g. nofile=1024 or nproc=64:64 (repeatable)
  --env K=V            set an environment variable (repeatable)
  --keep-env K         pass the caller's K through (repeatable)

Limits (cgroups):
  --memory SIZE        e.g. 256M          --no-swap        no swap at all
  --cpus N             e.g. 0.05 (5%)     --pids N         at most N processes
                       at most the CPUs   (default 1024 where a pids controller
                       of this machine    is usable, see forge doctor; max: none)
  --io-max SPEC        "MAJ:MIN rbps=1M wiops=100" or "/dev/sda wbps=10M" (repeatable)
  --limits WORDS       clawos (256M, 5% CPU, 32 pids, no swap, OOM group kill),
                       strict (default: fail if a limit cannot hold) or best-effort
  --cgroup-parent P    make the sandbox's cgroup under P (e.g. /my.slice/forge);
                       the directories of P that forge made are removed after the
                       run when empty (none that was there before)

Terminal:
  -t, --tty            give the command a new terminal of its own (a pseudo-terminal
                       that is its controlling terminal, stdin, stdout and stderr)
                       and relay yours to it, raw, following its window size, as
                       docker run -it does: job control, Ctrl-C and Ctrl-Z act inside;
                       the default when stdin, stdout and stderr are all terminals
  --no-tty             never: the command gets forge's stdin, stdout and stderr as
                       they are (as with a redirect or a pipe)

Run:
  --timeout DUR        kill the whole sandbox after DUR: a number and its unit, ms, s,
                       m or h (500ms, 10s, 2m, 597h; no upper bound short of
                       285616 years); exit 124
  --stop-timeout DUR   on SIGTERM, SIGINT or SIGHUP forge passes the signal to the
                       command, and kills the whole sandbox with SIGKILL if it still
                       runs DUR later (default 10s, as docker stop; 0s: at once)
  --die-with-parent    kill the whole sandbox when the process that started forge exits
  --json-status FILE   write how the command ended (and peak memory, CPU, pids, the
                       profile and its file) as JSON; FILE's directory is opened
                       before the command starts and FILE is replaced atomically,
                       never followed if the command made it a symlink

Exit codes: the command's own (128+N for signal N: 137 when --stop-timeout ran
out); 2 a bad option or profile (one line on stderr says which and how to fix it);
124 timeout; 125 the sandbox could not be set up (or forge failed: set FORGE_DEBUG=1
to see where); 126 the command could not be executed; 127 not found. A failure after
the command ended (--json-status, removing the cgroup) is reported on stderr and
keeps the command's status.

Examples:
  forge run -- /bin/echo hello
  forge run --bind "$PWD:/work:ro" --cwd /work --memory 256M --timeout 30s -- python3 job.py`;

const OPTIONS = {
  profile: { type: "string" },
  bind: { type: "string", multiple: true },
  tmpfs: { type: "string", multiple: true },
  net: { type: "string" },
  hostname: { type: "string" },
  cwd: { type: "string" },
  uid: { type: "string" },
  gid: { type: "string" },
  "id-map": { type: "string" },
  "cap-add": { type: "string", multiple: true },
  seccomp: { type: "string" },
  landlock: { type: "string" },
  rlimit: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  "keep-env": { type: "string", multiple: true },
  memory: { type: "string" },
  swap: { type: "string" },
  "no-swap": { type: "boolean" },
  cpus: { type: "string" },
  pids: { type: "string" },
  "io-max": { type: "string", multiple: true },
  limits: { type: "string", multiple: true },
  "cgroup-parent": { type: "string" },
  timeout: { type: "string" },
  "stop-timeout": { type: "string" },
  "die-with-parent": { type: "boolean" },
  "json-status": { type: "string" },
  tty: { type: "boolean", short: "t" },
  "no-tty": { type: "boolean" },
} as const;

/** Runs `f`, turning the RangeError/TypeError of a parser into a usage error. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    // A bad --seccomp FILE (@forge/seccomp) or profile: pointers and lines, exit 2 (its
    // message is a line per problem already).
    if ((e as Error).name === "ProfileError") throw new CliError((e as Error).message, 2);
    // One line: a value echoed in a message may hold a newline.
    if (e instanceof RangeError || e instanceof TypeError || (e as Error).name === "MountPlanError")
      throw new CliError(oneLine((e as Error).message), 2);
    throw e;
  }
}

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T))
    throw new CliError(
      `--${name}: expected ${allowed.map((a) => `"${a}"`).join(" or ")}, got ${shown(String(v))}`,
    );
  return v as T;
}

/** Loads --profile; a missing, refused or invalid profile is the user's to fix (exit 2). */
function profileOf(name: string | undefined) {
  try {
    return findProfile(name ?? "default");
  } catch (e) {
    // One line per problem (a profile with several lists them under a heading).
    if ((e as Error).name === "ProfileError") throw new CliError((e as Error).message, 2);
    throw e;
  }
}

/** Builds the sandbox options from the command line. */
export function runOptions(argv: string[]): {
  options: SandboxOptions;
  /** Which profile, and the file it came from ("built-in" for Forge's own). */
  profile: { name: string; file: string };
  statusFile?: string;
  timeoutText?: string;
  stopTimeoutText: string;
} {
  const { values: v, command: cmd } = parseCommandLine(argv, OPTIONS);
  if (cmd.length === 0)
    throw new CliError(
      'no command given; usage: forge run [options] -- COMMAND [ARGS...] (try "forge run --help")',
    );
  // No prototype: a variable may be named __proto__.
  const env: Record<string, string> = Object.create(null);
  for (const kv of many(v.env)) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new CliError(`--env: expected NAME=VALUE, got ${shown(kv)}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const statusFile = v["json-status"] as string | undefined;
  if (statusFile !== undefined) {
    const base = statusFile.split("/").at(-1)!;
    if (base === "" || base === "." || base === "..")
      throw new CliError(
        `--json-status: ${shown(statusFile)} is not a file name; give a path such as ./status.json`,
      );
    if (Buffer.byteLength(base) > 255)
      throw new CliError(
        `--json-status: the file name is ${Buffer.byteLength(base)} bytes long; at most 255 (NAME_MAX)`,
      );
    // The file is replaced by rename: never a device (/dev/null!), a FIFO or a socket.
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(statusFile);
    } catch {
      st = undefined; // absent (made by the run) or unreachable (reported after it)
    }
    const kind = !st
      ? undefined
      : st.isCharacterDevice()
        ? "a character device"
        : st.isBlockDevice()
          ? "a block device"
          : st.isFIFO()
            ? "a FIFO"
            : st.isSocket()
              ? "a socket"
              : undefined;
    if (kind)
      throw new CliError(
        `--json-status ${oneLine(statusFile)}: it is ${kind}, not a file forge may replace; give the path of a regular file (or leave --json-status out)`,
      );
  }
  const stopTimeoutText =
    (v["stop-timeout"] as string | undefined) ?? `${DEFAULT_STOP_TIMEOUT_MS / 1000}s`;
  // "0s": no grace at all (SIGKILL at once), as docker stop -t 0.
  const stopTimeoutMs = /^\s*0+(\.0+)?(ms|s|m|h)\s*$/.test(stopTimeoutText)
    ? 0
    : parseDuration(stopTimeoutText, "--stop-timeout");
  const limitsOpt = usage(() => parseLimitsOption(many(v.limits)));
  const limits = {
    ...(limitsOpt.preset ? { preset: limitsOpt.preset } : {}),
    ...(v.memory !== undefined ? { memory: v.memory as string } : {}),
    ...(v.swap !== undefined ? { swap: v.swap as string } : {}),
    ...(v["no-swap"] ? { noSwap: true } : {}),
    ...(v.cpus !== undefined ? { cpus: v.cpus as string } : {}),
    ...(v.pids !== undefined ? { pids: v.pids as string } : {}),
    ...(many(v["io-max"]).length ? { ioMax: many(v["io-max"]) } : {}),
  };
  const idMap = oneOf(v["id-map"], "id-map", ["unprivileged", "identity"] as const);
  if (v.tty && v["no-tty"])
    throw new CliError(
      "--tty and --no-tty: give one of them (neither: a terminal when stdin, stdout and stderr are all terminals)",
    );
  const tty = v.tty ? true : v["no-tty"] ? false : stdioIsTerminal();
  const loaded = profileOf(v.profile as string | undefined);
  const options: SandboxOptions = {
    argv: cmd,
    profile: loaded.profile,
    // The flag as written names the mount in messages ("--tmpfs /s and --tmpfs /s:1m ...").
    binds: usage(() => many(v.bind).map((b) => ({ ...parseBind(b), origin: `--bind ${b}` }))),
    tmpfs: usage(() => many(v.tmpfs).map((t) => ({ ...parseTmpfs(t), origin: `--tmpfs ${t}` }))),
    ...(v.net !== undefined ? { net: oneOf(v.net, "net", ["none", "host"] as const)! } : {}),
    ...(v.hostname !== undefined ? { hostname: v.hostname as string } : {}),
    ...(v.cwd !== undefined ? { cwd: v.cwd as string } : {}),
    ...(v.uid !== undefined ? { uid: parseInteger(v.uid as string, "--uid", 0, 4294967294) } : {}),
    ...(v.gid !== undefined ? { gid: parseInteger(v.gid as string, "--gid", 0, 4294967294) } : {}),
    ...(idMap ? { idMap } : {}),
    capAdd: many(v["cap-add"]),
    ...(v.seccomp !== undefined ? { seccomp: v.seccomp as string } : {}),
    ...(v.landlock !== undefined
      ? { landlock: oneOf(v.landlock, "landlock", ["strict", "best-effort", "off"] as const)! }
      : {}),
    rlimits: usage(() => many(v.rlimit).map(parseRlimit)),
    env,
    keepEnv: many(v["keep-env"]),
    ...(Object.keys(limits).length ? { limits } : {}),
    ...(limitsOpt.mode ? { limitsMode: limitsOpt.mode } : {}),
    ...(v["cgroup-parent"] !== undefined ? { cgroupParent: v["cgroup-parent"] as string } : {}),
    ...(v.timeout !== undefined
      ? { timeoutMs: parseDuration(v.timeout as string, "--timeout") }
      : {}),
    ...(v["die-with-parent"] ? { dieWithParent: true } : {}),
    ...(tty ? { tty: true } : {}),
    stopTimeoutMs,
  };
  return {
    options,
    profile: { name: loaded.profile.name, file: loaded.file },
    ...(statusFile !== undefined ? { statusFile } : {}),
    // The timeout as written: on the command line, else in the profile.
    ...(v.timeout !== undefined || loaded.profile.timeout !== undefined
      ? { timeoutText: (v.timeout as string | undefined) ?? loaded.profile.timeout! }
      : {}),
    stopTimeoutText,
  };
}

/**
 * A set-up failure as `forge run` reports it: the exit code by its kind (127 the
 * command was not found, 126 it could not be executed, 125 the sandbox could not be
 * set up); an error that is no named error class is forge's own (rethrown).
 */
function setupError(e: unknown): unknown {
  const err = e as Error & { code?: string; syscall?: string };
  if (e instanceof CliError) return e;
  if (err?.name === "SpawnError" && err.syscall === "execve")
    return new CliError(oneLine(err.message), err.code === "ENOENT" ? 127 : 126);
  if (
    typeof err?.name === "string" &&
    /Error$/.test(err.name) &&
    err.name !== "Error" &&
    err.name !== "TypeError"
  )
    return new CliError(oneLine(err.message), 125);
  return e;
}

/**
 * Everything `forge run ARGV` does before it starts anything: parses the options,
 * loads the profile, and builds the launch plan (mounts, seccomp filter, limits,
 * program) without creating a cgroup or a process. Throws the {@link CliError} forge
 * run would print (its exit code included) for the same ARGV; returns the warnings it
 * would print. What it cannot see: what fails only inside (a missing --cwd, a command
 * not found) and whether the cgroups here can hold the limits.
 *
 * @example
 * ```ts
 * import { planRun } from "@forge/cli";
 * planRun(["--memory", "256M", "--", "/bin/true"]); // { warnings: [] }
 * ```
 */
export function planRun(argv: string[]): { warnings: readonly string[] } {
  const { options } = runOptions(argv);
  try {
    return usage(() => checkSandbox(options));
  } catch (e) {
    throw setupError(e);
  }
}

/** Signals that stop the sandbox: passed on, then SIGKILL after --stop-timeout. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
/** Signals passed on to the payload as they are. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGQUIT", "SIGWINCH", "SIGUSR1", "SIGUSR2"];

/** `forge run`. */
export const command: Command = {
  summary: "run a command in a sandbox",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const { options, profile, statusFile, timeoutText, stopTimeoutText } = runOptions(argv);
    // The directory is opened before the payload starts (which may swap it); the file
    // is created there under a new name and renamed over the old (never followed).
    const status = statusFile !== undefined ? openStatusFile(statusFile) : undefined;
    /** Writes the record; a failure is one line on stderr, never the run's exit status. */
    const writeStatus = (record: Record<string, unknown>, prefix = "forge: ") => {
      try {
        status?.write({ ...record, profile });
      } catch (e) {
        process.stderr.write(`${prefix}--json-status ${oneLine((e as Error).message)}\n`);
      }
    };
    // The handlers are in place before the sandbox starts: a signal that comes while it
    // is set up (or the instant after) stops it too, instead of killing forge outright.
    let box: Sandbox | undefined;
    let pending: NodeJS.Signals | undefined;
    const stop = (sig: NodeJS.Signals) => {
      if (box) box.stop(sig).catch(() => {});
      else pending ??= sig;
    };
    const forward = (sig: NodeJS.Signals) => {
      try {
        box?.kill(sig);
      } catch {
        // gone already
      }
    };
    // With a terminal, the window size reaches the sandbox through it (the relay sets
    // it, and the kernel sends SIGWINCH to its foreground processes).
    const forwarded = FORWARDED_SIGNALS.filter((s) => !(options.tty && s === "SIGWINCH"));
    for (const s of STOP_SIGNALS) process.on(s, stop);
    for (const s of forwarded) process.on(s, forward);
    const started = Date.now();
    try {
      try {
        box = usage(() => Sandbox.start(options));
      } catch (e) {
        // The set-up error is the one to report; a status file that cannot be written
        // on top of it is a warning.
        writeStatus(
          {
            reason: "setup-failed",
            message: (e as Error)?.message,
            durationMs: Date.now() - started,
          },
          "forge: warning: ",
        );
        throw setupError(e);
      }
      // From here on the command runs: whatever fails is reported on stderr and the
      // command's own status is what forge exits with.
      // The user's terminal is raw while the relay runs: a line ends with CR LF there.
      const eol = box.terminal?.raw ? "\r\n" : "\n";
      for (const w of box.warnings) process.stderr.write(`forge: warning: ${oneLine(w)}${eol}`);
      if (pending) stop(pending);
      const r = await box.wait();
      writeStatus(r.record);
      for (const p of r.problems ?? []) process.stderr.write(`forge: ${oneLine(p)}\n`);
      // A failed command whose argument is on the host but not in the sandbox (job.py).
      for (const h of r.hints ?? []) process.stderr.write(`forge: note: ${oneLine(h)}\n`);
      if (r.stopped?.escalated)
        process.stderr.write(
          `forge: the sandbox was still running ${stopTimeoutText} after ${r.stopped.signal}; killed it with SIGKILL (--stop-timeout)\n`,
        );
      if (r.reason.kind === "timeout") {
        process.stderr.write(
          `forge: timed out after ${timeoutText ?? `${options.timeoutMs} ms`}; the sandbox was killed\n`,
        );
        return 124;
      }
      if (r.reason.kind === "oom-kill")
        process.stderr.write(`forge: ${oneLine(r.reason.message)}\n`);
      if (r.parentExited)
        process.stderr.write(
          "forge: the parent process exited; the sandbox was killed (--die-with-parent)\n",
        );
      return r.status.exitCode;
    } finally {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      for (const s of forwarded) process.off(s, forward);
    }
  },
};
