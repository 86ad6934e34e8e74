// Fuzz target: seccomp profile files through the built CLI. A handful of documents
// (valid ones, and ones with wrong types, objects where strings go, deep nesting,
// huge numbers, prototype keys or broken text) go through `forge seccomp compile`:
// exit 0 with the filter and warning lines only, or exit 2 with "forge: ..." and one
// line per problem; never a stack trace or an internal error, never over 5 s. Those
// refused also go through `forge run --seccomp FILE`, which must refuse them the same
// way (exit 2) before anything runs. Seed and time budget: test/fuzz_setup.ts.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));

function forge(...args: string[]) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - started };
}

const BASES: object[] = [
  {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    syscalls: [
      { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
      {
        names: ["ioctl"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 1, value: 21523, op: "SCMP_CMP_EQ" }],
      },
    ],
  },
  {
    defaultAction: "SCMP_ACT_ALLOW",
    archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X32"] }],
    syscalls: [
      {
        names: ["personality"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
        args: [{ index: 0, value: "0xffffffff", valueTwo: 8, op: "SCMP_CMP_MASKED_EQ" }],
        includes: { caps: ["CAP_SYS_ADMIN"] },
      },
    ],
  },
];

const JUNK: string[] = [
  '{"toString":1}',
  "[]",
  "{}",
  "null",
  "1e400",
  "-1",
  "1.5",
  "18446744073709551616",
  '"SCMP_ACT_NOTIFY"',
  '"SCMP_ARCH_MIPS"',
  '"opne"',
  `${"[".repeat(5000)}${"]".repeat(5000)}`,
];
const KEYS = ["__proto__", "constructor", "toString", "DefaultAction", "x"];

/** The document as text with the JSON value at `where` (by position) replaced by junk. */
function mutated(base: object, where: number, junk: string, key: string, how: number): string {
  const text = JSON.stringify(base);
  // Value starts: after ':' or '[' or ','.
  const starts = [...text.matchAll(/[:[,](?=[^\]}])/g)].map((m) => m.index! + 1);
  const at = starts[where % starts.length]!;
  if (how === 0) {
    // Replace the scalar or container starting there by junk.
    let end = at;
    let depth = 0;
    let inStr = false;
    for (; end < text.length; end++) {
      const c = text[end]!;
      if (inStr) {
        if (c === "\\") end++;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break;
        depth--;
      } else if (c === "," && depth === 0) break;
    }
    return text.slice(0, at) + junk + text.slice(end);
  }
  if (how === 1) return `{${JSON.stringify(key)}:${junk},${text.slice(1)}`;
  return text.slice(0, at); // cut short
}

describe.skipIf(!built)("forge seccomp with generated profile files (built CLI)", () => {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cli-seccomp-fuzz-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exit 0 with a filter, or exit 2 with one line per problem; forge run refuses alike", () => {
    let n = 0;
    const doc = fc.oneof(
      fc.constantFrom(...BASES).map((b) => JSON.stringify(b)),
      fc
        .tuple(
          fc.constantFrom(...BASES),
          fc.nat(),
          fc.constantFrom(...JUNK),
          fc.constantFrom(...KEYS),
          fc.integer({ min: 0, max: 2 }),
        )
        .map(([b, where, junk, key, how]) => mutated(b, where, junk, key, how)),
    );
    fc.assert(
      fc.property(doc, (text) => {
        const file = path.join(dir, `p${n++}.json`);
        fs.writeFileSync(file, text);
        const c = forge("seccomp", "compile", file, "--arch", "x86_64", "--format", "hex");
        const what = `${text.slice(0, 200)}\n${c.err}`;
        expect(c.ms, what).toBeLessThan(5000);
        expect(c.err, what).not.toMatch(/\n\s+at |internal error|TypeError|RangeError:/);
        const lines = c.err.split("\n").filter((l) => l !== "");
        const warnings = lines.filter((l) => l.startsWith("forge seccomp: warning: "));
        const rest = lines.filter((l) => !l.startsWith("forge seccomp: warning: "));
        if (c.code === 0) {
          expect(c.out, what).toMatch(/^[0-9a-f]+\n$/);
          expect(rest, what).toEqual([]);
          return;
        }
        expect(c.code, what).toBe(2);
        expect(c.out, what).toBe("");
        expect(warnings, what).toEqual([]);
        expect(rest[0], what).toMatch(/^forge: .*p\d+\.json(:\d+:\d+)?: \S/);
        for (const l of rest.slice(1)) expect(l, what).toMatch(/^ {2}\S/);
        // forge run refuses it before starting anything, with the same message.
        const r = forge("run", "--seccomp", file, "--", "/bin/true");
        expect(r.code, `${what}\n${r.err}`).toBe(2);
        expect(r.err).toBe(c.err);
      }),
    );
    expect(n).toBeGreaterThan(0);
  });
});
