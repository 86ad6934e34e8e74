import { findProfile } from "@forge/sandbox/profile";
import { parseRlimit } from "@forge/sandbox/rlimits";
import {
  openStatusFile,
  parseBind,
  parseLimitsOption,
  parseTmpfs,
  Sandbox,
  type SandboxOptions,
} from "@forge/sandbox/sandbox";
import { many, parseCommandLine, parseDuration, parseInteger } from "./args.ts";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge run: run a command in a sandbox

Usage: forge run [options] -- COMMAND [ARGS...]

By default the command runs under the "default" profile: new user, pid, mount, ipc,
uts, cgroup and net namespaces; a new root with the host's /usr, /bin, /lib* and /etc
read-only, a private /tmp, a fresh /proc and a minimal /dev; every capability
dropped; no_new_privs; Landlock; Forge's default seccomp filter; a clean environment.
As root the sandbox's root is mapped to uid 65534 on the host; rootless, to you.

Sandbox:
  --profile P          a profile name (looked up in /etc/forge/profiles, root-owned
                       files only; rootless, also ~/.config/forge/profiles; then the
                       built-ins) or a path with a "/" (./mine.json); never the
                       working directory by name; default "default" (see "forge profile")
  --bind SRC:DST[:ro]  bind a host path into the sandbox (repeatable)
  --tmpfs DST[:SIZE[:INODES]]
                       a tmpfs at DST, e.g. /scratch:64m or /scratch:1g:100k
                       (default 64m; INODES caps its files, default one per
                       4 KiB of SIZE, at least 1024) (repeatable)
  --net none|host      none: only lo (default); host: share the host's network
  --hostname H         hostname inside
  --cwd DIR            working directory inside
  --uid N, --gid N     ids inside the sandbox (default 0)
  --id-map identity    as root: map the sandbox's ids to the same host ids
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
                                          (default 1024 where a pids controller
                                          is usable, see forge doctor; max: none)
  --io-max SPEC        "MAJ:MIN rbps=1M wiops=100" or "/dev/sda wbps=10M" (repeatable)
  --limits WORDS       clawos (256M, 5% CPU, 32 pids, no swap, OOM group kill),
                       strict (default: fail if a limit cannot hold) or best-effort
  --cgroup-parent P    make the sandbox's cgroup under P (e.g. /my.slice/forge)

Run:
  --timeout DUR        kill the whole sandbox after DUR (e.g. 10s, 500ms); exit 124
  --die-with-parent    kill the whole sandbox when the process that started forge exits
  --json-status FILE   write how the command ended (and peak memory, CPU, pids, the
                       profile and its file) as JSON; FILE's directory is opened
                       before the command starts and FILE is replaced atomically,
                       never followed if the command made it a symlink

Exit codes: the command's own (128+N for signal N); 124 timeout; 125 the sandbox
could not be set up; 126 the command could not be executed; 127 not found.

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
  "die-with-parent": { type: "boolean" },
  "json-status": { type: "string" },
} as const;

/** Runs `f`, turning the RangeError/TypeError of a parser into a usage error. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError || (e as Error).name === "MountPlanError")
      throw new CliError((e as Error).message, 2);
    throw e;
  }
}

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T))
    throw new CliError(
      `--${name}: expected ${allowed.map((a) => `"${a}"`).join(" or ")}, got "${v}"`,
    );
  return v as T;
}

/** Loads --profile; a missing, refused or invalid profile is the user's to fix (exit 2). */
function profileOf(name: string | undefined) {
  try {
    return findProfile(name ?? "default");
  } catch (e) {
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
} {
  const { values: v, command: cmd } = parseCommandLine(argv, OPTIONS);
  if (cmd.length === 0)
    throw new CliError(
      'no command given; usage: forge run [options] -- COMMAND [ARGS...] (try "forge run --help")',
    );
  const env: Record<string, string> = {};
  for (const kv of many(v.env)) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new CliError(`--env: expected K=V, got "${kv}"`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
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
  const loaded = profileOf(v.profile as string | undefined);
  const options: SandboxOptions = {
    argv: cmd,
    profile: loaded.profile,
    binds: usage(() => many(v.bind).map(parseBind)),
    tmpfs: usage(() => many(v.tmpfs).map(parseTmpfs)),
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
  };
  return {
    options,
    profile: { name: loaded.profile.name, file: loaded.file },
    ...(v["json-status"] !== undefined ? { statusFile: v["json-status"] as string } : {}),
    ...(v.timeout !== undefined ? { timeoutText: v.timeout as string } : {}),
  };
}

/** `forge run`. */
export const command: Command = {
  summary: "run a command in a sandbox",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const { options, profile, statusFile, timeoutText } = runOptions(argv);
    // The directory is opened before the payload starts (which may swap it); the file
    // is created there under a new name and renamed over the old (never followed).
    const status = statusFile !== undefined ? openStatusFile(statusFile) : undefined;
    /** Writes the record; a failure is one line on stderr, never the run's exit status. */
    const writeStatus = (record: Record<string, unknown>) => {
      try {
        status?.write({ ...record, profile });
      } catch (e) {
        process.stderr.write(`forge: --json-status ${(e as Error).message}\n`);
      }
    };
    const started = Date.now();
    let box: Sandbox;
    try {
      box = usage(() => Sandbox.start(options));
    } catch (e) {
      const err = e as Error & { code?: string; syscall?: string };
      writeStatus({
        reason: "setup-failed",
        message: err.message,
        durationMs: Date.now() - started,
      });
      if (e instanceof CliError) throw e;
      if (err.name === "SpawnError" && err.syscall === "execve")
        throw new CliError(err.message, err.code === "ENOENT" ? 127 : 126);
      if (/Error$/.test(err.name) && err.name !== "Error" && err.name !== "TypeError")
        throw new CliError(err.message, 125);
      throw e;
    }
    for (const w of box.warnings) process.stderr.write(`forge: warning: ${w}\n`);
    const forward = (sig: NodeJS.Signals) => box.kill(sig);
    const signals: NodeJS.Signals[] = [
      "SIGINT",
      "SIGTERM",
      "SIGHUP",
      "SIGQUIT",
      "SIGWINCH",
      "SIGUSR1",
      "SIGUSR2",
    ];
    for (const s of signals) process.on(s, forward);
    try {
      const r = await box.wait();
      writeStatus(r.record);
      if (r.reason.kind === "timeout") {
        process.stderr.write(
          `forge: timed out after ${timeoutText ?? `${options.timeoutMs} ms`}; the sandbox was killed\n`,
        );
        return 124;
      }
      if (r.reason.kind === "oom-kill") process.stderr.write(`forge: ${r.reason.message}\n`);
      if (r.parentExited)
        process.stderr.write(
          "forge: the parent process exited; the sandbox was killed (--die-with-parent)\n",
        );
      return r.status.exitCode;
    } finally {
      for (const s of signals) process.off(s, forward);
    }
  },
};
