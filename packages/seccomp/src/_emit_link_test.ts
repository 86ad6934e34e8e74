import { expect, test } from "vitest";
import { Program } from "./_emit_link.ts";
import { BPF, SECCOMP_DATA } from "./bpf.ts";
import { checkFilter, emulate } from "./emulator.ts";

const tooLong = (n: number) => new RangeError(`${n}`);

test("long chains link in one pass, with rets placed where jumps reach them", () => {
  // nr == i returns value i % 7; 2000 jumps, far beyond 8-bit offsets.
  const p = new Program(10_000, tooLong);
  p.ld(SECCOMP_DATA.NR);
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const next = i === n - 1 ? p.retLabel(0xdead) : p.label();
    p.jmp(BPF.JEQ, i, p.retLabel(0x50000 + (i % 7)), next);
    if (i < n - 1) p.bind(next);
  }
  const prog = p.link();
  expect(checkFilter(prog)).toEqual([]);
  for (const i of [0, 1, 6, 7, 255, 256, 999, 1999]) {
    expect(emulate(prog, { nr: i, arch: 0 }).value).toBe(0x50000 + (i % 7));
  }
  expect(emulate(prog, { nr: n, arch: 0 }).value).toBe(0xdead);
  // Each value needs one ret per ~256 instructions of jumps, not one per jump.
  const rets = prog.filter((x) => x.code === (BPF.RET | BPF.K)).length;
  expect(rets).toBeLessThanOrEqual(8 * Math.ceil(prog.length / 250) + 1);
  // Every jump in reach: no offset over 255 (encoded in 8 bits).
  expect(prog.every((x) => x.jt <= 255 && x.jf <= 255)).toBe(true);
});

test("far jumps to code go through ja stubs that later jumps reuse", () => {
  const p = new Program(10_000, tooLong);
  const far = p.label("far");
  p.ld(SECCOMP_DATA.NR);
  for (let i = 0; i < 600; i++) {
    const next = p.label();
    p.jmp(BPF.JEQ, i, far, next);
    p.bind(next);
  }
  const tail = p.label();
  p.jmp(BPF.JEQ, 9999, p.retLabel(1), tail);
  p.bind(tail);
  p.jmp(BPF.JEQ, 10_000, p.retLabel(2), far);
  p.bind(far);
  p.ld(SECCOMP_DATA.ARCH);
  p.jmp(BPF.JEQ, 7, p.retLabel(3), p.retLabel(4));
  const prog = p.link();
  expect(checkFilter(prog)).toEqual([]);
  const ja = prog.filter((x) => x.code === (BPF.JMP | BPF.JA)).length;
  expect(ja).toBeGreaterThan(0);
  expect(ja).toBeLessThanOrEqual(3);
  expect(emulate(prog, { nr: 0, arch: 7 }).value).toBe(3);
  expect(emulate(prog, { nr: 599, arch: 8 }).value).toBe(4);
  expect(emulate(prog, { nr: 9999, arch: 8 }).value).toBe(1);
});

test("emitting past the limit fails fast", () => {
  const p = new Program(10, tooLong);
  expect(() => {
    for (let i = 0; i < 20; i++) p.ld(0);
  }).toThrow(RangeError);
});
