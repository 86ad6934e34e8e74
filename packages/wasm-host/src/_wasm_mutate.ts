// Test helper: fast-check arbitraries of WebAssembly inputs for the fuzz targets:
// arbitrary bytes, the magic followed by arbitrary bytes, arbitrary sections with
// correct sizes, and valid seed modules mutated byte by byte (flip, insert, delete,
// rewrite a LEB128: nudge it, replace it with a large or overlong one) either across the
// whole file or inside one section whose size is then rewritten to match, so that the
// mutation reaches the section's contents instead of breaking its framing.
import fc from "fast-check";

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** One mutation of a byte string; positions are taken modulo its length. */
export type Mutation =
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "leb"; readonly at: number; readonly value: number; readonly width: number }
  | { readonly kind: "nudge"; readonly at: number; readonly delta: number };

/** Mutations of a seed: inside section `section` (modulo their number) or, if null, the file. */
export interface MutationPlan {
  readonly seed: number;
  readonly section: number | null;
  readonly mutations: readonly Mutation[];
  /** Structural changes after the byte mutations: drop, duplicate or swap sections. */
  readonly reorder: "none" | "drop" | "duplicate" | "swap";
  readonly other: number;
}

/** Unsigned LEB128 of `value` in at least `width` bytes (padded with 0x80 continuations). */
export function leb(value: number, width = 1): number[] {
  const out: number[] = [];
  let v = value;
  do {
    out.push(v % 128);
    v = Math.floor(v / 128);
  } while (v > 0 || out.length < width);
  for (let i = 0; i < out.length - 1; i++) out[i]! |= 0x80;
  return out;
}

function readLeb(b: readonly number[], at: number): { value: number; end: number } {
  let value = 0;
  let scale = 1;
  let i = at;
  while (i < b.length && i - at < 10) {
    const x = b[i++]!;
    value += (x & 0x7f) * scale;
    scale *= 128;
    if ((x & 0x80) === 0) break;
  }
  return { value, end: i };
}

function mutate(bytes: number[], m: Mutation): number[] {
  const b = bytes.slice();
  const at = b.length === 0 ? 0 : m.at % (b.length + (m.kind === "insert" ? 1 : 0));
  switch (m.kind) {
    case "set":
      if (b.length > 0) b[at] = m.value;
      return b;
    case "insert":
      b.splice(at, 0, ...m.bytes);
      return b;
    case "delete":
      b.splice(at, m.length);
      return b;
    case "leb": {
      if (b.length === 0) return b;
      const { end } = readLeb(b, at);
      b.splice(at, end - at, ...leb(m.value, m.width));
      return b;
    }
    case "nudge": {
      if (b.length === 0) return b;
      const { value, end } = readLeb(b, at);
      b.splice(at, end - at, ...leb(Math.max(0, value + m.delta)));
      return b;
    }
  }
}

interface Split {
  id: number;
  payload: number[];
}

/** Splits a valid module into its sections (seeds only: no checks). */
function split(bytes: Uint8Array): Split[] {
  const b = Array.from(bytes);
  const out: Split[] = [];
  let i = 8;
  while (i < b.length) {
    const id = b[i++]!;
    const { value, end } = readLeb(b, i);
    out.push({ id, payload: b.slice(end, end + value) });
    i = end + value;
  }
  return out;
}

function join(sections: readonly Split[]): Uint8Array {
  return Uint8Array.from([
    ...MAGIC,
    ...sections.flatMap((s) => [s.id, ...leb(s.payload.length), ...s.payload]),
  ]);
}

/** Applies a plan to its seed (chosen modulo the number of seeds). */
export function applyPlan(seeds: readonly Uint8Array[], plan: MutationPlan): Uint8Array {
  const seed = seeds[plan.seed % seeds.length]!;
  let sections = split(seed);
  if (plan.section === null) {
    let b = Array.from(seed);
    for (const m of plan.mutations) b = mutate(b, m);
    return Uint8Array.from(b);
  }
  if (sections.length > 0) {
    const k = plan.section % sections.length;
    let p = sections[k]!.payload;
    for (const m of plan.mutations) p = mutate(p, m);
    sections[k] = { id: sections[k]!.id, payload: p };
    const o = plan.other % sections.length;
    if (plan.reorder === "drop") sections.splice(o, 1);
    else if (plan.reorder === "duplicate") sections.splice(o, 0, sections[o]!);
    else if (plan.reorder === "swap") {
      sections = sections.slice();
      [sections[k], sections[o]] = [sections[o]!, sections[k]!];
    }
  }
  return join(sections);
}

const lebValue = fc.oneof(
  fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0x3fff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
  fc.constantFrom(2 ** 32, 2 ** 34, 2 ** 35 - 1),
  fc.nat(1000),
  fc.nat(),
);

/** One mutation. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({
    kind: fc.constant("leb" as const),
    at: fc.nat(),
    value: lebValue,
    width: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({
    kind: fc.constant("nudge" as const),
    at: fc.nat(),
    delta: fc.integer({ min: -3, max: 3 }),
  }),
);

/** Plans of one to four mutations of a seed. */
export const plan: fc.Arbitrary<MutationPlan> = fc.record({
  seed: fc.nat(),
  section: fc.option(fc.nat(), { freq: 4 }),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  reorder: fc.constantFrom("none", "none", "none", "drop", "duplicate", "swap"),
  other: fc.nat(),
});

/** Mutated seed modules. */
export function mutatedModules(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return plan.map((p) => applyPlan(seeds, p));
}

/** Sections of arbitrary ids (known and unknown) and bytes, framed with correct sizes. */
export const arbitrarySections: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.record({
      id: fc.oneof(fc.integer({ min: 0, max: 13 }), fc.nat(255)),
      payload: fc.oneof(
        fc.array(fc.nat(255), { maxLength: 24 }),
        // a small count first, as most sections start with one
        fc
          .tuple(fc.nat(3), fc.array(fc.nat(255), { maxLength: 24 }))
          .map(([n, rest]) => [n, ...rest]),
      ),
    }),
    { maxLength: 6 },
  )
  .map(join);

/** Every kind of input: arbitrary bytes, the magic then bytes, framed sections, mutated seeds. */
export function wasmInputs(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
    {
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([...MAGIC, ...b])),
      weight: 2,
    },
    { arbitrary: arbitrarySections, weight: 3 },
    { arbitrary: mutatedModules(seeds), weight: 8 },
  );
}

/**
 * Asserts that `e` is what a user may get: an instance of one of `classes` (by
 * default none but the module error) whose message is one line that names no
 * internal value (undefined, NaN, [object ...]).
 */
export function expectUserError(
  e: unknown,
  classes: ReadonlyArray<abstract new (...a: never[]) => Error>,
): void {
  if (!classes.some((c) => e instanceof c)) {
    throw new Error(`not a documented error class: ${(e as Error)?.stack ?? String(e)}`);
  }
  const m = (e as Error).message;
  if (m.length === 0 || /[\n\r]/.test(m) || /\bundefined\b|\bNaN\b|\[object /.test(m)) {
    throw new Error(`not a one-line message a user can act on: ${JSON.stringify(m)}`);
  }
}

/** What the engine says: `WebAssembly.validate` (the reference the fuzz targets hold Forge to). */
export function engineAccepts(bytes: Uint8Array): boolean {
  return WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>);
}
