/**
 * Pseudo-terminals: a sandbox's own terminal, made in the child from its own
 * /dev/ptmx (so that it lives in the sandbox's devpts and `tty` names it there), and
 * handed to the parent as the master's fd; plus the host-side helpers a relay needs
 * (window size, opening a pty here).
 *
 * Why in the child: a sandbox with a new root mounts a devpts instance of its own, in
 * which a pty opened on the host has no name (`tty` says "not a tty", programs that
 * reopen their terminal by name fail). runc does the same for `docker run -t`: it
 * opens the pty inside the container and sends the master over a unix socket.
 *
 * @module
 */
import koffi from "koffi";
import { O } from "./constants.ts";
import { openLibc } from "./koffi_libc.ts";
import type { Libc } from "./libc.ts";
import type { Step } from "./program.ts";
import { SyscallError } from "./syscall_error.ts";

/** Terminal ioctl requests (the same on x86_64 and aarch64). */
export const TIOC = {
  /** Make the terminal the caller's controlling terminal (a session leader's). */
  SCTTY: 0x540e,
  GWINSZ: 0x5413,
  SWINSZ: 0x5414,
  /** Push a byte into the terminal's input (what the seccomp profile denies). */
  STI: 0x5412,
  /** The pty's number (master only): also tells a master from any other file. */
  GPTN: 0x80045430,
  /** Lock or unlock the slave (unlockpt). */
  SPTLCK: 0x40045431,
  /** Open the slave from the master, in the master's devpts whatever the path says. */
  GPTPEER: 0x5441,
} as const;

/** A terminal's size in character cells. */
export interface WindowSize {
  readonly rows: number;
  readonly columns: number;
}

/** What a child's terminal starts with. */
export interface TerminalOptions {
  /** The initial window size (default: the kernel's, 0x0; set it later on the master). */
  readonly size?: WindowSize;
}

/** The terminal could not be made or handed over. */
export class TerminalError extends Error {
  override name = "TerminalError";
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CTRUNC = 0x8;
const MSG_CMSG_CLOEXEC = 0x40000000;
const AT_FDCWD = -100;
/** sizeof(struct msghdr) and its fields' offsets, on 64-bit Linux. */
const MSGHDR_SIZE = 56;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
/** CMSG_SPACE(sizeof(int)) and CMSG_LEN(sizeof(int)). */
const CMSG_SPACE_FD = 24;
const CMSG_LEN_FD = 20;

/**
 * A `struct winsize` for TIOCSWINSZ.
 *
 * @example
 * ```ts
 * import { encodeWindowSize } from "@forge/libc";
 * encodeWindowSize({ rows: 30, columns: 100 }).length; // 8
 * ```
 */
export function encodeWindowSize(size: WindowSize): Uint8Array {
  for (const [k, v] of [
    ["rows", size.rows],
    ["columns", size.columns],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw new RangeError(`window size: ${k} must be an integer from 0 to 65535, got ${v}`);
  }
  const ws = new Uint16Array([size.rows, size.columns, 0, 0]);
  return new Uint8Array(ws.buffer);
}

/**
 * A terminal's window size (TIOCGWINSZ), or undefined when `fd` is no terminal.
 *
 * @example
 * ```ts
 * import { getWindowSize } from "@forge/libc";
 * console.log(getWindowSize(1)); // { rows: 30, columns: 100 } in a terminal
 * ```
 */
export function getWindowSize(fd: number, libc: Libc = openLibc()): WindowSize | undefined {
  const ws = new Uint16Array(4);
  try {
    libc.ioctl(fd, TIOC.GWINSZ, new Uint8Array(ws.buffer));
  } catch (e) {
    if (e instanceof SyscallError) return undefined;
    throw e;
  }
  return { rows: ws[0]!, columns: ws[1]! };
}

/**
 * Sets a terminal's window size (TIOCSWINSZ); on a pty's master the kernel then sends
 * SIGWINCH to the foreground process group of its slave, if the size changed.
 *
 * @example
 * ```ts
 * import { openPty, setWindowSize } from "@forge/libc";
 * const pty = openPty();
 * setWindowSize(pty.master, { rows: 40, columns: 120 });
 * ```
 */
export function setWindowSize(fd: number, size: WindowSize, libc: Libc = openLibc()): void {
  libc.ioctl(fd, TIOC.SWINSZ, encodeWindowSize(size));
}

/** TCGETS/TCSETS: a terminal's settings as the kernel's `struct termios` (36 bytes). */
const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TERMIOS_SIZE = 36;

/**
 * A terminal's settings (the kernel's `struct termios`, as TCGETS gives it), or
 * undefined when `fd` is no terminal. Give them back with {@link setTerminalMode}.
 *
 * @example
 * ```ts
 * import { getTerminalMode, setTerminalMode } from "@forge/libc";
 * const saved = getTerminalMode(0);
 * if (saved) setTerminalMode(0, saved);
 * ```
 */
export function getTerminalMode(fd: number, libc: Libc = openLibc()): Uint8Array | undefined {
  const t = new Uint8Array(TERMIOS_SIZE);
  try {
    libc.ioctl(fd, TCGETS, t);
  } catch (e) {
    if (e instanceof SyscallError) return undefined;
    throw e;
  }
  return t;
}

/**
 * Sets a terminal's settings at once (TCSETS), e.g. those {@link getTerminalMode} saved.
 *
 * @example
 * ```ts
 * import { getTerminalMode, rawTerminalMode, setTerminalMode } from "@forge/libc";
 * const saved = getTerminalMode(0)!;
 * setTerminalMode(0, rawTerminalMode(saved));
 * setTerminalMode(0, saved);
 * ```
 */
export function setTerminalMode(fd: number, mode: Uint8Array, libc: Libc = openLibc()): void {
  if (mode.length !== TERMIOS_SIZE)
    throw new RangeError(`terminal mode: expected ${TERMIOS_SIZE} bytes, got ${mode.length}`);
  libc.ioctl(fd, TCSETS, Uint8Array.from(mode));
}

/**
 * `mode` made raw as cfmakeraw(3) does (and ssh and docker do for a relayed
 * terminal): no echo, no line editing, no signals from keys, no flow control, no
 * output processing (the sandbox's own terminal does that), 8-bit bytes one at a time.
 *
 * @example
 * ```ts
 * import { getTerminalMode, rawTerminalMode } from "@forge/libc";
 * const raw = rawTerminalMode(getTerminalMode(0)!);
 * ```
 */
export function rawTerminalMode(mode: Uint8Array): Uint8Array {
  if (mode.length !== TERMIOS_SIZE)
    throw new RangeError(`terminal mode: expected ${TERMIOS_SIZE} bytes, got ${mode.length}`);
  const t = Uint8Array.from(mode);
  const v = new DataView(t.buffer);
  // c_iflag: IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON off.
  v.setUint32(0, v.getUint32(0, true) & ~0o2753, true);
  // c_oflag: OPOST off.
  v.setUint32(4, v.getUint32(4, true) & ~0o1, true);
  // c_cflag: CSIZE and PARENB off, CS8 on.
  v.setUint32(8, (v.getUint32(8, true) & ~(0o60 | 0o400)) | 0o60, true);
  // c_lflag: ECHO ECHONL ICANON ISIG IEXTEN off.
  v.setUint32(12, v.getUint32(12, true) & ~(0o10 | 0o100 | 0o2 | 0o1 | 0o100000), true);
  // c_cc (at 17): VTIME (5) 0, VMIN (6) 1.
  t[17 + 5] = 0;
  t[17 + 6] = 1;
  return t;
}

/** A pseudo-terminal opened in this process. */
export interface Pty {
  /** The master's fd (close-on-exec). */
  readonly master: number;
  /** The slave's fd (close-on-exec, not made anyone's controlling terminal). */
  readonly slave: number;
  /** The slave's number: /dev/pts/N in the devpts it was made in. */
  readonly index: number;
}

/**
 * Opens a new pseudo-terminal here (posix_openpt, unlockpt, then the slave through
 * TIOCGPTPEER, as glibc's openpty does). For tests and relays of a host terminal; a
 * sandbox gets its own through {@link terminalSteps}.
 *
 * @example
 * ```ts
 * import { openPty } from "@forge/libc";
 * const { master, slave, index } = openPty();
 * console.log(`/dev/pts/${index}`);
 * ```
 */
export function openPty(libc: Libc = openLibc()): Pty {
  const master = libc.openat(AT_FDCWD, "/dev/ptmx", O.RDWR | O.NOCTTY | O.CLOEXEC);
  try {
    libc.ioctl(master, TIOC.SPTLCK, new Uint8Array(4));
    const n = new Uint32Array(1);
    libc.ioctl(master, TIOC.GPTN, new Uint8Array(n.buffer));
    const slave = libc.ioctl(master, TIOC.GPTPEER, O.RDWR | O.NOCTTY | O.CLOEXEC);
    return { master, slave, index: n[0]! };
  } catch (e) {
    libc.close(master);
    throw e;
  }
}

/**
 * The pty number of a pty master, or undefined when `fd` is not one.
 *
 * @example
 * ```ts
 * import { openPty, ptyIndex } from "@forge/libc";
 * ptyIndex(openPty().master); // 3, say
 * ```
 */
export function ptyIndex(fd: number, libc: Libc = openLibc()): number | undefined {
  const n = new Uint32Array(1);
  try {
    libc.ioctl(fd, TIOC.GPTN, new Uint8Array(n.buffer));
  } catch (e) {
    if (e instanceof SyscallError) return undefined;
    throw e;
  }
  return n[0]!;
}

/**
 * A channel over which a child hands its terminal's master to us: a unix datagram
 * socket pair, both ends close-on-exec. Returns [ours, the child's].
 *
 * @example
 * ```ts
 * import { openTerminalChannel } from "@forge/libc";
 * const [ours, theirs] = openTerminalChannel();
 * ```
 */
export function openTerminalChannel(libc: Libc = openLibc()): [number, number] {
  const fds = new Int32Array(2);
  libc.syscall("socketpair", AF_UNIX, SOCK_DGRAM | O.CLOEXEC, 0, new Uint8Array(fds.buffer));
  return [fds[0]!, fds[1]!];
}

/**
 * The child's steps that give it a terminal of its own, as a session leader whose
 * controlling terminal it is, on its stdin, stdout and stderr: a new session (a
 * no-op for a process that leads one already), a pty from /dev/ptmx as the child
 * sees it (after its mounts: the sandbox's own devpts), unlocked and sized, its slave
 * made the controlling terminal, the master sent to us over `socket` (see
 * {@link openTerminalChannel}, {@link receiveTerminal}), and the slave moved to fds
 * 0, 1 and 2. Raw syscalls only: the trampoline runs them like any other step.
 *
 * Put them after the mounts and the reaper (the payload must lead its session) and
 * before seccomp, Landlock and the capability drop. `spawn({ terminal })` does.
 *
 * @example
 * ```ts
 * import { openTerminalChannel, terminalSteps } from "@forge/libc";
 * const [ours, theirs] = openTerminalChannel();
 * const steps = terminalSteps(theirs, { size: { rows: 24, columns: 80 } });
 * ```
 */
export function terminalSteps(socket: number, opts: TerminalOptions = {}): Step[] {
  const flags = O.RDWR | O.NOCTTY | O.CLOEXEC;
  // A one-fd SCM_RIGHTS message for fd 0: the master's number is known only in the
  // child, so it is moved to 0 (which the slave replaces right after) and sent from there.
  const cmsg = new Uint8Array(CMSG_SPACE_FD);
  const cv = new DataView(cmsg.buffer);
  cv.setBigUint64(0, BigInt(CMSG_LEN_FD), true);
  cv.setInt32(8, SOL_SOCKET, true);
  cv.setInt32(12, SCM_RIGHTS, true);
  cv.setInt32(16, 0, true);
  const msg = new Uint8Array(MSGHDR_SIZE);
  new DataView(msg.buffer).setBigUint64(MSG_CONTROLLEN, BigInt(CMSG_SPACE_FD), true);
  const steps: Step[] = [
    {
      label: "start a session of its own, to have a controlling terminal",
      syscall: "setsid",
      args: [],
      optional: true, // EPERM: it leads one already
    },
    {
      label: "open /dev/ptmx for the sandbox's terminal (a /dev inside with a devpts is needed)",
      syscall: "openat",
      args: [AT_FDCWD, { cstring: "/dev/ptmx" }, flags],
      id: "tty.master",
    },
    {
      label: "unlock the sandbox's terminal",
      syscall: "ioctl",
      args: [{ result: "tty.master" }, TIOC.SPTLCK, { bytes: new Uint8Array(4) }],
    },
  ];
  if (opts.size)
    steps.push({
      label: "set the sandbox's terminal's window size",
      syscall: "ioctl",
      args: [{ result: "tty.master" }, TIOC.SWINSZ, { bytes: encodeWindowSize(opts.size) }],
    });
  steps.push(
    {
      label: "open the other end of the sandbox's terminal",
      syscall: "ioctl",
      args: [{ result: "tty.master" }, TIOC.GPTPEER, flags],
      id: "tty.slave",
    },
    {
      label: "make the terminal the sandbox's controlling terminal",
      syscall: "ioctl",
      args: [{ result: "tty.slave" }, TIOC.SCTTY, 0],
    },
    {
      label: "move the terminal's master to fd 0 to send it",
      syscall: "dup3",
      args: [{ result: "tty.master" }, 0, O.CLOEXEC],
    },
    {
      label: "hand the terminal's master to the launcher",
      syscall: "sendmsg",
      args: [socket, { bytes: msg, pointers: [{ at: MSG_CONTROL, to: cmsg }] }, MSG_NOSIGNAL],
    },
    { label: "close the launcher's channel", syscall: "close", args: [socket] },
    { label: "close the terminal's master", syscall: "close", args: [{ result: "tty.master" }] },
  );
  ["stdin", "stdout", "stderr"].forEach((what, fd) => {
    steps.push({
      label: `connect ${what} to the terminal`,
      syscall: "dup3",
      args: [{ result: "tty.slave" }, fd, 0],
    });
  });
  steps.push({
    label: "close the terminal's extra fd",
    syscall: "close",
    args: [{ result: "tty.slave" }],
  });
  return steps;
}

/**
 * Takes the master a child sent over its terminal channel (see {@link terminalSteps})
 * without waiting: call it once the child has exec'd. The fd is close-on-exec and
 * checked to be a pty master; throws a {@link TerminalError} when none is there.
 *
 * @example
 * ```ts
 * import { receiveTerminal } from "@forge/libc";
 * // const master = receiveTerminal(ours); // after spawn() has returned
 * ```
 */
export function receiveTerminal(socket: number, libc: Libc = openLibc()): number {
  const control = koffi.alloc("uint8_t", CMSG_SPACE_FD);
  const msg = new Uint8Array(MSGHDR_SIZE);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(MSG_CONTROL, BigInt(koffi.address(control)), true);
  mv.setBigUint64(MSG_CONTROLLEN, BigInt(CMSG_SPACE_FD), true);
  let bytes: number[];
  try {
    try {
      libc.syscall("recvmsg", socket, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "EAGAIN")
        throw new TerminalError("the sandbox's terminal: the child sent no terminal");
      throw e;
    }
    bytes = koffi.decode(control, "uint8_t", CMSG_SPACE_FD) as number[];
  } finally {
    koffi.free(control);
  }
  const cv = new DataView(Uint8Array.from(bytes).buffer);
  const len = Number(cv.getBigUint64(0, true));
  const ok =
    len === CMSG_LEN_FD &&
    cv.getInt32(8, true) === SOL_SOCKET &&
    cv.getInt32(12, true) === SCM_RIGHTS &&
    (mv.getInt32(MSG_FLAGS, true) & MSG_CTRUNC) === 0;
  if (!ok) throw new TerminalError("the sandbox's terminal: the child sent no terminal");
  const fd = cv.getInt32(16, true);
  if (ptyIndex(fd, libc) === undefined) {
    libc.close(fd);
    throw new TerminalError("the sandbox's terminal: the child sent a file that is no pty master");
  }
  return fd;
}
