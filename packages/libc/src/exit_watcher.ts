import fs from "node:fs";
import { createRequire } from "node:module";
import type net from "node:net";
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

/**
 * Reaps spawned children without blocking the event loop: a thread in the trampoline
 * waits on every child's pidfd and reports exits on this isolate's own pipe, which
 * Node reads like any other stream (a Worker and the main thread never read each
 * other's exits). The pipe keeps the event loop alive only while a child is pending.
 * The write end stays open for the process's life: the watcher thread may still
 * report on it after the isolate has gone (it then gets EPIPE).
 */
class ExitWatcher {
  readonly #pending = new Map<number, (e: ChildExit) => void>();
  #socket: net.Socket | undefined;
  /** The write end of this isolate's channel (the watcher thread writes to it). */
  #chan = -1;
  #next = 1;
  #rest = Buffer.alloc(0);

  watch(pidfd: number): Promise<ChildExit> {
    const t = loadTrampoline();
    if (!this.#socket) {
      const ends = new Int32Array(2);
      const r = t.watchOpen(ends);
      if (r < 0) throw new SyscallError("forge_watch_open", -r, []);
      this.#chan = ends[1]!;
      this.#socket = socketOnFd(ends[0]!, { readable: true, writable: false });
      this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
      this.#socket.unref();
    }
    const token = this.#next;
    this.#next = this.#next >= 0x7fffffff ? 1 : this.#next + 1;
    const done = new Promise<ChildExit>((resolve) => this.#pending.set(token, resolve));
    const r = t.watchAdd(pidfd, token, this.#chan);
    if (r < 0) {
      this.#pending.delete(token);
      throw new SyscallError("epoll_ctl", -r, [pidfd]);
    }
    if (this.#pending.size === 1) this.#socket.ref();
    return done;
  }

  #onData(chunk: Buffer): void {
    let buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    while (buf.length >= RECORD) {
      const token = buf.readInt32LE(0);
      const exit = { siCode: buf.readInt32LE(4), siStatus: buf.readInt32LE(8) };
      buf = buf.subarray(RECORD);
      const resolve = this.#pending.get(token);
      this.#pending.delete(token);
      resolve?.(exit);
    }
    this.#rest = Buffer.from(buf);
    if (this.#pending.size === 0) this.#socket?.unref();
  }
}

let watcher: ExitWatcher | undefined;

/**
 * Resolves when the process behind `pidfd` has ended, and reaps it. Call it once per
 * pidfd, right after the spawn; the caller closes the pidfd afterwards.
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
  return watcher.watch(pidfd);
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

/** Closes an fd, ignoring EBADF. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
