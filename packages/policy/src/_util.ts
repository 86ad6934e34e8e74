import { createHash } from "node:crypto";

const cache = new Map<string, (s: string) => boolean>();

/**
 * Compiles a glob: `**` matches anything (across "/"), `*` anything but "/", `?` one
 * character other than "/". Everything else is literal.
 */
export function globMatcher(pattern: string): (s: string) => boolean {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let m: (s: string) => boolean;
  if (!/[*?]/.test(pattern)) {
    m = (s) => s === pattern;
  } else if (pattern.endsWith("**") && !/[*?]/.test(pattern.slice(0, -2))) {
    const prefix = pattern.slice(0, -2);
    m = (s) => s.startsWith(prefix);
  } else {
    let re = "^";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === "*" && pattern[i + 1] === "*") {
        re += ".*";
        i++;
      } else if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    const rx = new RegExp(`${re}$`, "s");
    m = (s) => rx.test(s);
  }
  cache.set(pattern, m);
  return m;
}

/** How deep {@link canonicalJson} nests before it gives up (an audit record is shallow). */
export const MAX_JSON_DEPTH = 256;

/**
 * JSON with object keys sorted, so that equal values hash equally. Values JSON cannot
 * carry as is are rendered the way the audit log writes them: BigInts become strings,
 * byte arrays base64, `toJSON()` is honoured (Dates), `undefined`, functions and
 * symbols are dropped from objects and become `null` in arrays, non-finite numbers
 * `null`. Iterative in nothing but depth: nesting deeper than {@link MAX_JSON_DEPTH}
 * (or a circular reference) throws a RangeError naming the JSON pointer where it happened.
 */
export function canonicalJson(value: unknown, pointer = ""): string {
  const path: string[] = [pointer];
  return canon(value, path);
}

function canon(value: unknown, path: string[]): string {
  if (path.length > MAX_JSON_DEPTH + 1) {
    throw new RangeError(
      `nested deeper than ${MAX_JSON_DEPTH} levels at ${path.join("/")} (a circular reference?)`,
    );
  }
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      return JSON.stringify(value.toString());
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
        path.push("toJSON()");
        const out = canon((value as { toJSON(k: string): unknown }).toJSON(""), path);
        path.pop();
        return out;
      }
      if (Array.isArray(value)) {
        const items = value.map((v, i) => {
          if (v === undefined || typeof v === "function" || typeof v === "symbol") return "null";
          path.push(String(i));
          const out = canon(v, path);
          path.pop();
          return out;
        });
        return `[${items.join(",")}]`;
      }
      const o = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(o).sort()) {
        const v = o[k];
        if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
        path.push(k.replace(/~/g, "~0").replace(/\//g, "~1"));
        parts.push(`${JSON.stringify(k)}:${canon(v, path)}`);
        path.pop();
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return "null";
  }
}

/**
 * Whether `s` could be the beginning of a JSON text: no syntax error before its end
 * (a complete text counts too). What a write cut short leaves is such a prefix; random
 * garbage rarely is. A state machine, not a parser, so any depth is fine.
 */
export function isJsonPrefix(s: string): boolean {
  const stack: string[] = [];
  // value | valueOrClose ([ just opened) | key | keyOrClose ({ just opened) | colon | next | done
  let expect = "value";
  const after = () => (stack.length === 0 ? "done" : "next");
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    switch (expect) {
      case "done":
        return false;
      case "colon":
        if (c !== ":") return false;
        expect = "value";
        i++;
        continue;
      case "next": {
        const top = stack[stack.length - 1];
        if (c === ",") expect = top === "{" ? "key" : "value";
        else if ((c === "}" && top === "{") || (c === "]" && top === "[")) {
          stack.pop();
          expect = after();
        } else return false;
        i++;
        continue;
      }
      case "key":
      case "keyOrClose": {
        if (c === "}" && expect === "keyOrClose") {
          stack.pop();
          expect = after();
          i++;
          continue;
        }
        if (c !== '"') return false;
        const j = scanString(s, i);
        if (j === -1) return false;
        if (j > n) return true;
        i = j;
        expect = "colon";
        continue;
      }
      default: {
        // value | valueOrClose
        if (c === "]" && expect === "valueOrClose") {
          stack.pop();
          expect = after();
          i++;
          continue;
        }
        if (c === "{" || c === "[") {
          stack.push(c);
          expect = c === "{" ? "keyOrClose" : "valueOrClose";
          i++;
          continue;
        }
        if (c === '"') {
          const j = scanString(s, i);
          if (j === -1) return false;
          if (j > n) return true;
          i = j;
          expect = after();
          continue;
        }
        if (c === "-" || (c >= "0" && c <= "9")) {
          // A number that runs to the end may be cut anywhere ("1.5e"); else it must be whole.
          NUMBER_PREFIX.lastIndex = i;
          const p = NUMBER_PREFIX.exec(s);
          if (p !== null && i + p[0].length === n) return true;
          NUMBER.lastIndex = i;
          const m = NUMBER.exec(s);
          if (!m) return false;
          i += m[0].length;
          expect = after();
          continue;
        }
        for (const lit of ["true", "false", "null"]) {
          if (s.startsWith(lit, i)) {
            i += lit.length;
            expect = after();
            break;
          }
          if (n - i < lit.length && lit.startsWith(s.slice(i))) return true;
        }
        if (expect === "value" || expect === "valueOrClose") return false;
      }
    }
  }
  return true;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_PREFIX = /-?(?:(?:0|[1-9]\d*)(?:\.\d+(?:[eE][+-]?\d*)?|\.|[eE][+-]?\d*)?)?/y;

/** The index after the string starting at `i`; n+1 if it runs to the end; -1 if invalid. */
function scanString(s: string, i: number): number {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      if (j + 1 >= n) return n + 1;
      const e = s[j + 1]!;
      if (e === "u") {
        for (let k = 0; k < 4; k++) {
          if (j + 2 + k >= n) return n + 1;
          if (!/[0-9a-fA-F]/.test(s[j + 2 + k]!)) return -1;
        }
        j += 6;
      } else if ('"\\/bfnrt'.includes(e)) j += 2;
      else return -1;
    } else j++;
  }
  return n + 1;
}

/** Lower-case hex sha256 of a string. */
export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
