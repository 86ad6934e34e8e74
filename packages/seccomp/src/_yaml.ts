/**
 * A YAML reader (private) for the block-style YAML that `kubectl get -o yaml` writes and
 * people write by hand for Kubernetes resources: block mappings and sequences (a
 * sequence may sit at its key's indentation), plain, single- and double-quoted scalars,
 * flow collections (`[read, write]`, `{}`), `|` and `>` block scalars, comments and
 * `---` between documents. Anchors, aliases, tags and multi-line plain or quoted
 * scalars are refused with a message that says so. Scalars follow YAML 1.2's core
 * schema; integers above 2^53 stay exact as decimal strings (as in `_json.ts`).
 * Duplicate keys are refused, as JSON readers disagree on them. Every value's line and
 * column is kept by JSON pointer.
 *
 * @module
 */
import { MAX_DEPTH, MAX_ITEMS, type Position, pointerSegment } from "./_json.ts";

/** YAML text that this reader cannot read, at a 1-based line and column. */
export class YamlSyntaxError extends Error {
  override name = "YamlSyntaxError";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

/** One document: its value and where each value starts, by JSON pointer. */
export interface YamlDocument {
  readonly value: unknown;
  readonly positions: ReadonlyMap<string, Position>;
  /** The line the document starts on. */
  readonly line: number;
}

interface Line {
  /** 1-based line number. */
  readonly no: number;
  /** Spaces before the content. */
  indent: number;
  /** The content, comment removed, trailing blanks removed. */
  text: string;
  /** The line as written (for block scalars). */
  readonly raw: string;
}

/**
 * Index of a comment ("#" at the start or after a blank, outside quotes), or -1. A quote
 * left open is the quoted scalar's to report.
 */
function commentAt(s: string): number {
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = "";
    } else if (quote === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") i++;
        else quote = "";
      }
    } else if (c === "#" && (i === 0 || s[i - 1] === " " || s[i - 1] === "\t")) return i;
    else if ((c === '"' || c === "'") && startsScalar(s, i)) quote = c;
  }
  return -1;
}

/** Whether a quote at `i` opens a quoted scalar (not one inside a plain scalar: it's). */
function startsScalar(s: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && s[j] === " ") j--;
  if (j < 0) return true;
  return "-:,[{?".includes(s[j]!) && (s[j] !== "-" || j === 0 || s[j - 1] === " ");
}

function splitLines(first: number, last: number, all: string[]): Line[] {
  const out: Line[] = [];
  for (let k = first; k < last; k++) {
    const raw = all[k]!.replace(/\r$/, "");
    const indent = /^ */.exec(raw)![0].length;
    if (raw[indent] === "\t" && raw.slice(indent).trim() !== "")
      throw new YamlSyntaxError(
        "a tab in the indentation; YAML indents with spaces only",
        k + 1,
        indent + 1,
      );
    const rest = raw.slice(indent);
    const c = commentAt(rest);
    const body = (c === -1 ? rest : rest.slice(0, c)).replace(/[ \t]+$/, "");
    out.push({ no: k + 1, indent, text: body, raw });
  }
  return out;
}

/** Resolves a plain scalar by YAML 1.2's core schema. */
function plainValue(s: string): unknown {
  if (s === "" || s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
    return s.startsWith("+") ? s.slice(1) : s; // exact, as a decimal string
  }
  if (/^0x[0-9a-fA-F]+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (/^0o[0-7]+$/.test(s)) {
    const n = Number.parseInt(s.slice(2), 8);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  return s;
}

const DQ_ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

/** A parser over one document's lines. */
class Parser {
  readonly positions = new Map<string, Position>();
  i = 0;
  constructor(readonly lines: Line[]) {}

  fail(message: string, line: Line | undefined, column?: number): never {
    throw new YamlSyntaxError(message, line?.no ?? 1, column ?? (line ? line.indent + 1 : 1));
  }

  /** Skips blank and comment-only lines. */
  skip(): Line | undefined {
    while (this.i < this.lines.length && this.lines[this.i]!.text === "") this.i++;
    return this.lines[this.i];
  }

  at(pointer: string, line: Line, column: number): void {
    this.positions.set(pointer, { line: line.no, column });
  }

  /** The value of a block node whose first line is the current one, at `indent`. */
  block(pointer: string, depth: number): unknown {
    const line = this.skip();
    if (!line) return null;
    if (depth >= MAX_DEPTH)
      this.fail(`nested deeper than ${MAX_DEPTH} levels; a seccomp profile needs 6`, line);
    if (/^-( |$)/.test(line.text)) {
      this.at(pointer, line, line.indent + 1);
      return this.sequence(line.indent, pointer, depth);
    }
    if (this.keyEnd(line.text, line) !== -1) {
      this.at(pointer, line, line.indent + 1);
      return this.mapping(line.indent, pointer, depth);
    }
    // A lone scalar or flow collection.
    this.at(pointer, line, line.indent + 1);
    this.i++;
    const v = this.inline(line.text, line, line.indent, pointer, depth);
    return v;
  }

  /** Index of the ":" that ends a mapping key in `s`, or -1. */
  keyEnd(s: string, line: Line): number {
    if (s.startsWith("? ") || s === "?")
      this.fail('complex mapping keys ("? ") are not supported; write "key: value"', line);
    let i = 0;
    if (s[0] === '"' || s[0] === "'") {
      const q = s[0];
      i = 1;
      for (; i < s.length; i++) {
        if (q === '"' && s[i] === "\\") i++;
        else if (s[i] === q) {
          if (q === "'" && s[i + 1] === "'") i++;
          else break;
        }
      }
      i++;
      while (s[i] === " ") i++;
      return s[i] === ":" && (i + 1 === s.length || s[i + 1] === " ") ? i : -1;
    }
    if (s[0] === "[" || s[0] === "{") return -1;
    for (; i < s.length; i++) {
      if (s[i] === ":" && (i + 1 === s.length || s[i + 1] === " ")) return i;
    }
    return -1;
  }

  key(raw: string, line: Line, column: number): string {
    const s = raw.trimEnd();
    if (s[0] === '"' || s[0] === "'") return this.quoted(s, line, column).value;
    if (/^[&*!]/.test(s)) this.refuse(s[0]!, line, column);
    return s;
  }

  refuse(c: string, line: Line, column: number): never {
    const what = c === "&" ? "anchors" : c === "*" ? "aliases" : "tags";
    return this.fail(`YAML ${what} ("${c}") are not supported; write the value out`, line, column);
  }

  mapping(indent: number, pointer: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    for (;;) {
      const line = this.skip();
      if (!line || line.indent < indent) break;
      if (line.indent > indent)
        this.fail(
          `unexpected indentation (${line.indent} spaces; the mapping above uses ${indent})`,
          line,
        );
      if (/^-( |$)/.test(line.text))
        this.fail('a sequence item ("- ") where a "key: value" of the mapping was expected', line);
      const end = this.keyEnd(line.text, line);
      if (end === -1)
        this.fail(
          `expected "key: value" (a mapping entry), found ${JSON.stringify(line.text.slice(0, 40))}`,
          line,
        );
      const key = this.key(line.text.slice(0, end), line, indent + 1);
      const first = seen.get(key);
      if (first !== undefined)
        this.fail(
          `duplicate key ${JSON.stringify(key)} (first on line ${first}); readers disagree on which one counts: keep one`,
          line,
        );
      seen.set(key, line.no);
      if (seen.size > MAX_ITEMS)
        this.fail(
          `a mapping with more than ${MAX_ITEMS} keys; a seccomp profile needs far fewer`,
          line,
        );
      const ptr = `${pointer}/${pointerSegment(key)}`;
      let rest = line.text.slice(end + 1);
      const pad = rest.length - rest.trimStart().length;
      rest = rest.trimStart();
      const col = indent + end + 2 + pad;
      this.i++;
      let value: unknown;
      if (rest === "") {
        const next = this.skip();
        if (next && (next.indent > indent || (next.indent === indent && /^-( |$)/.test(next.text))))
          value = this.block(ptr, depth + 1);
        else {
          this.at(ptr, line, col);
          value = null;
        }
      } else {
        this.at(ptr, line, col);
        value = this.inline(rest, line, col - 1, ptr, depth + 1, indent);
      }
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  sequence(indent: number, pointer: string, depth: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const line = this.skip();
      if (!line || line.indent < indent) break;
      if (line.indent > indent)
        this.fail(
          `unexpected indentation (${line.indent} spaces; the sequence above uses ${indent})`,
          line,
        );
      if (!/^-( |$)/.test(line.text)) break; // the mapping this sequence is a value of goes on
      if (out.length === MAX_ITEMS)
        this.fail(
          `a sequence of more than ${MAX_ITEMS} items; a seccomp profile needs far fewer`,
          line,
        );
      const ptr = `${pointer}/${out.length}`;
      const rest = line.text.slice(1).trimStart();
      if (rest === "") {
        this.i++;
        const next = this.skip();
        if (next && next.indent > indent) out.push(this.block(ptr, depth + 1));
        else {
          this.at(ptr, line, indent + 1);
          out.push(null);
        }
        continue;
      }
      // "- key: value" or "- - x": the item is a block node at the content's column.
      const column = indent + (line.text.length - rest.length);
      if (/^-( |$)/.test(rest) || this.keyEnd(rest, line) !== -1) {
        line.indent = column;
        line.text = rest;
        out.push(this.block(ptr, depth + 1));
        continue;
      }
      this.i++;
      this.at(ptr, line, column + 1);
      out.push(this.inline(rest, line, column, ptr, depth + 1, indent));
    }
    return out;
  }

  /**
   * An inline value: a scalar, a flow collection (which may go on over the next lines)
   * or a block scalar header. `column` is the 0-based column of `s` on `line`.
   */
  inline(
    s: string,
    line: Line,
    column: number,
    pointer: string,
    depth: number,
    parentIndent = -1,
  ): unknown {
    const c = s[0]!;
    if (c === "&" || c === "*" || c === "!") this.refuse(c, line, column + 1);
    if (c === "|" || c === ">") return this.blockScalar(s, line, column, parentIndent);
    if (c === "[" || c === "{") {
      let text = s;
      // A flow collection may span lines: take lines until the brackets balance.
      while (!balanced(text)) {
        const next = this.lines[this.i];
        if (!next)
          this.fail(
            `the ${c === "[" ? "sequence" : "mapping"} "${c}" is not closed`,
            line,
            column + 1,
          );
        text += ` ${next.text.trim()}`;
        this.i++;
      }
      const flow = new Flow(text, line, column, this, depth);
      const v = flow.value(pointer);
      flow.end();
      return v;
    }
    if (c === '"' || c === "'") {
      const q = this.quoted(s, line, column + 1);
      if (q.end !== s.length)
        this.fail(
          `unexpected text after the quoted string: ${JSON.stringify(s.slice(q.end))}`,
          line,
          column + q.end + 1,
        );
      return q.value;
    }
    if (c === "-" && s === "-") this.fail("a sequence item here is not allowed", line, column + 1);
    if (c === "%" || c === "@" || c === "`")
      this.fail(`a plain scalar cannot start with "${c}"; quote it`, line, column + 1);
    // A plain scalar must stay on its line.
    const next = this.lines[this.i];
    if (
      next &&
      next.text !== "" &&
      next.indent > Math.max(parentIndent, line.indent) &&
      !/^-( |$)/.test(next.text) &&
      this.keyEnd(next.text, next) === -1
    ) {
      this.fail("a plain scalar continues on the next line; keep it on one line or quote it", next);
    }
    if (s.includes(": ") || s.endsWith(":"))
      this.fail(
        `a ": " inside a plain scalar; quote the value (${JSON.stringify(s.slice(0, 40))})`,
        line,
        column + 1,
      );
    return plainValue(s);
  }

  blockScalar(header: string, line: Line, column: number, parentIndent: number): string {
    const m = /^([|>])([+-]?)([1-9]?)([+-]?)$/.exec(header);
    if (!m) this.fail(`bad block scalar header ${JSON.stringify(header)}`, line, column + 1);
    const fold = m[1] === ">";
    const chomp = m[2] || m[4];
    const body: { no: number; raw: string }[] = [];
    // An explicit indentation indicator counts from the parent node's indentation.
    let indent = m[3] ? Math.max(parentIndent, 0) + Number(m[3]) : -1;
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      const blank = l.raw.trim() === "";
      const ind = /^ */.exec(l.raw)![0].length;
      if (!blank) {
        if (indent === -1) {
          if (ind <= parentIndent) break;
          indent = ind;
        }
        if (ind < indent) break;
      }
      body.push({ no: l.no, raw: l.raw });
      this.i++;
    }
    while (body.length > 0 && body[body.length - 1]!.raw.trim() === "") {
      body.pop();
    }
    const texts = body.map((b) => b.raw.slice(Math.max(indent, 0)));
    let out = "";
    if (fold) {
      // Breaks between lines become spaces; an empty line is a newline; more-indented
      // lines keep their breaks.
      texts.forEach((t, k) => {
        const prev = texts[k - 1];
        if (k === 0) out = t;
        else if (t === "") out += "\n";
        else if (/^\s/.test(t) || /^\s/.test(prev!)) out += `\n${t}`;
        else out += prev === "" ? t : ` ${t}`;
      });
    } else out = texts.join("\n");
    if (chomp === "-") return out;
    return texts.length > 0 ? `${out}\n` : "";
  }

  quoted(s: string, line: Line, column: number): { value: string; end: number } {
    const q = s[0]!;
    let out = "";
    for (let i = 1; i < s.length; i++) {
      const c = s[i]!;
      if (q === "'") {
        if (c === "'") {
          if (s[i + 1] === "'") {
            out += "'";
            i++;
            continue;
          }
          return { value: out, end: i + 1 };
        }
        out += c;
        continue;
      }
      if (c === '"') return { value: out, end: i + 1 };
      if (c === "\\") {
        const e = s[i + 1];
        if (e === "x" || e === "u" || e === "U") {
          const n = e === "x" ? 2 : e === "u" ? 4 : 8;
          const hex = s.slice(i + 2, i + 2 + n);
          if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex))
            this.fail(`bad escape "\\${e}": it takes ${n} hex digits`, line, column + i);
          out += String.fromCodePoint(Number.parseInt(hex, 16));
          i += 1 + n;
          continue;
        }
        if (e !== undefined && Object.hasOwn(DQ_ESCAPES, e)) {
          out += DQ_ESCAPES[e];
          i++;
          continue;
        }
        this.fail(`bad escape "\\${e ?? ""}" in a double-quoted string`, line, column + i);
      }
      out += c;
    }
    return this.fail(
      "the quoted string does not end on this line; keep it on one line",
      line,
      column,
    );
  }
}

function balanced(s: string): boolean {
  let depth = 0;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = "";
    } else if (quote === "'") {
      if (c === "'") quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
  }
  return depth <= 0;
}

/** A flow collection (`[a, b]`, `{k: v}`), possibly nested. */
class Flow {
  i = 0;
  constructor(
    readonly s: string,
    readonly line: Line,
    readonly column: number,
    readonly p: Parser,
    readonly depth: number,
  ) {}

  ws(): void {
    while (this.s[this.i] === " ") this.i++;
  }

  fail(message: string): never {
    return this.p.fail(message, this.line, this.column + this.i + 1);
  }

  end(): void {
    this.ws();
    if (this.i < this.s.length)
      this.fail(
        `unexpected text after the flow collection: ${JSON.stringify(this.s.slice(this.i, this.i + 20))}`,
      );
  }

  value(pointer: string, depth = this.depth): unknown {
    this.ws();
    if (this.i < this.s.length)
      this.p.positions.set(pointer, { line: this.line.no, column: this.column + this.i + 1 });
    const c = this.s[this.i];
    if (depth >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    if (c === "[") {
      this.i++;
      const out: unknown[] = [];
      for (;;) {
        this.ws();
        if (this.s[this.i] === "]") {
          this.i++;
          return out;
        }
        if (out.length === MAX_ITEMS) this.fail(`a sequence of more than ${MAX_ITEMS} items`);
        out.push(this.value(`${pointer}/${out.length}`, depth + 1));
        this.ws();
        if (this.s[this.i] === ",") this.i++;
        else if (this.s[this.i] !== "]") this.fail('expected "," or "]" in a flow sequence');
      }
    }
    if (c === "{") {
      this.i++;
      const out: Record<string, unknown> = {};
      for (;;) {
        this.ws();
        if (this.s[this.i] === "}") {
          this.i++;
          return out;
        }
        const key = this.scalar(true);
        if (typeof key !== "string" && typeof key !== "number")
          this.fail("a flow mapping key must be a string");
        const k = String(key);
        if (Object.hasOwn(out, k)) this.fail(`duplicate key ${JSON.stringify(k)}`);
        this.ws();
        if (this.s[this.i] !== ":") this.fail('expected ":" after a key in a flow mapping');
        this.i++;
        const v = this.value(`${pointer}/${pointerSegment(k)}`, depth + 1);
        Object.defineProperty(out, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        this.ws();
        if (this.s[this.i] === ",") this.i++;
        else if (this.s[this.i] !== "}") this.fail('expected "," or "}" in a flow mapping');
      }
    }
    return this.scalar(false);
  }

  scalar(key: boolean): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) return this.fail("the flow collection ends where a value should be");
    if (c === "&" || c === "*" || c === "!") this.p.refuse(c, this.line, this.column + this.i + 1);
    if (c === '"' || c === "'") {
      const q = this.p.quoted(this.s.slice(this.i), this.line, this.column + this.i + 1);
      this.i += q.end;
      return q.value;
    }
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s[this.i]!;
      if (d === "," || d === "]" || d === "}" || d === "[" || d === "{") break;
      if (d === ":" && (key || this.s[this.i + 1] === " " || this.s[this.i + 1] === undefined))
        break;
      this.i++;
    }
    return plainValue(this.s.slice(start, this.i).trim());
  }
}

/**
 * Parses YAML text into its documents (`---` between them), each with the position of
 * every value. Throws a {@link YamlSyntaxError} with line and column.
 *
 * @example
 * ```ts
 * const [doc] = parseYaml("kind: SeccompProfile\nspec:\n  syscalls:\n  - names: [read]\n");
 * doc!.value; // { kind: "SeccompProfile", spec: { syscalls: [{ names: ["read"] }] } }
 * ```
 */
export function parseYaml(text: string): YamlDocument[] {
  const all = text.split("\n");
  const docs: YamlDocument[] = [];
  let start = 0;
  const flush = (end: number) => {
    const lines = splitLines(start, end, all);
    if (lines.every((l) => l.text === "")) return;
    const p = new Parser(lines);
    const first = p.skip()!;
    const value = p.block("", 0);
    const rest = p.skip();
    if (rest)
      p.fail(
        `unexpected ${rest.indent < first.indent ? "dedent" : "text"} ${JSON.stringify(rest.text.slice(0, 40))} after the document's top-level value`,
        rest,
      );
    docs.push({ value, positions: p.positions, line: first.no });
  };
  for (let k = 0; k < all.length; k++) {
    const l = all[k]!.replace(/\r$/, "");
    if (k === start && l.startsWith("%")) {
      start = k + 1;
      continue;
    }
    if (/^---( |$)/.test(l) || /^\.\.\.( |$)/.test(l)) {
      flush(k);
      start = k + 1;
      const after = l.slice(3).trim();
      if (after !== "" && !after.startsWith("#"))
        throw new YamlSyntaxError(
          'content on the "---" line is not supported; start it on the next line',
          k + 1,
          5,
        );
    }
  }
  flush(all.length);
  return docs;
}
