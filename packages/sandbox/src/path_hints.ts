/**
 * Where things are: when a command, its working directory or a file named in its
 * arguments is missing in the sandbox but there on the host, the usual reason is that
 * it was never bound in. These hints say so, with the `--bind` (and `--cwd`) that
 * fixes it, and name the working directory inside, which relative paths resolve
 * against.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { LaunchOptions } from "./launch.ts";
import { commandCandidates, hostPathOf } from "./resolve_command.ts";

/** What the hints need of a launch: the command, the new root, the cwd and PATH inside. */
export type SandboxView = Pick<LaunchOptions, "argv" | "root" | "cwd" | "env">;

/** Where to look on the host: its working directory and PATH (default: this process's). */
export interface HostView {
  readonly cwd: string;
  readonly path: string;
}

const hostNow = (): HostView => ({ cwd: process.cwd(), path: process.env.PATH ?? "" });

/** A path for a shell command line: quoted when it holds anything but plain characters. */
function arg(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replaceAll("'", "'\\''")}'`;
}

const exists = (p: string): boolean => {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** What a path inside the sandbox lies on: the deepest bind or other mount over it. */
function coveringMount(
  inside: string,
  view: SandboxView,
): { kind: "bind"; src: string; dst: string } | { kind: "mount"; dst: string } | undefined {
  const root = view.root;
  if (!root) return undefined;
  const under = (d: string) => inside === d || inside.startsWith(d === "/" ? "/" : `${d}/`);
  let best: { kind: "bind"; src: string; dst: string } | { kind: "mount"; dst: string } | undefined;
  const consider = (m: NonNullable<typeof best>) => {
    if (under(m.dst) && (!best || m.dst.length >= best.dst.length)) best = m;
  };
  for (const t of root.tmpfs ?? []) consider({ kind: "mount", dst: path.posix.resolve(t.dst) });
  if (root.proc ?? true) consider({ kind: "mount", dst: "/proc" });
  if (root.dev ?? true) consider({ kind: "mount", dst: "/dev" });
  for (const b of root.binds ?? [])
    consider({ kind: "bind", src: b.src, dst: path.posix.resolve(b.dst) });
  return best;
}

/**
 * Whether `inside` is there when the sandbox starts, as far as the host can tell: a
 * file through a bind, a mount point or a directory on the way to one. What a fresh
 * tmpfs would hold is nothing; /proc and /dev are taken as there (nothing to hint).
 */
function insideExists(inside: string, view: SandboxView): boolean {
  const root = view.root;
  if (!root) return true;
  const dsts = [
    ...(root.binds ?? []).map((b) => b.dst),
    ...(root.tmpfs ?? []).map((t) => t.dst),
    ...((root.proc ?? true) ? ["/proc"] : []),
    ...((root.dev ?? true) ? ["/dev"] : []),
  ].map((d) => path.posix.resolve(d));
  // A mount point, or a directory made on the way to one.
  if (inside === "/" || dsts.some((d) => d === inside || d.startsWith(`${inside}/`))) return true;
  const m = coveringMount(inside, view);
  if (!m) return false;
  if (m.kind === "mount") return m.dst === "/proc" || m.dst === "/dev";
  const host = hostPathOf(inside, [m]);
  return host !== undefined && exists(host);
}

/** Whether host directory `dir` is visible inside at the same path (bound there). */
function boundAtSamePath(dir: string, view: SandboxView): boolean {
  const m = coveringMount(dir, view);
  return m?.kind === "bind" && hostPathOf(dir, [m]) === dir;
}

/** "add --bind DIR:ro --cwd DIR", leaving out what is already so. */
function fixFor(hostDir: string, view: SandboxView, withCwd: boolean): string {
  const parts: string[] = [];
  if (!boundAtSamePath(hostDir, view)) parts.push(`--bind ${arg(`${hostDir}:ro`)}`);
  if (withCwd && path.posix.resolve(view.cwd ?? "/") !== hostDir)
    parts.push(`--cwd ${arg(hostDir)}`);
  return `add ${parts.join(" ")}`;
}

/** PT_INTERP of an ELF64 little-endian file (its dynamic loader), if it has one. */
function elfInterpreter(head: Buffer, file: string): string | undefined {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1)
    return undefined;
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== 3) continue; // PT_INTERP
      const off = Number(ph.readBigUInt64LE(at + 8));
      const size = Math.min(Number(ph.readBigUInt64LE(at + 32)), 4096);
      const name = Buffer.alloc(size);
      fs.readSync(fd, name, 0, size, off);
      return name.toString("latin1").replace(/\0.*$/s, "");
    }
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return undefined;
}

/**
 * Why a command that is in the sandbox could not be executed with ENOENT: its #!
 * interpreter or its dynamic loader is not there.
 */
function interpreterHint(cmd: string, hostFile: string, view: SandboxView): string | undefined {
  let head: Buffer;
  try {
    const fd = fs.openSync(hostFile, "r");
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, fs.readSync(fd, head, 0, 256, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let interp: string | undefined;
  let what: string;
  if (head.subarray(0, 2).toString("latin1") === "#!") {
    interp = head.toString("latin1", 2).split("\n")[0]!.trim().split(/\s+/)[0];
    what = "its #! line";
  } else {
    interp = elfInterpreter(head, hostFile);
    what = "its dynamic loader";
  }
  if (!interp?.startsWith("/") || insideExists(interp, view)) return undefined;
  const onHost = exists(interp)
    ? `; it is on the host: ${fixFor(path.dirname(interp), view, false)}`
    : "";
  return `cannot execute ${cmd}: its interpreter ${interp} (${what}) is not in the sandbox${onHost}`;
}

/**
 * The message for a command the sandbox could not execute (ENOENT; `message` is the
 * one it had, kept for a bare name's "command not found"), or undefined when
 * there is nothing to add: a bare name found on the host but not in the sandbox, a
 * path that is on the host but not bound, a relative path (resolved against the
 * working directory inside, which it names), a missing #! interpreter or loader.
 *
 * @example
 * ```ts
 * import { commandHint } from "@forge/sandbox";
 * const view = { argv: ["/srv/tool"], root: { binds: [{ src: "/usr", dst: "/usr" }] } };
 * commandHint(view, "cannot execute /srv/tool: no such file or directory");
 * // "cannot execute /srv/tool: no such file in the sandbox; it is on the host, but /srv
 * //  is not bound into the sandbox: add --bind /srv:ro" (when /srv/tool is on the host)
 * ```
 */
export function commandHint(
  view: SandboxView,
  message: string,
  host: HostView = hostNow(),
): string | undefined {
  if (!view.root) return undefined;
  const cmd = view.argv[0]!;
  const cwd = path.posix.resolve(view.cwd ?? "/");
  if (!cmd.includes("/")) {
    const inPath = view.env?.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const [first] = commandCandidates(cmd, inPath, view.root.binds ?? []);
    if (first && insideExists(first, view)) {
      const m = coveringMount(first, view);
      const file = m?.kind === "bind" ? hostPathOf(first, [m]) : undefined;
      return file ? interpreterHint(cmd, file, view) : undefined;
    }
    const onHost = host.path
      .split(":")
      .filter((d) => d.startsWith("/"))
      .map((d) => path.join(d, cmd))
      .find((p) => {
        try {
          return fs.statSync(p).isFile();
        } catch {
          return false;
        }
      });
    if (!onHost) return undefined;
    if (insideExists(onHost, view) && boundAtSamePath(path.dirname(onHost), view))
      return `${message}; it is at ${onHost}, outside the sandbox's PATH: run it by that path`;
    return `${message}; it is on the host at ${onHost}, which is not in the sandbox: ${fixFor(path.dirname(onHost), view, false)} and run ${arg(onHost)}`;
  }
  const inside = path.posix.resolve(cwd, cmd);
  if (insideExists(inside, view)) {
    const m = coveringMount(inside, view);
    const file = m?.kind === "bind" ? hostPathOf(inside, [m]) : undefined;
    return file ? interpreterHint(cmd, file, view) : undefined;
  }
  const relative = !cmd.startsWith("/");
  const hostFile = path.resolve(host.cwd, cmd);
  // Something else is bound there: the host's file at that path is not the one meant.
  const boundOver = coveringMount(inside, view)?.kind === "bind";
  if (!boundOver && exists(hostFile)) {
    if (!relative)
      return `cannot execute ${cmd}: no such file in the sandbox; it is on the host, but ${path.dirname(cmd)} is not bound into the sandbox: ${fixFor(path.dirname(cmd), view, false)}`;
    if (host.cwd !== "/")
      return `cannot execute ${cmd}: no such file in the sandbox, whose working directory is ${cwd}; on the host it is ${hostFile}: ${fixFor(host.cwd, view, true)}`;
  }
  return relative
    ? `cannot execute ${cmd}: no such file or directory (the working directory inside the sandbox is ${cwd})`
    : undefined;
}

/**
 * What to add to the error for a working directory the sandbox does not have, when
 * it is a directory on the host: that it is not bound in, and the `--bind`.
 *
 * @example
 * ```ts
 * import { cwdHint } from "@forge/sandbox";
 * cwdHint({ argv: ["true"], cwd: "/tmp", root: {} }); // "/tmp is on the host, but not bound into the sandbox: add --bind /tmp:ro" (when /tmp is not a mount there)
 * ```
 */
export function cwdHint(view: SandboxView): string | undefined {
  if (!view.root || view.cwd === undefined) return undefined;
  const cwd = path.posix.resolve(view.cwd);
  if (insideExists(cwd, view) || coveringMount(cwd, view)?.kind === "bind") return undefined;
  try {
    if (!fs.statSync(cwd).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return `${cwd} is on the host, but not bound into the sandbox: ${fixFor(cwd, view, false)}`;
}

/**
 * Rewrites the message of a set-up error that a missing path explains (a command or
 * working directory that is on the host but not bound into the sandbox) and returns
 * the error; any other error is returned as it is.
 *
 * @example
 * ```ts
 * import { explainSetupError } from "@forge/sandbox";
 * // in a catch around launch(view): throw explainSetupError(e, view);
 * ```
 */
export function explainSetupError(
  e: unknown,
  view: SandboxView,
  host: HostView = hostNow(),
): unknown {
  const err = e as Error & { code?: string; syscall?: string; step?: string };
  if (err?.name !== "SpawnError" || err.code !== "ENOENT" || !view.root) return e;
  try {
    if (err.syscall === "execve") {
      const hint = commandHint(view, err.message, host);
      if (hint) err.message = hint;
    } else if (view.cwd !== undefined && err.step?.startsWith("enter the working directory")) {
      const hint = cwdHint(view);
      if (hint) err.message = `${err.message}; ${hint}`;
    }
  } catch {
    // a hint is a courtesy: the error stands as it was
  }
  return e;
}

/**
 * After a run that failed: the first argument that names a file or directory which is
 * on the host (relative ones resolved against the host's working directory) but not
 * in the sandbox (resolved against the working directory inside), with the `--bind`
 * and `--cwd` that would put it there; undefined when there is none. Options, words
 * with spaces and `NAME=VALUE` words are not taken for paths.
 *
 * @example
 * ```ts
 * import { argumentHint } from "@forge/sandbox";
 * argumentHint({ argv: ["python3", "job.py"], cwd: "/", root: { binds: [{ src: "/usr", dst: "/usr" }] } });
 * // "job.py is not in the sandbox, whose working directory is /; on the host it is
 * //  /home/me/job.py: add --bind /home/me:ro --cwd /home/me" (run from /home/me)
 * ```
 */
export function argumentHint(view: SandboxView, host: HostView = hostNow()): string | undefined {
  if (!view.root) return undefined;
  const cwd = path.posix.resolve(view.cwd ?? "/");
  for (const a of view.argv.slice(1)) {
    if (!a || a.startsWith("-") || /[\s=\0]/.test(a) || a.length > 4096) continue;
    const inside = path.posix.resolve(cwd, a);
    if (insideExists(inside, view) || coveringMount(inside, view)?.kind === "bind") continue;
    const hostPath = path.resolve(host.cwd, a);
    let dir: boolean;
    try {
      dir = fs.statSync(hostPath).isDirectory();
    } catch {
      continue;
    }
    if (a.startsWith("/")) {
      const where = dir ? a : path.dirname(a);
      if (where === "/") continue;
      return `${a} is not in the sandbox; it is on the host, but ${where} is not bound into the sandbox: ${fixFor(where, view, false)}`;
    }
    if (host.cwd === "/") continue;
    return `${a} is not in the sandbox, whose working directory is ${cwd}; on the host it is ${hostPath}: ${fixFor(host.cwd, view, true)}`;
  }
  return undefined;
}
