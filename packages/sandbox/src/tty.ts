/**
 * The relay between the user's terminal and a sandbox's own one (as `docker run -it`
 * and `systemd-run --pty` do): the user's terminal in raw mode while it runs, keys to
 * the sandbox's terminal, its output back, and its window size kept equal to the
 * user's (at the start and on every SIGWINCH). The user's terminal mode comes back on
 * every way out: the sandbox's end, a signal, a timeout, an error, process exit.
 *
 * The sandbox's terminal is a pty of its own (see @forge/libc's terminalSteps), so
 * nothing it does to its terminal (TIOCSTI, changing modes, job control) reaches the
 * user's; seccomp's TIOCSTI rule stays as a second wall.
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import type tty from "node:tty";
import {
  getTerminalMode,
  getWindowSize,
  openLibc,
  rawTerminalMode,
  setTerminalMode,
  setWindowSize,
  type WindowSize,
} from "@forge/libc";

/** A stream with the fd it reads or writes, when it has one (process.stdin does). */
type WithFd = { readonly fd?: number };

/** Where a terminal relay reads the user's keys and writes the sandbox's output. */
export interface TtyOptions {
  /**
   * The user's keys (default `process.stdin`). When its fd (its `fd`, or a
   * tty.ReadStream's own) is a terminal, that terminal is raw while the relay runs and
   * gets its mode back after. Its end sends the sandbox end-of-file (^D).
   */
  readonly input?: NodeJS.ReadableStream & WithFd;
  /**
   * Where the sandbox's output goes (default `process.stdout`); the window size
   * followed is its terminal's (else the input's).
   */
  readonly output?: NodeJS.WritableStream & WithFd;
}

const F_DUPFD_CLOEXEC = 1030;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/**
 * Whether stdin, stdout and stderr are all terminals: when `forge run` gives the
 * sandbox a terminal of its own without being asked (a redirected stream keeps its
 * bytes exact: no CR added, stderr not mixed into stdout).
 *
 * @example
 * ```ts
 * import { stdioIsTerminal } from "@forge/sandbox";
 * const tty = stdioIsTerminal(); // true in an interactive shell
 * ```
 */
export function stdioIsTerminal(): boolean {
  return isatty(0) && isatty(1) && isatty(2);
}

let ttyModule: typeof tty | undefined;
/**
 * node:tty, loaded on first use: it loads node:net and Node's streams, ~5 ms of a cold
 * `forge run` that has no terminal to relay.
 */
function ttyLib(): typeof tty {
  ttyModule ??= createRequire(import.meta.url)("node:tty") as typeof tty;
  return ttyModule;
}

/**
 * isatty(3) without node:tty: a character device (not a pipe, a file, a socket or a
 * closed fd) whose terminal settings can be read (TCGETS, as glibc's isatty; /dev/null
 * is a character device but no terminal).
 */
function isatty(fd: number): boolean {
  try {
    if (!fs.fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return getTerminalMode(fd) !== undefined;
}

/**
 * The user's window size: that of the output's terminal, else the input's; undefined
 * when neither is a terminal (or it reports 0x0).
 *
 * @example
 * ```ts
 * import { userWindowSize } from "@forge/sandbox";
 * userWindowSize(); // { rows: 30, columns: 100 } in a 100x30 terminal
 * ```
 */
export function userWindowSize(opts: TtyOptions = {}): WindowSize | undefined {
  const fds = [fdOf(opts.output ?? process.stdout), fdOf(opts.input ?? process.stdin)];
  for (const fd of fds) {
    if (fd === undefined || !isatty(fd)) continue;
    const size = getWindowSize(fd);
    if (size && size.rows > 0 && size.columns > 0) return size;
  }
  return undefined;
}

/** A stream's fd: its `fd` (process.stdin's), or its handle's (a tty.ReadStream's). */
function fdOf(s: WithFd | undefined): number | undefined {
  const fd = s?.fd ?? (s as { _handle?: { fd?: unknown } } | undefined)?._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/**
 * Relays a sandbox's terminal (its master's fd) to the user's: see the module doc.
 * {@link Sandbox} runs one for its `tty` option; {@link TerminalRelay.finish} is
 * called by itself when the sandbox's side closes, and by `Sandbox.wait()`.
 *
 * @example
 * ```ts
 * import { launch } from "@forge/sandbox/launch";
 * import { TerminalRelay } from "@forge/sandbox";
 * const box = launch({ argv: ["/bin/sh"], terminal: {} });
 * const relay = TerminalRelay.start(box.terminal!);
 * await box.wait();
 * relay.finish();
 * ```
 */
export class TerminalRelay {
  /** The master of the sandbox's terminal (closed by {@link finish}). */
  readonly master: number;
  /** Resolves once the relay has finished (the user's terminal has its mode back). */
  readonly done: Promise<void>;
  readonly #input: NodeJS.ReadableStream & WithFd;
  readonly #output: NodeJS.WritableStream & WithFd;
  /** The user's terminal (the input's fd) and its mode before the relay, if it is one. */
  readonly #termFd: number | undefined;
  readonly #saved: Uint8Array | undefined;
  readonly #reader: tty.ReadStream;
  readonly #writer: fs.WriteStream;
  #finished = false;
  #resolve!: () => void;
  #lastInput = 10; // "\n": nothing typed yet
  readonly #listeners: [NodeJS.EventEmitter, string, (...a: never[]) => void][] = [];

  private constructor(master: number, opts: TtyOptions) {
    this.master = master;
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
    this.#input = opts.input ?? process.stdin;
    this.#output = opts.output ?? process.stdout;
    const libc = openLibc();
    const inFd = fdOf(this.#input);
    this.#termFd = inFd !== undefined && isatty(inFd) ? inFd : undefined;
    this.#saved = this.#termFd !== undefined ? getTerminalMode(this.#termFd) : undefined;
    // Two more fds of the master: one read by an event-driven tty stream (a master's
    // reads return at most a few KiB, so that its blocking fd never stalls the loop),
    // one written in the thread pool (a sandbox that does not read its input must not
    // block this process, which must go on reading its output).
    const readFd = libc.syscall("fcntl", master, F_DUPFD_CLOEXEC, 3);
    let writeFd: number;
    try {
      writeFd = libc.syscall("fcntl", master, F_DUPFD_CLOEXEC, 3);
    } catch (e) {
      fs.closeSync(readFd);
      throw e;
    }
    this.#reader = new (ttyLib().ReadStream)(readFd);
    this.#writer = fs.createWriteStream("", { fd: writeFd, autoClose: true });
    // For good, not removed by finish(): a write still in the thread pool when the
    // relay finishes fails after the stream is destroyed, and an error without a
    // listener would end this process. EIO means the sandbox's side is gone; its input
    // goes nowhere then.
    this.#writer.on("error", () => {});
    this.#reader.on("error", () => {});
  }

  /**
   * Starts relaying `master` to the user's terminal: sets the sandbox's window size to
   * the user's, makes the user's terminal raw, and follows SIGWINCH.
   */
  static start(master: number, opts: TtyOptions = {}): TerminalRelay {
    const r = new TerminalRelay(master, opts);
    r.#begin();
    return r;
  }

  /** Whether the user's terminal is in raw mode for the relay now. */
  get raw(): boolean {
    return this.#saved !== undefined && !this.#finished;
  }

  #on(target: NodeJS.EventEmitter, event: string, f: (...a: never[]) => void): void {
    target.on(event, f as (...a: unknown[]) => void);
    this.#listeners.push([target, event, f]);
  }

  #begin(): void {
    // Set up listeners first: whatever fails after raw mode, the mode comes back.
    this.#on(process, "exit", () => this.restore());
    this.#on(process, "SIGWINCH", () => this.resize());
    // A shell's job control (forge stopped with SIGTSTP, then `fg`) may have put the
    // user's terminal back in its own mode meanwhile.
    this.#on(process, "SIGCONT", () => this.#makeRaw());
    this.#on(this.#reader, "data", (chunk: Buffer) => {
      if (!this.#output.write(chunk)) {
        this.#reader.pause();
        this.#output.once("drain", () => this.#reader.resume());
      }
    });
    // EIO (or end): every process holding the sandbox's side has closed it.
    this.#on(this.#reader, "end", () => this.finish());
    this.#on(this.#reader, "error", () => this.finish());
    this.#on(this.#input, "data", (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (b.length) this.#lastInput = b[b.length - 1]!;
      if (!this.#writer.write(b)) {
        this.#input.pause();
        this.#writer.once("drain", () => {
          if (!this.#finished) this.#input.resume();
        });
      }
    });
    // No more input (not a terminal): the sandbox reads end-of-file, as at a terminal
    // where the user typed ^D (twice after an unfinished line).
    this.#on(this.#input, "end", () => {
      if (!this.#finished) this.#writer.write(this.#lastInput === 10 ? "\x04" : "\x04\x04");
    });
    this.resize();
    this.#makeRaw();
    this.#input.resume();
  }

  #makeRaw(): void {
    if (this.#finished || this.#termFd === undefined || !this.#saved) return;
    try {
      setTerminalMode(this.#termFd, rawTerminalMode(this.#saved));
    } catch {
      // not a terminal any more (hung up): nothing to put in raw mode
    }
  }

  /**
   * Sets the sandbox's window size: `size`, or the user's (see {@link userWindowSize});
   * the kernel sends its foreground processes SIGWINCH when it changed.
   */
  resize(size?: WindowSize): void {
    if (this.#finished) return;
    const s = size ?? userWindowSize({ input: this.#input, output: this.#output });
    if (!s) return;
    try {
      setWindowSize(this.master, s);
    } catch {
      // the master is being closed
    }
  }

  /**
   * Gives the user's terminal its mode from before the relay (at once; safe to call
   * any number of times, from an `exit` handler too).
   */
  restore(): void {
    if (this.#termFd === undefined || !this.#saved) return;
    try {
      setTerminalMode(this.#termFd, this.#saved);
    } catch {
      // the terminal is gone (hung up): nothing to restore
    }
  }

  /**
   * Ends the relay: writes what the sandbox's side still holds, stops reading the
   * input, restores the user's terminal and closes the master. Synchronous and
   * idempotent; called when the sandbox's side closes and by `Sandbox.wait()`.
   */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    try {
      for (const [target, event, f] of this.#listeners.splice(0))
        target.removeListener(event, f as (...a: unknown[]) => void);
      this.#input.pause();
      // Output the stream has read but not passed on (paused for a slow output), then
      // what is still in the kernel: up to EIO (the sandbox's side closed) or, if a
      // process still holds it, what is there now.
      this.#reader.pause();
      for (let c = this.#reader.read(); c !== null; c = this.#reader.read()) this.#output.write(c);
      this.#reader.destroy();
      this.#writer.destroy();
      this.#drain();
    } finally {
      this.restore();
      try {
        fs.closeSync(this.master);
      } catch {
        // closed already
      }
      this.#resolve();
    }
  }

  #drain(): void {
    const libc = openLibc();
    try {
      const fl = libc.syscall("fcntl", this.master, F_GETFL);
      libc.syscall("fcntl", this.master, F_SETFL, fl | O_NONBLOCK);
    } catch {
      return; // never read a blocking master here: it could wait forever
    }
    const buf = Buffer.allocUnsafe(16384);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.master, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EINTR") continue;
        return; // EIO: the sandbox's side is closed; EAGAIN: nothing more now
      }
      if (n <= 0) return;
      this.#output.write(Buffer.from(buf.subarray(0, n)));
    }
  }
}
