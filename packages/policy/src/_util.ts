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

/**
 * JSON with object keys sorted, so that equal values hash equally. BigInts become
 * strings, byte arrays base64. `canonicalJson.lossy` tells whether the last call met a
 * value plain JSON would render differently (then log the parsed canonical form).
 */
export function canonicalJson(value: unknown): string {
  state.lossy = false;
  return canon(value);
}
const state = { lossy: false };
canonicalJson.state = state;

function canon(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      state.lossy = true;
      return JSON.stringify(value.toString());
    case "number":
      if (Number.isFinite(value)) return JSON.stringify(value);
      state.lossy = true;
      return "null";
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        const items = value.map((v) => {
          if (v !== undefined) return canon(v);
          state.lossy = true;
          return "null";
        });
        return `[${items.join(",")}]`;
      }
      if (value instanceof Uint8Array) {
        state.lossy = true;
        return JSON.stringify(Buffer.from(value).toString("base64"));
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) state.lossy = true;
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(",")}}`;
    }
    default:
      state.lossy = true;
      return "null";
  }
}

/** Lower-case hex sha256 of a string. */
export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
