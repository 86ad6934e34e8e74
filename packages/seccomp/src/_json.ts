/**
 * Strict JSON text (RFC 8259) for profiles (private): errors say where (offset and
 * the JSON pointer of the value being read) and how to fix it; integers above 2^53
 * stay exact (as decimal strings); nesting is bounded; duplicate keys are refused; a
 * "__proto__" key is an own property, never a prototype. Where each value starts is
 * kept for the document, so that later problems can say line:column too.
 *
 * @module
 */

/** How deep a document may nest. A seccomp profile needs 6 levels; other JSON files the
 * package reads (an OCI config fragment) a few more. */
export const MAX_DEPTH = 64;

/** Items per array and keys per object (a real profile has a few hundred at most). */
export const MAX_ITEMS = 10_000;

/**
 * A JSON syntax error at `offset` (UTF-16 index) while reading the value at `pointer`;
 * `limit` when the text is valid JSON but nests too deep or holds too many items.
 */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(
    message: string,
    readonly offset: number,
    readonly pointer: string,
    readonly limit = false,
  ) {
    super(message);
  }
}

/** Where each value of a parsed document starts, by JSON pointer. */
interface Located {
  readonly text: string;
  readonly offsets: ReadonlyMap<string, number>;
  lineStarts?: number[];
}

const located = new WeakMap<object, Located>();

/** A line and a column (1-based; the column counts characters, not UTF-16 units). */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return typeof key === "number" ? String(key) : key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The line and column of a UTF-16 offset of `text`. */
export function positionIn(text: string, offset: number, starts?: number[]): Position {
  const lineStarts = starts ?? lineStartsOf(text);
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  const start = lineStarts[lo]!;
  let column = 1;
  const end = Math.min(offset, text.length);
  for (let k = start; k < end; k++) {
    // The second half of a surrogate pair is no character of its own.
    const c = text.charCodeAt(k);
    const prev = k > start ? text.charCodeAt(k - 1) : 0;
    if (!(c >= 0xdc00 && c <= 0xdfff && prev >= 0xd800 && prev <= 0xdbff)) column++;
  }
  return { line: lo + 1, column };
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** The position of the value at `pointer` in the text `root` was parsed from, if known. */
export function positionOf(root: unknown, pointer: string): Position | undefined {
  if (typeof root !== "object" || root === null) return undefined;
  const l = located.get(root);
  const offset = l?.offsets.get(pointer);
  if (!l || offset === undefined) return undefined;
  l.lineStarts ??= lineStartsOf(l.text);
  return positionIn(l.text, offset, l.lineStarts);
}

/** Lets `copy` (a snapshot of `root`) answer {@link positionOf} as `root` does. */
export function sharePositions(root: unknown, copy: unknown): void {
  if (typeof root !== "object" || root === null || typeof copy !== "object" || copy === null)
    return;
  const l = located.get(root);
  if (l) located.set(copy, l);
}

/** Adds line and column to issues whose pointer has a known position in `root`. */
export function withPositions<T extends { readonly pointer: string }>(
  root: unknown,
  issues: readonly T[],
): T[] {
  return issues.map((i) => {
    const p = positionOf(root, i.pointer);
    return p ? { ...i, line: p.line, column: p.column } : i;
  });
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return "the end of the text";
  const cp = text.codePointAt(i)!;
  if (cp < 0x20 || cp === 0x7f) return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return JSON.stringify(String.fromCodePoint(cp));
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

const CONTROL_NAMES: Record<number, string> = {
  8: "\\b",
  9: "\\t",
  10: "\\n",
  12: "\\f",
  13: "\\r",
};

/**
 * Parses JSON text strictly. Throws a {@link JsonSyntaxError} with the offset and the
 * pointer of the value being read. Plain integer literals above 2^53 (16 digits or
 * more) become decimal strings, exact.
 */
export function parseJson(text: string): unknown {
  const offsets = new Map<string, number>();
  const path: string[] = [];
  /** Open containers: kind and offset, for "the text ends inside ...". */
  const open: { kind: "object" | "array"; at: number }[] = [];
  let i = 0;
  const pointer = () => (path.length === 0 ? "" : `/${path.join("/")}`);
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at, pointer());
  };
  const tooMuch = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at, pointer(), true);
  };
  const endInside = (): never => {
    const o = open[open.length - 1];
    if (!o) return fail("the text ends where a value should be");
    const p = positionIn(text, o.at);
    return fail(
      `the text ends inside the ${o.kind} opened at ${p.line}:${p.column}; add "${o.kind === "object" ? "}" : "]"}"`,
    );
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else if (c === 0x2f && (text[i + 1] === "/" || text[i + 1] === "*"))
        fail("comments are not allowed in JSON; remove it");
      else return;
    }
  };

  const str = (): string => {
    const start = i;
    i++; // the opening quote
    let out = "";
    let run = i;
    for (;;) {
      if (i >= text.length) {
        const p = positionIn(text, start);
        fail(
          `the text ends inside the string opened at ${p.line}:${p.column}; add the closing '"'`,
        );
      }
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) {
        fail(
          `control character U+${c.toString(16).toUpperCase().padStart(4, "0")} in a string; write it as ${CONTROL_NAMES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`}`,
        );
      }
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        if (e === undefined) endInside();
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex))
            fail('bad escape: "\\u" takes 4 hex digits, e.g. "\\u00e9"');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail(
            `bad escape "\\${String.fromCodePoint(text.codePointAt(i + 1)!)}" in a string; write a backslash as "\\\\"`,
          );
        }
        run = i;
        continue;
      }
      i++;
    }
  };

  const num = (): number | string => {
    const start = i;
    if (text[i] === "-") {
      i++;
      if (!/[0-9]/.test(text[i] ?? "")) fail('a number needs digits after "-"');
    }
    if (text[i] === "0") {
      i++;
      if (text[i] === "x" || text[i] === "X")
        fail(
          `hex numbers are not JSON; write it as a string ("${text.slice(start, i + 1)}...")`,
          start,
        );
      if (/[0-9]/.test(text[i] ?? "")) {
        let j = i;
        while (/[0-9]/.test(text[j] ?? "")) j++;
        fail(
          `a number cannot have a leading zero (${text.slice(start, j)}); write ${text.slice(start, j).replace(/^(-?)0+(?=\d)/, "$1")}`,
          start,
        );
      }
    } else {
      while (/[0-9]/.test(text[i] ?? "")) i++;
    }
    let plain = true;
    if (text[i] === ".") {
      plain = false;
      i++;
      if (!/[0-9]/.test(text[i] ?? "")) fail('a number needs digits after "."');
      while (/[0-9]/.test(text[i] ?? "")) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      plain = false;
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!/[0-9]/.test(text[i] ?? "")) fail("a number needs digits in its exponent");
      while (/[0-9]/.test(text[i] ?? "")) i++;
    }
    const lit = text.slice(start, i);
    const n = Number(lit);
    // Exact above 2^53: a decimal string, which the schema takes where a u64 goes.
    if (plain && lit[0] !== "-" && lit.length >= 16 && !Number.isSafeInteger(n)) return lit;
    return n;
  };

  const value = (depth: number): unknown => {
    ws();
    offsets.set(pointer(), i);
    const c = text[i];
    if (c === undefined)
      return i === 0 || text.trim() === ""
        ? fail(
            'the file is empty; a profile is a JSON object such as {"defaultAction": "SCMP_ACT_ERRNO"}',
          )
        : endInside();
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH)
        tooMuch(`nested deeper than ${MAX_DEPTH} levels; a seccomp profile needs 6`);
      return c === "{" ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    if (c === "'") fail("strings and names take double quotes in JSON, not single quotes");
    if (c === "\ufeff" && i === 0)
      fail("the file starts with a byte-order mark (U+FEFF); save it as UTF-8 without one");
    const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i, i + 64))?.[0];
    if (word === "true" || word === "false" || word === "null") {
      i += word.length;
      return word === "true" ? true : word === "false" ? false : null;
    }
    if (word) {
      fail(
        `unexpected word "${word}"; a value is a string in double quotes, a number, true, false, null, [...] or {...}`,
      );
    }
    return fail(`expected a value, found ${describeChar(text, i)}`);
  };

  const object = (depth: number): Record<string, unknown> => {
    open.push({ kind: "object", at: i });
    i++;
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    ws();
    if (text[i] === "}") {
      i++;
      open.pop();
      return out;
    }
    for (;;) {
      ws();
      if (i >= text.length) endInside();
      if (text[i] !== '"') {
        if (text[i] === "}")
          fail('a trailing comma is not allowed in JSON; remove the "," before "}"');
        if (text[i] === "'")
          fail("strings and names take double quotes in JSON, not single quotes");
        fail(`expected a property name in double quotes, found ${describeChar(text, i)}`);
      }
      const keyAt = i;
      const key = str();
      const first = seen.get(key);
      if (first !== undefined) {
        const p = positionIn(text, first);
        fail(
          `duplicate key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}...` : key)} (first at ${p.line}:${p.column}); JSON readers disagree on which one counts (runc takes the last): keep one`,
          keyAt,
        );
      }
      seen.set(key, keyAt);
      if (seen.size > MAX_ITEMS)
        tooMuch(
          `an object with more than ${MAX_ITEMS} properties; a seccomp profile needs far fewer`,
          keyAt,
        );
      ws();
      if (text[i] !== ":") {
        if (i >= text.length) endInside();
        fail(`expected ":" after the property name, found ${describeChar(text, i)}`);
      }
      i++;
      path.push(pointerSegment(key));
      const v = value(depth);
      path.pop();
      // An own property even for "__proto__" (assignment would set the prototype).
      Object.defineProperty(out, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        open.pop();
        return out;
      }
      if (i >= text.length) endInside();
      fail(`expected "," or "}" after a property, found ${describeChar(text, i)}`);
    }
  };

  const array = (depth: number): unknown[] => {
    open.push({ kind: "array", at: i });
    i++;
    const out: unknown[] = [];
    ws();
    if (text[i] === "]") {
      i++;
      open.pop();
      return out;
    }
    for (;;) {
      ws();
      if (text[i] === "]" && out.length > 0)
        fail('a trailing comma is not allowed in JSON; remove the "," before "]"');
      if (out.length === MAX_ITEMS)
        tooMuch(`an array of more than ${MAX_ITEMS} items; a seccomp profile needs far fewer`);
      path.push(String(out.length));
      out.push(value(depth));
      path.pop();
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        open.pop();
        return out;
      }
      if (i >= text.length) endInside();
      fail(`expected "," or "]" after an array item, found ${describeChar(text, i)}`);
    }
  };

  const root = value(0);
  ws();
  if (i < text.length) fail("unexpected text after the profile; a file holds one JSON value", i);
  if (typeof root === "object" && root !== null) located.set(root, { text, offsets });
  return root;
}
