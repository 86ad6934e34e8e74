// Low-level WebAssembly binary reading and writing (LEB128, sections).

/**
 * A decoding problem in a module's bytes: what is wrong, the byte offset in the module
 * where it is, and (once known) the section's name. Internal: the public functions turn
 * it into a WasmModuleError.
 */
export class BinaryError extends Error {
  override name = "BinaryError";
  section: string | undefined;
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Reads a module's bytes. Every length and count is checked against the bytes that are
 * left before anything is allocated, integers against their range and encoded length,
 * names as UTF-8; errors say what and at which byte of the module (`base` is the
 * module offset of `buf[0]`).
 */
export class Reader {
  pos: number;
  readonly end: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    readonly base = 0,
  ) {
    this.pos = start;
    this.end = end;
  }
  /** The module offset of the next byte. */
  get offset(): number {
    return this.base + this.pos;
  }
  /** Bytes left. */
  get left(): number {
    return this.end - this.pos;
  }
  eof(): boolean {
    return this.pos >= this.end;
  }
  #ends(what: string): never {
    throw new BinaryError(
      `the data ends at byte ${this.offset}, where ${what} should be`,
      this.offset,
    );
  }
  byte(what = "a byte"): number {
    if (this.pos >= this.end) this.#ends(what);
    return this.buf[this.pos++]!;
  }
  peek(): number {
    if (this.pos >= this.end) this.#ends("a byte");
    return this.buf[this.pos]!;
  }
  /** An unsigned LEB128 of at most 5 bytes whose value fits in 32 bits. */
  u32(what = "an integer"): number {
    const at = this.offset;
    let result = 0;
    for (let i = 0; ; i++) {
      const b = this.byte(what);
      if (i === 4 && b > 0x0f) {
        throw new BinaryError(
          `${what} at byte ${at}: ${b & 0x80 ? "longer than 5 bytes" : "above 2^32 - 1"}`,
          at,
        );
      }
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result;
    }
  }
  /** An unsigned LEB128 of at most 10 bytes whose value fits in 64 bits. */
  u64(what = "an integer"): bigint {
    const at = this.offset;
    let result = 0n;
    for (let i = 0; ; i++) {
      const b = this.byte(what);
      if (i === 9 && b > 0x01) {
        throw new BinaryError(
          `${what} at byte ${at}: ${b & 0x80 ? "longer than 10 bytes" : "above 2^64 - 1"}`,
          at,
        );
      }
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return result;
    }
  }
  /**
   * A vector's count: a u32 that cannot exceed the bytes left (every item takes at
   * least one), so that no count can make the reader allocate or loop for nothing.
   */
  count(what: string): number {
    const at = this.offset;
    const n = this.u32(`the count of ${what}`);
    if (n > this.left) {
      throw new BinaryError(
        `the count of ${what} at byte ${at} is ${n}, but only ${plural(this.left, "byte")} ${this.left === 1 ? "follows" : "follow"}`,
        at,
      );
    }
    return n;
  }
  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb(): void {
    const at = this.offset;
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new BinaryError(`an integer at byte ${at} is longer than 10 bytes`, at);
  }
  bytes(n: number, what = "the data"): Uint8Array {
    if (n > this.left) {
      throw new BinaryError(
        `${what} at byte ${this.offset} is ${plural(n, "byte")} long, but only ${plural(this.left, "byte")} ${this.left === 1 ? "is" : "are"} left`,
        this.offset,
      );
    }
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A name: a byte length, then that many bytes of valid UTF-8. */
  name(what = "a name"): string {
    const at = this.offset;
    const n = this.u32(`the length of ${what}`);
    const b = this.bytes(n, what);
    try {
      return UTF8.decode(b);
    } catch {
      throw new BinaryError(`invalid UTF-8 in ${what} at byte ${at}`, at);
    }
  }
  /** Checks that a section or body was read exactly to its end. */
  expectEnd(what = "the section"): void {
    if (this.pos !== this.end) {
      const n = this.left;
      throw new BinaryError(
        `${n} ${n === 1 ? "byte is" : "bytes are"} left over at the end of ${what}, from byte ${this.offset}`,
        this.offset,
      );
    }
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class Writer {
  #chunks: number[] = [];
  byte(b: number): this {
    this.#chunks.push(b & 0xff);
    return this;
  }
  u32(v: number): this {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.#chunks.push(b);
    } while (v !== 0);
    return this;
  }
  u64(v: bigint): this {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.#chunks.push(b);
    } while (v !== 0n);
    return this;
  }
  s32(v: number): this {
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.#chunks.push(b);
        return this;
      }
      this.#chunks.push(b | 0x80);
    }
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.#chunks.push(b[i]!);
    return this;
  }
  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u32(b.length).bytes(b);
  }
  /** A vector: count then the items, each written by `f`. */
  vec<T>(items: readonly T[], f: (w: Writer, item: T) => void): this {
    this.u32(items.length);
    for (const it of items) f(this, it);
    return this;
  }
  get length(): number {
    return this.#chunks.length;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

export interface Section {
  readonly id: number;
  /** The payload (without id and size). */
  payload: Uint8Array;
  /** The module offset of the payload's first byte (absent for a section made by Forge). */
  readonly offset?: number;
}

export const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** Section names by id, as the spec calls them. */
export const SECTION_NAMES: readonly string[] = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "data count",
  "tag",
];

/** Splits a module into its sections; throws a BinaryError naming the byte. */
export function readSections(bytes: Uint8Array): Section[] {
  if (!MAGIC.slice(0, 4).every((b, i) => bytes[i] === b)) {
    throw new BinaryError(
      'the bytes do not start with the WebAssembly magic "\\0asm" (00 61 73 6d); is it a text (.wat) module, or not WebAssembly at all?',
      0,
    );
  }
  if (bytes.length < 8) {
    throw new BinaryError(
      `the data ends at byte ${bytes.length}, inside the 8-byte header (magic and version)`,
      bytes.length,
    );
  }
  if (!MAGIC.slice(4).every((b, i) => bytes[i + 4] === b)) {
    const v = Array.from(bytes.subarray(4, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new BinaryError(
      `binary version ${v} at byte 4 is not 01 00 00 00: only WebAssembly modules of version 1 are supported (components are not)`,
      4,
    );
  }
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (!r.eof()) {
    const at = r.offset;
    const id = r.byte();
    if (id >= SECTION_NAMES.length) {
      throw new BinaryError(`unknown section id ${id} at byte ${at}`, at);
    }
    try {
      const size = r.u32("the section size");
      const offset = r.offset;
      out.push({ id, payload: r.bytes(size, "the section"), offset });
    } catch (e) {
      if (e instanceof BinaryError) e.section = SECTION_NAMES[id];
      throw e;
    }
  }
  return out;
}

/** A reader of a section's payload that reports module offsets. */
export function sectionReader(s: Section): Reader {
  return new Reader(s.payload, 0, s.payload.length, s.offset ?? 0);
}

/** Runs `f` and names section `s` in a BinaryError it throws. */
export function inSection<T>(s: Section, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BinaryError && e.section === undefined) e.section = SECTION_NAMES[s.id];
    throw e;
  }
}

export function writeSections(sections: readonly Section[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from(MAGIC)];
  for (const s of sections) {
    parts.push(new Writer().byte(s.id).u32(s.payload.length).finish(), s.payload);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The canonical order of known sections (custom sections go anywhere). */
export const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/** Inserts `s` where a section with its id belongs. */
export function insertSection(sections: Section[], s: Section): void {
  const rank = SECTION_ORDER.indexOf(s.id);
  let at = sections.length;
  for (let i = 0; i < sections.length; i++) {
    const r = SECTION_ORDER.indexOf(sections[i]!.id);
    if (sections[i]!.id !== 0 && r > rank) {
      at = i;
      break;
    }
  }
  sections.splice(at, 0, s);
}

export interface Limits {
  min: number | bigint;
  max?: number | bigint;
  shared: boolean;
  memory64: boolean;
}

export function readLimits(r: Reader): Limits {
  const at = r.offset;
  const flags = r.byte("limits");
  const memory64 = (flags & 0x04) !== 0;
  const shared = (flags & 0x02) !== 0;
  const hasMax = (flags & 0x01) !== 0;
  if (flags > 0x07)
    throw new BinaryError(`unknown limits flags 0x${flags.toString(16)} at byte ${at}`, at);
  const min = memory64 ? r.u64("a minimum size") : r.u32("a minimum size");
  const max = hasMax ? (memory64 ? r.u64("a maximum size") : r.u32("a maximum size")) : undefined;
  return { min, max, shared, memory64 };
}

export function writeLimits(w: Writer, l: Limits): void {
  const flags = (l.max !== undefined ? 1 : 0) | (l.shared ? 2 : 0) | (l.memory64 ? 4 : 0);
  w.byte(flags);
  const put = (v: number | bigint) => (l.memory64 ? w.u64(BigInt(v)) : w.u32(Number(v)));
  put(l.min);
  if (l.max !== undefined) put(l.max);
}

export const VALTYPES: Record<number, string> = {
  127: "i32",
  126: "i64",
  125: "f32",
  124: "f64",
  123: "v128",
  112: "funcref",
  111: "externref",
};
