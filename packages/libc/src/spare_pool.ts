/**
 * Spares: children cloned, with their new namespaces, before anyone asks for them.
 * Creating namespaces is the dearest part of a sandbox's start (a network namespace
 * alone costs the kernel about 0.3 ms); a process that starts sandboxes one after
 * another can have the next one's clone done while the current one runs.
 *
 * A spare is parked on a futex in its own memory region and shares our fd table until
 * it is released; then it takes a private copy of the table (what a clone at that
 * moment would have given it) and runs its program exactly as a fresh child would.
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import { CLONE } from "./constants.ts";
import { closeQuietly, discardChild } from "./exit_watcher.ts";
import { openLibc } from "./koffi_libc.ts";
import { loadTrampoline, type PrestartArgs } from "./native.ts";

/** A parked child (internal to {@link SparePool} and spawn). */
export interface Spare {
  readonly pid: number;
  readonly pidfd: number;
  /** Its region, for forge_release. */
  readonly handle: bigint;
  readonly flags: number;
  /** Bytes its region holds for the program. */
  readonly capacity: number;
  /** What the clone inherited, as far as it can be read (see {@link inheritedState}). */
  readonly inherited: string;
  /** The mount table's generation after the clone (see mountsNow). */
  readonly mounts: number;
}

/** Room for what a spare inherited. */
const STATE_CAP_BYTES = 8 * 1024;

const INHERITED_STATUS =
  /^(Umask|Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):.*$/gm;

/**
 * What a child inherits, as far as it can be read cheaply: the umask, uids, gids and
 * groups, the five capability sets, no_new_privs and seccomp (per thread), the
 * working directory (by device and inode), the resource limits and the cgroups. Made
 * from the same texts whether the trampoline read them in the cloning thread or this
 * module reads them in the caller's (see {@link inheritedState}). Not visible, so not
 * compared: a Landlock domain and the root directory.
 */
function normalizeState(
  status: string,
  limits: string,
  cgroup: string,
  cwd: string,
  namespaces: string,
): string {
  return [(status.match(INHERITED_STATUS) ?? []).join("\n"), cwd, limits, cgroup, namespaces].join(
    "\n",
  );
}

/** A thread can enter namespaces on its own (setns): a spare must have the caller's. */
const NAMESPACES = [
  "net",
  "uts",
  "ipc",
  "mnt",
  "cgroup",
  "pid_for_children",
  "time_for_children",
  "user",
];

/** The /proc files read at every take, kept open (close-on-exec, as Node opens every fd) while a pool is live: a read is ~2 us, an open ~10. */
let procFds: { status: number; limits: number; cgroup: number } | undefined;
const procBuf = Buffer.alloc(STATE_CAP_BYTES);

function readProc(fd: number): string {
  let n = 0;
  for (;;) {
    const k = fs.readSync(fd, procBuf, n, procBuf.length - n, n);
    if (k <= 0 || n + k >= procBuf.length) return procBuf.toString("latin1", 0, n + k);
    n += k;
  }
}

/** The calling thread's {@link normalizeState} (~10 us). */
function inheritedState(): string {
  procFds ??= {
    status: fs.openSync("/proc/thread-self/status", "r"),
    limits: fs.openSync("/proc/self/limits", "r"),
    cgroup: fs.openSync("/proc/self/cgroup", "r"),
  };
  const cwd = fs.statSync(".", { bigint: true });
  let ns = "";
  for (const n of NAMESPACES) {
    try {
      ns += `${fs.readlinkSync(`/proc/thread-self/ns/${n}`)}\n`;
    } catch {
      ns += "\n";
    }
  }
  return normalizeState(
    readProc(procFds.status),
    readProc(procFds.limits),
    readProc(procFds.cgroup),
    `${cwd.dev}:${cwd.ino}`,
    ns,
  );
}

function closeProcFds(): void {
  if (!procFds) return;
  for (const fd of Object.values(procFds)) closeQuietly(fd);
  procFds = undefined;
  closeQuietly(mountsFd);
  mountsFd = undefined;
}

// The mount table: a spare with its own mount namespace copies it when cloned, so one
// made before a mount or umount on the host is stale. The kernel flags a change on an
// open mountinfo file (POLLPRI); each flag seen starts a new generation, and a spare
// is filed with the generation current after its clone.
let mountsFd: number | undefined;
let mountGeneration = 0;
const POLLPRI = 2;
const POLLERR = 8;

/** Opens the mount table before any spare is cloned, so that no change goes unseen. */
function watchMounts(): void {
  mountsFd ??= fs.openSync("/proc/thread-self/mountinfo", "r");
}

/** The current generation, after noting a change flagged since the last call. */
function mountsNow(): number {
  if (mountsFd === undefined) return mountGeneration;
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, mountsFd, true);
  v.setInt16(4, POLLPRI, true);
  try {
    openLibc().syscall("poll", pfd, 1, 0);
    if (v.getInt16(6, true) & (POLLPRI | POLLERR)) mountGeneration++;
  } catch {
    mountGeneration++; // cannot tell: treat as changed
  }
  return mountGeneration;
}

/** {@link normalizeState} of what the trampoline read when it cloned a spare. */
function stateFromNative(buf: Uint8Array, len: number): string {
  const [status = "", limits = "", cgroup = "", cwd = "", ns = ""] = Buffer.from(
    buf.buffer,
    buf.byteOffset,
    len,
  )
    .toString("latin1")
    .split("\0");
  return normalizeState(status, limits, cgroup, cwd, ns);
}

let mainThread: boolean | undefined;

/** Whether this is the main thread (node:worker_threads is loaded only when a pool refills: not on the CLI's path). */
function isMainThread(): boolean {
  mainThread ??= (
    createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads")
  ).isMainThread;
  return mainThread;
}

/** How a {@link SparePool} behaves. */
export interface SparePoolOptions {
  /**
   * Spares kept ready for each set of clone flags (default 1). 0 keeps none: the pool
   * still carries what its users prepare ahead (@forge/sandbox's plans made ahead),
   * which on a machine with few cores gives most of the gain for less CPU.
   */
  readonly size?: number;
  /** Bytes reserved in each spare for its program (default 1 MiB; a larger program clones afresh). */
  readonly capacity?: number;
}

/**
 * Keeps children cloned ahead of time, per set of clone flags, for {@link spawn}'s
 * `pool` option: a spawn with the same flags takes one (skipping the clone and the
 * creation of its namespaces) and the pool clones the next one: on a libuv thread in
 * the main thread (nobody waits for it), on the Worker's own thread in a Worker. A
 * spare inherits what the cloning thread and the process were when it was cloned; one
 * that no longer matches the caller (see the checks below), has died, does not answer,
 * or cannot hold the program is thrown away and the spawn clones afresh, so results
 * do not depend on the pool.
 *
 * Compared at every take, with what the cloning thread had: umask, uids, gids, groups,
 * capabilities, no_new_privs, seccomp, working directory, resource limits, cgroups.
 * Not visible, so not compared: a Landlock domain and the root directory; a process
 * that restricts itself that way should do it before it starts threads (as it must
 * anyway for libuv's own) and make its pools after. Spares die with the thread that
 * made them (PR_SET_PDEATHSIG; libuv's live as long as the process), when a Worker
 * exits (its pool closes itself), and with {@link close}.
 * They are not used for a spawn into a cgroup (`cgroupFd`), which needs the clone.
 *
 * @example
 * ```ts
 * import { CLONE, SparePool, spawn } from "@forge/libc";
 * const pool = new SparePool();
 * const flags = CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET;
 * pool.fill(flags); // optional: the first spawn fills it otherwise
 * for (let i = 0; i < 3; i++) await spawn({ argv: ["/bin/true"], cloneFlags: flags, pool }).wait();
 * pool.close();
 * ```
 */
export class SparePool {
  readonly size: number;
  readonly capacity: number;
  readonly #spares = new Map<number, Spare[]>();
  readonly #onClose: (() => void)[] = [];
  /** Flags with a refill scheduled (Workers). */
  readonly #refills = new Set<number>();
  /** Clones started on a libuv thread and not reported yet, per set of flags. */
  readonly #pending = new Map<number, number>();
  #closed = false;

  constructor(opts: SparePoolOptions = {}) {
    const size = opts.size ?? 1;
    if (!Number.isInteger(size) || size < 0 || size > 64)
      throw new RangeError(`SparePool: size must be an integer from 0 to 64, got ${size}`);
    const capacity = opts.capacity ?? 1 << 20;
    if (!Number.isInteger(capacity) || capacity < 4096 || capacity > 64 << 20)
      throw new RangeError(
        `SparePool: capacity must be an integer from 4096 to ${64 << 20} bytes, got ${capacity}`,
      );
    this.size = size;
    this.capacity = capacity;
  }

  /** How many spares are parked now (for all flags, or for these). */
  count(cloneFlags?: number): number {
    if (cloneFlags !== undefined) return this.#spares.get(cloneFlags)?.length ?? 0;
    let n = 0;
    for (const l of this.#spares.values()) n += l.length;
    return n;
  }

  /** The pids of the parked spares (for operators and tests). */
  pids(): number[] {
    return [...this.#spares.values()].flatMap((l) => l.map((s) => s.pid));
  }

  /** Clones spares for these flags until there are `size`; throws an Error with the errno if a clone fails. */
  fill(cloneFlags: number): void {
    if (this.#closed) throw new Error("SparePool: fill after close");
    const list = this.#list(cloneFlags);
    const t = loadTrampoline();
    this.#watchExit();
    watchMounts();
    while (list.length < this.size) {
      const call = this.#prestartCall(cloneFlags);
      const r = t.prestart(...call.args);
      if (r < 0) {
        const err = new Error(`SparePool: cannot clone a spare: errno ${-r}`);
        (err as NodeJS.ErrnoException).errno = -r;
        throw err;
      }
      call.keep();
    }
  }

  /**
   * Takes a spare for these flags, or undefined. @internal (spawn's).
   */
  take(cloneFlags: number): Spare | undefined {
    const list = this.#spares.get(cloneFlags);
    if (!list?.length) return undefined;
    let now: string;
    try {
      now = inheritedState();
    } catch {
      now = ""; // cannot tell: use none
    }
    const mounts = mountsNow();
    while (list.length) {
      const s = list.shift()!;
      const fresh = !(cloneFlags & CLONE.NEWNS) || s.mounts === mounts;
      if (now && s.inherited === now && fresh && !exited(s)) return s;
      discardSpare(s);
    }
    return undefined;
  }

  /**
   * Clones the spares used up for these flags once the event loop is free, on this
   * thread (the one whose state they must inherit); never throws (a spawn that finds
   * no spare clones afresh). @internal
   */
  refill(cloneFlags: number): void {
    if (this.#closed) return;
    if (!isMainThread()) {
      // A Worker's spares are cloned by the Worker's thread, so that they (and the
      // sandboxes started from them) die with it, as a fresh child would.
      if (this.#refills.has(cloneFlags)) return;
      this.#refills.add(cloneFlags);
      setImmediate(() => {
        this.#refills.delete(cloneFlags);
        if (this.#closed) return;
        try {
          this.fill(cloneFlags);
        } catch {
          // The next spawn clones afresh (and reports the real error if there is one).
        }
      }).unref();
      return;
    }
    // On the main thread, a libuv thread clones: neither the caller nor the child it
    // has just started waits for the clone. libuv's threads live as long as the
    // process (as PR_SET_PDEATHSIG needs); what they pass on is compared at take().
    const list = this.#list(cloneFlags);
    const t = loadTrampoline();
    this.#watchExit();
    watchMounts();
    while (list.length + (this.#pending.get(cloneFlags) ?? 0) < this.size) {
      this.#pending.set(cloneFlags, (this.#pending.get(cloneFlags) ?? 0) + 1);
      const call = this.#prestartCall(cloneFlags);
      const done = (err: unknown, r: number) => {
        this.#pending.set(cloneFlags, (this.#pending.get(cloneFlags) ?? 1) - 1);
        if (!err && r >= 0) call.keep();
      };
      try {
        t.prestartAsync(...call.args, done);
      } catch (e) {
        done(e, -1);
        return;
      }
    }
  }

  /**
   * forge_prestart's arguments, and what to do once it has cloned: file the spare, or
   * discard it (pool closed, or the process changed while it was cloned).
   */
  #prestartCall(cloneFlags: number): { args: PrestartArgs; keep: () => void } {
    const out = new Int32Array(4);
    const handle = new BigUint64Array(1);
    const state = new Uint8Array(STATE_CAP_BYTES);
    return {
      args: [BigInt(cloneFlags), BigInt(this.capacity), out, handle, state, STATE_CAP_BYTES],
      keep: () => {
        const spare = this.#spare(cloneFlags, out, handle, stateFromNative(state, out[2]!));
        if (this.#closed || out[3] !== 0) discardSpare(spare);
        else this.#list(cloneFlags).push(spare);
      },
    };
  }

  #list(cloneFlags: number): Spare[] {
    let list = this.#spares.get(cloneFlags);
    if (!list) {
      list = [];
      this.#spares.set(cloneFlags, list);
    }
    return list;
  }

  /** A spare just cloned, on this thread, so that what it inherited is what reads now. */
  #spare(cloneFlags: number, out: Int32Array, handle: BigUint64Array, inherited: string): Spare {
    return {
      pid: out[0]!,
      pidfd: out[1]!,
      handle: handle[0]!,
      flags: cloneFlags,
      capacity: this.capacity,
      inherited,
      // Not mountsNow(): a change flagged now may predate the clone or not; it is
      // noted at the next take, which then throws this spare away.
      mounts: mountGeneration,
    };
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `fn` at {@link close} (or now, if closed): for what users of the pool keep
   * ready beside the spares, such as @forge/sandbox's plans made ahead.
   */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  /** A pool in a Worker closes itself when the Worker exits (its spares die with it). */
  #watchExit(): void {
    if (!exitHooked) process.once("exit", closeLivePools);
    exitHooked = true;
    livePools.add(this);
  }

  /** Kills and reaps every spare; the pool clones no more. */
  close(): void {
    livePools.delete(this);
    if (!livePools.size) closeProcFds();
    if (!this.#closed) for (const fn of this.#onClose.splice(0)) fn();
    this.#closed = true;
    for (const list of this.#spares.values()) for (const s of list.splice(0)) discardSpare(s);
    this.#spares.clear();
  }
}

const P_PIDFD = 3;
const WEXITED = 4;
const WNOHANG = 1;
const WNOWAIT = 0x01000000;

/** Whether a spare has ended (killed while parked), without reaping it. */
function exited(s: Spare): boolean {
  try {
    return openLibc().waitid(P_PIDFD, s.pidfd, WEXITED | WNOHANG | WNOWAIT).pid !== 0;
  } catch {
    return true;
  }
}

/** Pools of this thread with spares, closed when it exits. */
const livePools = new Set<SparePool>();
let exitHooked = false;

function closeLivePools(): void {
  for (const p of [...livePools]) p.close();
}

/**
 * Kills a spare that will not be used; the trampoline's watcher reaps it, frees its
 * region and closes its pidfd, even if this isolate (a Worker) is gone by then.
 */
export function discardSpare(s: Spare): void {
  discardChild(s.pidfd);
}
