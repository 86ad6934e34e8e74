/** Private helpers of @forge/sandbox. */

/**
 * A message as one line: control characters (a newline from a value echoed in it...)
 * are written as escapes, as JSON writes them.
 */
export function oneLine(text: unknown): string {
  let out = "";
  for (const ch of String(text ?? "")) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? (c === 0x7f ? "\\u007f" : JSON.stringify(ch).slice(1, -1)) : ch;
  }
  return out;
}
