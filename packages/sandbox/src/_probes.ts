/**
 * The escape-probe harness (private to the package's tests and bench/escape): compiles
 * the C probes in `packages/sandbox/probes` with `cc`, runs each one inside a sandbox
 * given as a command prefix, and turns their one-line answers into results.
 *
 * What the harness sets up around every probe (the probes read it from `key=value`
 * arguments):
 * - a marker process on the host (`hostpid`, `mark`) for host-pid visibility and setns;
 * - a TCP listener on 127.0.0.1 (`port`) and an abstract unix socket (`abstract`) in the
 *   host's network namespace;
 * - a host directory outside the sandbox with `forge-outside-marker` in it (`outside`),
 *   used as the launcher's cwd and passed as an extra fd 3 (leaked fd / cwd tests);
 * - the identity of the host's `/` (`hostroot`) and network namespace (`hostnetns`);
 * - `FORGE_PROBE_SECRET` in the launcher's environment;
 * - a pty as controlling terminal and stdin (through `_ptywrap`), which afterwards says
 *   how many bytes were injected into it;
 * - a setuid-root helper (`suid`) when running as root.
 * Harness-level checks: the host's hostname is unchanged, and SIGKILL of the launcher
 * leaves no process of the sandbox alive (`kill_launcher`). {@link landlockState} says
 * whether Landlock confined a sandbox's payload, so that a run meant to be without
 * Landlock (`--landlock off`) is known to be.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** A probe's verdict: SAFE, UNSAFE, or ERROR when it gave no verdict. */
export type Verdict = "SAFE" | "UNSAFE" | "ERROR";

/** One probe's outcome. */
export interface ProbeResult {
  readonly name: string;
  readonly verdict: Verdict;
  readonly reason: string;
}

/**
 * Results of one suite run. `partial` lists the options removed from the prefix because
 * the sandbox command did not accept them yet (empty: the run used the prefix as given);
 * `prefix` is the prefix actually used.
 */
export type ProbeResults = ProbeResult[] & {
  partial: string[];
  prefix: string[];
};

/**
 * The folder with the probes' C sources.
 *
 * @example
 * ```ts
 * import { PROBE_SOURCE_DIR } from "./_probes.ts";
 * console.log(PROBE_SOURCE_DIR); // .../packages/sandbox/probes/
 * ```
 */
export const PROBE_SOURCE_DIR: string = fileURLToPath(new URL("../probes/", import.meta.url));

/**
 * The Forge CLI entry (needs `npx tsc -b` so that packages/cli/dist exists).
 *
 * @example
 * ```ts
 * import { FORGE_CLI } from "./_probes.ts";
 * console.log(FORGE_CLI); // .../packages/cli/bin/forge.cjs
 * ```
 */
export const FORGE_CLI: string = fileURLToPath(new URL("../../cli/bin/forge.cjs", import.meta.url));

/** Compiled probes in a temporary folder. */
export interface CompiledProbes {
  /** The folder (mode 0755) holding one static binary per probe plus the helpers. */
  readonly dir: string;
  /** Probe names, sorted. */
  readonly probes: string[];
  /** Removes the folder. */
  cleanup(): void;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8" }, (err, _out, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}

async function pool<T>(items: readonly T[], jobs: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

/**
 * Compiles every probe (and the helpers `_ptywrap`, `_sleeper`, `_suid_helper`) with `cc`
 * into a fresh folder under the system temp dir, as static binaries so they run in any
 * root. As root the suid helper is made setuid root.
 *
 * @example
 * ```ts
 * import { compileProbes } from "./_probes.ts";
 * const c = await compileProbes({ only: ["caps_zero"] });
 * try { console.log(c.probes); } finally { c.cleanup(); }
 * ```
 */
export async function compileProbes(
  opts: { only?: readonly string[]; cc?: string; jobs?: number } = {},
): Promise<CompiledProbes> {
  const cc = opts.cc ?? "cc";
  const sources = fs
    .readdirSync(PROBE_SOURCE_DIR)
    .filter((f) => f.endsWith(".c"))
    .map((f) => f.slice(0, -2))
    .filter((n) => n.startsWith("_") || !opts.only || opts.only.includes(n))
    .sort();
  if (opts.only) {
    const missing = opts.only.filter((n) => !sources.includes(n));
    if (missing.length)
      throw new RangeError(
        `compileProbes: no probe named ${missing.join(", ")} in ${PROBE_SOURCE_DIR}`,
      );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-probes-"));
  fs.chmodSync(dir, 0o755);
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const failures: string[] = [];
    await pool(sources, opts.jobs ?? os.availableParallelism(), async (name) => {
      const out = path.join(dir, name);
      const src = path.join(PROBE_SOURCE_DIR, `${name}.c`);
      const base = ["-O1", "-w", `-DPROBE_NAME="${name}"`, "-o", out, src];
      let r = await run(cc, ["-static", ...base]);
      if (r.code !== 0) r = await run(cc, base); // no static libc: a dynamic binary still runs where /lib is bound
      if (r.code !== 0)
        failures.push(`${name}: ${r.stderr.trim().split("\n").slice(0, 3).join(" | ")}`);
    });
    if (failures.length)
      throw new Error(
        `compileProbes: ${cc} failed for ${failures.length} probe(s) (install gcc and libc6-dev): ${failures.join("; ")}`,
      );
    if (process.getuid?.() === 0) {
      const helper = path.join(dir, "_suid_helper");
      fs.chownSync(helper, 0, 0);
      fs.chmodSync(helper, 0o4755);
    }
    return { dir, probes: sources.filter((n) => !n.startsWith("_")), cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * The prefix for `forge run --profile default` with the probe folder bound read-only.
 * The CLI entry is {@link FORGE_CLI} unless the environment variable FORGE_PROBE_CLI
 * names another script (e.g. one that imports packages/cli/dist/main.js directly).
 *
 * @example
 * ```ts
 * import { forgePrefix } from "./_probes.ts";
 * forgePrefix("/tmp/forge-probes-x"); // ["node", ".../forge.cjs", "run", "--profile", "default", ...]
 * ```
 */
export function forgePrefix(probeDir: string, extra: readonly string[] = []): string[] {
  return [
    process.execPath,
    process.env.FORGE_PROBE_CLI ?? FORGE_CLI,
    "run",
    "--profile",
    "default",
    "--bind",
    `${probeDir}:${probeDir}:ro`,
    ...extra,
    "--",
  ];
}

/**
 * The prefix for the peer: `bwrap --unshare-all --die-with-parent --new-session` with a
 * read-only /usr (and the usual /bin, /lib symlinks), /etc, a fresh /proc, bwrap's
 * minimal /dev, a tmpfs /tmp and the probe folder bound read-only.
 *
 * @example
 * ```ts
 * import { bwrapPrefix } from "./_probes.ts";
 * bwrapPrefix("/tmp/forge-probes-x"); // ["bwrap", "--unshare-all", ...]
 * ```
 */
export function bwrapPrefix(probeDir: string): string[] {
  const links: string[] = [];
  for (const l of ["bin", "lib", "lib64", "sbin"]) {
    try {
      const t = fs.readlinkSync(`/${l}`);
      links.push("--symlink", t, `/${l}`);
    } catch {
      if (fs.existsSync(`/${l}`)) links.push("--ro-bind", `/${l}`, `/${l}`);
    }
  }
  return [
    "bwrap",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--ro-bind",
    "/usr",
    "/usr",
    ...links,
    "--ro-bind",
    "/etc",
    "/etc",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--ro-bind",
    probeDir,
    probeDir,
    "--",
  ];
}

/**
 * Runs `prefix` under `setpriv` as uid/gid 65534 (the rootless case).
 *
 * @example
 * ```ts
 * import { forgePrefix, rootless } from "./_probes.ts";
 * rootless(forgePrefix("/tmp/p")); // ["setpriv", "--reuid", "65534", ..., "node", ...]
 * ```
 */
export function rootless(prefix: readonly string[], uid = 65534): string[] {
  return ["setpriv", "--reuid", String(uid), "--regid", String(uid), "--clear-groups", ...prefix];
}

interface Exec {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function exec(
  argv: readonly string[],
  o: { env: NodeJS.ProcessEnv; cwd: string; fd3?: number; timeoutMs: number; group: boolean },
): Promise<Exec> {
  return new Promise((resolve) => {
    const stdio: ("ignore" | "pipe" | number)[] = ["ignore", "pipe", "pipe"];
    if (o.fd3 !== undefined) stdio.push(o.fd3);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env, stdio });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        // _ptywrap leads its own session and process group: kill all of it.
        if (o.group && child.pid) process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, o.timeoutMs);
    child.on("error", (e) => {
      stderr += String(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const UNKNOWN_OPTION = /unknown option '?(--[\w-]+)/i;

/** Removes `opt` (and its value) from the options part of a prefix. */
function dropOption(prefix: string[], opt: string): string[] {
  const end = prefix.indexOf("--");
  const limit = end < 0 ? prefix.length : end;
  const out: string[] = [];
  for (let i = 0; i < prefix.length; i++) {
    const t = prefix[i]!;
    if (i < limit && t.startsWith(`${opt}=`)) continue;
    if (i < limit && t === opt) {
      const next = prefix[i + 1];
      if (next !== undefined && i + 1 < limit && !next.startsWith("--")) i++;
      continue;
    }
    out.push(t);
  }
  return out;
}

/**
 * Runs a harmless probe under `prefix` and removes every option the sandbox command
 * rejects as unknown ("unknown option '--profile'"), so the suite can run against a CLI
 * that is still growing. Returns the prefix that works and the options dropped.
 *
 * @example
 * ```ts
 * import { adaptPrefix, forgePrefix } from "./_probes.ts";
 * const { prefix, dropped } = await adaptPrefix(forgePrefix(dir), dir);
 * if (dropped.length) console.warn(`partial run: ${dropped.join(" ")} not supported`);
 * ```
 */
export async function adaptPrefix(
  prefix: readonly string[],
  probeDir: string,
): Promise<{ prefix: string[]; dropped: string[] }> {
  let cur = [...prefix];
  const dropped: string[] = [];
  for (let i = 0; i < 32; i++) {
    const r = await exec([...cur, path.join(probeDir, "no_new_privs")], {
      env: process.env,
      cwd: "/",
      timeoutMs: 20_000,
      group: false,
    });
    const m = UNKNOWN_OPTION.exec(r.stderr);
    if (!m || dropped.includes(m[1]!)) break;
    const opt = m[1]!;
    const next = dropOption(cur, opt);
    if (next.length === cur.length) break;
    dropped.push(opt);
    cur = next;
  }
  return { prefix: cur, dropped };
}

/** Options for {@link runProbes}. */
export interface RunProbesOptions {
  /** The sandbox command up to and including "--"; the probe and its args follow it. */
  readonly prefix: readonly string[];
  /** A folder from {@link compileProbes}; must be visible inside the sandbox at the same path. */
  readonly probeDir: string;
  /** Probe names to run (default: every binary in probeDir not starting with "_"). */
  readonly probes?: readonly string[];
  /** Sandboxes run at once (default 3). */
  readonly concurrency?: number;
  /** Per-probe limit before the run is killed and reported as ERROR (default 20 s). */
  readonly timeoutMs?: number;
  /** Run the SIGKILL-the-launcher check (`kill_launcher`, default true). */
  readonly killCheck?: boolean;
  /** Drop options the sandbox command does not know (default true); see {@link adaptPrefix}. */
  readonly adapt?: boolean;
}

const LINE = /^(SAFE|UNSAFE) ([\w-]+): (.*)$/;

/** Host-side fixtures the probes look for; see the module doc. */
interface Fixtures {
  args: string[];
  env: NodeJS.ProcessEnv;
  outside: string;
  fd3: number;
  close(): Promise<void>;
}

/** Connections to the harness's listeners still open (destroyed on close). */
const open = new Set<net.Socket>();

/** Says who we are and ignores the peer hanging up first (EPIPE, ECONNRESET). */
function greet(s: net.Socket): void {
  open.add(s);
  s.on("close", () => open.delete(s));
  s.on("error", () => {});
  s.end("forge-host-listener\n");
}

async function fixtures(probeDir: string): Promise<Fixtures> {
  const mark = crypto.randomBytes(6).toString("hex");
  const secret = crypto.randomBytes(12).toString("hex");
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "forge-outside-"));
  fs.chmodSync(outside, 0o755);
  fs.writeFileSync(path.join(outside, "forge-outside-marker"), "host file outside the sandbox\n", {
    mode: 0o644,
  });
  const fd3 = fs.openSync(outside, "r");
  const marker = spawn("sleep", ["300"], { argv0: `forge-hostmark-${mark}`, stdio: "ignore" });
  const tcp = net.createServer(greet);
  const abstractName = `forge-probe-${mark}`;
  const unix = net.createServer(greet);
  try {
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    await new Promise<void>((r, j) => {
      unix.once("error", j);
      unix.listen(`\0${abstractName}`, r);
    });
  } catch (e) {
    marker.kill("SIGKILL");
    tcp.close();
    unix.close();
    fs.closeSync(fd3);
    fs.rmSync(outside, { recursive: true, force: true });
    throw e;
  }
  const port = (tcp.address() as net.AddressInfo).port;
  const root = fs.statSync("/");
  const netns = fs.statSync("/proc/self/ns/net");
  const args = [
    `dir=${probeDir}`,
    `hostpid=${marker.pid}`,
    `mark=${mark}`,
    `port=${port}`,
    `abstract=${abstractName}`,
    `outside=${outside}`,
    `hostroot=${root.dev}:${root.ino}`,
    `hostnetns=${netns.ino}`,
  ];
  const suid = path.join(probeDir, "_suid_helper");
  if (fs.existsSync(suid) && (fs.statSync(suid).mode & 0o4000) !== 0) args.push(`suid=${suid}`);
  return {
    args,
    env: { ...process.env, FORGE_PROBE_SECRET: secret },
    outside,
    fd3,
    async close() {
      marker.kill("SIGKILL");
      fs.closeSync(fd3);
      fs.rmSync(outside, { recursive: true, force: true });
      for (const c of open) c.destroy();
      await Promise.all([
        new Promise<void>((r) => tcp.close(() => r())),
        new Promise<void>((r) => unix.close(() => r())),
      ]);
    },
  };
}

/**
 * Probes whose verdict the harness decides from the host's view: the process whose argv[0]
 * is this file of the probe folder is looked up in the host's /proc while the probe runs,
 * and its host Uid line (real, effective, saved, fs) is what counts.
 */
const HOST_VIEW: Readonly<Record<string, { exe: string; what: string }>> = {
  uid_map_host_root: { exe: "uid_map_host_root", what: "the probe" },
  setuid_binary: { exe: "_suid_helper", what: "the setuid helper" },
};

/** Host Uid lines of processes whose argv[0] is `exe`. */
function hostUids(exe: string): string[] {
  const found: string[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv0 = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0")[0];
      if (argv0 !== exe) continue;
      const st = fs.readFileSync(`/proc/${e}/status`, "utf8");
      const m = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(st);
      if (m) found.push(`${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
    } catch {
      // gone
    }
  }
  return found;
}

function hostViewJudge(res: ProbeResult, seen: ReadonlySet<string>, what: string): ProbeResult {
  if (res.verdict === "ERROR" || seen.size === 0) return res;
  const lines = [...seen];
  const root = lines.find((l) => l.split(" ")[1] === "0");
  if (root)
    return {
      name: res.name,
      verdict: "UNSAFE",
      reason: `host view: ${what} ran with host euid 0 (Uid: ${root}); probe: ${res.verdict} ${res.reason}`,
    };
  return {
    name: res.name,
    verdict: "SAFE",
    reason: `host view: ${what} ran as host uid ${lines.map((l) => l.split(" ")[1]).join("/")} (Uid: ${lines[0]}); probe: ${res.verdict} ${res.reason}`,
  };
}

function judge(name: string, r: Exec): ProbeResult {
  for (const line of r.stdout.split("\n")) {
    const m = LINE.exec(line.trim());
    if (m && m[2] === name) {
      let verdict = m[1] as Verdict;
      let reason = m[3]!;
      const inj = /forge-ptywrap: injected=(\d+)/.exec(r.stderr);
      if (inj && Number(inj[1]) > 0) {
        verdict = "UNSAFE";
        reason += `; harness: the host terminal received ${inj[1]} injected byte(s)`;
      }
      return { name, verdict, reason };
    }
  }
  const lines = r.stderr
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("forge-ptywrap: injected=") && !/^\s+at /.test(l));
  const err = lines.slice(0, 3).join(" | ");
  const how = r.timedOut ? "timed out" : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return { name, verdict: "ERROR", reason: `no verdict (${how})${err ? `: ${err}` : ""}` };
}

function processesWith(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const c = fs.readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (c.includes(marker))
        found.push({ pid: Number(e), cmdline: c.replaceAll("\0", " ").trim() });
    } catch {
      // gone or not ours to read
    }
  }
  return found;
}

/**
 * Starts a sandbox whose payload forks a daemonised grandchild, SIGKILLs the launcher
 * (the prefix's first process) and checks that no process of the sandbox survives.
 * Survivors are killed by pid afterwards.
 *
 * @example
 * ```ts
 * import { killLauncherCheck } from "./_probes.ts";
 * const r = await killLauncherCheck(prefix, probeDir); // { name: "kill_launcher", verdict: "SAFE", ... }
 * ```
 */
export async function killLauncherCheck(
  prefix: readonly string[],
  probeDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProbeResult> {
  const name = "kill_launcher";
  const marker = `forge-kill-${crypto.randomBytes(6).toString("hex")}`;
  const child = spawn(prefix[0]!, [...prefix.slice(1), path.join(probeDir, "_sleeper"), marker], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
    cwd: "/",
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  // "exit", not "close": survivors of the sandbox may hold the stdout pipe open.
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  try {
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 15_000);
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        if (d.includes("ready")) {
          clearTimeout(t);
          resolve(true);
        }
      });
      child.on("close", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (!ready)
      return {
        name,
        verdict: "ERROR",
        reason: `the sleeper never reported ready: ${stderr
          .split("\n")
          .filter((l) => l.trim() && !/^\s+at /.test(l))
          .slice(0, 2)
          .join(" | ")}`,
      };
    child.kill("SIGKILL");
    await exited;
    let left = processesWith(marker);
    for (let waited = 0; left.length && waited < 3000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesWith(marker);
    }
    if (left.length)
      return {
        name,
        verdict: "UNSAFE",
        reason: `${left.length} process(es) of the sandbox still alive 3 s after SIGKILL of the launcher: ${left
          .map((p) => `${p.pid} ${p.cmdline}`)
          .join("; ")}`,
      };
    return {
      name,
      verdict: "SAFE",
      reason: "no process of the sandbox survived SIGKILL of the launcher",
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child.stdout!.destroy();
    child.stderr!.destroy();
    for (const p of processesWith(marker)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** Whether Landlock confined the payload of a sandbox (see {@link landlockState}). */
export interface LandlockState {
  /** The kernel's Landlock ABI as seen from inside (-1: none, or the query was refused). */
  readonly abi: number;
  /** What kill(1, 0) from the payload gave: "ok" or an errno name ("EPERM"). */
  readonly kill1: string;
  /**
   * true: Landlock's signal scope held (kill of PID 1, outside the payload's domain, was
   * refused); false: it did not; undefined: cannot tell (Landlock ABI below 6, or no answer).
   */
  readonly confined: boolean | undefined;
  /** One line saying what was seen. */
  readonly detail: string;
}

/**
 * Runs the `_landlock_state` helper under `prefix` and says whether Landlock confined it.
 * Forge applies Landlock in the payload after the sandbox's PID 1 has started and scopes
 * signals (Landlock ABI 6+), so kill(1, 0) from the payload fails with EPERM under Landlock
 * and succeeds without it.
 *
 * @example
 * ```ts
 * import { forgePrefix, landlockState } from "./_probes.ts";
 * const s = await landlockState(forgePrefix(dir, ["--landlock", "off"]), dir);
 * console.log(s.confined, s.detail); // false "Landlock ABI 7, kill(1, 0) from the payload: ok"
 * ```
 */
export async function landlockState(
  prefix: readonly string[],
  probeDir: string,
): Promise<LandlockState> {
  const r = await exec([...prefix, path.join(probeDir, "_landlock_state")], {
    env: process.env,
    cwd: "/",
    timeoutMs: 20_000,
    group: false,
  });
  const m = /^landlock-state abi=(-?\d+) kill1=(\w+)$/m.exec(r.stdout);
  if (!m) {
    const err = r.stderr
      .split("\n")
      .filter((l) => l.trim() && !/^\s+at /.test(l))
      .slice(0, 2)
      .join(" | ");
    return {
      abi: -1,
      kill1: "?",
      confined: undefined,
      detail: `no answer from _landlock_state (exit ${r.code ?? r.signal})${err ? `: ${err}` : ""}`,
    };
  }
  const abi = Number(m[1]);
  const kill1 = m[2]!;
  const confined =
    abi >= 6 ? (kill1 === "EPERM" ? true : kill1 === "ok" ? false : undefined) : undefined;
  const abiText = abi < 0 ? "no Landlock ABI visible" : `Landlock ABI ${abi}`;
  return {
    abi,
    kill1,
    confined,
    detail: `${abiText}, kill(1, 0) from the payload: ${kill1}${abi >= 0 && abi < 6 ? " (signal scope needs ABI 6: cannot tell)" : ""}`,
  };
}

/**
 * Runs the probes in `probeDir`, each in its own sandbox `prefix + [probe, args...]`
 * (with a pty as controlling terminal), plus the harness-level checks, and returns one
 * result per probe sorted by name. Cleans up its listeners, marker process and temp
 * folders before returning.
 *
 * @example
 * ```ts
 * import { compileProbes, forgePrefix, runProbes } from "./_probes.ts";
 * const c = await compileProbes();
 * try {
 *   const results = await runProbes({ prefix: forgePrefix(c.dir), probeDir: c.dir });
 *   for (const r of results) console.log(r.verdict, r.name, r.reason);
 *   if (results.partial.length) console.log("partial run:", results.partial);
 * } finally {
 *   c.cleanup();
 * }
 * ```
 */
export async function runProbes(opts: RunProbesOptions): Promise<ProbeResults> {
  const probeDir = opts.probeDir;
  const names =
    opts.probes ??
    fs
      .readdirSync(probeDir)
      .filter((n) => !n.startsWith("_"))
      .sort();
  const adapted =
    (opts.adapt ?? true)
      ? await adaptPrefix(opts.prefix, probeDir)
      : { prefix: [...opts.prefix], dropped: [] };
  const prefix = adapted.prefix;
  const ptywrap = path.join(probeDir, "_ptywrap");
  const hostname = os.hostname();
  const fx = await fixtures(probeDir);
  const results: ProbeResult[] = [];
  try {
    await pool(names, opts.concurrency ?? 3, async (name) => {
      const argv = [ptywrap, ...prefix, path.join(probeDir, name), ...fx.args];
      const view = HOST_VIEW[name];
      const seen = new Set<string>();
      const poll = view
        ? setInterval(() => {
            for (const u of hostUids(path.join(probeDir, view.exe))) seen.add(u);
          }, 20)
        : undefined;
      const r = await exec(argv, {
        env: fx.env,
        cwd: fx.outside,
        fd3: fx.fd3,
        timeoutMs: opts.timeoutMs ?? 20_000,
        group: true,
      }).finally(() => clearInterval(poll));
      let res = judge(name, r);
      if (view) res = hostViewJudge(res, seen, view.what);
      if (name === "sethostname" && os.hostname() !== hostname) {
        const changed = os.hostname();
        await run("hostname", [hostname]);
        res = {
          name,
          verdict: "UNSAFE",
          reason: `the host's hostname changed from "${hostname}" to "${changed}"`,
        };
      }
      results.push(res);
    });
    if (opts.killCheck ?? true) results.push(await killLauncherCheck(prefix, probeDir, fx.env));
  } finally {
    await fx.close();
  }
  if (os.hostname() !== hostname) {
    // Put the host's name back (root only), then report.
    await run("hostname", [hostname]);
    const i = results.findIndex((r) => r.name === "sethostname");
    const r: ProbeResult = {
      name: "sethostname",
      verdict: "UNSAFE",
      reason: `the host's hostname changed from "${hostname}" during the run`,
    };
    if (i >= 0) results[i] = r;
    else results.push(r);
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  return Object.assign(results, { partial: adapted.dropped, prefix });
}

/**
 * Formats results as an aligned text table with a totals line.
 *
 * @example
 * ```ts
 * import { formatResults } from "./_probes.ts";
 * console.log(formatResults([{ name: "caps_zero", verdict: "SAFE", reason: "all zero" }]));
 * ```
 */
export function formatResults(results: readonly ProbeResult[]): string {
  const w = Math.max(...results.map((r) => r.name.length), 4);
  const lines = results.map((r) => `${r.verdict.padEnd(6)} ${r.name.padEnd(w)}  ${r.reason}`);
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  lines.push(
    `${count("SAFE")} SAFE, ${count("UNSAFE")} UNSAFE, ${count("ERROR")} ERROR of ${results.length}`,
  );
  return lines.join("\n");
}
