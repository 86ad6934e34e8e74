import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AuditLog, verifyAuditChain } from "./audit_log.ts";

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
    // Deleting the first line is seen too (chain must start at the genesis hash).
    expect(verifyAuditChain(lines.slice(1)).ok).toBe(true); // a tail exported on its own...
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
