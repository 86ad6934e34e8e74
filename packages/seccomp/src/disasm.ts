/**
 * Disassembler: readable assembly for a seccomp filter, with seccomp_data fields,
 * audit-arch names, syscall names and decoded return actions.
 *
 * @module
 */
import { ARCHES, type Arch, syscallName } from "@forge/libc";
import { decodeAction, formatAction } from "./action.ts";
import { BPF, type Instruction, SECCOMP_DATA } from "./bpf.ts";

function field(k: number): string {
  if (k === SECCOMP_DATA.NR) return "nr";
  if (k === SECCOMP_DATA.ARCH) return "arch";
  if (k === SECCOMP_DATA.IP_LO) return "ip.lo";
  if (k === SECCOMP_DATA.IP_HI) return "ip.hi";
  const i = Math.floor((k - SECCOMP_DATA.ARGS) / 8);
  return `args[${i}].${k % 8 === 0 ? "lo" : "hi"}`;
}

function auditName(k: number): string | undefined {
  const names = Object.values(ARCHES)
    .filter((a) => a.auditArch >>> 0 === k >>> 0)
    .map((a) => a.name);
  return names.length ? `AUDIT_ARCH(${names.join("/")})` : undefined;
}

type Loaded = "nr" | "arch" | "other";
interface State {
  a: Loaded;
  arch: Arch | undefined;
}

/**
 * Disassembles a program, one line per instruction:
 * `0012: jge nr, 59 (execve)  jt 0014  jf 0013`. `arch` names syscalls where the
 * path does not tell which ABI is running.
 *
 * @example
 * ```ts
 * import { compileProfile, disassemble } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" });
 * console.log(disassemble(f.program, "x86_64"));
 * ```
 */
export function disassemble(program: readonly Instruction[], arch: Arch): string {
  // Forward dataflow: which word A holds and which ABI the path is on.
  const states: (State | undefined)[] = new Array(program.length);
  states[0] = { a: "other", arch: undefined };
  const merge = (pc: number, s: State) => {
    if (pc >= program.length) return;
    const cur = states[pc];
    if (!cur) states[pc] = { ...s };
    else
      states[pc] = {
        a: cur.a === s.a ? cur.a : "other",
        arch: cur.arch === s.arch ? cur.arch : undefined,
      };
  };
  const lines: string[] = [];
  const pad = (n: number) => n.toString().padStart(4, "0");
  program.forEach((p, pc) => {
    const s = states[pc] ?? { a: "other", arch: undefined };
    const cls = p.code & 0x07;
    const op = p.code & 0xf0;
    let text: string;
    let next: State = s;
    const kText = () => {
      if (s.a === "arch") return auditName(p.k) ?? `0x${p.k.toString(16)}`;
      if (s.a === "nr") {
        const abi: Arch = s.arch === "x86_64" && p.k >= 0x40000000 ? "x32" : (s.arch ?? arch);
        const bit = ARCHES[abi].syscallBit;
        const name = p.k >= bit ? syscallName(p.k - bit, abi) : undefined;
        return `${p.k}${p.k >= 0x40000000 ? ` (0x${p.k.toString(16)})` : ""}${name ? ` (${name})` : ""}`;
      }
      return `0x${p.k.toString(16)}`;
    };
    if (cls === BPF.LD && (p.code & 0xe0) === BPF.ABS) {
      text = `ld   [${field(p.k)}]`;
      next = {
        ...s,
        a: p.k === SECCOMP_DATA.NR ? "nr" : p.k === SECCOMP_DATA.ARCH ? "arch" : "other",
      };
    } else if (cls === BPF.RET) {
      text = (p.code & 0x18) === BPF.A ? "ret  A" : `ret  ${formatAction(decodeAction(p.k))}`;
    } else if (cls === BPF.JMP && op === BPF.JA) {
      text = `ja   ${pad(pc + 1 + p.k)}`;
      merge(pc + 1 + p.k, s);
    } else if (cls === BPF.JMP) {
      const name =
        { [BPF.JEQ]: "jeq ", [BPF.JGT]: "jgt ", [BPF.JGE]: "jge ", [BPF.JSET]: "jset" }[op] ??
        "j?? ";
      const src = (p.code & 0x08) === BPF.X ? "X" : kText();
      text = `${name} ${s.a === "other" ? "A" : s.a}, ${src}  jt ${pad(pc + 1 + p.jt)}  jf ${pad(pc + 1 + p.jf)}`;
      let onTrue = s;
      if (s.a === "arch" && op === BPF.JEQ) {
        const a = Object.values(ARCHES).find(
          (x) => x.auditArch >>> 0 === p.k >>> 0 && x.syscallBit === 0,
        );
        onTrue = { ...s, arch: a?.name };
      }
      merge(pc + 1 + p.jt, onTrue);
      merge(pc + 1 + p.jf, s);
    } else if (cls === BPF.ALU) {
      const names: Record<number, string> = {
        [BPF.ADD]: "add",
        [BPF.SUB]: "sub",
        [BPF.MUL]: "mul",
        [BPF.DIV]: "div",
        [BPF.OR]: "or",
        [BPF.AND]: "and",
        [BPF.LSH]: "lsh",
        [BPF.RSH]: "rsh",
        [BPF.NEG]: "neg",
        [BPF.MOD]: "mod",
        [BPF.XOR]: "xor",
      };
      text =
        `${(names[op] ?? "alu?").padEnd(4)} ${op === BPF.NEG ? "" : (p.code & 0x08) === BPF.X ? "X" : `0x${p.k.toString(16)}`}`.trimEnd();
      next = { ...s, a: "other" };
    } else if (cls === BPF.LD || cls === BPF.LDX) {
      const reg = cls === BPF.LD ? "ld " : "ldx";
      const mode = p.code & 0xe0;
      text =
        mode === BPF.IMM
          ? `${reg}  #0x${p.k.toString(16)}`
          : mode === BPF.MEM
            ? `${reg}  M[${p.k}]`
            : mode === BPF.LEN
              ? `${reg}  #len`
              : `${reg}  ?`;
      if (cls === BPF.LD) next = { ...s, a: "other" };
    } else if (cls === BPF.ST || cls === BPF.STX) {
      text = `${cls === BPF.ST ? "st " : "stx"}  M[${p.k}]`;
    } else if (cls === BPF.MISC) {
      text = (p.code & 0xf8) === BPF.TXA ? "txa" : "tax";
      if ((p.code & 0xf8) === BPF.TXA) next = { ...s, a: "other" };
    } else text = `.word 0x${p.code.toString(16)}`;
    if (cls !== BPF.RET && cls !== BPF.JMP) merge(pc + 1, next);
    lines.push(`${pad(pc)}: ${text}`);
  });
  return lines.join("\n");
}

/**
 * The program as a C initialiser (`struct sock_filter filter[] = {...}`).
 *
 * @example
 * ```ts
 * import { compileProfile, toC } from "@forge/seccomp";
 * console.log(toC(compileProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" }).program));
 * ```
 */
export function toC(program: readonly Instruction[], name = "filter"): string {
  const rows = program.map(
    (p) =>
      `\t{ 0x${p.code.toString(16).padStart(2, "0")}, ${p.jt}, ${p.jf}, 0x${p.k.toString(16).padStart(8, "0")} },`,
  );
  return `#include <linux/filter.h>\n\nstatic struct sock_filter ${name}[] = {\n${rows.join("\n")}\n};\n\nstatic struct sock_fprog ${name}_prog = {\n\t.len = ${program.length},\n\t.filter = ${name},\n};\n`;
}
