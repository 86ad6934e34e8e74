import fs from "node:fs";
import { parseArgs } from "node:util";
import { libc, seccomp } from "@forge/sandbox";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge seccomp: compile, simulate and check seccomp profiles

Usage:
  forge seccomp compile PROFILE --arch ARCH --format raw|hex|c|json|asm -o OUT
  forge seccomp sim PROFILE --arch ARCH --syscall NAME|NR [--args A0,A1,...]
  forge seccomp disasm FILE.bpf --arch ARCH
  forge seccomp verify PROFILE --arch ARCH
  forge seccomp export PROFILE --format oci|k8s|kubelet [--arch ARCH] [-o OUT]
  forge seccomp profiles

PROFILE is a built-in name (see "forge seccomp profiles") or a path to a JSON
file (OCI linux.seccomp or Docker format) with a "/" in it (./mine.json): a bare
name never reads a file from the working directory. ARCH: x86_64, aarch64 (with their sub-architectures
as the profile names them), or i386, x32, arm alone; default: this host's.
raw is the little-endian struct sock_filter array the kernel loads.
sim runs the filter in the emulator: --syscall takes a name or number (x32:
the number without 0x40000000), --abi picks a sub-architecture (i386, x32, arm).
--cap CAP_X (repeatable) sets the capabilities for Docker's includes.caps.

A profile problem is listed with FILE:LINE:COLUMN and its JSON pointer; what runc
would load but is likely a mistake (an unknown syscall name, an empty syscalls list,
a condition that never matches, architectures this target cannot run) is a warning.
"forge seccomp SUB --help" shows a sub-command's options.

Exit codes: 0 ok; 1 verify found differences; 2 usage or profile errors.`;

const PROFILE_ARG = `PROFILE is a built-in name (see "forge seccomp profiles") or a JSON file given as
a path with a "/" (./mine.json).`;

const SUB_HELP: Record<string, string> = {
  compile: `Usage: forge seccomp compile PROFILE [--arch ARCH] [--format FORMAT] [-o OUT] [--cap CAP]...

Compiles PROFILE to seccomp-BPF for ARCH (default: this host's) and the
sub-architectures the profile names.

${PROFILE_ARG}

Options:
  --arch ARCH      x86_64, aarch64, i386, x32 or arm
  --format FORMAT  raw (default: the struct sock_filter bytes the kernel loads; not
                   to a terminal), hex, c, json or asm
  -o OUT           write to OUT instead of stdout
  --cap CAP        a capability the process keeps, for Docker's includes.caps
                   (repeatable)`,
  sim: `Usage: forge seccomp sim PROFILE --syscall NAME|NR [--args A0,A1,...] [--arch ARCH] [--abi ABI] [--cap CAP]...

Runs the compiled filter in the emulator for one call and prints the action and
the instructions executed.

${PROFILE_ARG}

Options:
  --syscall NAME|NR  the call, by name or number (x32: without 0x40000000)
  --args A0,...      up to 6 arguments: decimal, 0x-hex or negative
  --arch ARCH        the filter's architecture (default: this host's)
  --abi ABI          a sub-architecture of ARCH to call from (i386, x32, arm)
  --cap CAP          a capability the process keeps (repeatable)`,
  disasm: `Usage: forge seccomp disasm FILE.bpf [--arch ARCH]

Disassembles a raw filter (struct sock_filter array, as "compile --format raw"
writes it) and says whether the kernel would load it.

Options:
  --arch ARCH  names syscall numbers as ARCH's (default: this host's)`,
  verify: `Usage: forge seccomp verify PROFILE [--arch ARCH] [--cap CAP]...

Checks the compiled filter against the profile on every syscall number and the
argument corner cases of every rule. Exit 1 when they differ.

${PROFILE_ARG}

Options:
  --arch ARCH  x86_64, aarch64, i386, x32 or arm (default: this host's)
  --cap CAP    a capability the process keeps (repeatable)`,
  export: `Usage: forge seccomp export PROFILE [--format oci|k8s|kubelet] [--arch ARCH] [-o OUT]

Writes PROFILE for other runtimes: oci (default: a config.json fragment), k8s (a
Security Profiles Operator SeccompProfile) or kubelet (a localhost profile file).

${PROFILE_ARG}

Options:
  --format FORMAT   oci, k8s or kubelet
  --arch ARCH       resolves Docker's archMap and includes for ARCH (default: this host's)
  --cap CAP         a capability the process keeps (repeatable)
  --name NAME       k8s: the resource's name (default: forge-PROFILE)
  --namespace NS    k8s: the resource's namespace
  -o OUT            write to OUT instead of stdout`,
  profiles: `Usage: forge seccomp profiles

Lists the built-in profiles with a line about each.`,
};

function arch(v: string | undefined): libc.Arch {
  try {
    return v ? libc.parseArch(v) : libc.hostArch();
  } catch (e) {
    throw new CliError(`--arch: ${(e as Error).message}`);
  }
}

/** How many warnings are printed (a generated profile may have thousands). */
const WARNINGS_SHOWN = 20;

function warn(lines: readonly string[]): void {
  for (const w of lines.slice(0, WARNINGS_SHOWN))
    process.stderr.write(`forge seccomp: warning: ${w}\n`);
  if (lines.length > WARNINGS_SHOWN)
    process.stderr.write(
      `forge seccomp: warning: ... and ${lines.length - WARNINGS_SHOWN} more warnings\n`,
    );
}

function profileWarningLines(r: seccomp.ResolvedProfile, source: string): string[] {
  return r.warnings.map((w) => seccomp.formatProfileIssue(w, source));
}

function compile(spec: string, a: libc.Arch, caps: string[] = []): seccomp.CompiledFilter {
  try {
    const { profile, source } = seccomp.loadProfile(spec);
    const r = seccomp.resolveProfile(profile, { arch: a, caps }, source);
    warn(profileWarningLines(r, source));
    const f = seccomp.compileResolved(r);
    warn(f.conflicts);
    return f;
  } catch (e) {
    if (
      e instanceof seccomp.ProfileError ||
      e instanceof RangeError ||
      e instanceof seccomp.CompileError
    ) {
      throw new CliError(e.message);
    }
    throw e;
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: "no such directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
  ETXTBSY: "the file is a running program",
};

/** Writes to -o OUT (stdout for none or "-"); a failure is one line naming -o and OUT. */
function out(path: string | undefined, data: string | Uint8Array): void {
  if (!path || path === "-") {
    process.stdout.write(data);
    return;
  }
  try {
    fs.writeFileSync(path, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(
      `-o ${path}: cannot write it (${code}: ${WRITE_ERRORS[code] ?? (e as Error).message}); give a writable path, or "-" for stdout`,
    );
  }
}

function parseNumber(s: string, what: string): bigint {
  try {
    const v = BigInt(s.trim());
    if (v < 0n) return BigInt.asUintN(64, v);
    if (v > 0xffffffffffffffffn) throw new RangeError();
    return v;
  } catch {
    throw new CliError(`${what}: "${s}" is not a number (decimal, 0x-hex or negative)`);
  }
}

const SUBCOMMANDS: Record<string, (argv: string[]) => number> = {
  compile(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        arch: { type: "string" },
        format: { type: "string" },
        o: { type: "string", short: "o" },
        cap: { type: "string", multiple: true },
      },
    });
    if (p.length !== 1)
      throw new CliError(
        "usage: forge seccomp compile PROFILE --arch ARCH --format raw|hex|c|json|asm -o OUT",
      );
    const a = arch(v.arch);
    const f = compile(p[0]!, a, v.cap ?? []);
    const format = v.format ?? "raw";
    switch (format) {
      case "raw":
        if (!v.o && process.stdout.isTTY)
          throw new CliError("--format raw writes binary: give -o FILE");
        out(v.o, f.bytes);
        break;
      case "hex":
        out(v.o, `${Buffer.from(f.bytes).toString("hex")}\n`);
        break;
      case "c":
        out(v.o, seccomp.toC(f.program));
        break;
      case "json":
        out(
          v.o,
          `${JSON.stringify({ arch: f.arch, arches: f.resolved.abis.map((x) => x.arch), length: f.program.length, program: f.program }, null, 1)}\n`,
        );
        break;
      case "asm":
        out(v.o, `${seccomp.disassemble(f.program, a)}\n`);
        break;
      default:
        throw new CliError(
          `--format: unknown format "${format}"; expected raw, hex, c, json or asm`,
        );
    }
    if (v.o && v.o !== "-")
      process.stderr.write(
        `${v.o}: ${f.program.length} instructions (${f.resolved.abis.map((x) => x.arch).join(", ")})\n`,
      );
    return 0;
  },

  sim(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        arch: { type: "string" },
        abi: { type: "string" },
        syscall: { type: "string" },
        args: { type: "string" },
        cap: { type: "string", multiple: true },
      },
    });
    if (p.length !== 1 || !v.syscall)
      throw new CliError(
        "usage: forge seccomp sim PROFILE --arch ARCH --syscall NAME|NR [--args A0,A1,...]",
      );
    const a = arch(v.arch);
    const abi = v.abi ? arch(v.abi) : a;
    const f = compile(p[0]!, a, v.cap ?? []);
    const info = libc.ARCHES[abi];
    let nr: number;
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(v.syscall)) nr = Number(v.syscall);
    else {
      const n = libc.syscallNumber(v.syscall, abi);
      if (n === undefined) throw new CliError(`--syscall: no syscall "${v.syscall}" on ${abi}`);
      nr = n;
    }
    nr = (nr | info.syscallBit) >>> 0;
    const args = (v.args ? v.args.split(",") : []).map((s, i) => parseNumber(s, `--args[${i}]`));
    if (args.length > 6) throw new CliError("--args: at most 6 arguments");
    const r = seccomp.emulate(f.program, { nr, arch: info.auditArch, args });
    const name = libc.syscallName(nr - info.syscallBit, abi) ?? `nr ${nr}`;
    process.stdout.write(
      `${abi} ${name}(${args.map((x) => `0x${x.toString(16)}`).join(", ")}): ${seccomp.formatAction(r.action)} (0x${r.value.toString(16).padStart(8, "0")}) after ${r.executed} instructions${r.loadedArgs ? "" : ", no argument loaded"}\n`,
    );
    return 0;
  },

  disasm(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { arch: { type: "string" } },
    });
    if (p.length !== 1) throw new CliError("usage: forge seccomp disasm FILE.bpf --arch ARCH");
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(p[0]!);
    } catch (e) {
      throw new CliError(`${p[0]}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
    }
    let program: seccomp.Instruction[];
    try {
      program = seccomp.decodeFilter(bytes);
    } catch (e) {
      throw new CliError(`${p[0]}: ${(e as Error).message}`);
    }
    process.stdout.write(`${seccomp.disassemble(program, arch(v.arch))}\n`);
    for (const problem of seccomp.checkFilter(program))
      process.stderr.write(`forge seccomp: the kernel would reject this: ${problem}\n`);
    return 0;
  },

  verify(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { arch: { type: "string" }, cap: { type: "string", multiple: true } },
    });
    if (p.length !== 1) throw new CliError("usage: forge seccomp verify PROFILE --arch ARCH");
    const f = compile(p[0]!, arch(v.arch), v.cap ?? []);
    const report = seccomp.verifyFilter(f.program, f.resolved);
    if (report.differences.length > 0) {
      process.stdout.write(`${seccomp.formatDifferences(report.differences)}\n`);
      process.stdout.write(`${report.differences.length} differences in ${report.checked} calls\n`);
      return 1;
    }
    process.stdout.write(
      `ok: ${report.checked} calls on ${f.resolved.abis.map((x) => x.arch).join(", ")} match the profile (${f.program.length} instructions)\n`,
    );
    return 0;
  },

  export(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        arch: { type: "string" },
        cap: { type: "string", multiple: true },
        name: { type: "string" },
        namespace: { type: "string" },
        o: { type: "string", short: "o" },
      },
    });
    if (p.length !== 1)
      throw new CliError(
        "usage: forge seccomp export PROFILE --format oci|k8s|kubelet [--arch ARCH] [-o OUT]",
      );
    const opts = { arch: arch(v.arch), caps: v.cap ?? [] };
    let loaded: { profile: seccomp.SeccompProfile; source: string };
    try {
      loaded = seccomp.loadProfile(p[0]!);
      // Validates (every problem listed) and finds the warnings for the target.
      const r = seccomp.resolveProfile(loaded.profile, opts, loaded.source);
      warn(profileWarningLines(r, loaded.source));
    } catch (e) {
      if (e instanceof seccomp.ProfileError || e instanceof RangeError)
        throw new CliError(e.message);
      throw e;
    }
    const name =
      v.name ??
      `forge-${loaded.source
        .replace(/^.*\//, "")
        .replace(/\.json$/, "")
        .replace(/[^a-z0-9-]/gi, "-")
        .toLowerCase()}`;
    let text: string;
    try {
      switch (v.format ?? "oci") {
        case "oci":
          text = seccomp.exportJson(seccomp.toOciFragment(loaded.profile, opts));
          break;
        case "k8s":
          text = seccomp.exportJson(
            seccomp.toSpoSeccompProfile(loaded.profile, name, v.namespace, opts),
          );
          break;
        case "kubelet":
          text = seccomp.toKubeletJson(loaded.profile, opts);
          break;
        default:
          throw new CliError(
            `--format: unknown format "${v.format}"; expected oci, k8s or kubelet`,
          );
      }
    } catch (e) {
      if (e instanceof RangeError) throw new CliError(`${loaded.source}: ${e.message}`);
      throw e;
    }
    out(v.o, text);
    return 0;
  },

  profiles() {
    for (const p of seccomp.builtinProfiles())
      process.stdout.write(`${p.name.padEnd(16)} ${p.summary}\n`);
    return 0;
  },
};

/** `forge seccomp`: compile, simulate, disassemble, verify and export seccomp profiles. */
export const command: Command = {
  summary: "compile, simulate and check seccomp profiles",
  help: HELP,
  async main(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    const run = sub && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (!run) {
      throw new CliError(
        `seccomp: ${sub ? `unknown sub-command "${sub}"` : "missing sub-command"}; expected ${Object.keys(SUBCOMMANDS).join(", ")}`,
      );
    }
    // "--help" or "-h" anywhere in the sub-command's options prints its usage.
    const end = rest.indexOf("--");
    const options = end === -1 ? rest : rest.slice(0, end);
    if (options.includes("--help") || options.includes("-h")) {
      process.stdout.write(`${SUB_HELP[sub!]}\n`);
      return 0;
    }
    try {
      return run(rest);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))
        throw new CliError(`seccomp ${sub}: ${(e as Error).message}`);
      throw e;
    }
  },
};
