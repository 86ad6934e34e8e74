/**
 * Messages that stay on one line, whatever values they echo.
 *
 * @module
 */

/**
 * A message as one line: control characters (a newline from a value echoed in it...)
 * are written as escapes, as JSON writes them.
 *
 * @example
 * ```ts
 * import { oneLine } from "@forge/sandbox";
 * oneLine("bad value \"a\nb\""); // 'bad value "a\\nb"'
 * ```
 */
export function oneLine(text: unknown): string {
  let out = "";
  for (const ch of String(text ?? "")) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? (c === 0x7f ? "\\u007f" : JSON.stringify(ch).slice(1, -1)) : ch;
  }
  return out;
}
