// Low-level WebAssembly binary reading and writing (LEB128, sections).

/** A decoding or encoding problem in a module's bytes. */
export class BinaryError extends Error {
  override name = "BinaryError";
}

export class Reader {
  pos: number;
  readonly end: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }
  eof(): boolean {
    return this.pos >= this.end;
  }
  byte(): number {
    if (this.pos >= this.end) throw new BinaryError(`unexpected end of data at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }
  peek(): number {
    if (this.pos >= this.end) throw new BinaryError(`unexpected end of data at byte ${this.pos}`);
    return this.buf[this.pos]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 35) throw new BinaryError(`LEB128 too long at byte ${this.pos}`);
    }
    return result;
  }
  u64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 70n) throw new BinaryError(`LEB128 too long at byte ${this.pos}`);
    }
    return result;
  }
  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new BinaryError(`LEB128 too long at byte ${this.pos}`);
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end)
      throw new BinaryError(`unexpected end of data at byte ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  name(): string {
    const n = this.u32();
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes(n));
  }
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
}

export const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new BinaryError(
      "not a WebAssembly module (bad magic or version; only binary version 1 modules are supported)",
    );
  }
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (!r.eof()) {
    const id = r.byte();
    const size = r.u32();
    out.push({ id, payload: r.bytes(size) });
  }
  return out;
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
  const flags = r.byte();
  const memory64 = (flags & 0x04) !== 0;
  const shared = (flags & 0x02) !== 0;
  const hasMax = (flags & 0x01) !== 0;
  if (flags > 0x07) throw new BinaryError(`unknown limits flags 0x${flags.toString(16)}`);
  const min = memory64 ? r.u64() : r.u32();
  const max = hasMax ? (memory64 ? r.u64() : r.u32()) : undefined;
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
