// Fuzz target: seccomp profile documents through parse + validate + compile. Valid
// documents are drawn from the schema's shape; mutated ones put wrong types, objects
// where strings go, deep nesting, huge numbers, junk and prototype keys ("__proto__",
// "constructor") anywhere, or break the text itself. Every input must end as a
// compiled filter, a ProfileError whose issues each have a JSON pointer (that exists,
// for validation problems) and a one-line sentence, or the documented CompileError
// of a filter too long to load; nothing else, and never in more than 5 s.
// Seed and time budget: test/fuzz_setup.ts (npm run fuzz runs it longer).
import fc from "fast-check";
import { expect, test } from "vitest";
import { ACTION_NAMES } from "./action.ts";
import { CompileError, compileProfile } from "./compile.ts";
import { checkFilter } from "./emulator.ts";
import {
  OPERATORS,
  ProfileError,
  type ProfileIssue,
  ProfileSyntaxError,
  parseProfileText,
  profileSchema,
} from "./profile.ts";

const schema = profileSchema();
const ARCHES: string[] = schema.definitions.arch.enum;
const FLAGS: string[] = schema.properties.flags.items.enum;
const NAMES = [
  "read",
  "write",
  "openat",
  "open",
  "ioctl",
  "socket",
  "clone",
  "clone3",
  "personality",
  "mmap",
  "kill",
  "socketcall",
  "arch_prctl",
  "cacheflush",
  "_llseek",
  "opne",
  "nope_call",
];
const PROTO_KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "prototype",
];

/** A number written as is in the text (JSON.stringify cannot write 1e400 or 2^64). */
class Raw {
  constructor(readonly text: string) {}
}
/** `depth` nested arrays, written without building them. */
class Deep {
  constructor(readonly depth: number) {}
}

/** JSON text of a document that may hold Raw and Deep, and own "__proto__" keys. */
function write(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Deep) return `${"[".repeat(v.depth)}${"]".repeat(v.depth)}`;
  if (Array.isArray(v)) return `[${v.map(write).join(",")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${write((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  if (typeof v === "bigint") return v.toString();
  return JSON.stringify(v) ?? "null";
}

const u64 = fc.oneof(
  fc.nat(),
  fc.constantFrom(0, 1, 0x5412, 0xffffffff, 2 ** 53 - 1),
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }).map((b) => b.toString()),
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }).map((b) => `0x${b.toString(16)}`),
  fc.bigInt({ min: 2n ** 53n, max: 0xffffffffffffffffn }).map((b) => new Raw(b.toString())),
);

const filterArb = fc.record(
  {
    arches: fc.array(fc.constantFrom("amd64", "arm64", "x86_64", "s390x", "386"), { maxLength: 3 }),
    caps: fc.array(fc.constantFrom("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_BPF"), { maxLength: 2 }),
    minKernel: fc.constantFrom("4.8", "5.8", "6.1", "7.0.1"),
  },
  { requiredKeys: [] },
);

const argArb = fc.record(
  {
    index: fc.integer({ min: 0, max: 5 }),
    value: u64,
    valueTwo: u64,
    op: fc.constantFrom(...OPERATORS),
  },
  { requiredKeys: ["index", "value", "op"] },
);

const ruleArb = fc.record(
  {
    names: fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
    action: fc.constantFrom(...ACTION_NAMES.filter((a) => a !== "SCMP_ACT_NOTIFY")),
    errnoRet: fc.integer({ min: 0, max: 65535 }),
    args: fc.array(argArb, { maxLength: 3 }),
    comment: fc.string(),
    includes: filterArb,
    excludes: filterArb,
  },
  { requiredKeys: ["names", "action"] },
);

/** Documents of the schema's shape (most valid; the semantic rules are not all kept). */
const validDoc = fc.record(
  {
    defaultAction: fc.constantFrom(...ACTION_NAMES.filter((a) => a !== "SCMP_ACT_NOTIFY")),
    defaultErrnoRet: fc.integer({ min: 0, max: 65535 }),
    architectures: fc.array(fc.constantFrom(...ARCHES), { maxLength: 4 }),
    flags: fc.subarray(FLAGS),
    syscalls: fc.array(ruleArb, { maxLength: 8 }),
    comment: fc.string(),
  },
  { requiredKeys: ["defaultAction"] },
);

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    { toString: 1 },
    { valueOf: {} },
    [],
    {},
    null,
    "",
    "SCMP_ACT_ALLOW",
    "0x",
    "-1",
    "18446744073709551616",
  ),
  fc
    .constantFrom(
      "1e400",
      "-1e400",
      "1e19",
      "-0",
      "1.5",
      "18446744073709551615",
      "18446744073709551616",
      "99999999999999999999999",
      "-99999999999999999999",
      "4.9e-324",
    )
    .map((t) => new Raw(t)),
  fc.integer({ min: 60, max: 12_000 }).map((d) => new Deep(d)),
  fc.string({ maxLength: 20 }),
);
const junkKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 12 }));

/** Every (container, key) of a document, to mutate one. */
function places(
  doc: unknown,
): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    else if (typeof v === "object" && v !== null && !(v instanceof Raw) && !(v instanceof Deep))
      for (const k of Object.keys(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk((v as Record<string, unknown>)[k]);
      }
  };
  walk(doc);
  return out;
}

type Mutation =
  | { kind: "replace"; at: number; with: unknown }
  | { kind: "add"; at: number; key: string; with: unknown }
  | { kind: "delete"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), with: junk }),
  fc.record({ kind: fc.constant("add" as const), at: fc.nat(), key: junkKey, with: junk }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
);

/** A deep copy that keeps Raw and Deep as they are. */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (typeof v !== "object" || v === null || v instanceof Raw || v instanceof Deep) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v))
    Object.defineProperty(out, k, {
      value: clone((v as Record<string, unknown>)[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function mutate(doc: Record<string, unknown>, ms: readonly Mutation[]): unknown {
  const root: { doc: unknown } = { doc: clone(doc) };
  for (const m of ms) {
    const ps = [
      { parent: root as unknown as Record<string, unknown>, key: "doc" },
      ...places(root.doc),
    ];
    const { parent, key } = ps[m.at % ps.length]!;
    const set = (o: Record<string, unknown> | unknown[], k: string | number, v: unknown) =>
      Object.defineProperty(o, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    // Junk is copied: fast-check hands out the same constant objects again.
    if (m.kind === "replace") set(parent, key, clone(m.with));
    else if (m.kind === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (parent !== (root as unknown)) delete parent[key as string];
    } else {
      const target = parent[key as never] as unknown;
      if (typeof target === "object" && target !== null && !Array.isArray(target))
        set(target as Record<string, unknown>, m.key, clone(m.with));
      else set(parent, key, { [m.key]: clone(m.with) });
    }
  }
  return root.doc;
}

/** Text-level damage: cut it, or put a character in or out. */
const textEdit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("cut", "insert", "drop"),
  char: fc.constantFrom(",", "]", "}", "{", '"', ":", "\\", "x", "\n", "\u0000", "'", "/"),
});

const documents: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: validDoc.map(write) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(validDoc, fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([d, ms]) => write(mutate(d, ms))),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(validDoc, textEdit).map(([d, e]) => {
      const t = write(d);
      const at = e.at % (t.length + 1);
      if (e.kind === "cut") return t.slice(0, at);
      if (e.kind === "drop") return t.slice(0, at) + t.slice(at + 1);
      return t.slice(0, at) + e.char + t.slice(at);
    }),
  },
);

/** The value at a JSON pointer, or undefined. */
function at(doc: unknown, pointer: string): unknown {
  if (pointer === "") return doc;
  let v: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const k = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A sentence a user can act on: one line, no leftovers of JavaScript. */
function expectReadable(issue: ProfileIssue, what: string, nanInInput = false): void {
  expect(issue.pointer, what).toMatch(/^(|\/[\s\S]*)$/);
  expect(issue.message.length, what).toBeGreaterThan(10);
  expect(issue.message.length, what).toBeLessThan(700);
  // Quoted input ("...") may say anything; the rest must not show JavaScript's leftovers.
  const own = issue.message.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  expect(own, what).not.toMatch(
    /\n|undefined|\[object |Cannot |is not a function|Maximum call stack|Unexpected token/,
  );
  // JSON text has no NaN: one in a message is a computation gone wrong.
  if (!nanInInput) expect(own, what).not.toMatch(/NaN/);
}

function outcome(text: string, arch: "x86_64" | "aarch64"): string {
  const started = performance.now();
  let parsed: unknown;
  try {
    parsed = parseProfileText(text, "fuzz.json");
    const f = compileProfile(parsed, { arch, kernel: "6.1" }, "fuzz.json");
    expect(checkFilter(f.program)).toEqual([]);
    for (const w of f.resolved.warnings) {
      expectReadable(w, `warning ${w.pointer}`);
      expect(at(parsed, w.pointer), `warning at ${w.pointer}`).not.toBe(undefined);
    }
    return "filter";
  } catch (e) {
    if (e instanceof ProfileSyntaxError) {
      expect(e.message).toMatch(
        /^fuzz\.json:\d+:\d+: (not valid JSON: |nested deeper than 64|an array of more|an object with more)/,
      );
      expect(e.message).not.toMatch(/\n/);
      expect(e.line).toBeLessThanOrEqual(text.split("\n").length);
      expectReadable(e.issues[0]!, text.slice(0, 200));
      return "syntax";
    }
    if (e instanceof ProfileError) {
      expect(e.issues.length).toBeGreaterThan(0);
      // A head line, then one line per problem.
      for (const line of e.message.split("\n").slice(1)) expect(line).toMatch(/^ {2}\S/);
      for (const i of e.issues) {
        expectReadable(i, `${i.pointer}: ${i.message}`);
        // Validation problems point at something that is there (the whole document
        // when it is no object: parsing refused it).
        if (parsed === undefined) expect(i.pointer).toBe("");
        else
          expect(at(parsed, i.pointer), `${i.pointer} in ${text.slice(0, 300)}`).not.toBe(
            undefined,
          );
        expect(i.line, i.pointer).toBeGreaterThan(0);
      }
      return "profile";
    }
    if (e instanceof CompileError && /instructions; the kernel loads at most 4096/.test(e.message))
      return "too long";
    throw e;
  } finally {
    expect(performance.now() - started).toBeLessThan(5000);
  }
}

test("seccomp profile documents: a filter or a ProfileError with pointers, never a crash", () => {
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(documents, fc.constantFrom("x86_64" as const, "aarch64" as const), (text, arch) => {
      const o = outcome(text, arch);
      seen.set(o, (seen.get(o) ?? 0) + 1);
    }),
  );
  // The generators reach every kind of outcome but the rare one.
  for (const kind of ["filter", "syntax", "profile"])
    expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
});

test("any JavaScript value as a profile object: a filter or a ProfileError, never a crash", () => {
  const anything = fc.anything({
    maxDepth: 4,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withNullPrototype: true,
    withObjectString: true,
    withSet: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  });
  const obj = fc.oneof(
    anything,
    fc
      .tuple(
        validDoc,
        fc.dictionary(
          fc.oneof(
            fc.constantFrom(...PROTO_KEYS, "defaultAction", "syscalls", "architectures"),
            fc.string(),
          ),
          anything,
          { maxKeys: 3 },
        ),
      )
      .map(([d, extra]) => {
        const o: Record<string, unknown> = JSON.parse(write(d).replace(/"__proto__"/g, '"proto"'));
        for (const k of Object.keys(extra))
          Object.defineProperty(o, k, {
            value: extra[k],
            enumerable: true,
            writable: true,
            configurable: true,
          });
        return o;
      }),
  );
  fc.assert(
    fc.property(obj, (input) => {
      const started = performance.now();
      try {
        compileProfile(input, { arch: "x86_64", kernel: "6.1" });
      } catch (e) {
        if (e instanceof ProfileError) {
          for (const line of e.message.split("\n").slice(1)) expect(line).toMatch(/^ {2}\S/);
          for (const i of e.issues) expectReadable(i, `${i.pointer}: ${i.message}`, true);
        } else if (!(e instanceof CompileError && /instructions/.test(e.message))) throw e;
      }
      expect(performance.now() - started).toBeLessThan(5000);
    }),
  );
});
