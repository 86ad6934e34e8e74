import fs from "node:fs";
import { type Logger, pino } from "pino";
import { canonicalJson, isJsonPrefix, sha256Hex } from "./_util.ts";

/** The hash that precedes the first entry of a chain. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * A place in a chain: the `seq` and `hash` of one record. As an anchor it is the record
 * just before the first line of a log (the last record of the previous file of a rotated
 * log, or of what a bounded window dropped).
 *
 * @example
 * ```ts
 * import { AuditLog, type AuditAnchor, verifyAuditChain } from "@forge/policy";
 * const log = new AuditLog({ keep: 2 });
 * for (let i = 0; i < 100; i++) log.append({ kind: "tick", i });
 * const anchor: AuditAnchor = log.anchor; // { seq: 97, hash: "…" }
 * console.log(verifyAuditChain(log.export(), { anchor }).ok); // true
 * ```
 */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The anchor of a whole log: nothing before seq 0, whose `prev` is {@link GENESIS_HASH}.
 * The default of {@link verifyAuditChain}.
 *
 * @example
 * ```ts
 * import { AuditLog, GENESIS_ANCHOR } from "@forge/policy";
 * console.log(new AuditLog().anchor === GENESIS_ANCHOR); // true
 * ```
 */
export const GENESIS_ANCHOR: AuditAnchor = Object.freeze({ seq: -1, hash: GENESIS_HASH });

/**
 * One audited event: a `kind` ("decision", "wasi", "plugin.start", ...) plus any
 * JSON-serialisable fields. Kinds starting with `audit.` are reserved for the records the
 * log writes itself (`audit.resume`; signed `audit.checkpoint` records later).
 *
 * @example
 * ```ts
 * import type { AuditEvent } from "@forge/policy";
 * const e: AuditEvent = { kind: "plugin.load", subject: "plugin:hello" };
 * ```
 */
export interface AuditEvent {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/**
 * An entry of the chain. Its line is the pino record
 * `{"level":30,"seq":…,"time":…,"prev":…,"hash":…,"event":{…},"msg":"audit"}` and
 * `hash = sha256(canonicalJson(that record without "hash"))`: every field as written is
 * covered, pino's own included, and `prev` chains it to the record before.
 *
 * @example
 * ```ts
 * import { AuditLog } from "@forge/policy";
 * const e = new AuditLog().append({ kind: "x" });
 * console.log(e.seq, e.hash.length); // 0 64
 * ```
 */
export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
  readonly hash: string;
  readonly event: AuditEvent;
}

/**
 * Where audit lines go besides memory: a file path (appended, synchronously, never
 * through a symbolic link) or any object with `write(line)`.
 *
 * @example
 * ```ts
 * import type { AuditSink } from "@forge/policy";
 * const sink: AuditSink = { write: (line) => process.stderr.write(line) };
 * ```
 */
export type AuditSink = string | { write(line: string): unknown };

/**
 * Options of an {@link AuditLog}.
 *
 * @example
 * ```ts
 * import { AuditLog, type AuditLogOptions } from "@forge/policy";
 * const opts: AuditLogOptions = { keep: 1000 };
 * const log = new AuditLog(opts);
 * ```
 */
export interface AuditLogOptions {
  /**
   * Also write every line here. A file that already holds records is continued: the
   * chain goes on from its last record, and a last line left without its newline by a
   * crash is closed and accounted for by an `audit.resume` record first.
   */
  readonly destination?: AuditSink;
  /** How many lines to keep in memory for {@link AuditLog.export} (default: all). */
  readonly keep?: number;
  /** The clock (tests); default `Date.now`. */
  readonly now?: () => number;
  /**
   * Continue an existing chain from its last record: `{seq, head}` (or an
   * {@link AuditAnchor} `{seq, hash}`). With a file destination that is not empty it
   * must be the file's last record (anything else would fork the chain).
   */
  readonly resume?: { readonly seq: number; readonly head: string } | AuditAnchor;
}

/**
 * A failure of the audit log's own file: it cannot be opened (or is a symbolic link),
 * it does not end in an audit record, a resume point would fork its chain, or a write
 * failed. `path` names the file; the record being written is not counted.
 *
 * @example
 * ```ts
 * import { AuditLog, AuditLogError } from "@forge/policy";
 * try {
 *   new AuditLog({ destination: "/nonexistent/dir/audit.jsonl" });
 * } catch (e) {
 *   if (e instanceof AuditLogError) console.error(e.message, e.path);
 * }
 * ```
 */
export class AuditLogError extends Error {
  override name = "AuditLogError";
  /** The file concerned, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, path?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/**
 * Why a line failed verification. New reasons may be added (signed checkpoints will
 * bring some): treat any reason as a failure.
 *
 * - `bad JSON`: not a JSON object, an empty line, or nested too deeply to check.
 * - `truncated`: a record cut short (a crash while writing, or bytes cut off), or a log
 *   that ends before the expected head.
 * - `edited`: the record does not match its hash, its bytes are not as written, or its
 *   `prev` is not the hash of the record before.
 * - `added field` / `removed field`: a top-level field was added or removed.
 * - `removed`: records are missing (a seq gap, or a log that does not start at seq 0 or
 *   right after its anchor).
 * - `reordered`: a record is out of place while the one expected is elsewhere.
 * - `duplicated`: a copy of an earlier line.
 * - `inserted`: a second record with the same seq and different content, or records
 *   after the expected head.
 *
 * @example
 * ```ts
 * import type { AuditProblemReason } from "@forge/policy";
 * const r: AuditProblemReason = "removed";
 * ```
 */
export type AuditProblemReason =
  | "bad JSON"
  | "truncated"
  | "edited"
  | "added field"
  | "removed field"
  | "removed"
  | "reordered"
  | "duplicated"
  | "inserted";

/**
 * One problem {@link verifyAuditChain} found.
 *
 * @example
 * ```ts
 * import { verifyAuditChain } from "@forge/policy";
 * const p = verifyAuditChain("garbage\n").firstBad;
 * console.log(p?.line, p?.reason); // 1 "bad JSON"
 * console.log(p?.problem); // line 1: bad JSON: not JSON (…)
 * ```
 */
export interface AuditProblem {
  /** 1-based line number in the input (0: an empty input that misses its head). */
  readonly line: number;
  /** The record's seq; for a truncated line, the seq its record would have had. */
  readonly seq?: number;
  readonly reason: AuditProblemReason;
  /** One sentence that names the line, the seq and what is wrong. */
  readonly problem: string;
}

/**
 * A line a crash left half-written, accepted by `acceptTorn` because the `audit.resume`
 * record right after it (or after the run of torn lines it ends) accounts for it: that
 * record's `torn: {lines, bytes, sha256}` covers the torn text.
 *
 * @example
 * ```ts
 * import type { AuditTornLine } from "@forge/policy";
 * const t: AuditTornLine = { line: 3, seq: 2, resumedAt: 4 };
 * ```
 */
export interface AuditTornLine {
  readonly line: number;
  /** The seq the lost record had (the resume record took it over). */
  readonly seq: number;
  /** The line of the resume record. */
  readonly resumedAt: number;
}

/**
 * Options of {@link verifyAuditChain}.
 *
 * @example
 * ```ts
 * import { AuditLog, type VerifyOptions, verifyAuditChain } from "@forge/policy";
 * const log = new AuditLog();
 * log.append({ kind: "x" });
 * const opts: VerifyOptions = { head: log.head };
 * console.log(verifyAuditChain(log.export(), opts).ok); // true
 * ```
 */
export interface VerifyOptions {
  /**
   * The record just before the first line. Default {@link GENESIS_ANCHOR}: the log must
   * start at seq 0 whose `prev` is the genesis hash, so deleting the oldest records is
   * seen. A rotated or trimmed log is verified with the `{seq, hash}` of the record before
   * it (the `end` of verifying the previous file, or {@link AuditLog.anchor}).
   */
  readonly anchor?: AuditAnchor;
  /**
   * The hash the last record must have, stored elsewhere: detects records removed from
   * the end, which nothing inside the log can show.
   */
  readonly head?: string;
  /**
   * Accept lines a crash left half-written when the `audit.resume` record right after
   * them accounts for them (listed in `torn`). Default false: they are problems. A torn
   * last line (no resume yet) and a torn line no resume record accounts for are always
   * problems.
   */
  readonly acceptTorn?: boolean;
}

/**
 * The result of {@link verifyAuditChain}.
 *
 * @example
 * ```ts
 * import { verifyAuditChain } from "@forge/policy";
 * const r = verifyAuditChain("");
 * console.log(r.ok, r.count); // true 0
 * ```
 */
export interface VerifyResult {
  readonly ok: boolean;
  /** Records checked (lines that parse as records; torn and bad lines are not counted). */
  readonly count: number;
  /** The hash of the last record (compare with a head you stored elsewhere). */
  readonly head: string;
  /** The last record as an anchor: verify the next file of a rotated log with it. */
  readonly end: AuditAnchor;
  /** The first problem, in line order (undefined when ok). */
  readonly firstBad?: AuditProblem;
  /** Every problem, in line order; the first is the one to act on, later ones may follow from it. */
  readonly problems: readonly AuditProblem[];
  /** Torn lines accepted by `acceptTorn`. */
  readonly torn: readonly AuditTornLine[];
}

/** The event kind of the record that accounts for a torn line when a log resumes. */
const RESUME_KIND = "audit.resume";
const MSG = "audit";
const FIELDS = ["level", "seq", "time", "prev", "hash", "event", "msg"];
const CHAIN_FIELDS = ["seq", "prev", "hash"];
const HEX64 = /^[0-9a-f]{64}$/;
/** A tail of torn lines longer than this is not what crashes leave (refuse rather than read the file). */
const MAX_TAIL_BYTES = 64 << 20;
/** How many torn lines one resume record may account for (crashes while resuming add one each). */
const MAX_TORN_LINES = 16;

interface Kept {
  readonly line: string;
  readonly seq: number;
  readonly hash: string;
  /** A half-written line a failed write left (no seq/hash of its own). */
  readonly torn: boolean;
}

/**
 * A tamper-evident audit trail: pino JSON lines, each hashed whole (pino's fields too)
 * and chained to the one before. Editing, adding or removing a field, deleting,
 * inserting, duplicating or reordering a line, and deleting the oldest lines break the
 * chain, which {@link AuditLog.verify} / {@link verifyAuditChain} detect; truncating the
 * tail is detected by comparing the head with one stored elsewhere
 * (`verify(text, {head})`).
 *
 * Written to a file, a log survives crashes: a new `AuditLog` on the same file continues
 * its chain, and if the process died while writing a line, it closes that line and
 * writes an `audit.resume` record that accounts for the torn bytes before anything else
 * (`{"kind":"audit.resume","torn":{"lines":n,"bytes":…,"sha256":…}}`, the hash of the n
 * torn lines joined with "\n"; more than one when a resume died too).
 *
 * @example
 * ```ts
 * import { AuditLog } from "@forge/policy";
 * const log = new AuditLog();
 * log.append({ kind: "decision", subject: "plugin:a", action: "fd_write", effect: "allow" });
 * const text = log.export();
 * console.log(AuditLog.verify(text).ok); // true
 * ```
 */
export class AuditLog {
  readonly #logger: Logger;
  readonly #level: number;
  readonly #kept: Kept[] = [];
  readonly #keep: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(e: AuditEntry) => void>();
  #head: string;
  #seq: number;
  /** The record before #kept[0]. */
  #base: AuditAnchor;
  #fd: number | undefined;
  readonly #path: string | undefined;
  readonly #sink: ((line: string, seq: number) => void) | undefined;
  /** A write to the file failed: its last line may be torn. */
  #dirty = false;
  #captured: string | undefined;
  #current: string | undefined;

  constructor(opts: AuditLogOptions = {}) {
    const keep = opts.keep ?? Number.POSITIVE_INFINITY;
    if (typeof keep !== "number" || !(keep >= 0)) {
      throw new RangeError(`AuditLog: keep must be a number ≥ 0, got ${describe(keep)}`);
    }
    this.#keep = keep;
    this.#now = opts.now ?? Date.now;
    let start = opts.resume ? resumeAnchor(opts.resume) : GENESIS_ANCHOR;
    let torn: Tail["torn"];
    const dest = opts.destination;
    if (typeof dest === "string") {
      this.#path = dest;
      const fd = openForAppend(dest);
      try {
        const tail = readTail(fd, dest);
        if (tail.last) {
          if (opts.resume && (start.seq !== tail.last.seq || start.hash !== tail.last.hash)) {
            throw new AuditLogError(
              `cannot resume ${dest} at seq ${start.seq} (hash ${short(start.hash)}): its last record is seq ${tail.last.seq} (hash ${short(tail.last.hash)}), and appending would fork the chain; resume from its last record or write to a new file`,
              dest,
            );
          }
          start = tail.last;
        }
        torn = tail.torn;
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      this.#fd = fd;
      this.#sink = (line, seq) => this.#writeFile(line, `audit record seq ${seq}`);
    } else if (dest) {
      this.#sink = (line, seq) => {
        try {
          dest.write(line);
        } catch (e) {
          throw new AuditLogError(
            `the audit destination failed to write record seq ${seq}: ${errorText(e)}`,
            undefined,
            { cause: e },
          );
        }
      };
    }
    this.#head = start.hash;
    this.#seq = start.seq + 1;
    this.#base = start;
    this.#logger = pino(
      { base: null, timestamp: false, messageKey: "msg" },
      {
        write: (line: string) => {
          this.#captured = line;
        },
      },
    );
    this.#level = this.#logger.levels.values.info!;
    if (torn) {
      try {
        this.#closeTorn(torn);
      } catch (e) {
        this.close();
        throw e;
      }
    }
  }

  /** The hash of the newest entry (GENESIS_HASH when empty). */
  get head(): string {
    return this.#head;
  }

  /** The sequence number the next entry gets. */
  get nextSeq(): number {
    return this.#seq;
  }

  /**
   * The record just before the first line of {@link AuditLog.export}: GENESIS_ANCHOR for
   * a whole log, else where the window or a resume starts. Verify an export with it.
   */
  get anchor(): AuditAnchor {
    const start = this.#windowStart();
    for (let i = start - 1; i >= 0; i--) {
      const k = this.#kept[i]!;
      if (!k.torn) return { seq: k.seq, hash: k.hash };
    }
    return this.#base;
  }

  /**
   * Appends an event and returns its entry. Throws a TypeError for an event without a
   * string `kind` or with a reserved `audit.` kind, a RangeError for one nested too deeply
   * (or circular), an {@link AuditLogError} when the destination fails; then nothing is
   * counted.
   */
  append(event: AuditEvent): AuditEntry {
    if (event === null || typeof event !== "object" || typeof event.kind !== "string") {
      throw new TypeError(
        `AuditLog.append: an event is an object with a string "kind", got ${describe(event)}`,
      );
    }
    if (event.kind.startsWith("audit.")) {
      throw new TypeError(
        `AuditLog.append: event kind ${JSON.stringify(event.kind)} is reserved: kinds starting with "audit." are records the log writes itself`,
      );
    }
    if (this.#dirty) this.#recover();
    return this.#commit(event);
  }

  /** Writes a record; `before` (torn lines it accounts for) is kept in memory before it. */
  #commit(event: AuditEvent, before: readonly Kept[] = []): AuditEntry {
    const seq = this.#seq;
    const time = new Date(this.#now()).toISOString();
    const prev = this.#head;
    // What is logged is the parse of the canonical form, so that the line carries exactly
    // what is hashed (BigInt, bytes, Dates, undefined rendered once, the same way).
    const eventJson = canonicalJson(event, "/event");
    const ev = JSON.parse(eventJson) as AuditEvent;
    // canonicalJson({level, seq, time, prev, event, msg}), keys sorted, without re-walking the event.
    const hash = sha256Hex(
      `{"event":${eventJson},"level":${this.#level},"msg":"${MSG}","prev":${JSON.stringify(prev)},"seq":${seq},"time":${JSON.stringify(time)}}`,
    );
    this.#captured = undefined;
    this.#logger.info({ seq, time, prev, hash, event: ev }, MSG);
    const line = this.#captured as string | undefined;
    if (line === undefined) throw new Error("AuditLog: pino did not write the record (internal)");
    this.#sink?.(line, seq);
    this.#seq = seq + 1;
    this.#head = hash;
    this.#current = line;
    for (const k of before) this.#keepLine(k);
    this.#keepLine({ line, seq, hash, torn: false });
    const entry: AuditEntry = { seq, time, prev, hash, event: ev };
    for (const l of this.#listeners) l(entry);
    return entry;
  }

  /**
   * Ends the torn last line of the file (if it has no newline) and writes the record that
   * accounts for the torn lines. They are kept in memory too, so that an export reads like
   * the file.
   */
  #closeTorn(torn: NonNullable<Tail["torn"]>) {
    if (torn.unterminated) this.#writeFile("\n", "the newline that closes a torn record");
    const lines = torn.text.split("\n");
    this.#commit(
      {
        kind: RESUME_KIND,
        torn: { lines: lines.length, bytes: torn.bytes, sha256: sha256Hex(torn.text) },
      },
      lines.map((l) => ({ line: `${l}\n`, seq: -1, hash: "", torn: true })),
    );
    this.#dirty = false;
  }

  /** After a failed write: if part of a line reached the file, account for it. */
  #recover(): void {
    if (this.#fd === undefined) return; // closed: the write that follows says so
    const tail = readTail(this.#fd, this.#path!);
    if (tail.torn) this.#closeTorn(tail.torn);
    else this.#dirty = false;
  }

  #writeFile(text: string, what: string): void {
    const fd = this.#fd;
    if (fd === undefined) {
      throw new AuditLogError(
        `cannot write ${what} to ${this.#path}: the log is closed`,
        this.#path,
      );
    }
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      this.#dirty = true;
      throw new AuditLogError(
        `cannot write ${what} to ${this.#path}: ${errorText(e)}`,
        this.#path,
        {
          cause: e,
        },
      );
    }
  }

  #keepLine(k: Kept): void {
    if (this.#keep === 0) {
      if (!k.torn) this.#base = { seq: k.seq, hash: k.hash };
      return;
    }
    this.#kept.push(k);
    // Trim in batches: splicing on every append would copy the window each time.
    if (this.#kept.length >= this.#keep + Math.max(64, this.#keep)) {
      const dropped = this.#kept.splice(0, this.#windowStart());
      for (let i = dropped.length - 1; i >= 0; i--) {
        const d = dropped[i]!;
        if (!d.torn) {
          this.#base = { seq: d.seq, hash: d.hash };
          break;
        }
      }
    }
  }

  /** Calls `fn` for every entry appended from now on; returns an unsubscribe function. */
  subscribe(fn: (e: AuditEntry) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The last line written (for tests and tailing). */
  get lastLine(): string | undefined {
    return this.#current;
  }

  /** The entries kept in memory, parsed. */
  entries(): AuditEntry[] {
    return this.#window()
      .filter((k) => !k.torn)
      .map((k) => {
        const o = JSON.parse(k.line);
        return { seq: o.seq, time: o.time, prev: o.prev, hash: o.hash, event: o.event };
      });
  }

  /**
   * The kept lines as JSON-lines text (what {@link verifyAuditChain} reads; verify it with
   * `{ anchor: log.anchor }` once a window or a resume makes it start mid-chain).
   */
  export(): string {
    return this.#window()
      .map((k) => k.line)
      .join("");
  }

  /** Where the window starts: the last `keep` lines, and the torn lines a resume record accounts for. */
  #windowStart(): number {
    let start = Math.max(0, this.#kept.length - this.#keep);
    while (start > 0 && this.#kept[start - 1]!.torn) start--;
    return start;
  }

  #window(): Kept[] {
    const start = this.#windowStart();
    return start > 0 ? this.#kept.slice(start) : this.#kept;
  }

  /** Writes {@link AuditLog.export} to a file (mode 0600). */
  exportTo(path: string): void {
    fs.writeFileSync(path, this.export(), { mode: 0o600 });
  }

  /**
   * Verifies this log's kept lines against its own anchor and head (lines a failed write
   * left torn are accepted when accounted for: this log wrote them).
   */
  verifySelf(): VerifyResult {
    return verifyAuditChain(this.export(), {
      anchor: this.anchor,
      head: this.#head,
      acceptTorn: true,
    });
  }

  /** Closes the destination file, if any. */
  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Same as {@link verifyAuditChain}. */
  static verify(input: string | readonly string[], opts?: VerifyOptions): VerifyResult {
    return verifyAuditChain(input, opts);
  }
}

function resumeAnchor(r: NonNullable<AuditLogOptions["resume"]>): AuditAnchor {
  const hash = "hash" in r ? r.hash : r.head;
  checkAnchor({ seq: r.seq, hash }, "AuditLog: resume");
  return { seq: r.seq, hash };
}

function openForAppend(path: string): number {
  const c = fs.constants;
  try {
    return fs.openSync(path, c.O_RDWR | c.O_APPEND | c.O_CREAT | c.O_NOFOLLOW, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ELOOP"
        ? "it is a symbolic link, and audit logs are never written through one (give the real path)"
        : errorText(e);
    throw new AuditLogError(`cannot open the audit log ${path}: ${why}`, path, { cause: e });
  }
}

interface Tail {
  /** The last complete record. */
  readonly last?: AuditAnchor;
  /**
   * The lines after it, which crashes (or failed writes) left torn: joined with "\n", their
   * size in bytes, and whether the last one still lacks its newline.
   */
  readonly torn?: { readonly text: string; readonly bytes: number; readonly unterminated: boolean };
}

/**
 * Reads the end of a log file: its last record and the torn lines after it, if any (a
 * crash while writing leaves one; another crash while resuming, one more). Refuses a file
 * whose end is neither.
 */
function readTail(fd: number, path: string): Tail {
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.size === 0) return {};
  let pos = st.size;
  let buf = Buffer.alloc(0);
  for (;;) {
    const tail = scanTail(buf, pos, path);
    if (tail) return tail;
    if (buf.length > MAX_TAIL_BYTES) {
      throw new AuditLogError(
        `cannot continue the audit chain in ${path}: its last ${MAX_TAIL_BYTES} bytes hold no audit record; check the file with verifyAuditChain and move it aside`,
        path,
      );
    }
    const len = Math.min(1 << 16, pos);
    const chunk = Buffer.alloc(len);
    const got = fs.readSync(fd, chunk, 0, len, pos - len);
    pos -= len;
    buf = Buffer.concat([chunk.subarray(0, got), buf]);
  }
}

/** {@link readTail} on the last bytes read (`buf` starts at file offset `pos`); undefined: read more. */
function scanTail(buf: Buffer, pos: number, path: string): Tail | undefined {
  const atStart = pos === 0;
  const torn: Buffer[] = [];
  let end = buf.length; // the end of the line looked at (exclusive)
  const fragment = end - (buf.lastIndexOf(0x0a) + 1);
  if (fragment > 0) {
    torn.push(buf.subarray(end - fragment));
    end -= fragment;
  }
  const done = (last?: AuditAnchor): Tail => {
    if (torn.length === 0) return last ? { last } : {};
    torn.reverse();
    const text = torn.map((b) => b.toString("utf8")).join("\n");
    const bytes = torn.reduce((n, b) => n + b.length, 0) + torn.length - 1;
    return { ...(last ? { last } : {}), torn: { text, bytes, unterminated: fragment > 0 } };
  };
  const notOurs = (from: number, to: number, why: string) =>
    new AuditLogError(
      `cannot continue the audit chain in ${path}: its line at bytes ${pos + from}–${pos + to} is neither an audit record nor a record cut short (${why}); check the file with verifyAuditChain and move it aside`,
      path,
    );
  // (A record whose newline did not make it is torn too: it was never written whole.)
  const last = fragment > 0 ? torn[0]!.toString("utf8") : "";
  if (fragment > 0 && !looksTorn(last) && !asRecord(last)) {
    throw notOurs(buf.length - fragment, buf.length, "the last line, without a newline");
  }
  // Complete lines, from the end: buf[end - 1] is the newline of the line looked at.
  while (end > 0) {
    const start = buf.lastIndexOf(0x0a, end - 2) + 1;
    if (start === 0 && !atStart) return undefined; // the line may begin before buf
    const line = buf.subarray(start, end - 1);
    const text = line.toString("utf8");
    const last = asRecord(text);
    if (last) return done(last);
    if (!looksTorn(text)) throw notOurs(start, end - 1, describe(text));
    torn.push(line);
    if (torn.length > MAX_TORN_LINES) {
      throw notOurs(start, end - 1, `more than ${MAX_TORN_LINES} torn lines in a row`);
    }
    end = start;
  }
  return atStart ? done() : undefined;
}

/** The seq and hash of a line that is an audit record (its hash is not checked here). */
function asRecord(text: string): AuditAnchor | undefined {
  let o: any;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== "object" || !Number.isSafeInteger(o.seq) || o.seq < 0) {
    return undefined;
  }
  return typeof o.hash === "string" && HEX64.test(o.hash)
    ? { seq: o.seq, hash: o.hash }
    : undefined;
}

/** What a write cut short leaves: the beginning of a JSON object that does not parse. */
function looksTorn(text: string): boolean {
  if (!text.startsWith("{") || !isJsonPrefix(text)) return false;
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

// ---------------------------------------------------------------------------------------
// Verification

type Line =
  | { readonly kind: "unterminated"; readonly text: string }
  | {
      readonly kind: "bad";
      readonly text: string;
      readonly detail: string;
      readonly prefix: boolean;
    }
  | {
      readonly kind: "broken";
      readonly text: string;
      readonly detail: string;
      readonly reason: AuditProblemReason;
    }
  | {
      readonly kind: "record";
      readonly text: string;
      readonly o: Record<string, any>;
      readonly seq: number;
      readonly prev: string;
      readonly hash: string;
      readonly hashOk: boolean;
      readonly exact: boolean;
      readonly extra: readonly string[];
      readonly missing: readonly string[];
    };

function splitInput(input: string | readonly string[]): Line[] {
  if (typeof input === "string") {
    if (input === "") return [];
    const parts = input.split("\n");
    const last = parts.pop()!;
    const out = parts.map(readLine);
    if (last !== "") out.push({ kind: "unterminated", text: last });
    return out;
  }
  if (Array.isArray(input)) {
    return input.map((l, i) => {
      if (typeof l !== "string") {
        throw new TypeError(
          `verifyAuditChain: line ${i + 1} of the input is ${describe(l)}, not a string`,
        );
      }
      return readLine(l.endsWith("\n") ? l.slice(0, -1) : l);
    });
  }
  throw new TypeError(
    `verifyAuditChain: the input is ${describe(input)}; give the log's text or an array of its lines`,
  );
}

function readLine(text: string): Line {
  if (text === "") return { kind: "bad", text, detail: "an empty line", prefix: false };
  let o: any;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return {
      kind: "bad",
      text,
      detail: `not JSON (${errorText(e).slice(0, 120)})`,
      prefix: text.startsWith("{") && isJsonPrefix(text),
    };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    return { kind: "bad", text, detail: "not a JSON object", prefix: false };
  }
  let want: string;
  try {
    const { hash: _, ...rest } = o;
    want = sha256Hex(canonicalJson(rest));
  } catch (e) {
    return { kind: "bad", text, detail: errorText(e), prefix: false };
  }
  const keys = Object.keys(o);
  const extra = keys.filter((k) => !FIELDS.includes(k));
  const missing = FIELDS.filter((k) => !Object.hasOwn(o, k));
  const bad = CHAIN_FIELDS.filter((k) =>
    k === "seq"
      ? !(Number.isSafeInteger(o.seq) && o.seq >= 0)
      : !(typeof o[k] === "string" && HEX64.test(o[k])),
  );
  if (bad.length > 0) {
    const gone = bad.filter((k) => missing.includes(k));
    return {
      kind: "broken",
      text,
      reason: gone.length ? "removed field" : "edited",
      detail: gone.length
        ? `field ${gone.map((k) => JSON.stringify(k)).join(", ")} was removed`
        : `field ${bad.map((k) => JSON.stringify(k)).join(", ")} is not valid (seq: an integer ≥ 0; prev, hash: 64 hex digits)`,
    };
  }
  return {
    kind: "record",
    text,
    o,
    seq: o.seq,
    prev: o.prev,
    hash: o.hash,
    hashOk: want === o.hash,
    exact: JSON.stringify(o) === text,
    extra,
    missing,
  };
}

function isResume(l: Line | undefined): l is Extract<Line, { kind: "record" }> {
  if (l?.kind !== "record" || !l.hashOk || !l.exact) return false;
  const ev = l.o.event;
  return (
    ev !== null &&
    typeof ev === "object" &&
    ev.kind === RESUME_KIND &&
    ev.torn !== null &&
    typeof ev.torn === "object" &&
    typeof ev.torn.sha256 === "string" &&
    Number.isSafeInteger(ev.torn.lines) &&
    ev.torn.lines >= 1
  );
}

/**
 * If lines i.. are torn lines the nearest audit.resume record after them accounts for
 * (their number and the hash of their text), the index of that record.
 */
function resumeOf(lines: readonly Line[], i: number): number | undefined {
  const stop = Math.min(lines.length - 1, i + MAX_TORN_LINES);
  for (let j = i + 1; j <= stop; j++) {
    const m = lines[j]!;
    if (isResume(m)) {
      const t = m.o.event.torn;
      const text = lines
        .slice(i, j)
        .map((l) => l.text)
        .join("\n");
      return t.lines === j - i && t.sha256 === sha256Hex(text) ? j : undefined;
    }
    if (m.kind === "unterminated") return undefined;
  }
  return undefined;
}

function checkAnchor(a: unknown, where: string): asserts a is AuditAnchor {
  if (a === null || typeof a !== "object") {
    throw new TypeError(`${where} must be an object {seq, hash}, got ${describe(a)}`);
  }
  const { seq, hash } = a as { seq: unknown; hash: unknown };
  if (!Number.isSafeInteger(seq) || (seq as number) < -1) {
    throw new TypeError(
      `${where}.seq must be an integer ≥ -1 (the seq of the record before the first line), got ${describe(seq)}`,
    );
  }
  if (typeof hash !== "string" || !HEX64.test(hash)) {
    throw new TypeError(`${where}.hash must be 64 lowercase hex digits, got ${describe(hash)}`);
  }
  if (seq === -1 && hash !== GENESIS_HASH) {
    throw new TypeError(`${where}: seq -1 is the genesis, whose hash is GENESIS_HASH`);
  }
}

/**
 * Checks a hash chain of audit lines and names the first bad record and why. Every line
 * must be a record, byte for byte as written, whose hash covers all its fields; its
 * `prev` must be the hash of the record before and its `seq` follow. The log must start
 * at its anchor: by default seq 0 from the genesis hash (`anchor` for a rotated or trimmed
 * log). With `head`, the last hash must equal it (detects a truncated tail).
 *
 * A line a crash left half-written is reported as "truncated record at line N (crash while
 * writing)"; with `acceptTorn` it is accepted (and listed in `torn`) when the
 * `audit.resume` record right after it accounts for its bytes.
 *
 * Returns a result for any text; throws only a TypeError for input that is not a string
 * or an array of strings, or malformed options.
 *
 * @example
 * ```ts
 * import { AuditLog, verifyAuditChain } from "@forge/policy";
 * const log = new AuditLog();
 * log.append({ kind: "a" });
 * log.append({ kind: "b" });
 * const lines = log.export().trimEnd().split("\n");
 * const r = verifyAuditChain([lines[1], lines[0]]);
 * console.log(r.ok, r.firstBad?.reason); // false "reordered"
 * console.log(r.firstBad?.problem);
 * // line 1 (seq 1): reordered: seq 1 comes where seq 0 was expected; seq 0 is at line 2
 * ```
 */
export function verifyAuditChain(
  input: string | readonly string[],
  opts: VerifyOptions = {},
): VerifyResult {
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`verifyAuditChain: options must be an object, got ${describe(opts)}`);
  }
  const anchor = opts.anchor ?? GENESIS_ANCHOR;
  if (opts.anchor !== undefined) checkAnchor(opts.anchor, "verifyAuditChain: anchor");
  if (opts.head !== undefined && typeof opts.head !== "string") {
    throw new TypeError(`verifyAuditChain: head must be a hash string, got ${describe(opts.head)}`);
  }
  if (opts.acceptTorn !== undefined && typeof opts.acceptTorn !== "boolean") {
    throw new TypeError(
      `verifyAuditChain: acceptTorn must be a boolean, got ${describe(opts.acceptTorn)}`,
    );
  }
  const lines = splitInput(input);
  const problems: AuditProblem[] = [];
  const torn: AuditTornLine[] = [];
  const report = (line: number, seq: number | undefined, reason: AuditProblemReason, d: string) => {
    const where = seq === undefined ? `line ${line}` : `line ${line} (seq ${seq})`;
    problems.push({
      line,
      ...(seq === undefined ? {} : { seq }),
      reason,
      problem:
        reason === "truncated" && d.startsWith("truncated") ? d : `${where}: ${reason}: ${d}`,
    });
  };
  // Every record's seq with its line, sorted: is an expected seq elsewhere in the input?
  const bySeq: Array<[number, number]> = [];
  lines.forEach((l, i) => {
    if (l.kind === "record") bySeq.push([l.seq, i + 1]);
  });
  bySeq.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const findSeq = (from: number, to: number): [number, number] | undefined => {
    let lo = 0;
    let hi = bySeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bySeq[mid]![0] < from) lo = mid + 1;
      else hi = mid;
    }
    const hit = bySeq[lo];
    return hit && hit[0] < to ? hit : undefined;
  };
  const genesis = anchor.seq === -1;
  const startName = genesis
    ? "seq 0 from the genesis hash"
    : `right after the anchor (seq ${anchor.seq}, hash ${short(anchor.hash)})`;
  const range = (a: number, b: number) => (a === b ? `record ${a} is` : `records ${a}–${b} are`);

  let exp = { seq: anchor.seq + 1, prev: anchor.hash };
  let end: AuditAnchor = anchor;
  let count = 0;
  let lastRecordLine = 0;
  let sawRecord = false;
  const seenHash = new Map<string, number>();
  const seenSeq = new Map<number, number>();
  const claimed = new Set<number>();

  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const n = i + 1;
    if (l.kind === "unterminated") {
      report(
        n,
        exp.seq,
        "truncated",
        `truncated record at line ${n} (crash while writing): the last line has no newline, so the record being written was lost (or bytes were cut off the end)`,
      );
      continue;
    }
    const resumed = resumeOf(lines, i);
    if (resumed !== undefined) {
      claimed.add(resumed);
      for (let k = n; k <= resumed; k++) {
        if (opts.acceptTorn) torn.push({ line: k, seq: exp.seq, resumedAt: resumed + 1 });
        else {
          report(
            k,
            exp.seq,
            "truncated",
            `truncated record at line ${k} (crash while writing); the log was resumed at line ${resumed + 1}, whose audit.resume record accounts for it (verify with acceptTorn to accept it)`,
          );
        }
      }
      i = resumed - 1;
      continue;
    }
    if (l.kind === "bad") {
      if (l.prefix) {
        const nx = lines[i + 1];
        const continues = nx?.kind === "record" && nx.seq === exp.seq && nx.prev === exp.prev;
        report(
          n,
          exp.seq,
          "truncated",
          `truncated record at line ${n} (crash while writing)${
            continues
              ? "; the chain continues correctly after it, but no audit.resume record accounts for it (it was resumed by something other than AuditLog, or the line was inserted)"
              : ", and no audit.resume record accounts for it"
          }`,
        );
      } else report(n, undefined, "bad JSON", l.detail);
      continue;
    }
    if (l.kind === "broken") {
      report(n, undefined, l.reason, l.detail);
      continue;
    }
    count++;
    lastRecordLine = n;
    const r = l;
    let reason: AuditProblemReason | undefined;
    let detail = "";
    if (!r.hashOk) {
      if (r.extra.length) {
        reason = "added field";
        detail = `field ${r.extra.map((k) => JSON.stringify(k)).join(", ")} was added (the record does not match its hash)`;
      } else if (r.missing.length) {
        reason = "removed field";
        detail = `field ${r.missing.map((k) => JSON.stringify(k)).join(", ")} was removed (the record does not match its hash)`;
      } else {
        reason = "edited";
        detail = "the record does not match its hash";
      }
    } else if (!r.exact) {
      reason = "edited";
      detail =
        "the line is not byte for byte as written (whitespace, escapes, key order or number format changed), although its content matches its hash";
    } else if (seenHash.has(r.hash)) {
      report(n, r.seq, "duplicated", `a copy of line ${seenHash.get(r.hash)}`);
      continue;
    } else if (isResume(r) && (i > 0 || genesis) && !claimed.has(i)) {
      // (On line 1 of an anchored log the torn line may be in the previous file.)
      reason = "removed";
      const t = r.o.event.torn;
      detail = `it accounts for ${t.lines} torn line${t.lines === 1 ? "" : "s"} (${describe(t.bytes)} bytes) right before it, but ${i > 0 ? `line ${n - 1} is not the last of them` : "there is none"}: torn lines were removed or edited`;
    } else if (r.seq === exp.seq && r.prev === exp.prev) {
      // in place
    } else if (r.seq === exp.seq) {
      reason = "edited";
      detail = sawRecord
        ? `its prev (${short(r.prev)}) is not the hash of the record before (${short(exp.prev)}): a record before it was replaced, or it comes from another chain`
        : `the log must start ${startName}, but its prev is ${short(r.prev)} (a made-up start, or the wrong anchor)`;
    } else if (r.seq > exp.seq) {
      const other = findSeq(exp.seq, r.seq);
      if (other) {
        reason = "reordered";
        detail = `seq ${r.seq} comes where seq ${exp.seq} was expected; seq ${other[0]} is at line ${other[1]}`;
      } else {
        reason = "removed";
        detail = sawRecord
          ? `${range(exp.seq, r.seq - 1)} missing (seq gap)`
          : genesis
            ? `the log starts at seq ${r.seq}: ${range(0, r.seq - 1)} missing (the oldest records were removed; verify a rotated or trimmed log with the anchor of the record before its first line)`
            : `the log must start ${startName}: ${range(exp.seq, r.seq - 1)} missing`;
      }
    } else if (seenSeq.has(r.seq)) {
      reason = "inserted";
      detail = `seq ${r.seq} is also at line ${seenSeq.get(r.seq)}, with different content: a record was inserted or the chain forked`;
    } else {
      reason = "reordered";
      detail = sawRecord
        ? `seq ${r.seq} comes after seq ${exp.seq - 1}`
        : `the log must start ${startName}, but starts at seq ${r.seq}, before it`;
    }
    if (reason) report(n, r.seq, reason, detail);
    exp = { seq: r.seq + 1, prev: r.hash };
    end = { seq: r.seq, hash: r.hash };
    sawRecord = true;
    if (!seenHash.has(r.hash)) seenHash.set(r.hash, n);
    if (!seenSeq.has(r.seq)) seenSeq.set(r.seq, n);
  }
  if (opts.head !== undefined && opts.head !== end.hash) {
    const at = seenHash.get(opts.head);
    const last = lastRecordLine || lines.length;
    if (at !== undefined) {
      report(
        last,
        end.seq,
        "inserted",
        `the expected head is the record at line ${at}: the records after it were added later (or the head is stale)`,
      );
    } else {
      report(
        last,
        sawRecord ? end.seq : undefined,
        "truncated",
        `the log ends at ${sawRecord ? `seq ${end.seq} (hash ${short(end.hash)})` : "its anchor"} but the expected head is ${short(opts.head)}: records after line ${lastRecordLine} were removed, or the log was replaced`,
      );
    }
  }
  return {
    ok: problems.length === 0,
    count,
    head: end.hash,
    end,
    ...(problems.length ? { firstBad: problems[0] } : {}),
    problems,
    torn,
  };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === "object" && e !== null ? describe(e) : String(e);
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
