import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { AuditLog, AuditLogError, verifyAuditChain } from "./audit_log.ts";

function sample(n = 5): AuditLog {
  let t = 1_700_000_000_000;
  const log = new AuditLog({ now: () => t++ });
  for (let i = 0; i < n; i++)
    log.append({ kind: "decision", subject: "s", action: `a${i}`, n: i, big: BigInt(i) });
  return log;
}

describe("AuditLog", () => {
  it("writes pino JSON lines that verify", () => {
    const log = sample();
    const lines = log.export().trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    const o = JSON.parse(lines[0]!);
    expect(o).toMatchObject({
      level: 30,
      msg: "audit",
      seq: 0,
      event: { kind: "decision", action: "a0" },
    });
    expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    const r = log.verifySelf();
    expect(r).toMatchObject({ ok: true, count: 5, head: log.head });
  });
  it("detects an edited entry", () => {
    const lines = sample().export().trimEnd().split("\n");
    lines[2] = lines[2]!.replace('"a2"', '"aX"');
    const r = verifyAuditChain(lines);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ line: 3 });
    expect(r.problems[0]!.problem).toMatch(/edited/);
  });
  it("detects a deleted, a reordered and an inserted entry", () => {
    const lines = sample().export().trimEnd().split("\n");
    expect(verifyAuditChain([lines[0]!, lines[1]!, lines[3]!, lines[4]!]).ok).toBe(false);
    expect(verifyAuditChain([lines[0]!, lines[2]!, lines[1]!, lines[3]!, lines[4]!]).ok).toBe(
      false,
    );
    expect(verifyAuditChain([lines[0]!, lines[1]!, lines[1]!, lines[2]!]).ok).toBe(false);
    // Deleting the first line is seen too: by default a log starts at seq 0 and the
    // genesis hash; a tail exported on its own verifies only against the anchor of the
    // record before it.
    expect(verifyAuditChain(lines.slice(1)).ok).toBe(false);
    const first = JSON.parse(lines[0]!);
    expect(verifyAuditChain(lines.slice(1), { anchor: { seq: 0, hash: first.hash } }).ok).toBe(
      true,
    );
    const withFakeStart = lines.slice(1).map((l) => JSON.parse(l));
    withFakeStart[0].seq = 0;
    expect(verifyAuditChain(withFakeStart.map((o) => JSON.stringify(o))).ok).toBe(false); // ...cannot pose as a start
  });
  it("detects a truncated tail against a stored head", () => {
    const log = sample();
    const lines = log.export().trimEnd().split("\n");
    expect(verifyAuditChain(lines.slice(0, 4), { head: log.head }).ok).toBe(false);
    expect(verifyAuditChain(lines, { head: log.head }).ok).toBe(true);
  });
  it("writes to a file and resumes a chain", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-audit-"));
    try {
      const file = path.join(dir, "audit.jsonl");
      const a = new AuditLog({ destination: file });
      a.append({ kind: "one" });
      a.close();
      const b = new AuditLog({ destination: file, resume: { head: a.head, seq: 0 } });
      b.append({ kind: "two" });
      b.close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text, { head: b.head })).toMatchObject({ ok: true, count: 2 });
      a.exportTo(path.join(dir, "x.jsonl"));
      expect(fs.statSync(path.join(dir, "x.jsonl")).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("keeps a bounded window and notifies subscribers", () => {
    const log = new AuditLog({ keep: 2 });
    const seen: number[] = [];
    const off = log.subscribe((e) => seen.push(e.seq));
    for (let i = 0; i < 4; i++) log.append({ kind: "k" });
    off();
    log.append({ kind: "k" });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(log.entries().map((e) => e.seq)).toEqual([3, 4]);
    expect(log.verifySelf().ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// Issue 13: deleting the oldest records, pino's own fields, crash-resume, precise reasons.

const T0 = 1_700_000_000_000;

function lines5(): { log: AuditLog; lines: string[] } {
  const log = sample();
  return { log, lines: log.export().trimEnd().split("\n") };
}

/** Parses line i, lets `f` change the object and writes it back as JSON. */
function edit(lines: string[], i: number, f: (o: any) => void): string[] {
  const out = [...lines];
  const o = JSON.parse(out[i]!);
  f(o);
  out[i] = JSON.stringify(o);
  return out;
}

function tmpFile(): { file: string; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-audit-"));
  return {
    file: path.join(dir, "audit.jsonl"),
    done: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes `n` records to `file` with a fresh log; returns the text. */
function writeFile(file: string, n: number, from = 0): string {
  let t = T0;
  const log = new AuditLog({ destination: file, now: () => t++ });
  for (let i = from; i < from + n; i++) log.append({ kind: "decision", action: `a${i}` });
  log.close();
  return fs.readFileSync(file, "utf8");
}

describe("verifyAuditChain: where a log must start", () => {
  it("reports deleted oldest records (the chain must start at seq 0 and the genesis hash)", () => {
    const { lines } = lines5();
    const r = verifyAuditChain(lines.slice(2));
    expect(r.ok).toBe(false);
    expect(r.firstBad).toMatchObject({ line: 1, seq: 2, reason: "removed" });
    expect(r.firstBad!.problem).toMatch(/records 0.1 .*missing|missing.*0.1/);
    expect(r.firstBad!.problem).toMatch(/anchor/);
  });
  it("verifies a trimmed or rotated log against the anchor of the record before it", () => {
    const { lines } = lines5();
    const before = JSON.parse(lines[1]!);
    const anchor = { seq: before.seq, hash: before.hash };
    expect(verifyAuditChain(lines.slice(2), { anchor })).toMatchObject({ ok: true, count: 3 });
    // ...and the anchor is checked: one record too late, or a wrong hash.
    expect(verifyAuditChain(lines.slice(3), { anchor }).firstBad).toMatchObject({
      line: 1,
      seq: 3,
      reason: "removed",
    });
    const wrong = { seq: 1, hash: "1".repeat(64) };
    expect(verifyAuditChain(lines.slice(2), { anchor: wrong }).firstBad).toMatchObject({
      line: 1,
      seq: 2,
      reason: "edited",
    });
  });
  it("gives the end of a verified log as the anchor of the next one", () => {
    const { log, lines } = lines5();
    const a = verifyAuditChain(lines.slice(0, 3));
    expect(a.ok).toBe(true);
    expect(a.end).toEqual({ seq: 2, hash: JSON.parse(lines[2]!).hash });
    expect(verifyAuditChain(lines.slice(3), { anchor: a.end, head: log.head }).ok).toBe(true);
  });
  it("rejects a malformed anchor with a TypeError that names it", () => {
    expect(() => verifyAuditChain("", { anchor: { seq: 0, hash: "xyz" } })).toThrow(/anchor\.hash/);
    expect(() => verifyAuditChain("", { anchor: { seq: 1.5, hash: "0".repeat(64) } })).toThrow(
      /anchor\.seq/,
    );
  });
});

describe("verifyAuditChain: the hash covers the whole record as written", () => {
  const cases: Array<[string, (o: any) => void, string]> = [
    ["level", (o) => (o.level = 50), "edited"],
    ["msg", (o) => (o.msg = "nothing to see"), "edited"],
    ["time", (o) => (o.time = "2001-01-01T00:00:00.000Z"), "edited"],
    ["an added pid", (o) => (o.pid = 1), "added field"],
    ["an added hostname", (o) => (o.hostname = "h"), "added field"],
    ["a removed msg", (o) => delete o.msg, "removed field"],
    ["a removed level", (o) => delete o.level, "removed field"],
    ["an event field added", (o) => (o.event.approvedBy = "root"), "edited"],
  ];
  for (const [what, f, reason] of cases) {
    it(`reports ${what} (${reason})`, () => {
      const { lines } = lines5();
      const r = verifyAuditChain(edit(lines, 2, f));
      expect(r.ok).toBe(false);
      expect(r.firstBad).toMatchObject({ line: 3, seq: 2, reason });
    });
  }
  it("names an added top-level field", () => {
    const { lines } = lines5();
    const r = verifyAuditChain(edit(lines, 1, (o) => (o.pid = 4242)));
    expect(r.firstBad!.problem).toMatch(/"pid"/);
  });
  it("reports a line whose bytes changed but whose content did not (whitespace)", () => {
    const { lines } = lines5();
    const r = verifyAuditChain(lines.map((l, i) => (i === 1 ? l.replace(",", ", ") : l)));
    expect(r.firstBad).toMatchObject({ line: 2, seq: 1, reason: "edited" });
    expect(r.firstBad!.problem).toMatch(/byte/);
  });
  it("writes exactly the fields it hashes", () => {
    const o = JSON.parse(sample(1).lastLine!);
    expect(Object.keys(o)).toEqual(["level", "seq", "time", "prev", "hash", "event", "msg"]);
  });
});

describe("verifyAuditChain: names the first bad record and why", () => {
  it("removed (seq gap)", () => {
    const { lines } = lines5();
    const r = verifyAuditChain([lines[0]!, lines[1]!, lines[3]!, lines[4]!]);
    expect(r.firstBad).toMatchObject({ line: 3, seq: 3, reason: "removed" });
    expect(r.problems).toHaveLength(1);
  });
  it("reordered", () => {
    const { lines } = lines5();
    const r = verifyAuditChain([lines[0]!, lines[2]!, lines[1]!, lines[3]!, lines[4]!]);
    expect(r.firstBad).toMatchObject({ line: 2, seq: 2, reason: "reordered" });
  });
  it("duplicated", () => {
    const { lines } = lines5();
    const r = verifyAuditChain([lines[0]!, lines[1]!, lines[2]!, lines[1]!, lines[3]!]);
    expect(r.firstBad).toMatchObject({ line: 4, seq: 1, reason: "duplicated" });
    expect(r.firstBad!.problem).toMatch(/line 2/);
    expect(r.problems).toHaveLength(1);
  });
  it("bad JSON, an empty line", () => {
    const { lines } = lines5();
    expect(verifyAuditChain([lines[0]!, "garbage", lines[1]!]).firstBad).toMatchObject({
      line: 2,
      reason: "bad JSON",
    });
    expect(verifyAuditChain(`${lines[0]}\n\n${lines[1]}\n`).firstBad).toMatchObject({
      line: 2,
      reason: "bad JSON",
    });
  });
  it("truncated: a last line without its newline, or a tail that ends before the stored head", () => {
    const { log, lines } = lines5();
    const text = `${lines.join("\n")}\n`;
    const cut = verifyAuditChain(text.slice(0, -30));
    expect(cut.firstBad).toMatchObject({ line: 5, reason: "truncated" });
    expect(cut.firstBad!.problem).toMatch(/^truncated record at line 5 \(crash while writing\)/);
    const short = verifyAuditChain(lines.slice(0, 3), { head: log.head });
    expect(short.firstBad).toMatchObject({ reason: "truncated" });
  });
  it("never throws on hostile lines (deep nesting, non-objects, odd types)", () => {
    const { lines } = lines5();
    const deep = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    const hostile = [
      lines[0]!.replace('"n":0', `"n":${deep}`),
      "[".repeat(100_000),
      "null",
      "[]",
      '{"seq":"0","prev":1,"hash":null}',
      '{"seq":1e300,"prev":"x","hash":"y"}',
      '{"__proto__":{"seq":0}}',
      "\u0000\ud800",
    ];
    for (const h of hostile) {
      const r = verifyAuditChain([h, ...lines.slice(1)]);
      expect(r.ok).toBe(false);
      expect(r.firstBad!.line).toBe(1);
    }
  });
});

describe("AuditLog: crash and resume", () => {
  it("starts on a fresh line after a torn record and says so when verifying", () => {
    const { file, done } = tmpFile();
    try {
      const full = writeFile(file, 3);
      // The process died while writing record 2: only part of its line reached the disk.
      const bytes = Buffer.from(full);
      const lastStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
      fs.truncateSync(file, lastStart + 40);
      const b = new AuditLog({ destination: file });
      expect(b.nextSeq).toBe(3); // 2 was lost; the resume record takes its place
      b.append({ kind: "after" });
      b.close();
      const text = fs.readFileSync(file, "utf8");
      const ls = text.trimEnd().split("\n");
      expect(ls).toHaveLength(5);
      expect(JSON.parse(ls[3]!)).toMatchObject({ seq: 2, event: { kind: "audit.resume" } });
      expect(JSON.parse(ls[4]!)).toMatchObject({ seq: 3, event: { kind: "after" } });
      // By default the torn line is reported, precisely.
      const r = verifyAuditChain(text);
      expect(r.ok).toBe(false);
      expect(r.problems).toHaveLength(1);
      expect(r.firstBad).toMatchObject({ line: 3, seq: 2, reason: "truncated" });
      expect(r.firstBad!.problem).toMatch(/^truncated record at line 3 \(crash while writing\)/);
      expect(r.firstBad!.problem).toMatch(/resumed at line 4/);
      // Accepted on request, and listed.
      const a = verifyAuditChain(text, { acceptTorn: true, head: b.head });
      expect(a).toMatchObject({ ok: true, count: 4, torn: [{ line: 3, seq: 2, resumedAt: 4 }] });
      // Its memory holds the line it closed and what it wrote after, anchored where it resumed.
      expect(b.verifySelf().ok).toBe(true);
      expect(b.export()).toBe(`${ls.slice(2).join("\n")}\n`);
      expect(b.anchor).toEqual({ seq: 1, hash: JSON.parse(ls[1]!).hash });
      expect(verifyAuditChain(b.export(), { anchor: b.anchor, acceptTorn: true }).ok).toBe(true);
    } finally {
      done();
    }
  });
  it("resumes after a torn first record and after a torn record cut inside a UTF-8 character", () => {
    const { file, done } = tmpFile();
    try {
      let t = T0;
      const a = new AuditLog({ destination: file, now: () => t++ });
      a.append({ kind: "x", note: "€€€€€€€€€€" });
      a.close();
      const buf = fs.readFileSync(file);
      fs.truncateSync(file, buf.indexOf("€") + 1); // cut inside the 3-byte "€"
      new AuditLog({ destination: file }).close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text, { acceptTorn: true })).toMatchObject({
        ok: true,
        count: 1,
        torn: [{ line: 1, seq: 0, resumedAt: 2 }],
      });
      // Without its torn first line, the resume record on line 1 gives it away.
      const rest = text.slice(text.indexOf("\n") + 1);
      expect(verifyAuditChain(rest, { acceptTorn: true }).firstBad).toMatchObject({
        line: 1,
        seq: 0,
        reason: "removed",
      });
    } finally {
      done();
    }
  });
  it("resumes after a crash while resuming (a resume record accounts for both torn lines)", () => {
    const { file, done } = tmpFile();
    try {
      const full = writeFile(file, 3);
      fs.truncateSync(file, Buffer.byteLength(full) - 30);
      // The resume dies too: its newline is written, its resume record only in part.
      const real = fs.writeSync;
      const spy = vi
        .spyOn(fs, "writeSync")
        .mockImplementationOnce(((fd: number, b: Buffer) => real(fd, b)) as any)
        .mockImplementationOnce(((fd: number, b: Buffer) => {
          real(fd, b.subarray(0, 25));
          throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
        }) as any);
      expect(() => new AuditLog({ destination: file })).toThrow(AuditLogError);
      spy.mockRestore();
      const c = new AuditLog({ destination: file });
      expect(c.nextSeq).toBe(3);
      c.append({ kind: "after" });
      c.close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text).problems.map((p) => [p.line, p.reason])).toEqual([
        [3, "truncated"],
        [4, "truncated"],
      ]);
      expect(verifyAuditChain(text, { acceptTorn: true, head: c.head })).toMatchObject({
        ok: true,
        count: 4,
        torn: [
          { line: 3, seq: 2, resumedAt: 5 },
          { line: 4, seq: 2, resumedAt: 5 },
        ],
      });
      expect(c.verifySelf().ok).toBe(true);
    } finally {
      done();
    }
  });
  it("treats a record whose newline never reached the file as torn", () => {
    const { file, done } = tmpFile();
    try {
      const full = writeFile(file, 2);
      fs.truncateSync(file, Buffer.byteLength(full) - 1);
      const b = new AuditLog({ destination: file });
      expect(b.nextSeq).toBe(2); // seq 1 is taken over by the resume record
      b.close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text, { acceptTorn: true })).toMatchObject({
        ok: true,
        torn: [{ line: 2, seq: 1, resumedAt: 3 }],
      });
    } finally {
      done();
    }
  });
  it("resumes cleanly (no resume record) when the last line is complete", () => {
    const { file, done } = tmpFile();
    try {
      writeFile(file, 2);
      const b = new AuditLog({ destination: file });
      expect(b.nextSeq).toBe(2);
      b.append({ kind: "three" });
      b.close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text, { head: b.head })).toMatchObject({ ok: true, count: 3 });
    } finally {
      done();
    }
  });
  it("refuses a resume point that would fork the file's chain", () => {
    const { file, done } = tmpFile();
    try {
      writeFile(file, 2);
      expect(
        () => new AuditLog({ destination: file, resume: { head: "1".repeat(64), seq: 1 } }),
      ).toThrow(AuditLogError);
      expect(
        () => new AuditLog({ destination: file, resume: { head: "1".repeat(64), seq: 1 } }),
      ).toThrow(/fork/);
    } finally {
      done();
    }
  });
  it("refuses to append to a file whose last line is not an audit record", () => {
    const { file, done } = tmpFile();
    try {
      fs.writeFileSync(file, "hello\n");
      expect(() => new AuditLog({ destination: file })).toThrow(AuditLogError);
      expect(() => new AuditLog({ destination: file })).toThrow(/audit\.jsonl/);
      fs.rmSync(file);
      fs.writeFileSync(file, `${writeFile(file, 1)}hello`); // garbage, not a torn record
      expect(() => new AuditLog({ destination: file })).toThrow(/bytes \d+–\d+ is neither/);
    } finally {
      done();
    }
  });
  it("reports a torn final line even with acceptTorn (no resume accounts for it)", () => {
    const { file, done } = tmpFile();
    try {
      const text = writeFile(file, 3).slice(0, -25);
      for (const opts of [{}, { acceptTorn: true }]) {
        const r = verifyAuditChain(text, opts);
        expect(r.ok).toBe(false);
        expect(r.firstBad).toMatchObject({ line: 3, reason: "truncated" });
      }
    } finally {
      done();
    }
  });
  it("says precisely when a torn line is followed by a correct chain but nothing accounts for it", () => {
    const { lines } = lines5();
    // What the old resume did at best: a newline after the torn part, then the chain goes on.
    const torn = [lines[0]!, lines[1]!, lines[2]!.slice(0, 50), lines[2]!, lines[3]!];
    for (const opts of [{}, { acceptTorn: true }]) {
      const r = verifyAuditChain(torn, opts);
      expect(r.ok).toBe(false);
      expect(r.problems).toHaveLength(1);
      expect(r.firstBad).toMatchObject({ line: 3, seq: 2, reason: "truncated" });
      expect(r.firstBad!.problem).toMatch(
        /^truncated record at line 3 \(crash while writing\).*chain continues correctly/,
      );
    }
  });
  it("reports a resumed log whose torn line was removed or edited", () => {
    const { file, done } = tmpFile();
    try {
      const full = writeFile(file, 3);
      fs.truncateSync(file, Buffer.byteLength(full) - 30);
      new AuditLog({ destination: file }).close();
      const ls = fs.readFileSync(file, "utf8").split("\n");
      const removed = [...ls.slice(0, 2), ...ls.slice(3)].join("\n");
      expect(verifyAuditChain(removed, { acceptTorn: true }).firstBad).toMatchObject({
        line: 3,
        reason: "removed",
      });
      const edited = ls.map((l, i) => (i === 2 ? l.replace("a2", "b2") : l)).join("\n");
      expect(verifyAuditChain(edited, { acceptTorn: true }).ok).toBe(false);
    } finally {
      done();
    }
  });
});

describe("AuditLog: writing", () => {
  it("rejects an event it cannot write faithfully, and changes nothing", () => {
    const log = sample(2);
    const circular: any = { kind: "x" };
    circular.self = circular;
    expect(() => log.append(circular)).toThrow(RangeError);
    expect(() => log.append(circular)).toThrow(/\/event\/self\/self/);
    expect(() => log.append({ kind: "audit.resume" })).toThrow(/reserved/);
    expect(() => log.append({} as any)).toThrow(TypeError);
    expect(log.nextSeq).toBe(2);
    expect(log.verifySelf().ok).toBe(true);
  });
  it("writes what JSON cannot carry as is in the form it hashes (Date, BigInt, bytes)", () => {
    const log = new AuditLog();
    log.append({ kind: "x", at: new Date(0), n: 10n, b: new Uint8Array([1, 2]), u: undefined });
    expect(JSON.parse(log.lastLine!).event).toEqual({
      kind: "x",
      at: "1970-01-01T00:00:00.000Z",
      n: "10",
      b: "AQI=",
    });
    expect(AuditLog.verify(log.export()).ok).toBe(true);
  });
  it("does not follow a symlink at the destination", () => {
    const { file, done } = tmpFile();
    try {
      const target = `${file}.target`;
      fs.writeFileSync(target, "");
      fs.symlinkSync(target, file);
      expect(() => new AuditLog({ destination: file })).toThrow(AuditLogError);
      expect(() => new AuditLog({ destination: file })).toThrow(/symbolic link/);
    } finally {
      done();
    }
  });
  it("throws a typed error when a write fails and does not count the record", () => {
    const log = new AuditLog({ destination: "/dev/full" });
    expect(() => log.append({ kind: "x" })).toThrow(AuditLogError);
    expect(() => log.append({ kind: "x" })).toThrow(/\/dev\/full/);
    expect(log.nextSeq).toBe(0);
    log.close();
  });
  it("closes a line a failed write left half-written before the next record", () => {
    const { file, done } = tmpFile();
    try {
      let t = T0;
      const log = new AuditLog({ destination: file, now: () => t++ });
      log.append({ kind: "one" });
      const real = fs.writeSync;
      // The disk fills up after 30 bytes of the second record.
      const spy = vi.spyOn(fs, "writeSync").mockImplementationOnce(((fd: number, b: Buffer) => {
        real(fd, b.subarray(0, 30));
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      }) as unknown as typeof fs.writeSync);
      expect(() => log.append({ kind: "two" })).toThrow(/ENOSPC/);
      spy.mockRestore();
      log.append({ kind: "three" });
      log.close();
      const text = fs.readFileSync(file, "utf8");
      expect(verifyAuditChain(text).firstBad).toMatchObject({ line: 2, reason: "truncated" });
      expect(verifyAuditChain(text, { acceptTorn: true, head: log.head })).toMatchObject({
        ok: true,
        count: 3,
        torn: [{ line: 2, seq: 1, resumedAt: 3 }],
      });
      expect(log.export()).toBe(text);
      expect(log.verifySelf().ok).toBe(true);
      expect(log.entries().map((e) => e.event.kind)).toEqual(["one", "audit.resume", "three"]);
    } finally {
      done();
    }
  });
  it("anchors a trimmed window so that its export verifies", () => {
    const log = new AuditLog({ keep: 3 });
    for (let i = 0; i < 200; i++) log.append({ kind: "k", i });
    expect(verifyAuditChain(log.export()).ok).toBe(false); // starts mid-chain
    expect(verifyAuditChain(log.export(), { anchor: log.anchor, head: log.head }).ok).toBe(true);
    expect(log.anchor.seq).toBe(196);
  });
});

describe("fuzzing counterexamples (audit_log_fuzz_test.ts), fixed", () => {
  it("a record torn inside a number's exponent is a truncated record, not bad JSON", () => {
    // isJsonPrefix("[1.052322692390905e") was false: the whole-number match stopped before "e".
    const { lines } = lines5();
    const line = JSON.stringify({ ...JSON.parse(lines[2]!), x: 1.052322692390905e-309 });
    const torn = line.slice(0, line.indexOf("e-309") + 1);
    const r = verifyAuditChain([lines[0]!, lines[1]!, torn, lines[2]!]);
    expect(r.firstBad).toMatchObject({ line: 3, reason: "truncated" });
  });
  it("a prev or hash edited to an object that cannot become a string is reported, not thrown", () => {
    // FORGE_FUZZ_SEED=99070735: edit {"kind":""}'s record, a field := {"toString":false}
    // → TypeError: Cannot convert object to primitive value (String(o.prev) in the verifier).
    const { lines } = lines5();
    for (const field of ["prev", "hash", "seq"]) {
      const r = verifyAuditChain(edit(lines, 1, (o) => (o[field] = { toString: false })));
      expect(r.firstBad).toMatchObject({ line: 2, reason: "edited" });
    }
  });
});
