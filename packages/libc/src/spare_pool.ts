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
import { closeQuietly, watchExit } from "./exit_watcher.ts";
import { openLibc } from "./koffi_libc.ts";
import { loadTrampoline } from "./native.ts";

/** A parked child (internal to {@link SparePool} and spawn). */
export interface Spare {
  readonly pid: number;
  readonly pidfd: number;
  /** Its region, for forge_release. */
  readonly handle: bigint;
  readonly flags: number;
  /** Bytes its region holds for the program. */
  readonly capacity: number;
  /** What the clone inherited that a later clone might not: the cwd and effective ids. */
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
}

/** How a {@link SparePool} behaves. */
export interface SparePoolOptions {
  /** Spares kept ready for each set of clone flags (default 1). */
  readonly size?: number;
  /** Bytes reserved in each spare for its program (default 1 MiB; a larger program clones afresh). */
  readonly capacity?: number;
}

const SIGKILL = 9;

/**
 * Keeps children cloned ahead of time, per set of clone flags, for {@link spawn}'s
 * `pool` option: a spawn with the same flags takes one (skipping the clone and the
 * creation of its namespaces) and the pool clones the next one on a libuv thread
 * while the child sets itself up. A spare that no longer matches the process (cwd or
 * effective ids changed), has died, or cannot hold the program is thrown away and the
 * spawn clones afresh, so results never depend on the pool.
 *
 * Spares die with the thread that made them (PR_SET_PDEATHSIG: the caller's for
 * {@link fill}, a libuv thread, which lasts as long as the process, for refills) and
 * with {@link close}.
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
  /** Clones started by refill() and not reported yet, per set of flags. */
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
    while (list.length < this.size) {
      const out = new Int32Array(2);
      const handle = new BigUint64Array(1);
      const r = t.prestart(BigInt(cloneFlags), BigInt(this.capacity), out, handle);
      if (r < 0) {
        const err = new Error(`SparePool: cannot clone a spare: errno ${-r}`);
        (err as NodeJS.ErrnoException).errno = -r;
        throw err;
      }
      list.push(this.#spare(cloneFlags, out, handle));
    }
  }

  /**
   * Takes a spare for these flags, or undefined. @internal (spawn's).
   */
  take(cloneFlags: number): Spare | undefined {
    const list = this.#spares.get(cloneFlags);
    if (!list?.length) return undefined;
    const lib = openLibc();
    const cwd = process.cwd();
    const uid = lib.geteuid();
    const gid = lib.getegid();
    while (list.length) {
      const s = list.shift()!;
      if (s.cwd === cwd && s.uid === uid && s.gid === gid) return s;
      discardSpare(s);
    }
    return undefined;
  }

  /**
   * Clones the spares used up for these flags on a libuv thread, so that neither the
   * caller nor the child it has just started waits for the clone; never throws (a
   * spawn that finds no spare clones afresh). @internal
   */
  refill(cloneFlags: number): void {
    if (this.#closed) return;
    const list = this.#list(cloneFlags);
    const t = loadTrampoline();
    while (list.length + (this.#pending.get(cloneFlags) ?? 0) < this.size) {
      this.#pending.set(cloneFlags, (this.#pending.get(cloneFlags) ?? 0) + 1);
      const out = new Int32Array(2);
      const handle = new BigUint64Array(1);
      const done = (err: unknown, r: number) => {
        this.#pending.set(cloneFlags, (this.#pending.get(cloneFlags) ?? 1) - 1);
        if (err || r < 0) return;
        const spare = this.#spare(cloneFlags, out, handle);
        if (this.#closed) discardSpare(spare);
        else list.push(spare);
      };
      try {
        t.prestartAsync(BigInt(cloneFlags), BigInt(this.capacity), out, handle, done);
      } catch (e) {
        done(e, -1);
        return;
      }
    }
  }

  #list(cloneFlags: number): Spare[] {
    let list = this.#spares.get(cloneFlags);
    if (!list) {
      list = [];
      this.#spares.set(cloneFlags, list);
    }
    return list;
  }

  /** A spare just cloned. What it inherited is recorded now: a change since shows at take(). */
  #spare(cloneFlags: number, out: Int32Array, handle: BigUint64Array): Spare {
    const lib = openLibc();
    return {
      pid: out[0]!,
      pidfd: out[1]!,
      handle: handle[0]!,
      flags: cloneFlags,
      capacity: this.capacity,
      cwd: process.cwd(),
      uid: lib.geteuid(),
      gid: lib.getegid(),
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

  /** Kills and reaps every spare; the pool clones no more. */
  close(): void {
    if (!this.#closed) for (const fn of this.#onClose.splice(0)) fn();
    this.#closed = true;
    for (const list of this.#spares.values()) for (const s of list.splice(0)) discardSpare(s);
    this.#spares.clear();
  }
}

/** Kills a spare that will not be used and reaps it (which frees its region). */
export function discardSpare(s: Spare): void {
  try {
    openLibc().pidfdSendSignal(s.pidfd, SIGKILL);
  } catch {
    // already dead: reaping it is all that is left
  }
  try {
    watchExit(s.pidfd).then(
      () => closeQuietly(s.pidfd),
      () => closeQuietly(s.pidfd),
    );
  } catch {
    closeQuietly(s.pidfd);
  }
}
