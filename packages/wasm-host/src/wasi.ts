import { randomFillSync } from "node:crypto";
import fs from "node:fs";
import { isatty } from "node:tty";
import { type AuditEvent, type AuditLog, type Decision, Policy } from "@forge/policy";
import { WasiExit, WasmLimitError, WasmModuleError } from "./errors.ts";
import { createHostApi } from "./host_api.ts";
import {
  checkSymlinkTarget,
  fdPath,
  fsError,
  isInside,
  openPreopen,
  type Preopen,
  type PreopenSpec,
  type Resolved,
  resolvePath,
} from "./preopen.ts";
import { WASI_ERRNO as E, wasiErrno } from "./wasi_errno.ts";

/** WASI rights bits (they all fit in 30 bits, so plain numbers are used). */
export const RIGHTS = Object.freeze({
  FD_DATASYNC: 1 << 0,
  FD_READ: 1 << 1,
  FD_SEEK: 1 << 2,
  FD_FDSTAT_SET_FLAGS: 1 << 3,
  FD_SYNC: 1 << 4,
  FD_TELL: 1 << 5,
  FD_WRITE: 1 << 6,
  FD_ADVISE: 1 << 7,
  FD_ALLOCATE: 1 << 8,
  PATH_CREATE_DIRECTORY: 1 << 9,
  PATH_CREATE_FILE: 1 << 10,
  PATH_LINK_SOURCE: 1 << 11,
  PATH_LINK_TARGET: 1 << 12,
  PATH_OPEN: 1 << 13,
  FD_READDIR: 1 << 14,
  PATH_READLINK: 1 << 15,
  PATH_RENAME_SOURCE: 1 << 16,
  PATH_RENAME_TARGET: 1 << 17,
  PATH_FILESTAT_GET: 1 << 18,
  PATH_FILESTAT_SET_SIZE: 1 << 19,
  PATH_FILESTAT_SET_TIMES: 1 << 20,
  FD_FILESTAT_GET: 1 << 21,
  FD_FILESTAT_SET_SIZE: 1 << 22,
  FD_FILESTAT_SET_TIMES: 1 << 23,
  PATH_SYMLINK: 1 << 24,
  PATH_REMOVE_DIRECTORY: 1 << 25,
  PATH_UNLINK_FILE: 1 << 26,
  POLL_FD_READWRITE: 1 << 27,
  SOCK_SHUTDOWN: 1 << 28,
  SOCK_ACCEPT: 1 << 29,
});
const R = RIGHTS;
const ALL_RIGHTS = (1 << 30) - 1;
const WRITE_RIGHTS =
  R.FD_DATASYNC |
  R.FD_WRITE |
  R.FD_ALLOCATE |
  R.PATH_CREATE_DIRECTORY |
  R.PATH_CREATE_FILE |
  R.PATH_LINK_SOURCE |
  R.PATH_LINK_TARGET |
  R.PATH_RENAME_SOURCE |
  R.PATH_RENAME_TARGET |
  R.PATH_FILESTAT_SET_SIZE |
  R.PATH_FILESTAT_SET_TIMES |
  R.FD_FILESTAT_SET_SIZE |
  R.FD_FILESTAT_SET_TIMES |
  R.PATH_SYMLINK |
  R.PATH_REMOVE_DIRECTORY |
  R.PATH_UNLINK_FILE;

/**
 * The base rights of a preopened directory: directory operations only, exactly the set
 * wasmtime reports (and wasi-testsuite's path_open_preopen requires). No fd_read,
 * fd_write, fd_seek or fd_filestat_set_size: programs that reopen a preopen with the
 * rights fd_fdstat_get reports (Rust's ecosystem does) get a read-only directory open.
 */
const DIR_BASE_RIGHTS =
  R.PATH_CREATE_DIRECTORY |
  R.PATH_CREATE_FILE |
  R.PATH_LINK_SOURCE |
  R.PATH_LINK_TARGET |
  R.PATH_OPEN |
  R.FD_READDIR |
  R.PATH_READLINK |
  R.PATH_RENAME_SOURCE |
  R.PATH_RENAME_TARGET |
  R.PATH_SYMLINK |
  R.PATH_REMOVE_DIRECTORY |
  R.PATH_UNLINK_FILE |
  R.PATH_FILESTAT_GET |
  R.PATH_FILESTAT_SET_TIMES |
  R.FD_FILESTAT_GET |
  R.FD_FILESTAT_SET_TIMES;
/** The rights a file opened from a directory can have (no path_* rights, no readdir). */
const FILE_RIGHTS =
  R.FD_DATASYNC |
  R.FD_READ |
  R.FD_SEEK |
  R.FD_FDSTAT_SET_FLAGS |
  R.FD_SYNC |
  R.FD_TELL |
  R.FD_WRITE |
  R.FD_ADVISE |
  R.FD_ALLOCATE |
  R.FD_FILESTAT_GET |
  R.FD_FILESTAT_SET_SIZE |
  R.FD_FILESTAT_SET_TIMES |
  R.POLL_FD_READWRITE;
/** The inheriting rights of a preopened directory (wasmtime's set): its own plus a file's. */
const DIR_INHERITING_RIGHTS = DIR_BASE_RIGHTS | FILE_RIGHTS;
/** Rights that never apply to a directory fd (wasmtime drops the same two). */
const NOT_FOR_DIRS = R.FD_SEEK | R.FD_FILESTAT_SET_SIZE;

const FT = {
  UNKNOWN: 0,
  BLOCK: 1,
  CHAR: 2,
  DIR: 3,
  FILE: 4,
  DGRAM: 5,
  STREAM: 6,
  SYMLINK: 7,
} as const;
const FDFLAG_APPEND = 1;
const OFLAG = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const {
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_NONBLOCK,
  O_DSYNC,
  O_SYNC,
} = fs.constants;
const O_CLOEXEC = 0o2000000;

/**
 * The names of all 46 WASI preview1 functions this host implements.
 *
 * @example
 * ```ts
 * import { WASI_FUNCTIONS } from "@forge/wasm-host";
 * console.log(WASI_FUNCTIONS.length); // 46
 * ```
 */
export const WASI_FUNCTIONS = [
  "args_get",
  "args_sizes_get",
  "environ_get",
  "environ_sizes_get",
  "clock_res_get",
  "clock_time_get",
  "fd_advise",
  "fd_allocate",
  "fd_close",
  "fd_datasync",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "fd_fdstat_set_rights",
  "fd_filestat_get",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "fd_pwrite",
  "fd_read",
  "fd_readdir",
  "fd_renumber",
  "fd_seek",
  "fd_sync",
  "fd_tell",
  "fd_write",
  "path_create_directory",
  "path_filestat_get",
  "path_filestat_set_times",
  "path_link",
  "path_open",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "poll_oneoff",
  "proc_exit",
  "proc_raise",
  "sched_yield",
  "random_get",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
] as const;

/**
 * Native socket operations, injected so that this package stays free of native code.
 *
 * @example
 * ```ts
 * import type { SocketOps } from "@forge/wasm-host";
 * declare const ops: SocketOps;
 * const conn = ops.accept(3, false);
 * ```
 */
export interface SocketOps {
  /** accept4(2) with close-on-exec: the connected socket's host fd; throws an error with an errno `code`. */
  accept(listenerFd: number, nonblock: boolean): number;
  /** shutdown(2): how is 0 (SHUT_RD), 1 (SHUT_WR) or 2 (SHUT_RDWR). */
  shutdown(fd: number, how: number): void;
}

/**
 * One timestamp for {@link TimeOps}: seconds and nanoseconds since the epoch (`nsec`
 * 0 to 999,999,999), `"now"` (UTIME_NOW: the kernel's current time) or `"omit"`
 * (UTIME_OMIT: left as it is).
 *
 * @example
 * ```ts
 * import type { WasiTimeSpec } from "@forge/wasm-host";
 * const t: WasiTimeSpec = { sec: 1_200_000_000n, nsec: 123_456_789 };
 * ```
 */
export type WasiTimeSpec = { readonly sec: bigint; readonly nsec: number } | "now" | "omit";

/**
 * Native timestamp operations with nanoseconds, injected so that this package stays
 * free of native code: WASI timestamps are u64 nanoseconds, and Node's fs.utimes and
 * fs.futimes keep only whole microseconds. Each throws an error with an errno `code`.
 *
 * @example
 * ```ts
 * import type { TimeOps } from "@forge/wasm-host";
 * declare const ops: TimeOps;
 * ops.futimens(5, "omit", { sec: 1_200_000_000n, nsec: 123_456_789 });
 * ```
 */
export interface TimeOps {
  /**
   * utimensat(2) on `name` (one path component, or ".") in the directory `dirFd`;
   * `nofollow` is AT_SYMLINK_NOFOLLOW (a final symlink is changed itself).
   */
  utimensat(
    dirFd: number,
    name: string,
    atime: WasiTimeSpec,
    mtime: WasiTimeSpec,
    nofollow: boolean,
  ): void;
  /** futimens(2) on the open host fd `fd`. */
  futimens(fd: number, atime: WasiTimeSpec, mtime: WasiTimeSpec): void;
}

/**
 * Options of a {@link WasiHost}.
 *
 * @example
 * ```ts
 * import type { WasiOptions } from "@forge/wasm-host";
 * const o: WasiOptions = { args: ["app"], env: { LANG: "C" }, preopens: [{ host: "/tmp/x", guest: "/data", readOnly: true }] };
 * ```
 */
export interface WasiOptions {
  /** argv, argv[0] included (default: none). */
  readonly args?: readonly string[];
  /** The environment the module sees: only these variables (an allowlist). */
  readonly env?: Readonly<Record<string, string>>;
  /** Directories the module may use. */
  readonly preopens?: readonly PreopenSpec[];
  /** Host fds for the module's stdin, stdout, stderr (default 0, 1, 2). */
  readonly stdio?: readonly [number, number, number];
  /** Connected stream sockets granted to the module (host fds); sockets are off otherwise. */
  readonly sockets?: readonly number[];
  /** Listening sockets granted to the module (host fds), for sock_accept; needs `socketOps`. */
  readonly listeners?: readonly number[];
  /**
   * The socket calls Node cannot make on a raw fd (accept, shutdown). @forge/sandbox
   * provides them through libc (`nativeSocketOps()`); without them sock_accept answers
   * ENOTSUP and sock_shutdown only closes the module's fd.
   */
  readonly socketOps?: SocketOps;
  /**
   * utimensat and futimens, which Node does not expose: with them fd_filestat_set_times
   * and path_filestat_set_times set timestamps to the nanosecond (UTIME_NOW and
   * UTIME_OMIT for the NOW and unset times), as wasmtime does. @forge/sandbox provides
   * them through libc (`nativeTimeOps()`); without them a time is set to the nearest
   * microsecond (Node's fs.utimes). In-thread hosts only: functions cannot cross into
   * worker isolation.
   */
  readonly timeOps?: TimeOps;
  /** The subject the policy sees (default "wasm:anonymous"). */
  readonly subject?: string;
  /** The policy asked about every call; default: one that lets the subject use what it was given. */
  readonly policy?: Policy;
  /** Where calls are audited: an AuditLog or any function taking events. */
  readonly audit?: AuditLog | ((event: AuditEvent) => void);
  /**
   * "coalesce" (default): consecutive identical allowed calls (same function, resource
   * and result) become one entry with a count; "every-call": one entry per call.
   * Denials are always recorded one by one.
   */
  readonly auditMode?: "coalesce" | "every-call";
  /** A deadline (performance.now() milliseconds) that sleeps and polls respect. */
  readonly deadline?: () => number | undefined;
  /** Where the host interface's `[WASM]` log lines go (default: stderr). */
  readonly log?: (line: string) => void;
  /**
   * Coalesce consecutive writes to stdout (when it is not a terminal) into one host
   * write of up to 64 KiB, flushed before any other call, at exit, on a trap and at
   * the end of each call (default true). A write error found at flush time is
   * reported by the next fd_write to stdout.
   */
  readonly coalesceStdout?: boolean;
}

const OUT_BUFFER = 64 * 1024;

interface FdEntry {
  kind: "stdio" | "file" | "dir" | "socket";
  hostFd: number;
  filetype: number;
  base: number;
  inh: number;
  flags: number;
  pos: number;
  pre?: Preopen;
  rel: readonly string[];
  preopenName?: string;
  owned: boolean;
  dirCache?: DirEntry[];
}

interface DirEntry {
  name: Buffer;
  ino: bigint;
  type: number;
}

class Denied extends Error {
  constructor(
    readonly code: string,
    readonly decision: Decision,
  ) {
    super(decision.reason);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for at least `ms` milliseconds (Atomics.wait, repeated if it wakes
 * early, so that a guest's clock never shows a sleep shorter than asked for).
 *
 * @example
 * ```ts
 * import { sleepSync } from "@forge/wasm-host";
 * sleepSync(5);
 * ```
 */
export function sleepSync(ms: number): void {
  if (!(ms > 0)) return;
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) Atomics.wait(sleeper, 0, 0, left);
}

function filetypeOf(st: fs.Stats | fs.BigIntStats): number {
  if (st.isFile()) return FT.FILE;
  if (st.isDirectory()) return FT.DIR;
  if (st.isSymbolicLink()) return FT.SYMLINK;
  if (st.isCharacterDevice()) return FT.CHAR;
  if (st.isBlockDevice()) return FT.BLOCK;
  if (st.isSocket()) return FT.STREAM;
  return FT.UNKNOWN;
}

const FD_RESOURCE = Array.from({ length: 64 }, (_, i) => `fd:${i}`);
const fdRes = (fd: number) => FD_RESOURCE[fd] ?? `fd:${fd}`;

/**
 * WASI preview1, written in TypeScript, as a syscall bridge: every call becomes a
 * request `{subject, action: <function name>, resource, args}`, is checked against the
 * module's capabilities (preopens and their rights, env allowlist, granted sockets)
 * and the policy, executed, and audited. Paths never leave a preopen (see
 * {@link resolvePath}).
 *
 * @example
 * ```ts
 * import fs from "node:fs";
import { isatty } from "node:tty";
 * import { WasiHost } from "@forge/wasm-host";
 * const wasi = new WasiHost({ args: ["hello"], preopens: [{ host: ".", guest: "/work", readOnly: true }] });
 * const { instance } = await WebAssembly.instantiate(fs.readFileSync("hello.wasm"), wasi.imports());
 * const code = wasi.start(instance);
 * wasi.close();
 * ```
 */
export class WasiHost {
  readonly subject: string;
  /** The policy asked about every call (may be replaced, e.g. by a newer copy). */
  policy: Policy;
  readonly #record: ((e: AuditEvent) => void) | undefined;
  readonly #coalesce: boolean;
  readonly #args: Uint8Array[];
  readonly #env: Uint8Array[];
  readonly #fds = new Map<number, FdEntry>();
  readonly #preopens: Preopen[] = [];
  readonly #deadline: () => number | undefined;
  readonly #log: (line: string) => void;
  #memory: WebAssembly.Memory | undefined;
  #buffer: ArrayBuffer | SharedArrayBuffer | undefined;
  #view!: DataView;
  #u8!: Uint8Array;
  #resource = "";
  #pending:
    | { call: string; resource: string; errno: number; count: number; bytes: number }
    | undefined;
  #bytes = 0;
  #closed = false;
  #allowCache = new Map<string, Set<string>>();
  #cacheGen = -1;
  #cachePolicy: Policy | undefined;
  #cacheOk = false;
  #out: Buffer | undefined;
  #outLen = 0;
  #outFd = -1;
  #outError: unknown;
  #socketOps: SocketOps | undefined;
  #timeOps: TimeOps | undefined;

  constructor(opts: WasiOptions = {}) {
    this.subject = opts.subject ?? "wasm:anonymous";
    this.policy =
      opts.policy ??
      new Policy({
        version: 1,
        identities: [
          {
            id: this.subject,
            trustLevel: "Standard",
            capabilities: { syscalls: ["*"], resources: ["**"], apis: ["*"] },
          },
        ],
      });
    const audit = opts.audit;
    this.#record = typeof audit === "function" ? audit : audit ? (e) => audit.append(e) : undefined;
    this.#coalesce = (opts.auditMode ?? "coalesce") === "coalesce";
    this.#args = (opts.args ?? []).map((a) => encoder.encode(`${a}\0`));
    this.#env = Object.entries(opts.env ?? {}).map(([k, v]) => encoder.encode(`${k}=${v}\0`));
    this.#deadline = opts.deadline ?? (() => undefined);
    this.#log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    const stdio = opts.stdio ?? [0, 1, 2];
    if ((opts.coalesceStdout ?? true) && !isatty(stdio[1])) this.#outFd = stdio[1];
    stdio.forEach((hostFd, i) => {
      const io = i === 0 ? R.FD_READ : R.FD_WRITE | R.FD_DATASYNC | R.FD_SYNC;
      this.#fds.set(i, {
        kind: "stdio",
        hostFd,
        filetype: -1, // looked up on first use
        base: io | R.POLL_FD_READWRITE | R.FD_FILESTAT_GET | R.FD_FDSTAT_SET_FLAGS,
        inh: 0,
        flags: 0,
        pos: 0,
        rel: [],
        owned: false,
      });
    });
    let next = 3;
    try {
      for (const spec of opts.preopens ?? []) {
        const pre = openPreopen(spec);
        this.#preopens.push(pre);
        const mask = pre.readOnly ? ~WRITE_RIGHTS : ALL_RIGHTS;
        this.#fds.set(next++, {
          kind: "dir",
          hostFd: pre.rootFd,
          filetype: FT.DIR,
          base: DIR_BASE_RIGHTS & mask,
          inh: DIR_INHERITING_RIGHTS & mask,
          flags: 0,
          pos: 0,
          pre,
          rel: [],
          preopenName: spec.guest,
          owned: false,
        });
      }
    } catch (e) {
      for (const p of this.#preopens) fs.closeSync(p.rootFd);
      throw e;
    }
    for (const s of opts.sockets ?? []) this.#fds.set(next++, socketEntry(s, SOCKET_RIGHTS, false));
    for (const s of opts.listeners ?? [])
      this.#fds.set(
        next++,
        socketEntry(
          s,
          R.SOCK_ACCEPT | R.POLL_FD_READWRITE | R.FD_FILESTAT_GET | R.FD_FDSTAT_SET_FLAGS,
          false,
        ),
      );
    this.#socketOps = opts.socketOps;
    this.#timeOps = opts.timeOps;
  }

  /** Sets the memory the module exports (done by {@link WasiHost.start}/{@link WasiHost.initialize}). */
  setMemory(memory: WebAssembly.Memory): void {
    this.#memory = memory;
    this.#buffer = undefined;
  }

  #mem(): DataView {
    const m = this.#memory;
    if (!m) throw fsError("EINVAL", "the module has no exported memory");
    if (m.buffer !== this.#buffer) {
      this.#buffer = m.buffer;
      this.#view = new DataView(m.buffer);
      this.#u8 = new Uint8Array(m.buffer);
    }
    return this.#view;
  }

  #bytesAt(ptr: number, len: number): Uint8Array {
    this.#mem();
    if (ptr + len > this.#u8.length) throw new RangeError("pointer outside memory");
    return this.#u8.subarray(ptr, ptr + len);
  }

  #string(ptr: number, len: number): string {
    try {
      return decoder.decode(this.#bytesAt(ptr, len));
    } catch (e) {
      if (e instanceof RangeError) throw e;
      throw fsError("EILSEQ", "string is not valid UTF-8");
    }
  }

  /**
   * Asks the policy; throws (mapped to the decision's errno) unless allowed. Allow
   * decisions are cached per (action, resource) while the policy's generation stays
   * the same and the policy says caching is sound (no argument rules, no listeners).
   */
  #authorize(action: string, resource: string, args?: Record<string, unknown>): void {
    this.#resource = resource;
    const p = this.policy;
    if (p.generation !== this.#cacheGen || p !== this.#cachePolicy) {
      this.#cacheGen = p.generation;
      this.#cachePolicy = p;
      this.#cacheOk = p.cacheable;
      this.#allowCache.clear();
    }
    if (this.#cacheOk && this.#allowCache.get(action)?.has(resource)) return;
    const d = p.evaluate({ subject: this.subject, action, resource, args });
    if (d.effect !== "allow") throw new Denied(d.errno ?? "EPERM", d);
    if (this.#cacheOk) {
      let set = this.#allowCache.get(action);
      if (!set) {
        set = new Set();
        this.#allowCache.set(action, set);
      }
      set.add(resource);
    }
  }

  /** Writes out coalesced stdout bytes; a failure is kept for the next stdout write. */
  flushOutput(): void {
    if (this.#outLen === 0 || !this.#out) return;
    let off = 0;
    try {
      while (off < this.#outLen) {
        try {
          off += fs.writeSync(this.#outFd, this.#out, off, this.#outLen - off, null);
        } catch (e) {
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
          sleepSync(1);
        }
      }
    } catch (e) {
      this.#outError = e;
    } finally {
      this.#outLen = 0;
    }
  }

  /** fd_write, the hot path: no closures; stdout writes are coalesced. */
  #fdWrite(fd: number, iovs: number, n: number, nwritten: number): number {
    const e = this.#fds.get(fd);
    if (
      fd === 1 &&
      this.#outFd >= 0 &&
      e !== undefined &&
      e.kind === "stdio" &&
      e.hostFd === this.#outFd
    ) {
      if (!this.#out) this.#out = Buffer.allocUnsafe(OUT_BUFFER);
      const out = this.#out;
      this.#resource = fdRes(fd);
      this.#bytes = 0;
      try {
        this.#need(e, R.FD_WRITE, true);
        this.#authorize("fd_write", this.#resource);
        if (this.#outError !== undefined) {
          const err = this.#outError;
          this.#outError = undefined;
          throw err;
        }
        const v = this.#mem();
        const u8 = this.#u8;
        let total = 0;
        for (let i = 0; i < n; i++) {
          const p = v.getUint32(iovs + i * 8, true);
          const l = v.getUint32(iovs + i * 8 + 4, true);
          if (p + l > u8.length) throw new RangeError("pointer outside memory");
          if (this.#outLen + l > OUT_BUFFER) this.flushOutput();
          if (l >= OUT_BUFFER) this.#writeAll(e, [u8.subarray(p, p + l)], null);
          else {
            out.set(u8.subarray(p, p + l), this.#outLen);
            this.#outLen += l;
          }
          total += l;
        }
        this.#bytes = total;
        v.setUint32(nwritten, total, true);
      } catch (err) {
        return this.#failed("fd_write", err);
      }
      this.#audit("fd_write", 0);
      return 0;
    }
    return this.#run("fd_write", fdRes(fd), () => {
      const e = this.#fd(fd);
      this.#notDir(e, "fd_write");
      this.#need(e, R.FD_WRITE, true);
      this.#authorize("fd_write", fdRes(fd));
      const bufs = this.#iovecs(iovs, n);
      let put: number;
      if (e.kind === "file") {
        const pos = e.flags & FDFLAG_APPEND ? fs.fstatSync(e.hostFd).size : e.pos;
        put = this.#writeAll(e, bufs, pos);
        e.pos = pos + put;
      } else put = this.#writeAll(e, bufs, null);
      this.#bytes = put;
      this.#mem().setUint32(nwritten, put, true);
      return E.SUCCESS!;
    });
  }

  /** Records one call in the audit trail (coalescing repeats). */
  #audit(call: string, errno: number, denial?: Decision): void {
    if (!this.#record) return;
    const resource = this.#resource;
    if (denial) {
      this.flushAudit();
      this.#record({
        kind: "wasi",
        subject: this.subject,
        call,
        resource,
        effect: denial.effect,
        errno: errnoName(errno),
        rule: denial.rule,
        reason: denial.reason,
      });
      return;
    }
    const p = this.#pending;
    if (this.#coalesce && p && p.call === call && p.resource === resource && p.errno === errno) {
      p.count++;
      p.bytes += this.#bytes;
      return;
    }
    this.flushAudit();
    this.#pending = { call, resource, errno, count: 1, bytes: this.#bytes };
    if (!this.#coalesce) this.flushAudit();
  }

  /** Writes out coalesced stdout bytes and a coalesced audit entry, if pending. */
  flushAudit(): void {
    if (this.#outLen > 0) this.flushOutput();
    const p = this.#pending;
    if (!p || !this.#record) return;
    this.#pending = undefined;
    this.#record({
      kind: "wasi",
      subject: this.subject,
      call: p.call,
      resource: p.resource,
      effect: "allow",
      errno: errnoName(p.errno),
      ...(p.count > 1 ? { count: p.count } : {}),
      ...(p.bytes > 0 ? { bytes: p.bytes } : {}),
    });
  }

  /** Records a host event (escape attempt, limit) in the audit trail. */
  recordEvent(e: AuditEvent): void {
    this.flushAudit();
    this.#record?.(e);
  }

  /** Runs `body` as WASI function `call`, turning errors into errno and auditing. */
  #run(call: string, resource: string, body: () => number): number {
    if (this.#outLen > 0) this.flushOutput();
    this.#resource = resource;
    this.#bytes = 0;
    let errno: number;
    try {
      errno = body();
    } catch (e) {
      return this.#failed(call, e);
    }
    this.#audit(call, errno);
    return errno;
  }

  /** Maps a failure of `call` to its errno and audits it (limits and exits propagate). */
  #failed(call: string, e: unknown): number {
    if (e instanceof WasiExit || e instanceof WasmLimitError) {
      this.flushAudit();
      throw e;
    }
    let errno: number;
    let denial: Decision | undefined;
    if (e instanceof Denied) {
      denial = e.decision;
      errno = wasiErrno(e.code);
    } else if (e instanceof RangeError) errno = E.EFAULT!;
    else errno = wasiErrno(e);
    if (errno === E.ENOTCAPABLE && !denial) {
      denial = {
        effect: "deny",
        errno: "ENOTCAPABLE",
        rule: "wasi:capabilities",
        reason: (e as Error).message,
      };
    }
    this.#audit(call, errno, denial);
    return errno;
  }

  #filetype(e: FdEntry): number {
    if (e.filetype < 0) {
      let ft: number = FT.UNKNOWN;
      try {
        ft = filetypeOf(fs.fstatSync(e.hostFd));
      } catch {
        // a closed stdio fd stays "unknown"; using it fails with EBADF
      }
      e.filetype = ft === FT.FILE || ft === FT.CHAR ? ft : FT.UNKNOWN;
    }
    return e.filetype;
  }

  #fd(fd: number): FdEntry {
    const e = this.#fds.get(fd);
    if (!e) throw fsError("EBADF", `fd ${fd} is not open`);
    return e;
  }

  #need(e: FdEntry, right: number, ioError = false): void {
    if ((e.base & right) === right) return;
    if (ioError) throw fsError("EBADF", "the fd was not opened for this");
    if (e.pre?.readOnly && (right & WRITE_RIGHTS) !== 0)
      throw fsError("EROFS", `${e.preopenName ?? "the preopen"} is read-only`);
    throw fsError("ENOTCAPABLE", "the fd lacks the right for this operation");
  }

  /**
   * File-only operations (read, write, seek, tell, allocate, set size, advise) on a
   * directory fd answer EBADF, before any rights check, as wasmtime does and
   * wasi-testsuite's directory_seek requires.
   */
  #notDir(e: FdEntry, call: string): void {
    if (e.kind === "dir") throw fsError("EBADF", `${call} on a directory fd; open a file instead`);
  }

  #guestPath(e: FdEntry, rel: readonly string[]): string {
    const root = this.#preopenOf(e);
    const name = root?.preopenName ?? "";
    const tail = rel.join("/");
    if (!tail) return name || ".";
    return name.endsWith("/") ? `${name}${tail}` : `${name}/${tail}`;
  }

  #preopenOf(e: FdEntry): FdEntry | undefined {
    for (const f of this.#fds.values())
      if (f.preopenName !== undefined && f.pre === e.pre) return f;
    return e.preopenName !== undefined ? e : undefined;
  }

  /** Resolves a guest path (read from memory) under a directory fd and authorizes it. */
  #resolve(
    call: string,
    fd: number,
    ptr: number,
    len: number,
    follow: boolean,
    right: number,
    args?: Record<string, unknown>,
  ): [FdEntry, Resolved] {
    const e = this.#fd(fd);
    this.#resource = fdRes(fd);
    if (e.kind !== "dir" || !e.pre) throw fsError("ENOTDIR", `fd ${fd} is not a directory`);
    this.#need(e, right);
    const path = this.#string(ptr, len);
    this.#resource = `${this.#guestPath(e, e.rel)}/${path}`;
    let r: Resolved;
    try {
      r = resolvePath(e.pre, { fd: e.hostFd, rel: e.rel }, path, follow);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOTCAPABLE") {
        this.recordEvent({
          kind: "wasi.escape",
          subject: this.subject,
          call,
          path,
          base: this.#guestPath(e, e.rel),
          reason: (err as Error).message,
        });
      }
      throw err;
    }
    try {
      this.#authorize(call, this.#guestPath(e, r.rel), args);
    } catch (err) {
      r.release();
      throw err;
    }
    return [e, r];
  }

  /**
   * Calls `f` with the host path of a resolved guest path, then releases it. With
   * `slash`, a guest path that ended in "/" keeps it, so that the kernel gives a
   * trailing slash its POSIX meaning on calls that create or remove a name (symlink
   * "x/" and link "x/" are ENOENT, rename "file" to "x/" ENOTDIR, unlink "dir/" EISDIR).
   */
  #with<T>(r: Resolved, f: (p: string) => T, slash = false): T {
    try {
      return f(fdPath(r.dirFd, r.name) + (slash && r.mustBeDir && r.name !== "." ? "/" : ""));
    } finally {
      r.release();
    }
  }

  #u64(ptr: number, v: bigint | number): void {
    this.#mem().setBigUint64(ptr, BigInt(v), true);
  }

  #writeFilestat(ptr: number, st: fs.BigIntStats): void {
    const v = this.#mem();
    if (ptr + 64 > v.byteLength) throw new RangeError("pointer outside memory");
    v.setBigUint64(ptr, st.dev, true);
    v.setBigUint64(ptr + 8, st.ino, true);
    v.setUint8(ptr + 16, filetypeOf(st));
    for (let i = 17; i < 24; i++) v.setUint8(ptr + i, 0);
    v.setBigUint64(ptr + 24, st.nlink, true);
    v.setBigUint64(ptr + 32, st.size, true);
    v.setBigUint64(ptr + 40, st.atimeNs, true);
    v.setBigUint64(ptr + 48, st.mtimeNs, true);
    v.setBigUint64(ptr + 56, st.ctimeNs, true);
  }

  #iovecs(iovs: number, n: number): Uint8Array[] {
    const v = this.#mem();
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const p = v.getUint32(iovs + i * 8, true);
      const l = v.getUint32(iovs + i * 8 + 4, true);
      out.push(this.#bytesAt(p, l));
    }
    return out;
  }

  #waitReady(): void {
    const d = this.#deadline();
    if (d !== undefined && performance.now() >= d)
      throw new WasmLimitError("time", "the call exceeded its timeout while waiting for I/O");
    sleepSync(2);
  }

  #writeAll(e: FdEntry, bufs: Uint8Array[], position: number | null): number {
    for (;;) {
      try {
        return bufs.length === 1
          ? fs.writeSync(e.hostFd, bufs[0]!, 0, bufs[0]!.length, position)
          : fs.writevSync(e.hostFd, bufs, position ?? undefined);
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
        this.#waitReady();
      }
    }
  }

  #readSome(e: FdEntry, bufs: Uint8Array[], position: number | null): number {
    for (;;) {
      try {
        return bufs.length === 1
          ? fs.readSync(e.hostFd, bufs[0]!, 0, bufs[0]!.length, position)
          : fs.readvSync(e.hostFd, bufs, position ?? undefined);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "EOF") return 0;
        if (code !== "EAGAIN") throw err;
        this.#waitReady();
      }
    }
  }

  #listDir(e: FdEntry): DirEntry[] {
    const path = fdPath(e.hostFd);
    const self = fs.fstatSync(e.hostFd, { bigint: true });
    let parentIno = self.ino;
    if (e.rel.length > 0) {
      try {
        parentIno = fs.statSync(`${path}/..`, { bigint: true }).ino;
      } catch {
        // keep own inode
      }
    }
    const out: DirEntry[] = [
      { name: Buffer.from("."), ino: self.ino, type: FT.DIR },
      { name: Buffer.from(".."), ino: parentIno, type: FT.DIR },
    ];
    for (const d of fs.readdirSync(path, { withFileTypes: true, encoding: "buffer" })) {
      let ino = 0n;
      try {
        ino = fs.lstatSync(Buffer.concat([Buffer.from(`${path}/`), d.name]), { bigint: true }).ino;
      } catch {
        // raced with a removal
      }
      const type = d.isFile()
        ? FT.FILE
        : d.isDirectory()
          ? FT.DIR
          : d.isSymbolicLink()
            ? FT.SYMLINK
            : d.isCharacterDevice()
              ? FT.CHAR
              : d.isBlockDevice()
                ? FT.BLOCK
                : d.isSocket()
                  ? FT.STREAM
                  : FT.UNKNOWN;
      out.push({ name: d.name, ino, type });
    }
    return out;
  }

  #newFd(entry: FdEntry): number {
    let n = 3;
    while (this.#fds.has(n)) n++;
    this.#fds.set(n, entry);
    return n;
  }

  #clockNs(id: number): bigint {
    switch (id) {
      case 0:
        return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
      case 1:
        return process.hrtime.bigint();
      case 2:
      case 3: {
        const u = process.cpuUsage();
        return BigInt(u.user + u.system) * 1000n;
      }
      default:
        throw fsError("EINVAL", `unknown clock id ${id}`);
    }
  }

  /** Sleeps `ms`, honouring the call's deadline (throws a time limit error past it). */
  sleep(ms: number): void {
    const d = this.#deadline();
    if (d !== undefined && performance.now() + ms > d) {
      sleepSync(Math.max(0, d - performance.now()));
      throw new WasmLimitError("time", "the call exceeded its timeout while sleeping");
    }
    sleepSync(ms);
  }

  /** The `wasi_snapshot_preview1` functions (plus the Forge host interface as `forge`). */
  imports(): {
    wasi_snapshot_preview1: Record<string, (...a: any[]) => number>;
    forge: Record<string, (...a: any[]) => number>;
  } {
    return { wasi_snapshot_preview1: this.#wasiImports(), forge: this.#forgeImports() };
  }

  #forgeImports(): Record<string, (...a: any[]) => number> {
    return createHostApi({
      subject: this.subject,
      memory: () => {
        this.#mem();
        return this.#u8;
      },
      authorize: (api, resource) => {
        const d = this.policy.evaluate({ subject: this.subject, action: `host:${api}`, resource });
        if (d.effect !== "allow") {
          this.recordEvent({
            kind: "host",
            subject: this.subject,
            api,
            effect: d.effect,
            rule: d.rule,
            reason: d.reason,
          });
          return false;
        }
        return true;
      },
      record: (e) => this.recordEvent(e),
      log: this.#log,
      sleep: (ms) => this.sleep(ms),
    });
  }

  #wasiImports(): Record<string, (...a: any[]) => number> {
    const run = (call: string, resource: string, body: () => number) =>
      this.#run(call, resource, body);
    const sizes = (list: Uint8Array[], countPtr: number, sizePtr: number) => {
      const v = this.#mem();
      v.setUint32(countPtr, list.length, true);
      v.setUint32(
        sizePtr,
        list.reduce((n, b) => n + b.length, 0),
        true,
      );
      return E.SUCCESS!;
    };
    const fill = (list: Uint8Array[], ptrs: number, buf: number) => {
      const v = this.#mem();
      let off = buf;
      list.forEach((b, i) => {
        v.setUint32(ptrs + i * 4, off, true);
        this.#bytesAt(off, b.length).set(b);
        off += b.length;
      });
      return E.SUCCESS!;
    };
    // fstflags: ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8.
    const checkFstflags = (fl: number) => {
      if ((fl & 1 && fl & 2) || (fl & 4 && fl & 8))
        throw fsError("EINVAL", "both a time and NOW given");
    };
    // With TimeOps (utimensat/futimens): the nanoseconds exactly, NOW as UTIME_NOW and
    // an unset time as UTIME_OMIT, as wasmtime sets them. A timestamp is a u64 (the
    // engine hands an i64 over as a signed BigInt).
    const spec = (t: bigint, fl: number, set: number, now: number): WasiTimeSpec => {
      if (fl & set) {
        const u = BigInt.asUintN(64, t);
        return { sec: u / 1_000_000_000n, nsec: Number(u % 1_000_000_000n) };
      }
      return fl & now ? "now" : "omit";
    };
    const specs = (atim: bigint, mtim: bigint, fl: number): [WasiTimeSpec, WasiTimeSpec] => {
      checkFstflags(fl);
      return [spec(atim, fl, 1, 2), spec(mtim, fl, 4, 8)];
    };
    // Without them: fs.utimes takes seconds as a double and libuv truncates them to whole
    // microseconds: split the nanoseconds exactly and add half a microsecond, so a time is
    // set to the nearest microsecond (exactly, for a time that is a whole number of
    // microseconds). Nanoseconds below that need utimensat, which Node does not expose.
    const ns = (t: bigint) => Number(t / 1_000_000_000n) + (Number(t % 1_000_000_000n) + 500) / 1e9;
    const setTimes = (
      cur: fs.BigIntStats,
      atim: bigint,
      mtim: bigint,
      fl: number,
    ): [number, number] => {
      checkFstflags(fl);
      const now = Date.now() / 1000;
      const a = fl & 1 ? ns(atim) : fl & 2 ? now : ns(cur.atimeNs);
      const m = fl & 4 ? ns(mtim) : fl & 8 ? now : ns(cur.mtimeNs);
      return [a, m];
    };

    return {
      args_get: (argv: number, buf: number) =>
        run("args_get", "args", () => {
          this.#authorize("args_get", "args");
          return fill(this.#args, argv, buf);
        }),
      args_sizes_get: (c: number, s: number) =>
        run("args_sizes_get", "args", () => {
          this.#authorize("args_sizes_get", "args");
          return sizes(this.#args, c, s);
        }),
      environ_get: (envp: number, buf: number) =>
        run("environ_get", "env", () => {
          this.#authorize("environ_get", "env");
          return fill(this.#env, envp, buf);
        }),
      environ_sizes_get: (c: number, s: number) =>
        run("environ_sizes_get", "env", () => {
          this.#authorize("environ_sizes_get", "env");
          return sizes(this.#env, c, s);
        }),
      clock_res_get: (id: number, ptr: number) =>
        run("clock_res_get", `clock:${id}`, () => {
          this.#authorize("clock_res_get", `clock:${id}`);
          if (id < 0 || id > 3) throw fsError("EINVAL", `unknown clock ${id}`);
          this.#u64(ptr, id === 0 ? 1000n : id === 1 ? 1n : 1000n);
          return E.SUCCESS!;
        }),
      clock_time_get: (id: number, _precision: bigint, ptr: number) =>
        run("clock_time_get", `clock:${id}`, () => {
          this.#authorize("clock_time_get", `clock:${id}`);
          this.#u64(ptr, this.#clockNs(id));
          return E.SUCCESS!;
        }),
      fd_advise: (fd: number, _off: bigint, _len: bigint, advice: number) =>
        run("fd_advise", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_advise");
          this.#need(e, R.FD_ADVISE);
          this.#authorize("fd_advise", fdRes(fd));
          if (advice > 5) throw fsError("EINVAL", `unknown advice ${advice}`);
          return E.SUCCESS!; // advisory only; Node has no posix_fadvise
        }),
      fd_allocate: (fd: number, off: bigint, len: bigint) =>
        run("fd_allocate", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_allocate");
          this.#need(e, R.FD_ALLOCATE);
          this.#authorize("fd_allocate", fdRes(fd), { offset: off, len });
          if (e.kind !== "file") throw fsError("EBADF", "not a regular file");
          const end = Number(off + len);
          if (fs.fstatSync(e.hostFd).size < end) fs.ftruncateSync(e.hostFd, end);
          return E.SUCCESS!;
        }),
      fd_close: (fd: number) =>
        run("fd_close", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#authorize("fd_close", fdRes(fd));
          this.#fds.delete(fd);
          if (e.owned) fs.closeSync(e.hostFd);
          return E.SUCCESS!;
        }),
      fd_datasync: (fd: number) =>
        run("fd_datasync", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#need(e, R.FD_DATASYNC);
          this.#authorize("fd_datasync", fdRes(fd));
          fs.fdatasyncSync(e.hostFd);
          return E.SUCCESS!;
        }),
      fd_fdstat_get: (fd: number, ptr: number) =>
        run("fd_fdstat_get", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#authorize("fd_fdstat_get", fdRes(fd));
          const v = this.#mem();
          v.setUint8(ptr, this.#filetype(e));
          v.setUint8(ptr + 1, 0);
          v.setUint16(ptr + 2, e.flags, true);
          v.setUint32(ptr + 4, 0, true);
          v.setBigUint64(ptr + 8, BigInt(e.base), true);
          v.setBigUint64(ptr + 16, BigInt(e.inh), true);
          return E.SUCCESS!;
        }),
      fd_fdstat_set_flags: (fd: number, flags: number) =>
        run("fd_fdstat_set_flags", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#need(e, R.FD_FDSTAT_SET_FLAGS);
          this.#authorize("fd_fdstat_set_flags", fdRes(fd), { flags });
          if (flags & ~0x1f) throw fsError("EINVAL", "unknown fd flags");
          e.flags = flags;
          return E.SUCCESS!;
        }),
      fd_fdstat_set_rights: (fd: number, base: bigint, inh: bigint) =>
        run("fd_fdstat_set_rights", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#authorize("fd_fdstat_set_rights", fdRes(fd));
          const b = Number(BigInt.asUintN(64, base) & BigInt(ALL_RIGHTS));
          const i = Number(BigInt.asUintN(64, inh) & BigInt(ALL_RIGHTS));
          if ((b & ~e.base) !== 0 || (i & ~e.inh) !== 0)
            throw fsError("ENOTCAPABLE", "rights can only be dropped");
          e.base = b;
          e.inh = i;
          return E.SUCCESS!;
        }),
      fd_filestat_get: (fd: number, ptr: number) =>
        run("fd_filestat_get", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#need(e, R.FD_FILESTAT_GET);
          this.#authorize("fd_filestat_get", fdRes(fd));
          this.#writeFilestat(ptr, fs.fstatSync(e.hostFd, { bigint: true }));
          return E.SUCCESS!;
        }),
      fd_filestat_set_size: (fd: number, size: bigint) =>
        run("fd_filestat_set_size", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_filestat_set_size");
          this.#need(e, R.FD_FILESTAT_SET_SIZE);
          this.#authorize("fd_filestat_set_size", fdRes(fd), { size });
          fs.ftruncateSync(e.hostFd, Number(size));
          return E.SUCCESS!;
        }),
      fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, fl: number) =>
        run("fd_filestat_set_times", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#need(e, R.FD_FILESTAT_SET_TIMES);
          this.#authorize("fd_filestat_set_times", fdRes(fd));
          if (this.#timeOps) {
            const [a, m] = specs(atim, mtim, fl);
            this.#timeOps.futimens(e.hostFd, a, m);
            return E.SUCCESS!;
          }
          const [a, m] = setTimes(fs.fstatSync(e.hostFd, { bigint: true }), atim, mtim, fl);
          fs.futimesSync(e.hostFd, a, m);
          return E.SUCCESS!;
        }),
      fd_pread: (fd: number, iovs: number, n: number, off: bigint, nread: number) =>
        run("fd_pread", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_pread");
          this.#need(e, R.FD_READ | R.FD_SEEK, true);
          this.#authorize("fd_pread", fdRes(fd));
          if (e.kind !== "file") throw fsError("ESPIPE", "not seekable");
          const got = this.#readSome(e, this.#iovecs(iovs, n), Number(off));
          this.#bytes = got;
          this.#mem().setUint32(nread, got, true);
          return E.SUCCESS!;
        }),
      fd_prestat_get: (fd: number, ptr: number) =>
        run("fd_prestat_get", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.preopenName === undefined) throw fsError("EBADF", "not a preopen");
          const v = this.#mem();
          v.setUint32(ptr, 0, true);
          v.setUint32(ptr + 4, encoder.encode(e.preopenName).length, true);
          return E.SUCCESS!;
        }),
      fd_prestat_dir_name: (fd: number, path: number, len: number) =>
        run("fd_prestat_dir_name", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.preopenName === undefined) throw fsError("EBADF", "not a preopen");
          const name = encoder.encode(e.preopenName);
          if (len < name.length) throw fsError("ENAMETOOLONG", "buffer too small");
          this.#bytesAt(path, name.length).set(name);
          return E.SUCCESS!;
        }),
      fd_pwrite: (fd: number, iovs: number, n: number, off: bigint, nwritten: number) =>
        run("fd_pwrite", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_pwrite");
          this.#need(e, R.FD_WRITE | R.FD_SEEK, true);
          this.#authorize("fd_pwrite", fdRes(fd));
          if (e.kind !== "file") throw fsError("ESPIPE", "not seekable");
          // With APPEND the data goes to the end whatever the offset (Linux's pwrite on
          // an O_APPEND fd, what wasmtime and node:wasi do); the fd's offset stays.
          const at = e.flags & FDFLAG_APPEND ? fs.fstatSync(e.hostFd).size : Number(off);
          const put = this.#writeAll(e, this.#iovecs(iovs, n), at);
          this.#bytes = put;
          this.#mem().setUint32(nwritten, put, true);
          return E.SUCCESS!;
        }),
      fd_read: (fd: number, iovs: number, n: number, nread: number) =>
        run("fd_read", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_read");
          this.#need(e, R.FD_READ, true);
          this.#authorize("fd_read", fdRes(fd));
          const file = e.kind === "file";
          const got = this.#readSome(e, this.#iovecs(iovs, n), file ? e.pos : null);
          if (file) e.pos += got;
          this.#bytes = got;
          this.#mem().setUint32(nread, got, true);
          return E.SUCCESS!;
        }),
      fd_readdir: (fd: number, buf: number, bufLen: number, cookie: bigint, used: number) =>
        run("fd_readdir", fdRes(fd), () => {
          const e = this.#fd(fd);
          // wasmtime answers EBADF for a descriptor that is not a directory.
          if (e.kind !== "dir") throw fsError("EBADF", `fd ${fd} is not a directory`);
          this.#need(e, R.FD_READDIR);
          this.#authorize("fd_readdir", this.#guestPath(e, e.rel));
          if (cookie === 0n || !e.dirCache) e.dirCache = this.#listDir(e);
          const list = e.dirCache;
          const out = this.#bytesAt(buf, bufLen);
          const head = new DataView(new ArrayBuffer(24));
          let off = 0;
          for (let i = Number(cookie); i < list.length && off < bufLen; i++) {
            const d = list[i]!;
            head.setBigUint64(0, BigInt(i + 1), true);
            head.setBigUint64(8, d.ino, true);
            head.setUint32(16, d.name.length, true);
            head.setUint32(20, d.type, true);
            const rec = Buffer.concat([new Uint8Array(head.buffer), d.name]);
            const n = Math.min(rec.length, bufLen - off);
            out.set(rec.subarray(0, n), off);
            off += n;
          }
          this.#mem().setUint32(used, off, true);
          return E.SUCCESS!;
        }),
      fd_renumber: (from: number, to: number) =>
        run("fd_renumber", fdRes(from), () => {
          const a = this.#fd(from);
          const b = this.#fd(to);
          this.#authorize("fd_renumber", fdRes(from), { to });
          if (from === to) return E.SUCCESS!;
          if (b.owned) fs.closeSync(b.hostFd);
          this.#fds.set(to, a);
          this.#fds.delete(from);
          return E.SUCCESS!;
        }),
      fd_seek: (fd: number, offset: bigint, whence: number, ptr: number) =>
        run("fd_seek", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_seek");
          this.#need(e, offset === 0n && whence === 1 ? R.FD_TELL : R.FD_SEEK);
          this.#authorize("fd_seek", fdRes(fd));
          if (e.kind !== "file") throw fsError("ESPIPE", "not seekable");
          const base =
            whence === 0
              ? 0
              : whence === 1
                ? e.pos
                : whence === 2
                  ? fs.fstatSync(e.hostFd).size
                  : Number.NaN;
          if (Number.isNaN(base)) throw fsError("EINVAL", `unknown whence ${whence}`);
          const pos = base + Number(offset);
          if (pos < 0) throw fsError("EINVAL", "negative offset");
          e.pos = pos;
          this.#u64(ptr, pos);
          return E.SUCCESS!;
        }),
      fd_sync: (fd: number) =>
        run("fd_sync", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#need(e, R.FD_SYNC);
          this.#authorize("fd_sync", fdRes(fd));
          fs.fsyncSync(e.hostFd);
          return E.SUCCESS!;
        }),
      fd_tell: (fd: number, ptr: number) =>
        run("fd_tell", fdRes(fd), () => {
          const e = this.#fd(fd);
          this.#notDir(e, "fd_tell");
          this.#need(e, R.FD_TELL);
          this.#authorize("fd_tell", fdRes(fd));
          if (e.kind !== "file") throw fsError("ESPIPE", "not seekable");
          this.#u64(ptr, e.pos);
          return E.SUCCESS!;
        }),
      fd_write: (fd: number, iovs: number, n: number, nwritten: number) =>
        this.#fdWrite(fd, iovs, n, nwritten),
      path_create_directory: (fd: number, p: number, l: number) =>
        run("path_create_directory", fdRes(fd), () => {
          const [, r] = this.#resolve(
            "path_create_directory",
            fd,
            p,
            l,
            false,
            R.PATH_CREATE_DIRECTORY,
          );
          this.#with(r, (path) => fs.mkdirSync(path, 0o777), true);
          return E.SUCCESS!;
        }),
      path_filestat_get: (fd: number, flags: number, p: number, l: number, buf: number) =>
        run("path_filestat_get", fdRes(fd), () => {
          const [, r] = this.#resolve(
            "path_filestat_get",
            fd,
            p,
            l,
            (flags & 1) !== 0,
            R.PATH_FILESTAT_GET,
          );
          this.#writeFilestat(
            buf,
            this.#with(r, (path) => fs.lstatSync(path, { bigint: true })),
          );
          return E.SUCCESS!;
        }),
      path_filestat_set_times: (
        fd: number,
        flags: number,
        p: number,
        l: number,
        atim: bigint,
        mtim: bigint,
        fl: number,
      ) =>
        run("path_filestat_set_times", fdRes(fd), () => {
          const [, r] = this.#resolve(
            "path_filestat_set_times",
            fd,
            p,
            l,
            (flags & 1) !== 0,
            R.PATH_FILESTAT_SET_TIMES,
          );
          this.#with(r, (path) => {
            if (this.#timeOps) {
              const [a, m] = specs(atim, mtim, fl);
              // Both UTIME_OMIT: the kernel answers 0 without looking the name up; a
              // missing name stays ENOENT, as without TimeOps.
              if (a === "omit" && m === "omit") fs.lstatSync(path);
              // The same target as `path`. The resolver has already followed a final
              // symlink when the lookup flags asked for it (inside the preopen): the
              // kernel must not follow one, as lutimes does not.
              else this.#timeOps.utimensat(r.dirFd, r.name, a, m, true);
              return;
            }
            const [a, m] = setTimes(fs.lstatSync(path, { bigint: true }), atim, mtim, fl);
            fs.lutimesSync(path, a, m);
          });
          return E.SUCCESS!;
        }),
      path_link: (
        ofd: number,
        oflags: number,
        op: number,
        ol: number,
        nfd: number,
        np: number,
        nl: number,
      ) =>
        run("path_link", fdRes(ofd), () => {
          const [oe, a] = this.#resolve(
            "path_link",
            ofd,
            op,
            ol,
            (oflags & 1) !== 0,
            R.PATH_LINK_SOURCE,
          );
          try {
            const [, b] = this.#resolve("path_link", nfd, np, nl, false, R.PATH_LINK_TARGET);
            // A link is a second name for the same inode: never across preopens, so a
            // read-only preopen's files cannot become writable through a link elsewhere.
            if (oe.pre !== this.#fd(nfd).pre) {
              b.release();
              throw fsError("EXDEV", "hard links between different preopens are not allowed");
            }
            this.#with(b, (to) => fs.linkSync(fdPath(a.dirFd, a.name), to), true);
          } finally {
            a.release();
          }
          return E.SUCCESS!;
        }),
      path_open: (
        dfd: number,
        dflags: number,
        p: number,
        l: number,
        oflags: number,
        rb: bigint,
        ri: bigint,
        fdflags: number,
        out: number,
      ) =>
        run("path_open", fdRes(dfd), () => {
          const de = this.#fd(dfd);
          const reqBase = Number(BigInt.asUintN(64, rb) & BigInt(ALL_RIGHTS));
          const reqInh = Number(BigInt.asUintN(64, ri) & BigInt(ALL_RIGHTS));
          if (oflags & OFLAG.DIRECTORY && oflags & (OFLAG.CREAT | OFLAG.EXCL | OFLAG.TRUNC)) {
            throw fsError(
              "EINVAL",
              "oflags DIRECTORY cannot be combined with CREAT, EXCL or TRUNC; create directories with path_create_directory",
            );
          }
          let need = R.PATH_OPEN;
          if (oflags & OFLAG.CREAT) need |= R.PATH_CREATE_FILE;
          const base = reqBase & de.inh;
          // The open mode follows the requested rights as wasmtime maps them: fd_write
          // makes a write open, fd_read or fd_readdir a read open, nothing at all a read
          // open. Other write-ish rights (fd_allocate, fd_filestat_set_size, ...) do not
          // turn a directory open into an O_WRONLY one. A directory opened with fd_write
          // is EISDIR, from the kernel, as POSIX, wasmtime and wasi-testsuite have it.
          const wantsWrite = (base & R.FD_WRITE) !== 0;
          const wantsRead = (base & (R.FD_READ | R.FD_READDIR)) !== 0;
          if (de.pre?.readOnly) {
            if ((reqBase & R.FD_WRITE) !== 0 && (de.inh & R.FD_WRITE) === 0)
              throw fsError("EROFS", `${de.preopenName ?? "the preopen"} is read-only`);
            // O_TRUNC truncates even an O_RDONLY open on Linux: never on a read-only preopen.
            if (oflags & OFLAG.TRUNC)
              throw fsError("EROFS", `${de.preopenName ?? "the preopen"} is read-only`);
          }
          // For the policy, creating or truncating is writing too (O_TRUNC truncates even
          // an O_RDONLY open).
          const writes = wantsWrite || (oflags & (OFLAG.CREAT | OFLAG.TRUNC)) !== 0;
          const [e, r] = this.#resolve("path_open", dfd, p, l, (dflags & 1) !== 0, need, {
            oflags,
            write: writes,
            fdflags,
          });
          let hostFd: number;
          try {
            let flags = O_CLOEXEC | O_NOFOLLOW;
            if (oflags & OFLAG.CREAT) flags |= O_CREAT;
            if (oflags & OFLAG.EXCL) flags |= O_EXCL;
            if (oflags & OFLAG.TRUNC) flags |= O_TRUNC;
            if (oflags & OFLAG.DIRECTORY || r.mustBeDir) flags |= O_DIRECTORY;
            if (fdflags & 2) flags |= O_DSYNC;
            if (fdflags & 16) flags |= O_SYNC;
            const path = fdPath(r.dirFd, r.name);
            try {
              const st = fs.lstatSync(path);
              if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) flags |= O_NONBLOCK;
            } catch {
              // created below
            }
            flags |= wantsWrite ? (wantsRead ? O_RDWR : O_WRONLY) : O_RDONLY;
            hostFd = fs.openSync(path, flags, 0o666);
          } finally {
            r.release();
          }
          const pre = e.pre!;
          if (!isInside(pre, hostFd)) {
            fs.closeSync(hostFd);
            this.recordEvent({
              kind: "wasi.escape",
              subject: this.subject,
              call: "path_open",
              path: this.#resource,
              reason: "opened file is outside the preopen",
            });
            throw fsError(
              "ENOTCAPABLE",
              "the opened file lies outside the preopen (raced rename?)",
            );
          }
          const st = fs.fstatSync(hostFd);
          const ft = filetypeOf(st);
          const nfd = this.#newFd({
            kind: ft === FT.DIR ? "dir" : "file",
            hostFd,
            filetype: ft,
            // A file keeps no path_* or readdir rights, even when asked for (they do not
            // apply to it; wasi-testsuite's path_filestat checks); a directory no seek or
            // set-size rights (wasmtime's set, wasi-testsuite's directory_seek).
            base: ft === FT.DIR ? base & ~NOT_FOR_DIRS : base & FILE_RIGHTS,
            inh: ft === FT.DIR ? reqInh & de.inh : reqInh & de.inh & FILE_RIGHTS,
            flags: fdflags & 0x1f,
            pos: 0,
            pre,
            rel: r.rel,
            owned: true,
          });
          this.#mem().setUint32(out, nfd, true);
          return E.SUCCESS!;
        }),
      path_readlink: (
        fd: number,
        p: number,
        l: number,
        buf: number,
        bufLen: number,
        used: number,
      ) =>
        run("path_readlink", fdRes(fd), () => {
          const [, r] = this.#resolve("path_readlink", fd, p, l, false, R.PATH_READLINK);
          const target = this.#with(r, (path) => fs.readlinkSync(path, { encoding: "buffer" }));
          const n = Math.min(target.length, bufLen);
          this.#bytesAt(buf, n).set(target.subarray(0, n));
          this.#mem().setUint32(used, n, true);
          return E.SUCCESS!;
        }),
      path_remove_directory: (fd: number, p: number, l: number) =>
        run("path_remove_directory", fdRes(fd), () => {
          const [, r] = this.#resolve(
            "path_remove_directory",
            fd,
            p,
            l,
            false,
            R.PATH_REMOVE_DIRECTORY,
          );
          this.#with(r, (path) => fs.rmdirSync(path), true);
          return E.SUCCESS!;
        }),
      path_rename: (fd: number, op: number, ol: number, nfd: number, np: number, nl: number) =>
        run("path_rename", fdRes(fd), () => {
          const [, a] = this.#resolve("path_rename", fd, op, ol, false, R.PATH_RENAME_SOURCE);
          try {
            const [, b] = this.#resolve("path_rename", nfd, np, nl, false, R.PATH_RENAME_TARGET);
            this.#with(b, (to) => fs.renameSync(fdPath(a.dirFd, a.name), to), true);
          } finally {
            a.release();
          }
          return E.SUCCESS!;
        }),
      path_symlink: (op: number, ol: number, fd: number, np: number, nl: number) =>
        run("path_symlink", fdRes(fd), () => {
          const target = this.#string(op, ol);
          const [, r] = this.#resolve("path_symlink", fd, np, nl, false, R.PATH_SYMLINK, {
            target,
          });
          try {
            checkSymlinkTarget(target, r.rel);
          } catch (err) {
            r.release();
            this.recordEvent({
              kind: "wasi.escape",
              subject: this.subject,
              call: "path_symlink",
              path: this.#resource,
              target,
              reason: (err as Error).message,
            });
            throw err;
          }
          this.#with(r, (path) => fs.symlinkSync(target, path), true);
          return E.SUCCESS!;
        }),
      path_unlink_file: (fd: number, p: number, l: number) =>
        run("path_unlink_file", fdRes(fd), () => {
          const [, r] = this.#resolve("path_unlink_file", fd, p, l, false, R.PATH_UNLINK_FILE);
          this.#with(r, (path) => fs.unlinkSync(path), true);
          return E.SUCCESS!;
        }),
      poll_oneoff: (inPtr: number, outPtr: number, nsubs: number, nevents: number) =>
        run("poll_oneoff", "poll", () => {
          this.#authorize("poll_oneoff", "poll");
          if (nsubs === 0) throw fsError("EINVAL", "no subscriptions");
          const v = this.#mem();
          const ready: Array<{ ud: bigint; err: number; type: number; nbytes: bigint }> = [];
          let wait = Number.POSITIVE_INFINITY;
          let clockUd: bigint | undefined;
          for (let i = 0; i < nsubs; i++) {
            const s = inPtr + i * 48;
            const ud = v.getBigUint64(s, true);
            const tag = v.getUint8(s + 8);
            if (tag === 0) {
              const id = v.getUint32(s + 16, true);
              const timeout = v.getBigUint64(s + 24, true);
              const abs = (v.getUint16(s + 40, true) & 1) !== 0;
              let ms: number;
              try {
                ms = abs ? Number(timeout - this.#clockNs(id)) / 1e6 : Number(timeout) / 1e6;
              } catch {
                ready.push({ ud, err: E.EINVAL!, type: 0, nbytes: 0n });
                continue;
              }
              if (ms < wait) {
                wait = ms;
                clockUd = ud;
              }
            } else if (tag === 1 || tag === 2) {
              const fd = v.getUint32(s + 16, true);
              const e = this.#fds.get(fd);
              let err = 0;
              let nbytes = 0n;
              if (!e) err = E.EBADF!;
              else if (
                (e.base & R.POLL_FD_READWRITE) === 0 &&
                (e.base & (tag === 1 ? R.FD_READ : R.FD_WRITE)) === 0
              )
                err = E.ENOTCAPABLE!;
              else if (e.kind === "file" && tag === 1)
                nbytes = BigInt(Math.max(0, fs.fstatSync(e.hostFd).size - e.pos));
              ready.push({ ud, err, type: tag, nbytes });
            } else throw fsError("EINVAL", `unknown subscription tag ${tag}`);
          }
          if (ready.length === 0 && clockUd !== undefined) {
            if (wait > 0) this.sleep(wait);
            ready.push({ ud: clockUd, err: 0, type: 0, nbytes: 0n });
          } else if (clockUd !== undefined && wait <= 0)
            ready.push({ ud: clockUd, err: 0, type: 0, nbytes: 0n });
          ready.forEach((r, i) => {
            const o = outPtr + i * 32;
            v.setBigUint64(o, r.ud, true);
            v.setUint16(o + 8, r.err, true);
            v.setUint8(o + 10, r.type);
            v.setBigUint64(o + 16, r.nbytes, true);
            v.setUint16(o + 24, 0, true);
          });
          v.setUint32(nevents, ready.length, true);
          return E.SUCCESS!;
        }),
      proc_exit: (code: number) => {
        this.#resource = "proc";
        this.#bytes = 0;
        if (this.#outLen > 0) this.flushOutput();
        this.#audit("proc_exit", 0);
        this.flushAudit();
        throw new WasiExit(code >>> 0);
      },
      proc_raise: (sig: number) =>
        run("proc_raise", `signal:${sig}`, () => {
          this.#authorize("proc_raise", `signal:${sig}`);
          if (sig === 0) return E.SUCCESS!;
          if (sig < 0 || sig > 64) throw fsError("EINVAL", `unknown signal ${sig}`);
          // No handlers exist in preview1: a raised signal terminates, as its default action would.
          throw new WasiExit(128 + sig);
        }),
      sched_yield: () =>
        run("sched_yield", "sched", () => {
          this.#authorize("sched_yield", "sched");
          return E.SUCCESS!;
        }),
      random_get: (buf: number, len: number) =>
        run("random_get", "random", () => {
          this.#authorize("random_get", "random", { len });
          randomFillSync(this.#bytesAt(buf, len));
          return E.SUCCESS!;
        }),
      sock_accept: (fd: number, flags: number, out: number) =>
        run("sock_accept", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.kind !== "socket") throw fsError("ENOTSOCK", "not a socket");
          this.#need(e, R.SOCK_ACCEPT);
          this.#authorize("sock_accept", fdRes(fd), { flags });
          if (!this.#socketOps)
            throw fsError(
              "ENOTSUP",
              "accepting needs native socket operations (WasiOptions.socketOps)",
            );
          if (flags & ~FDFLAG_NONBLOCK)
            throw fsError("EINVAL", "only the NONBLOCK fd flag is allowed");
          const hostFd = this.#socketOps.accept(e.hostFd, (flags & FDFLAG_NONBLOCK) !== 0);
          let guest = 3;
          while (this.#fds.has(guest)) guest++;
          const conn = socketEntry(hostFd, SOCKET_RIGHTS, true);
          conn.flags = flags & FDFLAG_NONBLOCK;
          this.#fds.set(guest, conn);
          this.#mem().setUint32(out, guest, true);
          return E.SUCCESS!;
        }),
      sock_recv: (
        fd: number,
        iovs: number,
        n: number,
        riFlags: number,
        outLen: number,
        outFlags: number,
      ) =>
        run("sock_recv", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.kind !== "socket") throw fsError("ENOTSOCK", "not a socket");
          this.#need(e, R.FD_READ, true);
          this.#authorize("sock_recv", fdRes(fd), { flags: riFlags });
          if (riFlags !== 0)
            throw fsError("ENOTSUP", "RECV_PEEK and RECV_WAITALL are not supported");
          const got = this.#readSome(e, this.#iovecs(iovs, n), null);
          this.#bytes = got;
          const v = this.#mem();
          v.setUint32(outLen, got, true);
          v.setUint16(outFlags, 0, true);
          return E.SUCCESS!;
        }),
      sock_send: (fd: number, iovs: number, n: number, _siFlags: number, outLen: number) =>
        run("sock_send", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.kind !== "socket") throw fsError("ENOTSOCK", "not a socket");
          this.#need(e, R.FD_WRITE, true);
          this.#authorize("sock_send", fdRes(fd));
          const put = this.#writeAll(e, this.#iovecs(iovs, n), null);
          this.#bytes = put;
          this.#mem().setUint32(outLen, put, true);
          return E.SUCCESS!;
        }),
      sock_shutdown: (fd: number, how: number) =>
        run("sock_shutdown", fdRes(fd), () => {
          const e = this.#fd(fd);
          if (e.kind !== "socket") throw fsError("ENOTSOCK", "not a socket");
          this.#need(e, R.SOCK_SHUTDOWN);
          this.#authorize("sock_shutdown", fdRes(fd), { how });
          if (how < 1 || how > 3) throw fsError("EINVAL", "how must be RD, WR or both");
          if (this.#socketOps) {
            this.#socketOps.shutdown(e.hostFd, how - 1); // WASI RD=1, WR=2 → SHUT_RD=0, SHUT_WR=1, SHUT_RDWR=2
            return E.SUCCESS!;
          }
          // Without native operations Node cannot shutdown(2) a raw fd; closing our side
          // is the closest honest effect.
          this.#fds.delete(fd);
          return E.SUCCESS!;
        }),
    };
  }

  /**
   * Runs a command module's `_start`; returns its exit code (0 when `_start` returns,
   * the `proc_exit` code otherwise). Limit errors propagate.
   */
  start(instance: WebAssembly.Instance): number {
    const ex = instance.exports;
    if (ex.memory instanceof WebAssembly.Memory) this.setMemory(ex.memory);
    if (typeof ex._start !== "function")
      throw new WasmModuleError(
        "the module has no _start export: it is a reactor; use initialize() and call its exports",
      );
    try {
      (ex._start as () => void)();
      return 0;
    } catch (e) {
      if (e instanceof WasiExit) return e.code;
      throw e;
    } finally {
      this.flushAudit();
    }
  }

  /** Prepares a reactor module: sets its memory and runs `_initialize` if exported. */
  initialize(instance: WebAssembly.Instance): void {
    const ex = instance.exports;
    if (ex.memory instanceof WebAssembly.Memory) this.setMemory(ex.memory);
    if (typeof ex._initialize === "function") (ex._initialize as () => void)();
  }

  /** Closes every host fd this host opened (preopens included). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.flushAudit();
    for (const e of this.#fds.values()) if (e.owned) fs.closeSync(e.hostFd);
    this.#fds.clear();
    for (const p of this.#preopens) fs.closeSync(p.rootFd);
  }
}

const FDFLAG_NONBLOCK = 4;
const SOCKET_RIGHTS =
  R.FD_READ | R.FD_WRITE | R.POLL_FD_READWRITE | R.SOCK_SHUTDOWN | R.FD_FILESTAT_GET;

function socketEntry(hostFd: number, base: number, owned: boolean): FdEntry {
  return {
    kind: "socket",
    hostFd,
    filetype: FT.STREAM,
    base,
    inh: 0,
    flags: 0,
    pos: 0,
    rel: [],
    owned,
  };
}

const NAMES = new Map<number, string>();
function errnoName(n: number): string {
  if (NAMES.size === 0) for (const [k, v] of Object.entries(E)) NAMES.set(v, k);
  return NAMES.get(n) ?? String(n);
}
