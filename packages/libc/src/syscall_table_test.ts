import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ARCHES, type Arch, hostArch, parseArch } from "./arch.ts";
import { requireSyscall, syscallEntries, syscallName, syscallNumber } from "./syscall_table.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const csv = path.resolve(here, "../../../../shared/data/syscalls.csv");

describe("syscall tables", () => {
  it("knows well-known numbers on every architecture", () => {
    expect(syscallNumber("read", "x86_64")).toBe(0);
    expect(syscallNumber("execve", "x86_64")).toBe(59);
    expect(syscallNumber("execve", "i386")).toBe(11);
    expect(syscallNumber("execve", "x32")).toBe(520);
    expect(syscallNumber("execve", "aarch64")).toBe(221);
    expect(syscallNumber("execve", "arm")).toBe(11);
    expect(syscallNumber("clone3", "aarch64")).toBe(435);
    expect(syscallNumber("cacheflush", "arm")).toBe(0x0f0002);
  });

  it("says when an architecture lacks a syscall", () => {
    expect(syscallNumber("open", "aarch64")).toBeUndefined();
    expect(syscallNumber("socketcall", "x86_64")).toBeUndefined();
    expect(() => requireSyscall("open", "aarch64")).toThrow(/unknown syscall "open" on aarch64/);
  });

  it("maps numbers back to names", () => {
    expect(syscallName(59, "x86_64")).toBe("execve");
    expect(syscallName(99999, "x86_64")).toBeUndefined();
    for (const arch of Object.keys(ARCHES) as Arch[]) {
      for (const [, nr] of syscallEntries(arch))
        expect(syscallNumber(syscallName(nr, arch)!, arch)).toBe(nr);
      expect(new Set(syscallEntries(arch).map(([n]) => n)).size).toBe(syscallEntries(arch).length);
    }
  });

  it.skipIf(!fs.existsSync(csv))(
    "matches the shared syscalls.csv (generated module is up to date)",
    () => {
      const lines = fs.readFileSync(csv, "utf8").trim().split("\n");
      const header = lines[0]!.replace(/^#/, "").split(",");
      const col: Record<Arch, number> = {
        x86_64: header.indexOf("x86_64"),
        i386: header.indexOf("x86"),
        x32: header.indexOf("x32"),
        aarch64: header.indexOf("aarch64"),
        arm: header.indexOf("arm"),
      };
      for (const line of lines.slice(1)) {
        const f = line.split(",");
        for (const arch of Object.keys(col) as Arch[]) {
          const v = f[col[arch]];
          expect(syscallNumber(f[0]!, arch), `${f[0]} on ${arch}`).toBe(
            v === "PNR" ? undefined : Number(v),
          );
        }
      }
    },
  );

  it("detects the host architecture and parses every spelling", () => {
    expect(Object.keys(ARCHES)).toContain(hostArch());
    expect(parseArch("SCMP_ARCH_X86")).toBe("i386");
    expect(parseArch("arm64")).toBe("aarch64");
    expect(() => parseArch("mips")).toThrow(/unknown architecture "mips"; expected one of/);
  });
});
