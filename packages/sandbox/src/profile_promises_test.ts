// Every built-in sandbox profile does what its description says, for real: each promise
// is a phrase of the description (the test fails when the phrase is gone, so a
// description cannot drift from what is checked) and a check that runs `forge run
// --profile NAME` on this kernel, as root and rootless (uid 65534 via setpriv). What the
// checks run: sh, ls, a pipeline, python3 and node where the profile says they work;
// writes where it says they go; EROFS where it says read-only (from a small C prober
// that prints errno, and from the shell's, Python's and Node's own error); no network;
// the /tmp size. A built-in without an entry here fails too.
//
// The sandbox runs are memoized per (profile, user, command) and the checks run
// concurrently: the prober answers most of a profile's checks in one run, and a profile
// costs a handful of runs of ~0.3 s. Everything is created under one temporary folder,
// removed at the end.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { landlockAbi } from "@forge/namespaces";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FORGE_CLI } from "./_probes.ts";
import { listProfiles } from "./profile.ts";

const PROBER = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
/* One line per command "verb:arg": "verb:arg <return> <errno>" (errno 0 on success);
 * cat and ls first print their content as "verb:arg| text" lines. */
static void say(const char *label, long r, int e) {
  printf("%s %ld %d\n", label, r, r < 0 ? e : 0);
  fflush(stdout);
}
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char label[1024];
    snprintf(label, sizeof label, "%s", argv[i]);
    char *v = strchr(argv[i], ':');
    if (v) *v++ = 0; else v = "";
    const char *c = argv[i];
    long r = -1;
    int e = 0;
    errno = 0;
    if (!strcmp(c, "create")) { /* create, write, read back */
      int fd = open(v, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      e = errno;
      if (fd >= 0) {
        r = write(fd, "forge", 5) == 5 ? 0 : -1; e = errno;
        close(fd);
        char b[8] = {0};
        int g = r == 0 ? open(v, O_RDONLY) : -1;
        if (r == 0) { e = errno; r = g >= 0 && read(g, b, sizeof b) == 5 && !memcmp(b, "forge", 5) ? 0 : -1; }
        if (g >= 0) close(g);
      }
    } else if (!strcmp(c, "append")) { /* open an existing file for writing */
      int fd = open(v, O_WRONLY | O_APPEND);
      e = errno; r = fd;
      if (fd >= 0) { close(fd); r = 0; }
    } else if (!strcmp(c, "mkdir")) { /* mkdir, then rmdir */
      r = mkdir(v, 0755); e = errno;
      if (r == 0) { r = rmdir(v); e = errno; }
    } else if (!strcmp(c, "read")) {
      int fd = open(v, O_RDONLY);
      e = errno; r = fd;
      if (fd >= 0) { char b[64]; r = read(fd, b, sizeof b) >= 0 ? 0 : -1; e = errno; close(fd); }
    } else if (!strcmp(c, "cat")) {
      FILE *f = fopen(v, "r");
      e = errno;
      if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f)) printf("%s| %s%s", label, line, strchr(line, '\n') ? "" : "\n");
        fclose(f); r = 0;
      }
    } else if (!strcmp(c, "ls")) {
      DIR *d = opendir(v);
      e = errno;
      if (d) {
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) if (de->d_name[0] != '.') printf("%s| %s\n", label, de->d_name);
        e = errno; r = e ? -1 : 0;
        closedir(d);
      }
    } else if (!strcmp(c, "connect")) { /* connect:IPV4:PORT over TCP */
      char ip[64];
      snprintf(ip, sizeof ip, "%s", v);
      char *port = strchr(ip, ':');
      if (port) *port++ = 0;
      int s = socket(AF_INET, SOCK_STREAM, 0);
      e = errno; r = s;
      if (s >= 0) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port ? atoi(port) : 9) };
        inet_pton(AF_INET, ip, &a.sin_addr);
        r = connect(s, (struct sockaddr *)&a, sizeof a); e = errno;
        close(s);
      }
    } else if (!strcmp(c, "fork")) { /* fork:MAX children that wait; the count, then the errno that stopped it */
      int max = atoi(v), n = 0;
      pid_t kids[4096];
      for (; n < max && n < 4096; n++) {
        pid_t p = fork();
        if (p == 0) { pause(); _exit(0); }
        if (p < 0) { e = errno; break; }
        kids[n] = p;
      }
      for (int k = 0; k < n; k++) kill(kids[k], SIGKILL);
      for (int k = 0; k < n; k++) waitpid(kids[k], 0, 0);
      printf("%s %d %d\n", label, n, e);
      fflush(stdout);
      continue;
    } else if (!strcmp(c, "eat")) { /* eat:MB, touching every page */
      size_t mb = strtoul(v, 0, 10);
      for (size_t k = 0; k < mb; k++) {
        char *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { e = errno; break; }
        memset(p, 1, 1 << 20);
        r = (long)k + 1;
      }
    } else if (!strcmp(c, "kill1")) {
      r = kill(1, 0); e = errno;
    } else {
      r = -1; e = EINVAL;
    }
    say(label, r, e);
  }
  return 0;
}
`;

const SH = String.raw`
echo "arith $((6 * 7))"
echo "pipe $(printf 'b\na\n' | sort | tr a-z A-Z | head -n 1)"
echo forge > "$1/forge-sh" && echo "wrote $(cat "$1/forge-sh")" && rm "$1/forge-sh" && echo "removed $(ls "$1" | grep -c forge-sh)"
shift
for d in "$@"; do
  echo "create $d $( { : > "$d/forge-sh"; } 2>&1 )"
  echo "mkdir $d $(mkdir "$d/forge-sh-dir" 2>&1)"
done
`;

const PY = `
import errno, os, sys
for d in sys.argv[1:]:
    p = os.path.join(d, "forge-py")
    try:
        with open(p, "w") as f:
            f.write("forge")
        with open(p) as f:
            assert f.read() == "forge"
        os.unlink(p)
        print("create", d, "ok")
    except OSError as e:
        print("create", d, errno.errorcode[e.errno])
import socket
try:
    a, b = socket.socketpair()
    a.send(b"x")
    print("socketpair", b.recv(1).decode())
except OSError as e:
    print("socketpair", errno.errorcode[e.errno])
`;

const NODE = `
const fs = require("node:fs");
for (const d of process.argv.slice(1)) {
  const p = d + "/forge-node";
  try {
    fs.writeFileSync(p, "forge");
    if (fs.readFileSync(p, "utf8") !== "forge") throw new Error("read back");
    fs.unlinkSync(p);
    console.log("create", d, "ok");
  } catch (e) {
    console.log("create", d, e.code);
  }
}
`;

const isRoot = process.getuid?.() === 0;
const cliBuilt = fs.existsSync(path.join(path.dirname(FORGE_CLI), "..", "dist", "main.js"));
const hasCc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
const MiB = 1024 * 1024;
const ENOENT = os.constants.errno.ENOENT;
const EAGAIN = os.constants.errno.EAGAIN;
/** The host's own paths that exist (usrmerge hosts have /bin and /lib as links into /usr). */
const hostHas = (p: string) => fs.existsSync(p);

/** Who runs forge: the test's user, and uid 65534 when the test runs as root. */
const USERS = isRoot ? (["root", "rootless"] as const) : (["caller"] as const);
type User = (typeof USERS)[number];

let dir = ""; // read-only in the sandboxes: the probers live here
let rw = ""; // bound read-write
let prober = ""; // static if the toolchain has a static libc, else dynamic
let proberStatic = false;
let proberLibc = ""; // dynamically linked against libc
let port = 0; // a TCP listener on the host's 127.0.0.1
let server: net.Server | undefined;

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  /** The prober's lines by label: [return, errno]. */
  readonly calls: Map<string, [number, number]>;
  /** The prober's cat and ls content by label. */
  readonly text: Map<string, string[]>;
}

const runs = new Map<string, Promise<Run>>();

/** Runs argv to its end: exit code, stdout, stderr (killed after 60 s). */
function exec(argv: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** `forge run --profile NAME` with the two test folders bound (memoized). */
function forge(profile: string, user: User, argv: readonly string[]): Promise<Run> {
  const key = JSON.stringify([profile, user, argv]);
  let run = runs.get(key);
  if (!run) {
    run = forgeRun(profile, user, argv);
    runs.set(key, run);
  }
  return run;
}

async function forgeRun(profile: string, user: User, argv: readonly string[]): Promise<Run> {
  const cmd = [
    process.execPath,
    FORGE_CLI,
    "run",
    "--profile",
    profile,
    "--bind",
    `${dir}:ro`,
    "--bind",
    rw,
    "--",
    ...argv,
  ];
  const r = await exec(
    user === "rootless"
      ? ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", ...cmd]
      : cmd,
  );
  const calls = new Map<string, [number, number]>();
  const text = new Map<string, string[]>();
  for (const l of r.out.split("\n")) {
    const m = /^(\S+)\| (.*)$/.exec(l);
    if (m) {
      text.set(m[1]!, [...(text.get(m[1]!) ?? []), m[2]!]);
      continue;
    }
    const c = /^(\S+) (-?\d+) (\d+)$/.exec(l);
    if (c) calls.set(c[1]!, [Number(c[2]), Number(c[3])]);
  }
  return { ...r, calls, text };
}

/** What one profile's checks see: its runs, for one user. */
interface Seen {
  readonly profile: string;
  readonly user: User;
  /** A per-user file name, so that root's files do not stand in rootless's way. */
  readonly tag: string;
  readonly run: (argv: readonly string[]) => Promise<Run>;
}

/** The prober's answer to a command, with the run's output when it is missing. */
function call(s: Seen, r: Run, label: string): [number, number] {
  const got = r.calls.get(label);
  expect(got, `${s.profile} (${s.user}): no answer to ${label}; stderr: ${r.err}`).toBeDefined();
  return got!;
}

/**
 * What the checks ask the prober, in one run per profile and user (a run costs more
 * than every command in it): writes everywhere a check looks, the mounts, the network,
 * the process's status, /proc and /dev.
 */
function survey(s: Seen): string[] {
  const places = ["/", ...systemDirs(), "/etc", "/dev", "/tmp", "/dev/shm", dir, rw];
  return [
    ...places.flatMap((p) => [`create:${p}/forge-${s.tag}`, `mkdir:${p}/forge-${s.tag}-d`]),
    `append:${anyoneMayWrite()}`,
    `connect:127.0.0.1:${port}`,
    "connect:192.0.2.1:9",
    "cat:/proc/self/mountinfo",
    "cat:/proc/self/status",
    "ls:/proc",
    "ls:/dev",
    "read:/etc/passwd",
    "kill1",
  ];
}

/**
 * The prober's answers to `cmds` under the profile (a static binary: it runs
 * everywhere): from the survey run when it asked them all, else from a run of their own.
 */
async function probe(s: Seen, ...cmds: string[]): Promise<Run> {
  const all = await s.run([prober, ...survey(s)]);
  if (cmds.every((c) => all.calls.has(c))) return all;
  return s.run([prober, ...cmds]);
}

/** The payload's stderr: without forge's own warnings (cgroups or Landlock missing here). */
function payloadErr(r: Run): string {
  return r.err
    .split("\n")
    .filter((l) => !l.startsWith("forge: warning: "))
    .join("\n");
}

/** The errno name for a number ("ok" for 0). */
function errnoName(n: number): string {
  if (n === 0) return "ok";
  return Object.entries(os.constants.errno).find(([, v]) => v === n)?.[0] ?? String(n);
}

/** The sandbox's mounts: mount point, read-write or not, filesystem type, super options. */
async function mounts(s: Seen): Promise<{ at: string; rw: boolean; fs: string; opts: string }[]> {
  const r = await probe(s, "cat:/proc/self/mountinfo");
  const lines = r.text.get("cat:/proc/self/mountinfo") ?? [];
  expect(lines.length, `${s.profile}: no mountinfo; stderr: ${r.err}`).toBeGreaterThan(0);
  return lines.map((l) => {
    const [left, right] = l.split(" - ");
    const f = left!.split(" ");
    const [fsType, , superOpts] = right!.split(" ");
    return {
      at: f[4]!.replace(/\\040/g, " "),
      rw: f[5]!.split(",").includes("rw"),
      fs: fsType!,
      opts: superOpts ?? "",
    };
  });
}

// --- the checks a promise can make --------------------------------------------------

/** `tools` run and give the right answer. */
async function runsTools(
  s: Seen,
  tools: readonly ("sh" | "ls" | "pipeline" | "python3" | "node" | "static" | "libc")[],
): Promise<void> {
  for (const t of tools) {
    const at = `${s.profile} (${s.user}): ${t}`;
    let r: Run | undefined;
    switch (t) {
      case "sh":
        // Redirections to /dev/null, as scripts do: the old shell-readonly refused them.
        r = await s.run([
          "/bin/sh",
          "-c",
          "ls /nonexistent 2>/dev/null; echo $((6 * 7)) >/dev/null; echo $((6 * 7)); pwd",
        ]);
        expect(payloadErr(r), at).toBe("");
        expect(r.out, at).toBe("42\n/\n");
        break;
      case "ls":
        r = await s.run(["ls", "-l", "/usr"]);
        expect(payloadErr(r), at).toBe("");
        expect(r.out, at).toMatch(/ bin\n/);
        break;
      case "pipeline":
        r = await s.run(["/bin/sh", "-c", "printf 'b\\na\\n' | sort | tr a-z A-Z | head -n 1"]);
        expect(payloadErr(r), at).toBe("");
        expect(r.out, at).toBe("A\n");
        break;
      case "python3":
        r = await s.run(["python3", "-c", "print(6 * 7)"]);
        expect(r.out, `${at}: ${r.err}`).toBe("42\n");
        break;
      case "node":
        r = await s.run(["node", "-e", "console.log(6 * 7)"]);
        expect(r.out, `${at}: ${r.err}`).toBe("42\n");
        break;
      case "static":
      case "libc": {
        if (t === "static" && !proberStatic) continue; // no static libc to build one
        r = await s.run([t === "static" ? prober : proberLibc, "read:/proc/self/status"]);
        expect(r.calls.get("read:/proc/self/status"), `${at}: ${r.err}`).toEqual([0, 0]);
        break;
      }
    }
    expect(r!.code, `${at}: ${r!.err}`).toBe(0);
  }
}

/** Files can be created, written, read back (and directories made, `dirs`) under each of `places`. */
async function writable(
  s: Seen,
  places: readonly string[],
  opts: { dirs?: boolean } = {},
): Promise<void> {
  const dirs = opts.dirs ?? true;
  const cmds = places.flatMap((p) => [
    `create:${p}/forge-${s.tag}`,
    ...(dirs ? [`mkdir:${p}/forge-${s.tag}-d`] : []),
  ]);
  const r = await probe(s, ...cmds);
  for (const c of cmds)
    expect(errnoName(call(s, r, c)[1]), `${s.profile} (${s.user}): ${c}`).toBe("ok");
}

/** Creating a file or a directory, or opening an existing file for writing, fails with EROFS. */
async function readOnly(
  s: Seen,
  places: readonly string[],
  existing: readonly string[] = [],
): Promise<void> {
  const cmds = [
    ...places.flatMap((p) => [`create:${p}/forge-${s.tag}`, `mkdir:${p}/forge-${s.tag}-d`]),
    ...existing.map((f) => `append:${f}`),
  ];
  const r = await probe(s, ...cmds);
  for (const c of cmds)
    expect(errnoName(call(s, r, c)[1]), `${s.profile} (${s.user}): ${c}`).toBe("EROFS");
}

/** A tmpfs of `size` bytes, read-write, at `at`. */
async function tmpfsOf(s: Seen, at: string, size: number): Promise<void> {
  const m = (await mounts(s)).filter((x) => x.at === at);
  expect(m.length, `${s.profile}: a mount at ${at}`).toBeGreaterThan(0);
  const top = m[m.length - 1]!;
  expect(top.fs, `${s.profile}: ${at}`).toBe("tmpfs");
  expect(top.rw, `${s.profile}: ${at} read-write`).toBe(true);
  expect(
    top.opts.split(",").find((o) => o.startsWith("size=")),
    `${s.profile}: ${at}`,
  ).toBe(`size=${size / 1024}k`);
}

/** The only places that take writes: these mount points (not counting /proc, devpts, device nodes). */
async function onlyWritable(s: Seen, places: readonly string[]): Promise<void> {
  const open = (await mounts(s))
    .filter((m) => m.rw && !m.at.startsWith("/proc") && m.fs !== "devpts" && m.fs !== "devtmpfs")
    .map((m) => m.at);
  expect([...new Set(open)].sort(), `${s.profile} (${s.user}): read-write mounts`).toEqual(
    [...places].sort(),
  );
}

/** No connection to the host's loopback or beyond. */
async function noNetwork(s: Seen, errnos?: readonly string[]): Promise<void> {
  const cmds = [`connect:127.0.0.1:${port}`, "connect:192.0.2.1:9"];
  const r = await probe(s, ...cmds);
  for (const c of cmds) {
    const [ret, e] = call(s, r, c);
    expect(ret, `${s.profile} (${s.user}): ${c} must fail`).toBe(-1);
    if (errnos) expect(errnos, `${s.profile}: ${c}`).toContain(errnoName(e));
  }
}

/** The shell writes under `scratch` and gets "Read-only file system" under `readOnlyDirs`. */
async function shellWrites(
  s: Seen,
  scratch: string,
  readOnlyDirs: readonly string[],
): Promise<void> {
  const r = await s.run(["/bin/sh", "-c", SH, "sh", scratch, ...readOnlyDirs]);
  const at = `${s.profile} (${s.user}): sh`;
  expect(r.out, `${at}: ${r.err}`).toContain("wrote forge\nremoved 0\n");
  for (const d of readOnlyDirs) {
    expect(r.out, at).toMatch(new RegExp(`^create ${d} .*: Read-only file system$`, "m"));
    expect(r.out, at).toMatch(new RegExp(`^mkdir ${d} .*: Read-only file system$`, "m"));
  }
}

/** Python (or Node) writes in `writes` and gets EROFS in `readOnlyDirs`. */
async function runtimeWrites(
  s: Seen,
  runtime: "python3" | "node",
  writes: readonly string[],
  readOnlyDirs: readonly string[],
): Promise<Run> {
  const argv =
    runtime === "python3"
      ? ["python3", "-c", PY, ...writes, ...readOnlyDirs]
      : ["node", "-e", NODE, ...writes, ...readOnlyDirs];
  const r = await s.run(argv);
  const at = `${s.profile} (${s.user}): ${runtime}`;
  expect(r.code, `${at}: ${r.err}`).toBe(0);
  for (const d of writes) expect(r.out, at).toContain(`create ${d} ok\n`);
  for (const d of readOnlyDirs) expect(r.out, at).toContain(`create ${d} EROFS\n`);
  return r;
}

/** Process and memory limits hold, unless forge said cgroups do not allow them here. */
async function limitsHold(s: Seen, pids: number, memoryMiB: number): Promise<void> {
  const f = await probe(s, `fork:${pids + 16}`);
  if (/WITHOUT resource limits/.test(f.err)) return; // "where cgroups allow"
  const [n, e] = call(s, f, `fork:${pids + 16}`);
  expect(n, `${s.profile}: children forked under pids ${pids}`).toBeLessThan(pids);
  expect(e, `${s.profile}: what stopped fork`).toBe(EAGAIN);
  const m = await probe(s, `eat:${memoryMiB + 256}`);
  expect(m.calls.get(`eat:${memoryMiB + 256}`), `${s.profile}: ate past ${memoryMiB} MiB`).toBe(
    undefined,
  );
  expect(m.code, `${s.profile}: ${m.err}`).not.toBe(0);
}

// --- what each built-in promises ------------------------------------------------------

interface Promised {
  /** The phrase of the description this checks. */
  readonly says: RegExp;
  /** The system program it needs (skipped on a host without it: no promise to keep). */
  readonly needs?: "/usr/bin/python3" | "/usr/bin/node";
  readonly check: (s: Seen) => Promise<void>;
}

const bound = () => dir; // bound read-only
/**
 * A file in the read-only bind that everyone may write (mode 0666): opening it for
 * writing fails only because of the mount. (A file the sandbox's user may not write,
 * such as /etc/passwd, fails with EACCES first, on a read-write mount too.)
 */
const anyoneMayWrite = () => path.join(dir, "anyone-may-write");
const systemDirs = () => ["/usr", "/bin", "/lib", "/lib64"].filter(hostHas);

const PROMISES: Record<string, readonly Promised[]> = {
  default: [
    {
      says: /for most programs \(sh, ls, pipelines, Python, Node\)/,
      needs: "/usr/bin/node",
      check: (s) => runsTools(s, ["sh", "ls", "pipeline", "python3", "node"]),
    },
    {
      says: /\/usr, \/bin, \/lib\* and \/etc read-only \(writes fail with EROFS\)/,
      needs: "/usr/bin/python3",
      check: async (s) => {
        await readOnly(s, [...systemDirs(), "/etc"], [anyoneMayWrite()]);
        await shellWrites(s, "/tmp", ["/usr", "/etc"]);
        await runtimeWrites(s, "python3", ["/tmp"], ["/usr", "/etc"]);
      },
    },
    {
      says: /a private 64 MiB \/tmp/,
      check: async (s) => {
        await tmpfsOf(s, "/tmp", 64 * MiB);
        await writable(s, ["/tmp"]);
        expect(fs.existsSync(`/tmp/forge-${s.tag}`), "the host's /tmp").toBe(false);
      },
    },
    {
      says: /fresh \/proc/,
      check: async (s) => {
        const r = await probe(s, "ls:/proc");
        const pids = (r.text.get("ls:/proc") ?? []).filter((n) => /^\d+$/.test(n));
        expect(pids.length, `${s.profile}: processes in /proc`).toBeGreaterThan(0);
        expect(pids.length, `${s.profile}: processes in /proc: ${pids}`).toBeLessThanOrEqual(3);
      },
    },
    {
      says: /a minimal \/dev/,
      check: async (s) => {
        const r = await probe(s, "ls:/dev");
        const known = "null zero full random urandom tty pts shm ptmx fd stdin stdout stderr";
        expect(r.text.get("ls:/dev")?.length, `${s.profile}: /dev`).toBeGreaterThan(0);
        for (const e of r.text.get("ls:/dev") ?? [])
          expect(known.split(" "), `${s.profile}: /dev/${e}`).toContain(e);
      },
    },
    { says: /no network/, check: (s) => noNetwork(s) },
    {
      says: /no capabilities/,
      check: async (s) => {
        const r = await probe(s, "cat:/proc/self/status");
        const status = r.text.get("cat:/proc/self/status") ?? [];
        for (const k of ["CapPrm", "CapEff", "CapAmb"])
          expect(
            status.find((l) => l.startsWith(`${k}:`)),
            `${s.profile}: ${k}`,
          ).toMatch(/:\s+0+$/);
      },
    },
    {
      says: /Landlock where the kernel has it/,
      check: async (s) => {
        // Forge scopes signals with Landlock (ABI 6+): PID 1 is outside the payload's domain.
        if (landlockAbi() < 6) return;
        const r = await probe(s, "kill1");
        expect(errnoName(call(s, r, "kill1")[1]), `${s.profile}: kill(1, 0)`).toBe("EPERM");
      },
    },
  ],
  minimal: [
    {
      says: /one small program, static or linked with libc/,
      check: (s) => runsTools(s, ["static", "libc"]),
    },
    {
      says: /not for a shell: .*sh cannot pipe or find its directory and ls cannot list/,
      check: async (s) => {
        // What a user trying a shell meets; the description says so instead of a surprise.
        const sh = await s.run(["/bin/sh", "-c", "echo a | cat"]);
        expect(sh.err, `${s.profile}: sh`).toMatch(/getcwd\(\) failed: Operation not permitted/);
        expect(sh.err, `${s.profile}: sh`).toMatch(/Pipe call failed/);
        const ls = await s.run(["ls", "/usr"]);
        expect(ls.err, `${s.profile}: ls`).toMatch(/Operation not permitted/);
      },
    },
    {
      says: /create files in a 16 MiB \/tmp/,
      check: async (s) => {
        await tmpfsOf(s, "/tmp", 16 * MiB);
        await writable(s, ["/tmp"], { dirs: false });
      },
    },
    {
      says: /\/usr, \/bin and \/lib\* read-only \(EROFS\)/,
      check: async (s) => {
        const cmds = systemDirs().map((p) => `create:${p}/forge-${s.tag}`);
        const r = await probe(s, ...cmds);
        for (const c of cmds) expect(errnoName(call(s, r, c)[1]), c).toBe("EROFS");
      },
    },
    {
      says: /no \/etc/,
      check: async (s) => {
        const r = await probe(s, "read:/etc/passwd");
        expect(call(s, r, "read:/etc/passwd")[1]).toBe(ENOENT);
      },
    },
    { says: /no network/, check: (s) => noNetwork(s, ["EPERM"]) },
  ],
  "node-safe": [
    { says: /^Node\.js programs/, needs: "/usr/bin/node", check: (s) => runsTools(s, ["node"]) },
    {
      says: /the system Node and \/usr, \/bin, \/lib\*, \/etc read-only \(writes fail with EROFS\)/,
      needs: "/usr/bin/node",
      check: async (s) => {
        await readOnly(s, [...systemDirs(), "/etc"], [anyoneMayWrite()]);
        await runtimeWrites(s, "node", ["/tmp"], ["/usr", "/etc"]);
      },
    },
    {
      says: /a private 128 MiB \/tmp/,
      check: async (s) => {
        await tmpfsOf(s, "/tmp", 128 * MiB);
        await writable(s, ["/tmp"]);
      },
    },
    { says: /no network/, check: (s) => noNetwork(s) },
    {
      says: /memory \(1 GiB\) and process \(128\) limits where cgroups allow/,
      check: (s) => limitsHold(s, 128, 1024),
    },
  ],
  "python-safe": [
    {
      says: /^Python scripts/,
      needs: "/usr/bin/python3",
      check: (s) => runsTools(s, ["python3"]),
    },
    {
      says: /the system Python and \/usr, \/bin, \/lib\*, \/etc read-only \(writes fail with EROFS\)/,
      needs: "/usr/bin/python3",
      check: async (s) => {
        await readOnly(s, [...systemDirs(), "/etc"], [anyoneMayWrite()]);
        await runtimeWrites(s, "python3", ["/tmp"], ["/usr", "/etc"]);
      },
    },
    {
      says: /a private 128 MiB \/tmp/,
      check: async (s) => {
        await tmpfsOf(s, "/tmp", 128 * MiB);
        await writable(s, ["/tmp"]);
      },
    },
    {
      says: /no network \(AF_UNIX sockets only\)/,
      needs: "/usr/bin/python3",
      check: async (s) => {
        await noNetwork(s, ["EPERM"]);
        const r = await runtimeWrites(s, "python3", [], []);
        expect(r.out).toContain("socketpair x\n");
      },
    },
    {
      says: /memory \(512 MiB\) and process \(64\) limits where cgroups allow/,
      check: (s) => limitsHold(s, 64, 512),
    },
  ],
  "shell-readonly": [
    {
      says: /^Inspecting with a shell \(sh, ls, pipelines/,
      check: (s) => runsTools(s, ["sh", "ls", "pipeline"]),
    },
    {
      says: /everything read-only \(writes fail with EROFS\)/,
      check: async (s) => {
        await readOnly(s, ["/", ...systemDirs(), "/etc", "/dev", bound()], [anyoneMayWrite()]);
        await shellWrites(s, "/tmp", ["/usr", "/etc", bound()]);
        await onlyWritable(s, ["/tmp", "/dev/shm", rw]);
      },
    },
    {
      says: /but an 8 MiB \/tmp and an 8 MiB \/dev\/shm for scratch/,
      check: async (s) => {
        await writable(s, ["/tmp", "/dev/shm"]);
        await shellWrites(s, "/tmp", []);
        await tmpfsOf(s, "/tmp", 8 * MiB);
        await tmpfsOf(s, "/dev/shm", 8 * MiB);
      },
    },
    {
      says: /and a --bind you add without :ro/,
      check: (s) => writable(s, [rw]),
    },
    { says: /no network/, check: (s) => noNetwork(s, ["EPERM"]) },
  ],
};

beforeAll(() => {
  if (!cliBuilt || !hasCc) return;
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "forge-promises-"));
  fs.chmodSync(top, 0o755); // rootless runs read it as uid 65534
  dir = path.join(top, "ro");
  rw = path.join(top, "rw");
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.mkdirSync(rw, { mode: 0o777 });
  fs.chmodSync(rw, 0o777);
  const src = path.join(dir, "prober.c");
  fs.writeFileSync(src, PROBER);
  fs.writeFileSync(anyoneMayWrite(), "");
  fs.chmodSync(anyoneMayWrite(), 0o666);
  proberLibc = path.join(dir, "prober-libc");
  execFileSync("cc", ["-O1", "-o", proberLibc, src]);
  prober = path.join(dir, "prober-static");
  try {
    execFileSync("cc", ["-static", "-O1", "-o", prober, src], { stdio: "ignore" });
    proberStatic = true;
  } catch {
    prober = proberLibc; // no static libc here: /lib is bound in every profile
  }
  server = net.createServer((c) => c.destroy());
  return new Promise<void>((resolve) =>
    server!.listen(0, "127.0.0.1", () => {
      port = (server!.address() as net.AddressInfo).port;
      resolve();
    }),
  );
});

afterAll(() => {
  server?.close();
  if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

const builtins = listProfiles({ systemDir: "/nonexistent/forge-promises", userDir: null })
  .profiles.filter((p) => p.kind === "built-in")
  .map((p) => ({ name: p.name, description: p.description }));

describe("built-in profiles: every one has promises to check", () => {
  test("each built-in (forge profile list) has an entry, and each entry a built-in", () => {
    expect(Object.keys(PROMISES).sort()).toEqual(builtins.map((b) => b.name).sort());
  });
  for (const b of builtins)
    test(`${b.name}: its description says every promise checked below`, () => {
      for (const p of PROMISES[b.name] ?? [])
        expect(b.description, `${b.name}'s description`).toMatch(p.says);
    });
});

// Concurrent: each check waits on its own sandbox runs (child processes).
describe.skipIf(!cliBuilt || !hasCc)(
  "built-in profiles keep their promises, for real",
  { concurrent: true },
  () => {
    for (const b of builtins) {
      for (const user of USERS) {
        const s: Seen = {
          profile: b.name,
          user,
          tag: `${b.name}-${user}`,
          run: (argv) => forge(b.name, user, argv),
        };
        for (const p of PROMISES[b.name] ?? [])
          test.skipIf(p.needs !== undefined && !hostHas(p.needs))(
            `${b.name} (${user}): ${p.says.source.replace(/\\/g, "")}`,
            () => p.check(s),
          );
      }
    }
  },
);
