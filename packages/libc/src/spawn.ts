/**
 * Starts a child through the spawn trampoline: clone (with namespace flags), run the
 * steps in the child, execve. No JavaScript runs in the child.
 *
 * @module
 */
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { CLONE, O, signalName, signalNumber } from "./constants.ts";
import { errnoMessage, errnoName } from "./errno.ts";
import {
  type ChildExit,
  closeQuietly,
  discardChild,
  killQuietly,
  socketOnFd,
  watchExit,
} from "./exit_watcher.ts";
import { openLibc } from "./koffi_libc.ts";
import { forgeInitPath, loadTrampoline, type ProgramArgs } from "./native.ts";
import {
  compileProgram,
  linkPrograms,
  OP_SIZE,
  type Program,
  type Step,
  type StepArg,
} from "./program.ts";
import {
  openTerminalChannel,
  receiveTerminal,
  type TerminalOptions,
  terminalSteps,
} from "./pty.ts";
import { discardSpare, type Spare, type SparePool } from "./spare_pool.ts";
import { SyscallError } from "./syscall_error.ts";

/** Where a child's stdin, stdout or stderr goes. */
export type StdioSpec = "inherit" | "pipe" | "ignore" | number;

/** What {@link spawn} starts and how. */
export interface SpawnOptions {
  /** The command and its arguments; argv[0] is also the program unless `file` says otherwise. */
  readonly argv: readonly string[];
  /** The program to run. Without a "/" it is looked up in the child's PATH (host view). */
  readonly file?: string;
  /** Programs to try in order, for a child whose filesystem view differs from ours. */
  readonly execCandidates?: readonly string[];
  /** With `execCandidates`: the PATH they came from, for the "command not found" message. */
  readonly searchedPath?: string;
  /** The child's whole environment (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The child's working directory, entered after `steps` (so inside a new root). */
  readonly cwd?: string;
  /** stdin, stdout, stderr (default: all inherited). */
  readonly stdio?: readonly [StdioSpec, StdioSpec, StdioSpec];
  /** Further fds the child keeps: `fd` here becomes `as` there. Every other fd is closed. */
  readonly passFds?: ReadonlyArray<{ readonly fd: number; readonly as: number }>;
  /** CLONE_NEW* flags for the new namespaces. */
  readonly cloneFlags?: number;
  /** Steps run in the child after stdio set-up, before the cwd is entered. */
  readonly steps?: readonly Step[];
  /** Steps run after the cwd is entered, right before execve (capabilities, seccomp). */
  readonly lateSteps?: readonly Step[];
  /**
   * Give the child a new pseudo-terminal of its own, made from /dev/ptmx as it sees it
   * after `steps` (a new root's devpts), as its controlling terminal (it leads a new
   * session) and its stdin, stdout and stderr (so not with `stdio`). Its master is
   * {@link ChildHandle.terminal}. The steps run after `steps`, before the cwd and
   * `lateSteps` (see terminalSteps).
   */
  readonly terminal?: TerminalOptions;
  /**
   * Work the parent does while the child waits before its first step (writing id
   * maps, placing it in a cgroup). The child is killed if it throws.
   */
  readonly beforeStart?: (child: { readonly pid: number; readonly pidfd: number }) => void;
  /** Put the child straight into this cgroup v2 directory fd (CLONE_INTO_CGROUP). */
  readonly cgroupFd?: number;
  /**
   * "vfork" suspends us until the child has exec'd (fastest); "fork" lets us go on at
   * once, and is chosen automatically when a reaper, `beforeStart` or `cgroupFd` needs
   * it. Either way the child shares our memory until exec unless `ownMemory` is set.
   */
  readonly mode?: "vfork" | "fork";
  /**
   * Give the child a copy of our memory instead of sharing it until exec (default:
   * true with `cgroupFd`, else false). Required for a child that joins a
   * memory-limited cgroup before it execs: the OOM killer kills every process that
   * shares the victim's memory, and that would include this one. Costs a copy of our
   * page tables (about a millisecond for a Node process); a pool is not used then.
   */
  readonly ownMemory?: boolean;
  /**
   * `steps`, `cwd`, `lateSteps` and `terminal` compiled ahead by {@link prepareProgram}
   * (give those, or this). Used up by the spawn, which closes its fds.
   */
  readonly prepared?: PreparedProgram;
  /**
   * Take the child from this pool of children cloned ahead of time, when it has one
   * with the same clone flags (and refill it afterwards). Not used with `cgroupFd`.
   */
  readonly pool?: SparePool;
}

/** How a spawned process ended. */
export interface ExitStatus {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal's name ("SIGKILL"), or null. */
  readonly signal: string | null;
  /** The shell's view: the code, or 128 + the signal number. */
  readonly exitCode: number;
  /** Set when the sandbox's PID 1 (forge-init) could not start; exitCode is then 127. */
  readonly error?: string;
}

/** A step of the child's program failed (or the program could not start). */
export class SpawnError extends SyscallError {
  override name = "SpawnError";
  /** The failing step's label ("mount proc on /proc"). */
  readonly step: string;
  /** Its index in the child's program. */
  readonly index: number;

  constructor(step: string, index: number, syscall: string, errno: number, message?: string) {
    super(syscall, errno, [], step);
    this.step = step;
    this.index = index;
    if (message) this.message = message;
  }
}

/**
 * A running (or ended) child. `wait()` never blocks the event loop.
 *
 * @example
 * ```ts
 * import { spawn } from "@forge/libc";
 * const child = spawn({ argv: ["/bin/sh", "-c", "echo hi"], stdio: ["ignore", "pipe", "inherit"] });
 * child.stdout!.pipe(process.stdout);
 * const { exitCode } = await child.wait();
 * ```
 */
export class ChildHandle {
  /** The child's pid in our pid namespace. */
  readonly pid: number;
  /** A pidfd for the child; closed once it has been reaped. */
  pidfd: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * With `terminal`: the master of the child's terminal (close-on-exec). Ours to relay
   * and to close; reading it fails with EIO once every process holding the slave has
   * closed it.
   */
  terminal: number | undefined;
  #status: ExitStatus | undefined;
  readonly #done: Promise<ExitStatus>;

  /** @internal */
  constructor(
    pid: number,
    pidfd: number,
    streams: (net.Socket | null)[],
    statusFd: number | undefined,
  ) {
    this.pid = pid;
    this.pidfd = pidfd;
    this.stdin = streams[0] ?? null;
    this.stdout = streams[1] ?? null;
    this.stderr = streams[2] ?? null;
    this.#done = watchExit(pidfd).then((e) => {
      this.#status = decodeExit(e, statusFd);
      closeQuietly(statusFd);
      closeQuietly(this.pidfd);
      this.pidfd = -1;
      return this.#status;
    });
  }

  /** The exit status once known. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /**
   * Resolves when the child has ended (and has been reaped). Like child_process's
   * "exit" (not "close"), this can come before its piped stdout and stderr have been
   * read to their end: wait for their "close" too to have all the output.
   */
  wait(): Promise<ExitStatus> {
    return this.#done;
  }

  /**
   * Sends a signal (default SIGTERM) through the pidfd; false when the child has
   * already ended.
   */
  kill(signal: string | number = "SIGTERM"): boolean {
    if (this.#status || this.pidfd < 0) return false;
    try {
      openLibc().pidfdSendSignal(this.pidfd, signalNumber(signal));
      return true;
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ESRCH") return false;
      throw e;
    }
  }
}

function decodeExit(e: ChildExit, statusFd: number | undefined): ExitStatus {
  if (statusFd !== undefined) {
    // A reaper wrote the payload's raw wait status; prefer it to the reaper's own.
    const b = Buffer.alloc(4);
    let n = 0;
    try {
      n = fs.readSync(statusFd, b, 0, 4, null);
    } catch {
      n = 0;
    }
    if (n === 4) {
      const st = b.readInt32LE(0);
      if (st >>> 24 === 0xff) {
        const errno = st & 0xffff;
        return {
          code: 127,
          signal: null,
          exitCode: 127,
          error: `forge-init could not be executed: ${errnoName(errno)} (${errnoMessage(errno)})`,
        };
      }
      if ((st & 0x7f) === 0) return exited((st >> 8) & 0xff);
      return signalled(st & 0x7f);
    }
  }
  if (e.siCode === 1) return exited(e.siStatus);
  if (e.siCode === 2 || e.siCode === 3) return signalled(e.siStatus);
  throw new Error(
    `@forge/libc: waitid on the child reported ${e.siCode < 0 ? errnoName(-e.siCode) : `si_code ${e.siCode}`}`,
  );
}

const exited = (code: number): ExitStatus => ({ code, signal: null, exitCode: code });
const signalled = (sig: number): ExitStatus => ({
  code: null,
  signal: signalName(sig),
  exitCode: 128 + sig,
});

const F_SETFD = 2;
const F_DUPFD_CLOEXEC = 1030;
const CLOSE_RANGE_CLOEXEC = 4;
const MODE_VFORK = 0;
const MODE_ASYNC = 1;
const MODE_OWN_MEMORY = 2;
const MAX_OPS = 2048; // as the trampoline's
const ESRCH = 3;
const ETIMEDOUT = 110;

/**
 * Starts a child through the trampoline. Synchronous: it returns once the child has
 * exec'd, and throws a {@link SpawnError} naming the step that failed otherwise.
 *
 * @example
 * ```ts
 * import { CLONE, spawn } from "@forge/libc";
 * const child = spawn({ argv: ["/bin/echo", "hello"], cloneFlags: CLONE.NEWUSER | CLONE.NEWPID });
 * await child.wait();
 * ```
 */
export function spawn(opts: SpawnOptions): ChildHandle {
  if (opts.argv.length === 0) throw new TypeError("spawn: argv must name a command");
  if (
    opts.prepared &&
    (opts.steps || opts.lateSteps || opts.cwd !== undefined || opts.terminal !== undefined)
  )
    throw new TypeError(
      "spawn: give steps, lateSteps, cwd and terminal, or a prepared program, not both",
    );
  if (opts.terminal && opts.stdio)
    throw new TypeError(
      "spawn: give stdio or terminal, not both (the terminal is the child's stdio)",
    );
  const t = loadTrampoline();
  const env = opts.env ?? process.env;
  const envList = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const { candidates, searched } = execCandidates(opts, env.PATH);

  const parentClose: number[] = []; // fds of ours that the child got copies of
  const streams: (net.Socket | null)[] = [null, null, null];
  const lib = openLibc();
  let statusR: number | undefined;
  let terminalR: number | undefined;
  let syncW: number | undefined;
  let taken: (Middle & { program: Program }) | undefined; // from opts.prepared
  /** The parent's part of the set-up (id maps...), then the byte the child waits for. */
  // keepOpen: a parked spare copies our fd table only when released, and its program
  // closes its copy of this end by number, so ours stays open (and its number taken)
  // until it has copied the table.
  const parentSetUp = (pid: number, pidfd: number, abort: () => void, keepOpen = false) => {
    if (!opts.beforeStart) return;
    let ok = false;
    try {
      opts.beforeStart({ pid, pidfd });
      lib.write(syncW!, Uint8Array.of(1));
      ok = true;
    } catch (e) {
      abort();
      throw e;
    } finally {
      if (!ok || !keepOpen) {
        closeQuietly(syncW);
        syncW = undefined;
      }
    }
  };
  try {
    const pre: Step[] = [];
    let fork = opts.mode === "fork" || opts.cgroupFd !== undefined;
    const ownMemory = opts.ownMemory ?? opts.cgroupFd !== undefined;
    if (opts.beforeStart) {
      const [r, w] = lib.pipe2(O.CLOEXEC);
      parentClose.push(r);
      syncW = w;
      fork = true;
      // The child's copy of our end first: with it open, a parent that dies during
      // its set-up would leave the child waiting forever instead of reading EOF.
      // (A spare, which copies our fd table after we have closed it, has none.)
      pre.push({
        label: "close the parent's end of the set-up pipe",
        syscall: "close",
        args: [w],
        optional: true,
      });
      pre.push({ kind: "wait-byte", label: "wait for the parent to finish set-up", fd: r });
    }
    pre.push({
      label: "mark inherited fds close-on-exec",
      syscall: "close_range",
      args: [3, 0xffffffff, CLOSE_RANGE_CLOEXEC],
    });
    const moves: { from: number; to: number; what: string }[] = [];
    (opts.stdio ?? ["inherit", "inherit", "inherit"]).forEach((spec, i) => {
      const what = ["stdin", "stdout", "stderr"][i]!;
      if (spec === "inherit") {
        // Node opens its own stdio close-on-exec; the child must keep them.
        pre.push({
          label: `inherit ${what}`,
          syscall: "fcntl",
          args: [i, F_SETFD, 0],
          optional: true,
        });
        return;
      }
      if (spec === "ignore") {
        const fd = fs.openSync("/dev/null", i === 0 ? "r" : "w");
        parentClose.push(fd);
        moves.push({ from: fd, to: i, what });
      } else if (spec === "pipe") {
        const [r, w] = lib.pipe2(O.CLOEXEC);
        const [mine, theirs] = i === 0 ? [w, r] : [r, w];
        parentClose.push(theirs);
        streams[i] = socketOnFd(mine, { readable: i !== 0, writable: i === 0 });
        moves.push({ from: theirs, to: i, what });
      } else {
        moves.push({ from: spec, to: i, what });
      }
    });
    for (const p of opts.passFds ?? [])
      moves.push({ from: p.fd, to: p.as, what: `fd ${p.fd} as ${p.as}` });
    pre.push(...fdMoves(moves));

    const execs: Step[] = candidates.map((file, k) => ({
      label: `execute ${file}`,
      syscall: "execve",
      args: [{ cstring: file }, { strings: opts.argv }, { strings: envList }],
      optional: k < candidates.length - 1,
    }));
    let prog: Program;
    if (opts.prepared) {
      const m = opts.prepared.take();
      taken = m;
      parentClose.push(...m.fds);
      statusR = m.statusR;
      terminalR = m.terminalR;
      if (m.reaper) fork = true;
      prog = linkPrograms([
        compileProgram(pre, lib.arch),
        m.program,
        compileProgram(execs, lib.arch),
      ]);
    } else {
      const m = middleSteps(opts, lib);
      parentClose.push(...m.fds);
      statusR = m.statusR;
      terminalR = m.terminalR;
      if (m.reaper) fork = true;
      prog = compileProgram([...pre, ...m.steps, ...execs], lib.arch);
    }
    const all = prog.steps as Step[];
    const out = new Int32Array(3);
    const cloneFlags = opts.cloneFlags ?? 0;
    const pool = opts.cgroupFd === undefined && !ownMemory ? opts.pool : undefined;
    let spare: Spare | undefined = pool?.take(cloneFlags);
    if (spare && !fitsSpare(spare, prog.opCount, prog.data.length)) {
      discardSpare(spare); // clone afresh
      spare = undefined;
    }
    if (spare) {
      // The spare's pid is known: the parent's side of the set-up (id maps) is done
      // before it is released, so that it runs its program without stopping.
      const s = spare;
      parentSetUp(s.pid, s.pidfd, () => discardSpare(s), true);
      const r = t.release(spare.handle, spare.pidfd, ...programArgs(prog), out);
      if (r < 0) {
        // It died while parked; the set-up done for it is lost: start over.
        discardSpare(spare);
        throw new RetrySpawn();
      }
      out[2] = out[0]!;
      out[0] = spare.pid;
      out[1] = spare.pidfd;
    }
    if (!spare) {
      const r = t.spawn(
        ...programArgs(prog),
        BigInt(cloneFlags),
        (fork ? MODE_ASYNC : MODE_VFORK) | (ownMemory ? MODE_OWN_MEMORY : 0),
        opts.cgroupFd ?? -1,
        out,
      );
      if (r < 0)
        throw new SpawnError(`clone the child (${cloneFlagNames(cloneFlags)})`, -1, "clone", -r);
    }
    const [pid, pidfd, errR] = [out[0]!, out[1]!, out[2]!];
    if (!spare) {
      for (const fd of parentClose) closeQuietly(fd);
      parentClose.length = 0;
    }

    // Once the handle exists it owns the child: it is reaped whatever happens next. A
    // released spare gets its handle only after it has copied our fd table, since
    // reaping it unmaps the region that forge_release_wait reads.
    let child: ChildHandle | undefined;
    const own = (): ChildHandle => {
      child ??= new ChildHandle(pid, pidfd, streams, statusR);
      statusR = undefined;
      return child;
    };
    // The child is owned (its exit watched: node:net may load then) only after the
    // parent's set-up has let it go on, so that this work overlaps the child's own.
    let abandoned = false; // a dead spare, reaped by discardSpare
    let failure: [number, number] | undefined;
    try {
      if (!spare) parentSetUp(pid, pidfd, () => killQuietly(pidfd));
      if (spare) {
        // The spare shares our fd table until it has copied it: only then may the fds
        // it uses be closed here.
        let w = t.releaseWait(spare.handle, spare.pidfd);
        if (w === -ETIMEDOUT) {
          // It does not answer (stopped?): end it, wait a bounded time for the kernel
          // to say so (our end of its error pipe closes then), and start over, even if
          // it answered meanwhile (it has been sent SIGKILL).
          killQuietly(spare.pidfd);
          for (let k = 0; k < 5 && w === -ETIMEDOUT; k++)
            w = t.releaseWait(spare.handle, spare.pidfd);
          w = -ESRCH;
        }
        if (w === -ESRCH) {
          // It died before it ran a step: reap it and start over.
          abandoned = true;
          discardSpare(spare);
          throw new RetrySpawn();
        }
        for (const fd of parentClose) closeQuietly(fd);
        parentClose.length = 0;
        closeQuietly(syncW);
        syncW = undefined;
        if (w < 0)
          throw new SpawnError(
            `start the spare child (${cloneFlagNames(cloneFlags)})`,
            -1,
            "unshare",
            -w,
          );
      }
      own();
      // The next spare is cloned now, while the child sets itself up.
      pool?.refill(cloneFlags);
      failure = readFailure(errR);
    } finally {
      closeQuietly(errR);
      if (!abandoned) {
        try {
          own(); // on every path, so that the child is reaped
        } catch (e) {
          // Its exit cannot be watched (no fds left?): it must not run unwatched.
          discardChild(pidfd);
          // biome-ignore lint/correctness/noUnsafeFinally: the child's failure is the error to report
          throw e;
        }
      }
    }
    if (failure) {
      const [index, errno] = failure;
      throw stepError(all, index, errno, opts, searched);
    }
    const handle = own();
    if (terminalR !== undefined) {
      try {
        handle.terminal = receiveTerminal(terminalR, lib);
      } catch (e) {
        handle.kill("SIGKILL");
        throw e;
      }
      closeQuietly(terminalR);
      terminalR = undefined;
    }
    return handle;
  } catch (e) {
    // A retry gets the prepared program back, with its fds open.
    const keep =
      e instanceof RetrySpawn && taken
        ? new Set([...taken.fds, taken.statusR, taken.terminalR])
        : null;
    for (const fd of parentClose) if (!keep?.has(fd)) closeQuietly(fd);
    for (const s of streams) s?.destroy();
    closeQuietly(syncW);
    if (!keep?.has(statusR)) closeQuietly(statusR);
    if (!keep?.has(terminalR)) closeQuietly(terminalR);
    terminalR = undefined;
    if (e instanceof RetrySpawn) {
      if (taken) opts.prepared!.restore(taken);
      return spawn(opts); // the pool's next spare, or a clone
    }
    throw e;
  }
}

/** The middle of a program: steps (with the reaper's fds), cwd, late steps. */
interface Middle {
  readonly steps: Step[];
  /** The parent's copies of fds the child uses (close after the spawn). */
  readonly fds: number[];
  /** The read end of the reaper's status pipe. */
  readonly statusR?: number;
  /** Our end of the channel the child sends its terminal's master on. */
  readonly terminalR?: number;
  readonly reaper: boolean;
}

function middleSteps(
  opts: Pick<SpawnOptions, "steps" | "lateSteps" | "cwd" | "terminal">,
  lib: ReturnType<typeof openLibc>,
): Middle {
  const steps: Step[] = [...(opts.steps ?? [])];
  const fds: number[] = [];
  let statusR: number | undefined;
  const reaper = steps.findIndex((s) => s.kind === "reaper");
  if (reaper >= 0) {
    const [r, w] = lib.pipe2(O.CLOEXEC);
    statusR = r;
    fds.push(w);
    const init = forgeInitPath();
    let initFd: number;
    try {
      initFd = fs.openSync(init, O.PATH | O.CLOEXEC);
    } catch (e) {
      closeQuietly(r);
      closeQuietly(w);
      throw new Error(
        `@forge/libc: cannot open forge-init (${init}): ${(e as NodeJS.ErrnoException).code}; rebuild with "npm run build:native -w @forge/libc"`,
      );
    }
    fds.push(initFd);
    steps[reaper] = { ...(steps[reaper] as Step), kind: "reaper", statusFd: w, initFd } as Step;
  }
  let terminalR: number | undefined;
  if (opts.terminal) {
    // After the steps (the mounts: /dev/ptmx is the sandbox's; the reaper: the payload
    // leads the session), before the late steps (seccomp, Landlock, capabilities).
    let theirs: number;
    try {
      [terminalR, theirs] = openTerminalChannel(lib);
    } catch (e) {
      for (const fd of fds) closeQuietly(fd);
      closeQuietly(statusR);
      throw e;
    }
    fds.push(theirs);
    steps.push(...terminalSteps(theirs, opts.terminal));
  }
  if (opts.cwd !== undefined) steps.push(...cwdSteps(opts.cwd));
  steps.push(...(opts.lateSteps ?? []));
  return {
    steps,
    fds,
    ...(statusR !== undefined ? { statusR } : {}),
    ...(terminalR !== undefined ? { terminalR } : {}),
    reaper: reaper >= 0,
  };
}

const O_PATH_DIR = O.PATH | 0o200000 /* O_DIRECTORY */ | O.CLOEXEC;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;

/** A struct open_how for openat2: flags, mode, resolve. */
function openHow(flags: number, resolve: number): Uint8Array {
  const how = new BigUint64Array([BigInt(flags), 0n, BigInt(resolve)]);
  return new Uint8Array(how.buffer);
}

/**
 * Steps that enter the working directory, resolved inside the child's root (absolute
 * symlinks stay inside it, `..` stops at it) and through no magic link: a cwd such as
 * /proc/1/cwd, or a symlink to it planted by an earlier run, would otherwise put the
 * payload in a tree outside its root.
 */
function cwdSteps(cwd: string): Step[] {
  const label = `enter the working directory ${cwd} (resolved inside the sandbox's root, through no /proc magic link)`;
  return [
    {
      label: `${label}: open /`,
      syscall: "openat2",
      args: [-100, { cstring: "/" }, { bytes: openHow(O_PATH_DIR, 0) }, 24],
      id: "cwd.root",
    },
    {
      label,
      syscall: "openat2",
      args: [
        { result: "cwd.root" },
        { cstring: cwd },
        { bytes: openHow(O_PATH_DIR, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) },
        24,
      ],
      id: "cwd.dir",
    },
    { label, syscall: "fchdir", args: [{ result: "cwd.dir" }] },
    { label: `${label}: close`, syscall: "close", args: [{ result: "cwd.dir" }] },
    { label: `${label}: close /`, syscall: "close", args: [{ result: "cwd.root" }] },
  ];
}

/**
 * The middle of a child's program (its steps, terminal, working directory and late
 * steps) compiled ahead of the spawn, with the fds it needs: a caller that knows what it will
 * spawn next can do this work while it waits. Give it to one {@link spawn} as
 * `prepared`, or {@link close} it.
 *
 * @example
 * ```ts
 * import { CLONE, prepareProgram, spawn } from "@forge/libc";
 * const prepared = prepareProgram({ steps: [{ label: "set hostname", syscall: "sethostname", args: [{ cstring: "box" }, 3] }] });
 * await spawn({ argv: ["/bin/hostname"], cloneFlags: CLONE.NEWUTS, prepared }).wait();
 * ```
 */
export class PreparedProgram {
  #middle: (Middle & { program: Program }) | undefined;

  /** @internal */
  constructor(middle: Middle & { program: Program }) {
    this.#middle = middle;
  }

  /** Whether it has been used or closed. */
  get used(): boolean {
    return this.#middle === undefined;
  }

  /** @internal Hands the program and its fds to a spawn (once). */
  take(): Middle & { program: Program } {
    const m = this.#middle;
    if (!m) throw new TypeError("spawn: this prepared program has been used or closed");
    this.#middle = undefined;
    return m;
  }

  /** @internal Gives the program back (a spawn that retries). */
  restore(m: Middle & { program: Program }): void {
    this.#middle = m;
  }

  /** Closes its fds if no spawn has taken it. */
  close(): void {
    const m = this.#middle;
    this.#middle = undefined;
    if (!m) return;
    for (const fd of m.fds) closeQuietly(fd);
    closeQuietly(m.statusR);
    closeQuietly(m.terminalR);
  }
}

/**
 * Compiles the middle of a child's program ahead of its spawn (see {@link PreparedProgram}).
 *
 * @example
 * ```ts
 * import { prepareProgram } from "@forge/libc";
 * const p = prepareProgram({ cwd: "/" });
 * p.close();
 * ```
 */
export function prepareProgram(
  opts: Pick<SpawnOptions, "steps" | "lateSteps" | "cwd" | "terminal">,
): PreparedProgram {
  const lib = openLibc();
  const m = middleSteps(opts, lib);
  try {
    return new PreparedProgram({ ...m, program: compileProgram(m.steps, lib.arch) });
  } catch (e) {
    for (const fd of m.fds) closeQuietly(fd);
    closeQuietly(m.statusR);
    closeQuietly(m.terminalR);
    throw e;
  }
}

/** A compiled program as the trampoline's entry points take it. */
function programArgs(p: Program): ProgramArgs {
  return [p.ops, p.opCount, p.data, p.data.length, p.relocs, p.relocs.length];
}

/** A spare died before it could be used, after work was done for it. */
class RetrySpawn extends Error {}

/** Whether a program fits the room a spare has for it (as forge_release lays it out). */
function fitsSpare(spare: Spare, opCount: number, dataLen: number): boolean {
  const opsLen = (opCount * OP_SIZE + 15) & ~15;
  return opCount <= MAX_OPS && opsLen + dataLen <= spare.capacity;
}

/** Steps that move fds into place without one move clobbering another's source. */
function fdMoves(moves: { from: number; to: number; what: string }[]): Step[] {
  const steps: Step[] = [];
  const targets = new Set(moves.map((m) => m.to));
  const sources: StepArg[] = moves.map((m, k) => {
    if (m.from === m.to) return m.from;
    if (!targets.has(m.from)) return m.from;
    const id = `fdmove${k}`;
    steps.push({
      label: `set aside ${m.what}`,
      syscall: "fcntl",
      args: [m.from, F_DUPFD_CLOEXEC, 100],
      id,
    });
    return { result: id };
  });
  moves.forEach((m, k) => {
    if (m.from === m.to)
      steps.push({ label: `keep ${m.what} open`, syscall: "fcntl", args: [m.to, F_SETFD, 0] });
    else steps.push({ label: `connect ${m.what}`, syscall: "dup3", args: [sources[k]!, m.to, 0] });
  });
  return steps;
}

function execCandidates(
  opts: SpawnOptions,
  pathVar: string | undefined,
): { candidates: string[]; searched?: string } {
  if (opts.execCandidates?.length) {
    const bare = !(opts.file ?? opts.argv[0]!).includes("/");
    return {
      candidates: [...opts.execCandidates],
      ...(bare && opts.searchedPath ? { searched: opts.searchedPath } : {}),
    };
  }
  const file = opts.file ?? opts.argv[0]!;
  if (file.includes("/")) return { candidates: [file] };
  const dirs = (pathVar ?? "/usr/local/bin:/usr/bin:/bin").split(":").filter(Boolean);
  const found = dirs
    .map((d) => path.join(d, file))
    .filter((p) => {
      try {
        return fs.statSync(p).isFile();
      } catch {
        return false;
      }
    });
  // The child must still run something: the last candidate reports ENOENT.
  return {
    candidates: found.length ? found : [path.join(dirs[0] ?? "/usr/bin", file)],
    searched: dirs.join(":"),
  };
}

function readFailure(fd: number): [number, number] | undefined {
  const b = Buffer.alloc(8);
  let n = 0;
  for (;;) {
    try {
      const k = fs.readSync(fd, b, n, 8 - n, null);
      if (k === 0) break;
      n += k;
      if (n === 8) break;
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code === "EINTR" ||
        (e as NodeJS.ErrnoException).code === "EAGAIN"
      )
        continue;
      throw e;
    }
  }
  return n === 8 ? [b.readInt32LE(0), b.readInt32LE(4)] : undefined;
}

function stepError(
  all: Step[],
  index: number,
  errno: number,
  opts: SpawnOptions,
  searched: string | undefined,
): SpawnError {
  const step = all[index];
  if (!step)
    return new SpawnError(
      "run the child's program",
      index,
      "execve",
      errno,
      "the child's program ended without executing a command",
    );
  const syscall =
    step.kind === "reaper"
      ? "clone"
      : step.kind === "wait-byte"
        ? "read"
        : step.kind === "parent-alive"
          ? "ppoll"
          : String(step.syscall);
  if (syscall === "execve" && errno === 2) {
    const cmd = opts.file ?? opts.argv[0]!;
    const msg = searched
      ? `command not found: ${cmd} (searched ${searched})`
      : `cannot execute ${cmd}: no such file or directory`;
    return new SpawnError(step.label, index, syscall, errno, msg);
  }
  return new SpawnError(
    step.label,
    index,
    syscall,
    errno,
    `${step.label}: ${errnoName(errno)} (${errnoMessage(errno)})`,
  );
}

/** Renders clone flags as "CLONE_NEWUSER|CLONE_NEWPID". */
export function cloneFlagNames(flags: number): string {
  const names = Object.entries(CLONE as Record<string, number>)
    .filter(([, v]) => (BigInt(flags) & BigInt(v)) === BigInt(v))
    .map(([k]) => `CLONE_${k}`);
  return names.length ? names.join("|") : "no new namespaces";
}
