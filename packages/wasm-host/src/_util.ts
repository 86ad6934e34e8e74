// Private helpers: module errors from decoding problems and from the engine's
// validator, and text from a module made safe for a one-line message.
import { BinaryError, readSections, SECTION_NAMES, type Section } from "./_binary.ts";
import { WasmModuleError } from "./errors.ts";

/**
 * Text that came from a module (a name, an engine message quoting one), made fit for a
 * one-line message: control, line-breaking and bidirectional formatting characters
 * escaped, at most `max` characters.
 */
export function printable(text: string, max = 80): string {
  let out = "";
  for (const c of text) {
    const n = c.codePointAt(0)!;
    const unsafe =
      n < 0x20 ||
      (n >= 0x7f && n <= 0x9f) ||
      n === 0x061c ||
      n === 0x200e ||
      n === 0x200f ||
      n === 0x2028 ||
      n === 0x2029 ||
      (n >= 0x202a && n <= 0x202e) ||
      (n >= 0x2066 && n <= 0x2069);
    out += !unsafe
      ? c
      : n <= 0xff
        ? `\\x${n.toString(16).padStart(2, "0")}`
        : `\\u${n.toString(16)}`;
    if (out.length > max) return `${out.slice(0, max - 1)}…`;
  }
  return out;
}

/** A name from a module, quoted for a message. */
export function quoted(name: string): string {
  return `"${printable(name)}"`;
}

/**
 * Turns a decoding problem into the {@link WasmModuleError} a user gets (prefixed with
 * `prefix`, e.g. "not a valid WebAssembly module"); rethrows anything else.
 */
export function toModuleError(e: unknown, prefix: string): unknown {
  if (!(e instanceof BinaryError)) return e;
  const where = e.section !== undefined ? `${e.section} section: ` : "";
  return new WasmModuleError(`${prefix}: ${where}${e.message}`, {
    section: e.section,
    offset: e.offset,
  });
}

function sectionAt(sections: readonly Section[], offset: number): string | undefined {
  for (const s of sections) {
    const start = s.offset ?? 0;
    if (offset >= start && offset <= start + s.payload.length) return SECTION_NAMES[s.id];
  }
  return undefined;
}

/**
 * Throws a {@link WasmModuleError} unless the engine's validator accepts `bytes` (what
 * `WebAssembly.compile` accepts): with the engine's reason, the section and the byte.
 * Forge never rewrites a module before it passed this, so no rewrite can turn an
 * invalid module into a valid one.
 */
export function checkValid(bytes: Uint8Array): void {
  if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) return;
  let reason = "the engine's validator rejects it";
  try {
    // Only on this failure path: compiling says why (and stops at the first error).
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    reason = (e as Error).message.replace(/^WebAssembly\.Module\(\): /, "");
  }
  const at = /\s*@\+(\d+)$/.exec(reason);
  const offset = at ? Number(at[1]) : undefined;
  if (at) reason = `${reason.slice(0, at.index)} at byte ${offset}`;
  let section: string | undefined;
  if (offset !== undefined) {
    try {
      section = sectionAt(readSections(bytes), offset);
    } catch {
      // the framing itself is broken: the engine's reason says where
    }
  }
  const where = section !== undefined ? `${section} section: ` : "";
  throw new WasmModuleError(`not a valid WebAssembly module: ${where}${printable(reason, 300)}`, {
    section,
    offset,
  });
}
