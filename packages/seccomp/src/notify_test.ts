// User notification on the real kernel: a worker thread installs (without TSYNC, so
// only that thread is filtered) a filter whose one USER_NOTIF rule is getppid, hands
// the listener fd to the test's thread and makes the call; the test's thread receives
// the notification and answers it. The worker loads @forge/libc from its build (a
// worker thread runs plain Node, without vitest's TypeScript transform); `npm test`
// builds first.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ARCHES, hostArch, openLibc, syscallNumber } from "@forge/libc";
import { afterEach, describe, expect, test } from "vitest";
import { compileProfile } from "./compile.ts";
import { FILTER_FLAG } from "./install.ts";
import {
  decodeNotification,
  encodeResponse,
  type Notification,
  notificationValid,
  receiveNotification,
  respondNotification,
} from "./notify.ts";

const libcDist = new URL("../../libc/dist/mod.js", import.meta.url);
const built = fs.existsSync(fileURLToPath(libcDist));

// The filtered thread: installs the filter, posts the listener fd and its thread id,
// then makes one getppid(a0, a1, a2) per "call" message and posts the outcome.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.libc).then(({ openLibc }) => {
  const libc = openLibc();
  libc.prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0);
  const fd = libc.seccompSetFilter(workerData.flags, workerData.bytes);
  parentPort.postMessage({ fd, tid: libc.syscall("gettid") });
  parentPort.on("message", (m) => {
    if (m === "exit") return parentPort.close();
    try {
      parentPort.postMessage({ value: libc.syscall("getppid", ...m.args) });
    } catch (e) {
      parentPort.postMessage({ errno: e.errno, code: e.code });
    }
  });
}).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

type Outcome = { value: number } | { errno: number; code: string };

const libc = openLibc();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Resolves with the next message of the worker. */
function next<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T & { error?: string }) => {
      w.off("error", onError);
      if (m.error) reject(new Error(`worker: ${m.error}`));
      else resolve(m);
    };
    const onError = (e: Error) => {
      w.off("message", onMessage);
      reject(e);
    };
    w.once("message", onMessage);
    w.once("error", onError);
  });
}

/** Whether the listener fd has a notification to read (ppoll with a zero timeout). */
function readable(fd: number): boolean {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, 1 /* POLLIN */, true);
  libc.syscall("ppoll", pfd, 1, new Uint8Array(16), null, 8);
  return (v.getInt16(6, true) & 1) !== 0;
}

/** Waits (without blocking the event loop) for a notification, then receives it. */
async function receive(fd: number): Promise<Notification> {
  const deadline = Date.now() + 20_000;
  while (!readable(fd)) {
    if (Date.now() > deadline) throw new Error("no notification arrived within 20 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  return receiveNotification(fd, libc);
}

describe("user-notification structs", () => {
  test("seccomp_notif decodes, seccomp_notif_resp encodes (errno negated)", () => {
    const b = new Uint8Array(80);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, 0x1122334455667788n, true);
    v.setUint32(8, 4242, true);
    v.setInt32(16, 110, true);
    v.setUint32(20, 0xc000003e, true);
    v.setBigUint64(32 + 8, 0xdead00000000beefn, true);
    const n = decodeNotification(b);
    expect(n).toMatchObject({ id: 0x1122334455667788n, pid: 4242, nr: 110, arch: 0xc000003e });
    expect(n.args).toEqual([0n, 0xdead00000000beefn, 0n, 0n, 0n, 0n]);
    const r = new DataView(encodeResponse({ id: 9n, errno: 13 }).buffer);
    expect([r.getBigUint64(0, true), r.getInt32(16, true), r.getUint32(20, true)]).toEqual([
      9n,
      -13,
      0,
    ]);
    const c = new DataView(encodeResponse({ id: 9n, continue: true }).buffer);
    expect(c.getUint32(20, true)).toBe(1);
    const val = new DataView(encodeResponse({ id: 9n, value: -2n }).buffer);
    expect(val.getBigInt64(8, true)).toBe(-2n);
  });
});

describe.skipIf(process.platform !== "linux" || !built)("user notification in the kernel", () => {
  test("a notified getppid is answered with an errno, a value, or let through", async () => {
    const arch = hostArch();
    const filter = compileProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }],
      },
      { arch, subArches: [] },
    );
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        libc: libcDist.href,
        flags: FILTER_FLAG.NEW_LISTENER, // no TSYNC: only the worker's thread
        bytes: filter.bytes,
      },
    });
    let fd = -1;
    cleanups.push(async () => {
      // Closing the listener first fails a call still waiting (ENOSYS), so the
      // worker can always end.
      if (fd >= 0) libc.close(fd);
      await worker.terminate();
    });
    const ready = await next<{ fd: number; tid: number }>(worker);
    fd = ready.fd;
    expect(fd).toBeGreaterThan(2);

    // The test's own thread is not filtered: getppid here returns at once.
    expect(libc.syscall("getppid")).toBe(process.ppid);

    const args = [0x1234, 0xdead00000000beefn, 7];
    const call = async (answer: (n: Notification) => void): Promise<Outcome> => {
      const outcome = next<Outcome>(worker);
      worker.postMessage({ args });
      const n = await receive(fd);
      expect(n.nr).toBe(syscallNumber("getppid", arch));
      expect(n.arch).toBe(ARCHES[arch].auditArch >>> 0);
      expect(n.pid).toBe(ready.tid);
      expect(n.args.slice(0, 3)).toEqual([0x1234n, 0xdead00000000beefn, 7n]);
      expect(notificationValid(fd, n.id, libc)).toBe(true);
      answer(n);
      expect(notificationValid(fd, n.id, libc)).toBe(false); // answered: no longer pending
      return outcome;
    };

    expect(await call((n) => respondNotification(fd, { id: n.id, errno: 42 }, libc))).toEqual({
      errno: 42,
      code: "ENOMSG",
    });
    expect(await call((n) => respondNotification(fd, { id: n.id, value: 4242 }, libc))).toEqual({
      value: 4242,
    });
    expect(await call((n) => respondNotification(fd, { id: n.id, continue: true }, libc))).toEqual({
      value: process.ppid,
    });

    // An answer to a notification that is gone is refused with ENOENT.
    expect(() => respondNotification(fd, { id: 0xfffffffn, errno: 1 }, libc)).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    worker.postMessage("exit");
  });
});
