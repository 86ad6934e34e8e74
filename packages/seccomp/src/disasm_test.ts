import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { BPF, insn } from "./bpf.ts";
import { compileProfile } from "./compile.ts";
import { disassemble, toC } from "./disasm.ts";

const profile = {
  defaultAction: "SCMP_ACT_ERRNO",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [
    { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
    { names: ["getpid"], action: "SCMP_ACT_TRACE", errnoRet: 5 },
    {
      names: ["ioctl"],
      action: "SCMP_ACT_KILL_PROCESS",
      args: [{ index: 1, value: 0x5412, op: "SCMP_CMP_EQ" }],
    },
  ],
};

describe("disassemble", () => {
  test("one readable line per instruction: fields, arches, syscall names, actions", () => {
    const f = compileProfile(profile, { arch: "x86_64", kernel: "6.1" });
    const text = disassemble(f.program, "x86_64");
    const lines = text.split("\n");
    expect(lines).toHaveLength(f.program.length);
    lines.forEach((l, i) => {
      expect(l.startsWith(`${i.toString().padStart(4, "0")}: `)).toBe(true);
    });
    expect(lines[0]).toBe("0000: ld   [arch]");
    expect(text).toMatch(/jeq {2}arch, AUDIT_ARCH\(x86_64\/x32\)/);
    expect(text).toMatch(/jeq {2}arch, AUDIT_ARCH\(i386\)/);
    expect(text).toContain("ld   [nr]");
    expect(text).toContain("ld   [args[1].lo]");
    expect(text).toContain("ld   [args[1].hi]");
    // Syscall names per ABI: x86_64 numbers, i386 numbers, x32 numbers (0x40000000 set).
    expect(text).toMatch(/nr, 16 \(ioctl\)/);
    expect(text).toMatch(/nr, 54 \(ioctl\)/); // i386 ioctl
    expect(text).toMatch(/\(0x40000202\) \(ioctl\)/); // x32 ioctl is 514
    for (const action of ["ret  ALLOW", "ret  ERRNO(1)", "ret  TRACE(5)", "ret  KILL_PROCESS"])
      expect(text).toContain(action);
    // The aarch64 tree names aarch64 syscalls.
    const a = compileProfile(profile, { arch: "aarch64", subArches: [], kernel: "6.1" });
    expect(disassemble(a.program, "aarch64")).toMatch(/nr, 29 \(ioctl\)/);
  });

  test("instructions the compiler never emits still disassemble", () => {
    const text = disassemble(
      [
        insn(BPF.LD | BPF.IMM, 7),
        insn(BPF.ALU | BPF.AND | BPF.K, 0xff),
        insn(BPF.MISC | BPF.TAX),
        insn(BPF.ST, 3),
        insn(BPF.LDX | BPF.MEM, 3),
        insn(BPF.JMP | BPF.JSET | BPF.X, 0, 0, 0),
        insn(BPF.RET | BPF.A),
      ],
      "x86_64",
    );
    expect(text.split("\n")).toEqual([
      "0000: ld   #0x7",
      "0001: and  0xff",
      "0002: tax",
      "0003: st   M[3]",
      "0004: ldx  M[3]",
      "0005: jset A, X  jt 0006  jf 0006",
      "0006: ret  A",
    ]);
  });
});

describe("toC", () => {
  test("a sock_filter array and sock_fprog that a C compiler accepts, of the right length", () => {
    const f = compileProfile(profile, { arch: "x86_64", kernel: "6.1" });
    const c = toC(f.program, "forge_filter");
    expect(c).toContain("#include <linux/filter.h>");
    expect(c).toContain("static struct sock_filter forge_filter[] = {");
    expect(c).toContain(`.len = ${f.program.length},`);
    expect(c.match(/^\t\{ 0x/gm)).toHaveLength(f.program.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-toc-"));
    try {
      // The array, compiled and dumped as bytes, is the filter the kernel loads.
      fs.writeFileSync(
        path.join(dir, "f.c"),
        `#include <stdio.h>\n${c}\nint main(void) { fwrite(forge_filter, sizeof forge_filter, 1, stdout); return forge_filter_prog.len == sizeof forge_filter / sizeof forge_filter[0] ? 0 : 1; }\n`,
      );
      execFileSync("cc", ["-o", path.join(dir, "f"), path.join(dir, "f.c")]);
      const out = execFileSync(path.join(dir, "f"));
      expect(Buffer.compare(out, Buffer.from(f.bytes))).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
