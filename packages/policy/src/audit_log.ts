import fs from "node:fs";
import { type Logger, pino } from "pino";
import { canonicalJson, sha256Hex } from "./_util.ts";

/** The hash that precedes the first entry of a chain. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * One audited event: a `kind` ("decision", "wasi", "plugin.start", ...) plus any
 * JSON-serialisable fields.
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
 * An entry of the chain as written: `hash = sha256(prev + canonicalJson({seq, time, prev, event}))`.
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
 * Where audit lines go besides memory: a file path (appended, synchronously) or any
 * object with `write(line)`.
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
  /** Also write every line here. */
  readonly destination?: AuditSink;
  /** How many lines to keep in memory for {@link AuditLog.export} (default: all). */
  readonly keep?: number;
  /** The clock (tests); default `Date.now`. */
  readonly now?: () => number;
  /** Continue an existing chain: the hash and seq of its last entry. */
  readonly resume?: { readonly head: string; readonly seq: number };
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
  /** Entries checked. */
  readonly count: number;
  /** The hash of the last entry (compare with a head you stored elsewhere). */
  readonly head: string;
  /** The problems, each with the 1-based line number. */
  readonly problems: ReadonlyArray<{ readonly line: number; readonly problem: string }>;
}

/**
 * A tamper-evident audit trail: pino JSON lines, each hash-chained to the one before.
 * Editing, deleting, inserting or reordering a line breaks the chain, which
 * {@link AuditLog.verify} / {@link verifyAuditChain} detect; truncating the tail is
 * detected by comparing the head with one stored elsewhere (`verify(text, {head})`).
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
  readonly #lines: string[] = [];
  readonly #keep: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(e: AuditEntry) => void>();
  #head: string;
  #seq: number;
  #fileFd: number | undefined;
  #current: string | undefined;

  constructor(opts: AuditLogOptions = {}) {
    this.#keep = opts.keep ?? Number.POSITIVE_INFINITY;
    this.#now = opts.now ?? Date.now;
    this.#head = opts.resume?.head ?? GENESIS_HASH;
    this.#seq = opts.resume ? opts.resume.seq + 1 : 0;
    const dest = opts.destination;
    let sinkWrite: ((line: string) => void) | undefined;
    if (typeof dest === "string") {
      const fd = fs.openSync(dest, "a", 0o600);
      this.#fileFd = fd;
      sinkWrite = (line) => {
        fs.writeSync(fd, line);
      };
    } else if (dest) {
      sinkWrite = (line) => {
        dest.write(line);
      };
    }
    const stream = {
      write: (line: string) => {
        this.#current = line;
        if (this.#keep > 0) {
          this.#lines.push(line);
          // Trim in batches: splicing on every append would copy the window each time.
          if (this.#lines.length >= this.#keep + Math.max(64, this.#keep)) {
            this.#lines.splice(0, this.#lines.length - this.#keep);
          }
        }
        sinkWrite?.(line);
      },
    };
    this.#logger = pino({ base: null, timestamp: false, messageKey: "msg" }, stream);
  }

  /** The hash of the newest entry (GENESIS_HASH when empty). */
  get head(): string {
    return this.#head;
  }

  /** The sequence number the next entry gets. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Appends an event and returns its entry. */
  append(event: AuditEvent): AuditEntry {
    const seq = this.#seq++;
    const time = new Date(this.#now()).toISOString();
    const prev = this.#head;
    // The canonical form is what is hashed; logging its parse keeps line and hash in
    // agreement for values JSON cannot carry as is (BigInt, Uint8Array, undefined).
    const canonical = canonicalJson({ seq, time, prev, event });
    const hash = sha256Hex(prev + canonical);
    this.#head = hash;
    const ev = canonicalJson.state.lossy
      ? (JSON.parse(canonical) as { event: AuditEvent }).event
      : event;
    const entry: AuditEntry = { seq, time, prev, hash, event: ev };
    this.#logger.info({ seq, time, prev, hash, event: ev }, "audit");
    for (const l of this.#listeners) l(entry);
    return entry;
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
    return this.#window().map((l) => {
      const o = JSON.parse(l);
      return { seq: o.seq, time: o.time, prev: o.prev, hash: o.hash, event: o.event };
    });
  }

  /** The kept lines as JSON-lines text (what {@link verifyAuditChain} reads). */
  export(): string {
    return this.#window().join("");
  }

  #window(): string[] {
    return this.#lines.length > this.#keep
      ? this.#lines.slice(this.#lines.length - this.#keep)
      : this.#lines;
  }

  /** Writes {@link AuditLog.export} to a file (mode 0600). */
  exportTo(path: string): void {
    fs.writeFileSync(path, this.export(), { mode: 0o600 });
  }

  /** Verifies this log's kept lines against its own head. */
  verifySelf(): VerifyResult {
    return verifyAuditChain(this.export(), { head: this.#head });
  }

  /** Closes the destination file, if any. */
  close(): void {
    if (this.#fileFd !== undefined) fs.closeSync(this.#fileFd);
    this.#fileFd = undefined;
  }

  /** Same as {@link verifyAuditChain}. */
  static verify(input: string | readonly string[], opts?: { head?: string }): VerifyResult {
    return verifyAuditChain(input, opts);
  }
}

function entryHash(seq: number, time: string, prev: string, event: AuditEvent): string {
  return sha256Hex(prev + canonicalJson({ seq, time, prev, event }));
}

/**
 * Checks a hash chain of audit lines: every line parses, its hash matches its content,
 * its `prev` is the hash of the line before and its `seq` follows. A chain exported
 * from the middle (memory limit) starts at its first line's `prev`. With `head`, the
 * last hash must equal it (detects a truncated tail).
 *
 * @example
 * ```ts
 * import { AuditLog, verifyAuditChain } from "@forge/policy";
 * const log = new AuditLog();
 * log.append({ kind: "a" });
 * log.append({ kind: "b" });
 * const lines = log.export().trimEnd().split("\n");
 * console.log(verifyAuditChain([lines[1], lines[0]].join("\n")).ok); // false
 * ```
 */
export function verifyAuditChain(
  input: string | readonly string[],
  opts: { head?: string } = {},
): VerifyResult {
  const lines = (typeof input === "string" ? input.split("\n") : [...input]).filter(
    (l) => l.trim() !== "",
  );
  const problems: { line: number; problem: string }[] = [];
  let prevHash: string | undefined;
  let prevSeq: number | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    let o: any;
    try {
      o = JSON.parse(line);
    } catch {
      problems.push({ line: n, problem: "is not JSON" });
      prevHash = undefined;
      return;
    }
    if (typeof o.hash !== "string" || typeof o.prev !== "string" || typeof o.seq !== "number") {
      problems.push({ line: n, problem: "lacks seq/prev/hash" });
      prevHash = undefined;
      return;
    }
    const want = entryHash(o.seq, o.time, o.prev, o.event);
    if (want !== o.hash)
      problems.push({ line: n, problem: `seq ${o.seq}: content does not match its hash (edited)` });
    if (prevHash !== undefined && o.prev !== prevHash) {
      problems.push({
        line: n,
        problem: `seq ${o.seq}: prev does not match the line before (deleted, inserted or reordered)`,
      });
    }
    if (prevSeq !== undefined && o.seq !== prevSeq + 1) {
      problems.push({ line: n, problem: `seq ${o.seq} follows ${prevSeq} (gap or reorder)` });
    }
    if (prevHash === undefined && i === 0 && o.seq === 0 && o.prev !== GENESIS_HASH) {
      problems.push({ line: n, problem: "the first entry does not start from the genesis hash" });
    }
    prevHash = o.hash;
    prevSeq = o.seq;
  });
  const head = prevHash ?? GENESIS_HASH;
  if (opts.head !== undefined && opts.head !== head) {
    problems.push({
      line: lines.length,
      problem: `the chain ends at ${head.slice(0, 12)}…, expected head ${opts.head.slice(0, 12)}… (truncated or replaced)`,
    });
  }
  return { ok: problems.length === 0, count: lines.length, head, problems };
}
