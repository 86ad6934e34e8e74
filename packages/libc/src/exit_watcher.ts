import fs from "node:fs";
import { createRequire } from "node:module";
import type net from "node:net";
import { openLibc } from "./koffi_libc.ts";
import { loadTrampoline } from "./native.ts";
import { SyscallError } from "./syscall_error.ts";

/** How a process ended, as waitid(2) reports it. */
export interface ChildExit {
  /** CLD_EXITED (1), CLD_KILLED (2) or CLD_DUMPED (3). */
  readonly siCode: number;
  /** The exit code (CLD_EXITED) or the signal number. */
  readonly siStatus: number;
}

const RECORD = 12;
const SIGKILL = 9;
/** forge_watch_open/forge_watch_add: drain the channel on SIGCHLD (the main thread). */
const WATCH_SIGNAL = 1;
/** forge_watch_add: not our child; report its exit without reaping it. */
const WATCH_NOWAIT = 2;

/**
 * Reaps spawned children without blocking the event loop: a thread in the trampoline
 * waits on every child's pidfd and reports exits on this isolate's own pipe (a Worker
 * and the main thread never read each other's exits). A Worker reads its pipe as a
 * stream. The main thread reads it when SIGCHLD arrives (the watcher raises one after
 * each report), with no stream at all: node:net and Node's streams, which a cold
 * `forge run` would spend ~8 ms loading, stay unloaded; while a child is pending a
 * timer also drains it once a second, so that exits still arrive (late) if someone
 * removes every SIGCHLD listener. Either way the event loop is kept alive only while a
 * child is pending. The write end stays open for the process's life: the watcher
 * thread may still report on it after the isolate has gone (it then gets EPIPE).
 */
class ExitWatcher {
  readonly #pending = new Map<
    number,
    { resolve(e: ChildExit): void; reject(e: Error): void; ref: boolean }
  >();
  /** How many pending watches keep the event loop alive. */
  #refs = 0;
  readonly #onSignal = () => this.#drain();
  /** The read end: a stream (Worker) or a non-blocking fd drained on SIGCHLD (main thread). */
  #socket: net.Socket | undefined;
  #fd = -1;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #flags = 0;
  /** The write end of this isolate's channel (the watcher thread writes to it). */
  #chan = -1;
  #next = 1;
  #rest = Buffer.alloc(0);

  watch(pidfd: number, other = false): { done: Promise<ChildExit>; token: number } {
    const t = loadTrampoline();
    if (this.#chan < 0) this.#open(t);
    const token = this.#next;
    this.#next = this.#next >= 0x7fffffff ? 1 : this.#next + 1;
    const ref = !other;
    const done = new Promise<ChildExit>((resolve, reject) =>
      this.#pending.set(token, { resolve, reject, ref }),
    );
    const r = t.watchAdd(pidfd, token, this.#chan, this.#flags | (other ? WATCH_NOWAIT : 0));
    if (r < 0) {
      this.#pending.delete(token);
      throw new SyscallError("epoll_ctl", -r, [pidfd]);
    }
    // A process that is not our child (die-with-parent) does not keep the loop alive.
    if (!ref) return { done, token };
    this.#refs++;
    if (this.#socket) {
      if (this.#refs === 1) this.#socket.ref();
    } else {
      // Put back a listener someone removed (process.removeAllListeners()).
      if (!process.listeners("SIGCHLD").includes(this.#onSignal))
        process.on("SIGCHLD", this.#onSignal);
      // A signal listener does not keep the loop alive: a timer does, while a child is
      // pending; it also drains, in case no listener is left to.
      this.#keepAlive ??= setInterval(() => this.#drain(), 1000);
    }
    return { done, token };
  }

  /** Forgets a pending watch (of a process that is not our child) without a report. */
  forget(token: number): void {
    const p = this.#pending.get(token);
    if (!p) return;
    this.#pending.delete(token);
    if (p.ref && --this.#refs === 0) this.#idle();
  }

  #open(t: ReturnType<typeof loadTrampoline>): void {
    // The main thread is the process's first thread (tid = pid); Workers are not.
    const main = openLibc().syscall("gettid") === process.pid;
    const ends = new Int32Array(2);
    const r = t.watchOpen(ends, main ? WATCH_SIGNAL : 0);
    if (r < 0) throw new SyscallError("forge_watch_open", -r, []);
    this.#chan = ends[1]!;
    if (main) {
      this.#flags = WATCH_SIGNAL;
      this.#fd = ends[0]!;
      process.on("SIGCHLD", this.#onSignal);
    } else {
      this.#socket = socketOnFd(ends[0]!, { readable: true, writable: false });
      this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
      this.#socket.unref();
    }
  }

  /** Reads every report waiting on the (non-blocking) channel. */
  #drain(): void {
    if (this.#fd < 0) return;
    const buf = Buffer.allocUnsafe(RECORD * 64);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.#fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") return;
        if ((e as NodeJS.ErrnoException).code === "EINTR") continue;
        // The channel is unusable (closed behind our back?): fail the waits, not the process.
        this.#failAll(e as Error);
        return;
      }
      if (n === 0) return;
      this.#onData(Buffer.from(buf.subarray(0, n)));
    }
  }

  #onData(chunk: Buffer): void {
    let buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    while (buf.length >= RECORD) {
      const token = buf.readInt32LE(0);
      const exit = { siCode: buf.readInt32LE(4), siStatus: buf.readInt32LE(8) };
      buf = buf.subarray(RECORD);
      const p = this.#pending.get(token);
      this.#pending.delete(token);
      if (p?.ref) this.#refs--;
      p?.resolve(exit);
    }
    this.#rest = Buffer.from(buf);
    if (this.#refs === 0) this.#idle();
  }

  #failAll(e: Error): void {
    const err = new Error(
      `@forge/libc: cannot read child exits from the exit channel: ${e.message}`,
      {
        cause: e,
      },
    );
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#refs = 0;
    this.#idle();
  }

  #idle(): void {
    this.#socket?.unref();
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }
}

let watcher: ExitWatcher | undefined;
/** Our parent when this module was loaded (for a CLI: when it started). */
const firstPpid = process.ppid;

/**
 * Resolves when the process behind `pidfd` has ended, and reaps it. Call it once per
 * pidfd, right after the spawn; the caller closes the pidfd afterwards. Rejects only
 * if this isolate's exit channel can no longer be read.
 *
 * @example
 * ```ts
 * import { spawn } from "@forge/libc";
 * const child = spawn({ argv: ["/bin/true"] });
 * console.log(await child.wait()); // { code: 0, signal: null, exitCode: 0 }
 * ```
 */
export function watchExit(pidfd: number): Promise<ChildExit> {
  watcher ??= new ExitWatcher();
  return watcher.watch(pidfd).done;
}

/** A watch on this process's parent: {@link watchParent}'s result. */
export interface ParentWatch {
  /** Resolves once the parent has exited (never, if `stop()` is called first). */
  readonly exited: Promise<void>;
  /** Stops watching (idempotent). */
  stop(): void;
}

/**
 * Watches this process's parent and resolves `exited` when it ends, without keeping
 * the event loop alive: what bwrap's `--die-with-parent` needs, without touching this
 * process's own parent-death signal. A parent that is already gone (this process has
 * been re-parented since this module was loaded) resolves at once.
 *
 * @example
 * ```ts
 * import { watchParent } from "@forge/libc";
 * const w = watchParent();
 * w.exited.then(() => console.error("our parent has gone"));
 * w.stop();
 * ```
 */
export function watchParent(): ParentWatch {
  const ppid = process.ppid;
  if (ppid !== firstPpid) return { exited: Promise.resolve(), stop() {} };
  // 0: the parent is outside our pid namespace (we are a container's PID 1): nothing
  // to watch, and nothing that could end.
  if (ppid === 0) return { exited: new Promise(() => {}), stop() {} };
  const lib = openLibc();
  let pidfd: number;
  try {
    pidfd = lib.pidfdOpen(ppid);
  } catch (e) {
    if ((e as SyscallError).code === "ESRCH") return { exited: Promise.resolve(), stop() {} };
    throw e;
  }
  watcher ??= new ExitWatcher();
  const w = watcher;
  let stopped = false;
  let token: number;
  let exited: Promise<void>;
  try {
    const r = w.watch(pidfd, true);
    token = r.token;
    exited = r.done.then(() => {
      if (!stopped) {
        stopped = true;
        closeQuietly(pidfd);
      }
    });
  } catch (e) {
    closeQuietly(pidfd);
    throw e;
  }
  // The pid may have been reused by another process if the parent died before the
  // pidfd was opened: then we have been re-parented already.
  if (process.ppid !== ppid) {
    stopped = true;
    loadTrampoline().watchRemove(pidfd);
    w.forget(token);
    closeQuietly(pidfd);
    return { exited: Promise.resolve(), stop() {} };
  }
  return {
    exited,
    stop() {
      if (stopped) return;
      stopped = true;
      loadTrampoline().watchRemove(pidfd);
      w.forget(token);
      closeQuietly(pidfd);
    },
  };
}

let netModule: typeof net | undefined;

/**
 * A net.Socket over an fd (a pipe end). node:net (and Node's streams behind it) is
 * loaded on first use, not at import: a cold `forge run` then loads it after the
 * child is cloned, while the child sets itself up on another core.
 */
export function socketOnFd(fd: number, opts: { readable: boolean; writable: boolean }): net.Socket {
  netModule ??= createRequire(import.meta.url)("node:net") as typeof net;
  return new netModule.Socket({ fd, ...opts });
}

/** Sends SIGKILL through a pidfd; a process already gone is no error. */
export function killQuietly(pidfd: number): void {
  try {
    openLibc().pidfdSendSignal(pidfd, SIGKILL);
  } catch {
    // already gone
  }
}

/**
 * Kills the process behind `pidfd` for good: the trampoline's watcher thread reaps it,
 * frees its region and closes the pidfd, even if this isolate (a Worker) is gone by
 * then. For a child nobody will wait for.
 */
export function discardChild(pidfd: number): void {
  killQuietly(pidfd);
  if (loadTrampoline().watchDiscard(pidfd) < 0) closeQuietly(pidfd);
}

/** Closes an fd, ignoring EBADF. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
