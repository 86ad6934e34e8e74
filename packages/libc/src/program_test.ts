import { describe, expect, it } from "vitest";
import { compileProgram, linkPrograms, OP_SIZE, type Step } from "./program.ts";

const u32 = (b: Uint8Array, off: number) =>
  new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const i64 = (b: Uint8Array, off: number) =>
  new DataView(b.buffer, b.byteOffset).getBigInt64(off, true);

describe("compileProgram", () => {
  it("encodes a syscall with immediates and a string", () => {
    const p = compileProgram(
      [{ label: "set hostname", syscall: "sethostname", args: [{ cstring: "box" }, 3] }],
      "x86_64",
    );
    expect(p.opCount).toBe(1);
    expect(p.ops.length).toBe(OP_SIZE);
    expect(u32(p.ops, 0)).toBe(0); // OP_SYSCALL
    expect(i64(p.ops, 8)).toBe(170n); // sethostname on x86_64
    expect(p.ops[16]).toBe(1); // ARG_DATA
    expect(p.ops[17]).toBe(0); // ARG_IMM
    const off = Number(i64(p.ops, 24));
    expect(Buffer.from(p.data.subarray(off, off + 4)).toString("latin1")).toBe("box\0");
    expect(i64(p.ops, 32)).toBe(3n);
  });

  it("resolves names per architecture", () => {
    const a = compileProgram([{ label: "x", syscall: "getpid", args: [] }], "aarch64");
    expect(i64(a.ops, 8)).toBe(172n);
    expect(() =>
      compileProgram([{ label: "open a file", syscall: "open", args: [] }], "aarch64"),
    ).toThrow('step 0 (open a file): no syscall "open" on aarch64');
  });

  it("lays out argv arrays with relocations for every pointer", () => {
    const p = compileProgram(
      [
        {
          label: "exec",
          syscall: "execve",
          args: [{ cstring: "/bin/sh" }, { strings: ["sh", "-c", "x"] }, { strings: [] }],
        },
      ],
      "x86_64",
    );
    const table = Number(i64(p.ops, 32));
    expect([...p.relocs].map(Number)).toEqual([table, table + 8, table + 16]);
    const dv = new DataView(p.data.buffer);
    const s0 = Number(dv.getBigUint64(table, true));
    expect(Buffer.from(p.data.subarray(s0, s0 + 3)).toString()).toBe("sh\0");
    expect(dv.getBigUint64(table + 24, true)).toBe(0n); // NULL terminator
  });

  it("links results, scratch buffers and struct pointers", () => {
    const filter = new Uint8Array(16).fill(7);
    const fprog = new Uint8Array(16);
    const p = compileProgram(
      [
        { label: "pipe", syscall: "pipe2", args: [{ out: "fds", size: 8 }, 0], id: "p" },
        { label: "close", syscall: "close", args: [{ load32: "fds", offset: 4 }] },
        { label: "dup", syscall: "dup", args: [{ result: "p" }], optional: true },
        {
          label: "filter",
          syscall: "seccomp",
          args: [1, 0, { bytes: fprog, pointers: [{ at: 8, to: filter }] }],
        },
      ],
      "x86_64",
    );
    const fds = Number(i64(p.ops, 24));
    expect(p.ops[OP_SIZE + 16]).toBe(3); // ARG_MEM32
    expect(Number(i64(p.ops, OP_SIZE + 24))).toBe(fds + 4);
    expect(p.ops[2 * OP_SIZE + 16]).toBe(2); // ARG_RESULT
    expect(i64(p.ops, 2 * OP_SIZE + 24)).toBe(0n);
    expect(u32(p.ops, 2 * OP_SIZE + 4)).toBe(1); // optional
    const s = Number(i64(p.ops, 3 * OP_SIZE + 40));
    expect(p.relocs).toContain(BigInt(s + 8));
    const target = Number(new DataView(p.data.buffer).getBigUint64(s + 8, true));
    expect([...p.data.subarray(target, target + 16)]).toEqual([...filter]);
  });

  it("encodes the special ops", () => {
    const p = compileProgram(
      [
        { kind: "wait-byte", label: "wait", fd: 5 },
        { kind: "reaper", label: "init" },
      ],
      "x86_64",
    );
    expect(u32(p.ops, 0)).toBe(1);
    expect(i64(p.ops, 24)).toBe(5n);
    expect(u32(p.ops, OP_SIZE)).toBe(2);
    expect(i64(p.ops, OP_SIZE + 24)).toBe(-1n);
    expect(i64(p.ops, OP_SIZE + 32)).toBe(-1n);
    const alive = compileProgram([{ kind: "parent-alive", label: "alive?" }], "x86_64");
    expect(u32(alive.ops, 0)).toBe(3);
  });

  it("encodes strings of any length, whatever size the data blob grows to", () => {
    // The blob grew to odd sizes once (an argv element of 8136 bytes threw "byte length
    // of Int32Array should be a multiple of 4" from the pointer writes).
    for (let n = 4000; n < 4200; n++) {
      const p = compileProgram(
        [
          {
            label: "exec",
            syscall: "execve",
            args: [{ cstring: "/bin/true" }, { strings: ["x".repeat(2 * n)] }, { strings: [] }],
          },
        ],
        "x86_64",
      );
      expect(p.data.length).toBeGreaterThan(2 * n);
    }
  });

  it("rejects what it cannot encode, naming the step", () => {
    expect(() =>
      compileProgram([{ label: "a", syscall: "close", args: [{ result: "nope" }] }]),
    ).toThrow('step 0 (a): no earlier step with id "nope"');
    expect(() =>
      compileProgram([{ label: "b", syscall: "close", args: [{ load32: "x" }] }]),
    ).toThrow('no scratch buffer "x"');
    expect(() =>
      compileProgram([{ label: "c", syscall: "close", args: [1, 2, 3, 4, 5, 6, 7] }]),
    ).toThrow("at most 6 arguments");
    expect(() =>
      compileProgram([{ label: "d", syscall: "chdir", args: [{ cstring: "a\0b" }] }]),
    ).toThrow("NUL byte");
    expect(() => compileProgram([{ label: "e", syscall: "close", args: [1.5] }])).toThrow(
      "not an integer",
    );
    expect(() =>
      compileProgram([
        { label: "f", syscall: "getpid", args: [], id: "x" },
        { label: "g", syscall: "getpid", args: [], id: "x" },
      ]),
    ).toThrow('duplicate id "x"');
  });
});

/** Every op's arguments as values that do not depend on layout: strings for data, step indices for results. */
function resolved(p: ReturnType<typeof compileProgram>): unknown[] {
  const cstr = (off: number) => {
    const end = p.data.indexOf(0, off);
    return Buffer.from(p.data.subarray(off, end)).toString();
  };
  const relocs = new Set([...p.relocs].map(Number));
  const out: unknown[] = [];
  for (let i = 0; i < p.opCount; i++) {
    const base = i * OP_SIZE;
    const row: unknown[] = [u32(p.ops, base), i64(p.ops, base + 8)];
    for (let j = 0; j < 6; j++) {
      const kind = p.ops[base + 16 + j]!;
      const v = i64(p.ops, base + 24 + j * 8);
      if (kind === 1) {
        // a string, or a table of blob-relative pointers to strings
        const off = Number(v);
        if (relocs.has(off)) {
          const table: string[] = [];
          for (let k = off; relocs.has(k); k += 8) table.push(cstr(Number(i64(p.data, k))));
          row.push(table);
        } else row.push(cstr(off));
      } else row.push([kind, v]);
    }
    out.push(row);
  }
  return out;
}

describe("linkPrograms", () => {
  const a: Step[] = [
    { label: "open", syscall: "openat", args: [-100, { cstring: "/etc/hostname" }, 0], id: "f" },
    { label: "close", syscall: "close", args: [{ result: "f" }] },
  ];
  const b: Step[] = [
    { label: "pipe", syscall: "pipe2", args: [{ out: "p", size: 8 }, 0] },
    { label: "close read end", syscall: "close", args: [{ load32: "p" }] },
    { label: "set hostname", syscall: "sethostname", args: [{ cstring: "box" }, 3], id: "h" },
    { label: "again", syscall: "getpid", args: [{ result: "h" }] },
  ];
  const c: Step[] = [
    {
      label: "exec",
      syscall: "execve",
      args: [{ cstring: "/bin/sh" }, { strings: ["sh", "-c", "x"] }, { strings: ["A=1"] }],
    },
  ];

  it("gives the program one compile of all the steps gives", () => {
    const linked = linkPrograms([compileProgram(a), compileProgram(b), compileProgram(c)]);
    const whole = compileProgram([...a, ...b, ...c]);
    expect(linked.opCount).toBe(whole.opCount);
    expect(linked.steps).toEqual(whole.steps);
    expect(resolved(linked)).toEqual(resolved(whole));
    // Result references point at the same steps, moved past the parts before them.
    expect(i64(linked.ops, 5 * OP_SIZE + 24)).toBe(4n);
    expect(linked.relocs.length).toBe(whole.relocs.length);
  });

  it("keeps load32 offsets on their scratch buffer", () => {
    const linked = linkPrograms([compileProgram(a), compileProgram(b)]);
    const whole = compileProgram([...a, ...b]);
    const load = (p: typeof linked) => Number(i64(p.ops, 3 * OP_SIZE + 24));
    const buf = (p: typeof linked) => Number(i64(p.ops, 2 * OP_SIZE + 24));
    expect(load(linked)).toBe(buf(linked));
    expect(load(whole)).toBe(buf(whole));
  });
});
