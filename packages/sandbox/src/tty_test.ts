import fs from "node:fs";
import { PassThrough } from "node:stream";
import tty from "node:tty";
import {
  getTerminalMode,
  openLibc,
  openPty,
  type Pty,
  rawTerminalMode,
  SparePool,
  setWindowSize,
} from "@forge/libc";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { launch } from "./launch.ts";
import { Sandbox } from "./sandbox.ts";
import { TerminalRelay, type TtyOptions, userWindowSize } from "./tty.ts";

const isRoot = process.getuid?.() === 0;
const fds = () => fs.readdirSync("/proc/self/fd").length;

/** The fd count once it is back to `n` (the relay's streams close their fds a tick later). */
async function fdsSettle(n: number): Promise<number> {
  for (let i = 0; i < 200 && fds() !== n; i++) await new Promise((r) => setTimeout(r, 10));
  return fds();
}
const F_DUPFD_CLOEXEC = 1030;

/**
 * A user's terminal, made of a pty here: the relay reads keys from its slave and
 * writes output to it, as forge does with the terminal it runs in; the test plays
 * the terminal emulator on its master (types into it, reads the screen).
 */
interface UserTerminal {
  readonly pty: Pty;
  readonly input: tty.ReadStream;
  readonly output: tty.WriteStream;
  /** Everything shown so far. */
  screen(): string;
  /** Resolves once the screen matches. */
  see(re: RegExp): Promise<string>;
  type(keys: string): void;
  close(): void;
}

const terminals: UserTerminal[] = [];
afterEach(() => {
  for (const t of terminals.splice(0)) t.close();
});

function userTerminal(rows = 30, columns = 100): UserTerminal {
  const pty = openPty();
  setWindowSize(pty.master, { rows, columns });
  // The slave twice (its own fd each: one libuv handle per fd), as a shell's stdin and stdout.
  const outFd = openLibc().syscall("fcntl", pty.slave, F_DUPFD_CLOEXEC, 3);
  const input = new tty.ReadStream(pty.slave);
  const output = new tty.WriteStream(outFd);
  const emulator = new tty.ReadStream(pty.master);
  let shown = "";
  const waiters: (() => void)[] = [];
  emulator.on("data", (d) => {
    shown += d;
    for (const w of waiters.splice(0)) w();
  });
  emulator.on("error", () => {});
  const t: UserTerminal = {
    pty,
    input,
    output,
    screen: () => shown,
    see: (re) =>
      new Promise((resolve, reject) => {
        // A bound so that a failure says what was on the screen instead of hanging.
        const timer = setTimeout(
          () => reject(new Error(`not on the screen: ${re}; it shows ${JSON.stringify(shown)}`)),
          15_000,
        );
        const check = () => {
          if (re.test(shown)) {
            clearTimeout(timer);
            resolve(shown);
          } else waiters.push(check);
        };
        check();
      }),
    type: (keys) => {
      fs.writeSync(pty.master, keys);
    },
    close: () => {
      input.destroy();
      output.destroy();
      emulator.destroy();
    },
  };
  terminals.push(t);
  return t;
}

/** The relay's streams of a user terminal. */
const on = (t: UserTerminal): TtyOptions => ({ input: t.input, output: t.output });

/** ICANON, ECHO and ISIG: what raw mode turns off (c_lflag, at byte 12). */
function cooked(mode: Uint8Array): number {
  return new DataView(mode.buffer).getUint32(12, true) & (0o2 | 0o10 | 0o1);
}

describe("TerminalRelay helpers", () => {
  it("takes the user's window size from the output, else the input, else none", () => {
    const none = { input: new PassThrough(), output: new PassThrough() };
    expect(userWindowSize(none)).toBeUndefined();
  });

  it("refuses tty with stdio", () => {
    expect(() =>
      Sandbox.start({ argv: ["/bin/true"], tty: true, stdio: ["pipe", "pipe", "pipe"] }),
    ).toThrow(
      "tty: the sandbox's terminal is its stdin, stdout and stderr; give tty or stdio, not both",
    );
  });
});

describe.skipIf(!isRoot)("Sandbox with tty (real terminals)", () => {
  beforeAll(async () => {
    // What every spawn shares (the exit watcher's channel...) is open before fds are counted.
    await Sandbox.start({ argv: ["/bin/true"], stdio: ["ignore", "ignore", "ignore"] }).wait();
  });

  it("gives the sandbox its own terminal, raw on the user's side, and restores it", async () => {
    const user = userTerminal(30, 100);
    const saved = getTerminalMode(user.pty.slave)!;
    expect(userWindowSize(on(user))).toEqual({ rows: 30, columns: 100 });
    const before = fds();
    const box = Sandbox.start({
      argv: ["/bin/sh", "-c", "tty; stty size; echo ready; read line; echo got:$line; exit 3"],
      tty: on(user),
    });
    expect(box.terminal).toBeInstanceOf(TerminalRelay);
    expect(box.terminal!.raw).toBe(true);
    expect(getTerminalMode(user.pty.slave)).toEqual(rawTerminalMode(saved));
    expect(cooked(getTerminalMode(user.pty.slave)!)).toBe(0);
    await user.see(/ready/);
    user.type("hello\r");
    const r = await box.wait();
    expect(r.status.exitCode).toBe(3);
    await user.see(/got:hello/);
    expect(user.screen()).toMatch(/^\/dev\/pts\/0\r\n30 100\r\nready\r\nhello\r\ngot:hello\r\n$/);
    expect(getTerminalMode(user.pty.slave)).toEqual(saved);
    expect(box.terminal!.raw).toBe(false);
    expect(await fdsSettle(before)).toBe(before);
  });

  it("follows the user's window size on SIGWINCH; the sandbox's foreground gets SIGWINCH", async () => {
    const user = userTerminal(30, 100);
    const box = Sandbox.start({
      // The trap runs between two sleeps.
      argv: [
        "/bin/bash",
        "-c",
        'trap "echo winch; stty size; exit 0" WINCH; echo ready; while :; do sleep 0.05; done',
      ],
      tty: on(user),
    });
    await user.see(/ready/);
    setWindowSize(user.pty.master, { rows: 41, columns: 121 });
    process.kill(process.pid, "SIGWINCH"); // what the kernel sends forge's terminal's foreground
    expect((await box.wait()).status.exitCode).toBe(0);
    await user.see(/121\r\n$/);
    expect(user.screen()).toMatch(/^ready\r\nwinch\r\n41 121\r\n$/);
    // And by hand.
    const sized = Sandbox.start({ argv: ["/bin/sh", "-c", "read x; stty size"], tty: on(user) });
    sized.terminal!.resize({ rows: 7, columns: 8 });
    user.type("\r");
    await sized.wait();
    await user.see(/\r\n7 8\r\n$/);
  });

  it("restores the user's terminal after a timeout, with nobody waiting, and on process exit", async () => {
    const user = userTerminal();
    const saved = getTerminalMode(user.pty.slave)!;
    const timedOut = Sandbox.start({ argv: ["/bin/sleep", "100"], tty: on(user), timeoutMs: 100 });
    expect(cooked(getTerminalMode(user.pty.slave)!)).toBe(0);
    const r = await timedOut.wait();
    expect(r.reason.kind).toBe("timeout");
    expect(getTerminalMode(user.pty.slave)).toEqual(saved);
    // Nobody calls wait(): the relay finishes when the sandbox's side closes.
    const alone = Sandbox.start({ argv: ["/bin/true"], tty: on(user) });
    await alone.terminal!.done;
    expect(getTerminalMode(user.pty.slave)).toEqual(saved);
    await alone.wait();
    // An `exit` handler restores it if this process ends while the relay runs.
    const handlers = process.listeners("exit");
    const running = Sandbox.start({ argv: ["/bin/sleep", "100"], tty: on(user) });
    const added = process.listeners("exit").filter((l) => !handlers.includes(l));
    expect(added).toHaveLength(1);
    expect(cooked(getTerminalMode(user.pty.slave)!)).toBe(0);
    (added[0] as () => void)();
    expect(getTerminalMode(user.pty.slave)).toEqual(saved);
    running.kill("SIGKILL");
    await running.wait();
    expect(getTerminalMode(user.pty.slave)).toEqual(saved);
    expect(process.listeners("exit")).toEqual(handlers);
  });

  it("keeps TIOCSTI inside: its own terminal takes it; seccomp denies it by default", async () => {
    const user = userTerminal();
    const inject =
      'perl -e \'my $c = "z"; ioctl(STDIN, 0x5412, $c) or die "TIOCSTI: $!\\n"; print "injected\\n"\' && read -r x && echo inside:$x';
    const box = Sandbox.start({
      argv: ["/bin/sh", "-c", inject],
      tty: on(user),
      seccomp: "unconfined",
    });
    await user.see(/injected/);
    user.type("\r"); // the sandbox reads the injected z, then this line's end
    expect((await box.wait()).status.exitCode).toBe(0);
    await user.see(/inside:z\r\n$/);
    const walled = Sandbox.start({ argv: ["/bin/sh", "-c", inject], tty: on(user) });
    expect((await walled.wait()).status.exitCode).not.toBe(0);
    await user.see(/inside:z\r\nTIOCSTI: [^\r\n]+\r\n$/);
  });

  it("relays streams that are no terminal: output out, input in, end of input as ^D", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let out = "";
    output.on("data", (d) => {
      out += d;
    });
    const box = Sandbox.start({
      argv: ["/bin/sh", "-c", "stty size; cat; echo done"],
      tty: { input, output },
    });
    expect(box.terminal!.raw).toBe(false); // nothing to put in raw mode
    await new Promise((r) => output.once("data", r));
    input.end("one\ntwo\n");
    expect((await box.wait()).status.exitCode).toBe(0);
    // No size to follow: the kernel's 0x0. The terminal echoes, and cat repeats, each line.
    expect(out.startsWith("0 0\r\n")).toBe(true);
    expect(out.endsWith("done\r\n")).toBe(true);
    expect(out.match(/\none\r\n/g), JSON.stringify(out)).toHaveLength(2);
    expect(out.match(/\ntwo\r\n/g), JSON.stringify(out)).toHaveLength(2);
  });

  it("starts from a pool of pre-cloned children (a plan made ahead) with a terminal each time", async () => {
    const pool = new SparePool();
    try {
      for (let i = 0; i < 3; i++) {
        const user = userTerminal(20 + i, 50);
        const box = Sandbox.start({
          argv: ["/bin/sh", "-c", "tty; stty size"],
          tty: on(user),
          pool,
        });
        expect((await box.wait()).status.exitCode).toBe(0);
        await user.see(/50\r\n/);
        expect(user.screen()).toBe(`/dev/pts/0\r\n${20 + i} 50\r\n`);
      }
    } finally {
      pool.close();
    }
  });

  it("relays a terminal from launch() by hand", async () => {
    const user = userTerminal(10, 20);
    // The size from the start (the relay sets it too, but the command may be quicker).
    const size = userWindowSize(on(user))!;
    const box = launch({ argv: ["/bin/sh", "-c", "stty size"], terminal: { size } });
    const relay = TerminalRelay.start(box.terminal!, on(user));
    expect((await box.wait()).exitCode).toBe(0);
    relay.finish();
    await relay.done;
    await user.see(/\n/);
    expect(user.screen()).toBe("10 20\r\n");
  });
});
