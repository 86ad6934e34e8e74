/**
 * Fuzzing the audit log (fast-check; seed and time budget from test/fuzz_setup.ts).
 *
 * 1. A random log (random events, crashes that tear the line being written, each followed
 *    by a resume) verifies; after one random tampering it never does: edit any field value,
 *    add or remove a field, delete, duplicate or swap lines, cut bytes off the end, insert
 *    garbage. Removing whole lines from the end is what only the stored head can show, so
 *    that case is checked with `head` only.
 * 2. Any text at all gets a result, never an exception.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, it } from "vitest";
import { isJsonPrefix } from "./_util.ts";
import { AuditLog, type VerifyResult, verifyAuditChain } from "./audit_log.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-audit-fuzz-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

const str = fc.string({ unit: "binary", maxLength: 12 });
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }) },
  fc.bigInt(),
  fc.uint8Array({ maxLength: 6 }),
  fc.constant(undefined),
  fc.date({ noInvalidDate: true }),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-324),
);
const event = fc
  .tuple(str, fc.dictionary(str, value, { maxKeys: 4 }))
  .filter(([kind]) => !kind.startsWith("audit."))
  .map(([kind, fields]) => ({ ...fields, kind }));

/**
 * Writes the events to a file; before the appends listed in `crashes` the last line is
 * torn, and with `again` the resume dies too, leaving a second torn line.
 */
function writeLog(
  events: ReadonlyArray<{ kind: string }>,
  crashes: ReadonlyArray<{ at: number; keep: number; again: boolean }>,
): { text: string; head: string; torn: boolean } {
  const file = path.join(dir, `log${files++}.jsonl`);
  let t = 1_700_000_000_000;
  let log = new AuditLog({ destination: file, now: () => t++ });
  let torn = false;
  events.forEach((e, i) => {
    const crash = crashes.find((c) => c.at % events.length === i);
    if (crash && i > 0) {
      // The process dies while writing the last line: only its first `keep` bytes stay.
      log.close();
      const buf = fs.readFileSync(file);
      const start = buf.lastIndexOf(0x0a, buf.length - 2) + 1;
      const lineBytes = buf.length - start; // with its newline
      fs.truncateSync(file, start + 1 + (crash.keep % (lineBytes - 1)));
      if (crash.again) {
        // The resume closed the torn line and died writing its own record.
        const donor = buf.subarray(start, buf.length - 1).toString("utf8");
        fs.appendFileSync(file, `\n${donor.slice(0, 1 + (crash.keep % (donor.length - 1)))}`);
      }
      log = new AuditLog({ destination: file, now: () => t++ });
      torn = true;
    }
    log.append(e);
  });
  log.close();
  const text = fs.readFileSync(file, "utf8");
  fs.rmSync(file);
  return { text, head: log.head, torn };
}

type Tamper =
  | { t: "edit"; line: number; node: number; value: unknown }
  | { t: "add"; line: number; node: number; key: string; value: unknown }
  | { t: "remove"; line: number; node: number }
  | { t: "delete"; from: number; count: number }
  | { t: "dup"; line: number; to: number }
  | { t: "swap"; a: number; b: number }
  | { t: "cut"; at: number }
  | { t: "garbage"; at: number; text: string };

const nat = fc.nat();
const json = fc.jsonValue({ maxDepth: 2, stringUnit: "binary" });
const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ t: fc.constant("edit" as const), line: nat, node: nat, value: json }),
  fc.record({ t: fc.constant("add" as const), line: nat, node: nat, key: str, value: json }),
  fc.record({ t: fc.constant("remove" as const), line: nat, node: nat }),
  fc.record({
    t: fc.constant("delete" as const),
    from: nat,
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ t: fc.constant("dup" as const), line: nat, to: nat }),
  fc.record({ t: fc.constant("swap" as const), a: nat, b: nat }),
  fc.record({ t: fc.constant("cut" as const), at: nat }),
  fc.record({
    t: fc.constant("garbage" as const),
    at: nat,
    text: fc.string({ unit: "binary", minLength: 1, maxLength: 8 }),
  }),
);

/** Every [container, key] of a parsed record: its top-level fields and everything inside. */
function slots(o: unknown): Array<[Record<string, unknown> | unknown[], string | number]> {
  const out: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== "object") return;
    for (const k of Object.keys(v)) {
      const key = Array.isArray(v) ? Number(k) : k;
      out.push([v as Record<string, unknown>, key]);
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(o);
  return out;
}

function objects(o: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== "object") return;
    if (!Array.isArray(v)) out.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) walk(x);
  };
  walk(o);
  return out;
}

/** Applies one tampering to a log's text (undefined: not applicable to this log). */
function apply(text: string, tm: Tamper): string | undefined {
  const lines = text.split("\n").slice(0, -1); // the text ends with a newline
  const join = (ls: string[]) => ls.map((l) => `${l}\n`).join("");
  const pick = (i: number) => i % lines.length;
  const reparse = (i: number, f: (o: any) => boolean): string | undefined => {
    let o: unknown;
    try {
      o = JSON.parse(lines[pick(i)]!);
    } catch {
      return undefined; // a torn line: other tamperings cover it
    }
    if (!f(o)) return undefined;
    const out = [...lines];
    out[pick(i)] = JSON.stringify(o);
    return join(out);
  };
  switch (tm.t) {
    case "edit":
      return reparse(tm.line, (o) => {
        const s = slots(o);
        if (s.length === 0) return false;
        const [c, k] = s[tm.node % s.length]!;
        (c as any)[k] = tm.value;
        return true;
      });
    case "add":
      return reparse(tm.line, (o) => {
        const s = objects(o);
        const c = s[tm.node % s.length]!;
        if (Object.hasOwn(c, tm.key)) return false;
        c[tm.key] = tm.value;
        return true;
      });
    case "remove":
      return reparse(tm.line, (o) => {
        const s = slots(o);
        if (s.length === 0) return false;
        const [c, k] = s[tm.node % s.length]!;
        if (Array.isArray(c)) c.splice(k as number, 1);
        else delete c[k as string];
        return true;
      });
    case "delete": {
      const out = [...lines];
      out.splice(pick(tm.from), tm.count);
      return join(out);
    }
    case "dup": {
      const out = [...lines];
      out.splice(tm.to % (lines.length + 1), 0, lines[pick(tm.line)]!);
      return join(out);
    }
    case "swap": {
      const out = [...lines];
      const a = pick(tm.a);
      const b = pick(tm.b);
      [out[a], out[b]] = [out[b]!, out[a]!];
      return join(out);
    }
    case "cut": {
      const buf = Buffer.from(text);
      return buf.subarray(0, tm.at % buf.length).toString("utf8");
    }
    case "garbage": {
      const at = tm.at % (text.length + 1);
      return text.slice(0, at) + tm.text + text.slice(at);
    }
  }
}

function explain(r: VerifyResult): string {
  return JSON.stringify({ ok: r.ok, problems: r.problems.map((p) => p.problem) });
}

describe("audit log fuzzing", () => {
  it("a written log verifies, and no tampering of it does", () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 8 }),
        fc.array(fc.record({ at: nat, keep: nat, again: fc.boolean() }), { maxLength: 2 }),
        tamper,
        (events, crashes, tm) => {
          const { text, head, torn } = writeLog(events, crashes);
          const clean = verifyAuditChain(text, { acceptTorn: true, head });
          if (!clean.ok) throw new Error(`an untampered log fails: ${explain(clean)}`);
          if (!torn && !verifyAuditChain(text).ok) throw new Error("an untampered log fails");
          const bad = apply(text, tm);
          fc.pre(bad !== undefined && bad !== text);
          const b = bad as string;
          // Whole lines cut off the end: only the stored head shows it.
          const tailOnly = text.startsWith(b) && (b === "" || b.endsWith("\n"));
          const checks: Array<[string, VerifyResult]> = [
            ["{acceptTorn, head}", verifyAuditChain(b, { acceptTorn: true, head })],
          ];
          if (!tailOnly) {
            checks.push(["{}", verifyAuditChain(b)]);
            checks.push(["{acceptTorn}", verifyAuditChain(b, { acceptTorn: true })]);
          }
          for (const [opts, r] of checks) {
            if (r.ok) throw new Error(`tampering ${JSON.stringify(tm)} passes with ${opts}`);
            if (r.firstBad === undefined || r.firstBad.line < 0) throw new Error(explain(r));
          }
        },
      ),
    );
  });

  it("any text gets a result, never an exception", () => {
    const line = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({ seq: fc.integer({ min: -2, max: 3 }), prev: str, hash: str, event: json })
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 6 }), fc.boolean(), (ls, asText) => {
        const r = asText ? verifyAuditChain(ls.join("\n")) : verifyAuditChain(ls);
        if (typeof r.ok !== "boolean" || r.ok !== (r.problems.length === 0)) {
          throw new Error(explain(r));
        }
        // The torn-line test agrees with JSON.parse: whatever parses is a prefix.
        for (const l of ls) {
          let parses = true;
          try {
            JSON.parse(l);
          } catch {
            parses = false;
          }
          if (parses && !isJsonPrefix(l)) throw new Error(`isJsonPrefix(${JSON.stringify(l)})`);
        }
      }),
    );
  });

  it("every prefix of a JSON text is recognised as one", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), nat, (v, cut) => {
        const s = JSON.stringify(v);
        if (s === undefined) return;
        const p = s.slice(0, cut % (s.length + 1));
        if (!isJsonPrefix(p)) throw new Error(`isJsonPrefix(${JSON.stringify(p)}) is false`);
      }),
    );
  });
});
