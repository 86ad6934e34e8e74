import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { libc, seccomp } from "@forge/sandbox";
import { CliError, type Command } from "./cli_error.ts";

const HELP = `forge seccomp: compile, simulate and check seccomp profiles

Usage:
  forge seccomp compile PROFILE [--arch ARCH] [--format raw|hex|c|json|asm] [-o OUT]
  forge seccomp sim PROFILE --syscall NAME|NR [--args A0,A1,...] [--arch ARCH] [--abi ABI]
  forge seccomp disasm FILE.bpf [--arch ARCH]
  forge seccomp verify PROFILE [--arch ARCH] [--bpf FILE.bpf]
  forge seccomp export PROFILE [--format oci|k8s|kubelet] [--arch ARCH] [--kernel X.Y]
                       [--allow-differences] [-o OUT]
  forge seccomp profiles

PROFILE is a built-in name (see "forge seccomp profiles") or a path to a file
with a "/" in it (./mine.json): a bare name never reads a file from the working
directory. The file is an OCI linux.seccomp or Docker profile (JSON), or a
SeccompProfile resource of the Security Profiles Operator (JSON or YAML, as
"export --format k8s" writes it). ARCH: x86_64, aarch64 (with their
sub-architectures as the profile names them), or i386, x32, arm alone; default:
this host's. raw is the little-endian struct sock_filter array the kernel loads.
sim runs the filter in the emulator: --syscall takes a name or number (x32: the
number without 0x40000000; -1 is "no call", which gets the default action),
--abi picks a sub-architecture (i386, x32, arm). --cap CAP_X (repeatable) sets
the capabilities for Docker's includes.caps; --kernel X.Y the kernel version for
their minKernel (default: this host's).

verify checks Forge's filter, or with --bpf any raw filter (libseccomp's
seccomp_export_bpf output...), against the profile. export writes what runc
enforces exactly as Forge does, or refuses and says which calls would differ.

A profile problem is listed with FILE:LINE:COLUMN and its JSON pointer; what runc
would load but is likely a mistake (an unknown syscall name, an empty syscalls list,
a condition that never matches, architectures this target cannot run) is a warning.
"forge seccomp SUB --help" shows a sub-command's options.

Exit codes: 0 ok; 1 verify found differences; 2 usage or profile errors.`;

const PROFILE_ARG = `PROFILE is a built-in name (see "forge seccomp profiles") or a file given as a
path with a "/" (./mine.json): an OCI or Docker profile, or a SeccompProfile
resource (JSON or YAML) as "forge seccomp export --format k8s" writes it.`;

const KERNEL_OPT = `  --kernel X.Y      the kernel version for Docker's includes/excludes.minKernel
                    (default: this host's)`;

const SUB_HELP: Record<string, string> = {
  compile: `Usage: forge seccomp compile PROFILE [--arch ARCH] [--format FORMAT] [-o OUT] [--cap CAP]... [--kernel X.Y]

Compiles PROFILE to seccomp-BPF for ARCH (default: this host's) and the
sub-architectures the profile names.

${PROFILE_ARG}

Options:
  --arch ARCH       x86_64, aarch64, i386, x32 or arm
  --format FORMAT   raw (default: the struct sock_filter bytes the kernel loads; not
                    to a terminal), hex, c, json or asm
  -o OUT            write to OUT instead of stdout
  --cap CAP         a capability the process keeps, for Docker's includes.caps
                    (repeatable)
${KERNEL_OPT}`,
  sim: `Usage: forge seccomp sim PROFILE --syscall NAME|NR [--args A0,A1,...] [--arch ARCH] [--abi ABI] [--cap CAP]... [--kernel X.Y]

Runs the compiled filter in the emulator for one call and prints the action and
the instructions executed.

${PROFILE_ARG}

Options:
  --syscall NAME|NR  the call, by name or number (x32: without 0x40000000); -1 is
                     no call (tracers skip a call with it): the default action
  --args A0,...      up to 6 arguments: decimal, 0x-hex or negative
  --arch ARCH        the filter's architecture (default: this host's)
  --abi ABI          a sub-architecture of ARCH to call from (i386, x32, arm)
  --cap CAP          a capability the process keeps (repeatable)
${KERNEL_OPT}`,
  disasm: `Usage: forge seccomp disasm FILE.bpf [--arch ARCH]

Disassembles a raw filter (struct sock_filter array, as "compile --format raw"
writes it) and says whether the kernel would load it.

Options:
  --arch ARCH  names syscall numbers as ARCH's (default: this host's)`,
  verify: `Usage: forge seccomp verify PROFILE [--arch ARCH] [--bpf FILE.bpf] [--cap CAP]... [--kernel X.Y]

Checks a filter against the profile on every syscall number of every ABI and the
argument corner cases of every rule (with junk in the upper 32 bits and
sign-extended negative values): Forge's own filter, or with --bpf any raw filter,
e.g. libseccomp's seccomp_export_bpf output or "compile --format raw". Prints each
call decided differently, one per line; exit 1 when there is any (or when the
kernel would refuse the filter). A profile means what runc enforces: libseccomp's
filter plus runc's ENOSYS stub, which seccomp_export_bpf output lacks (numbers above
the profile's highest then differ, unless the default action is ALLOW, LOG or TRACE).

${PROFILE_ARG}

Options:
  --arch ARCH      the filter's native architecture: x86_64, aarch64, i386, x32 or
                   arm (default: this host's)
  --bpf FILE.bpf   the filter to check (little-endian struct sock_filter array)
                   instead of Forge's
  --cap CAP        a capability the process keeps (repeatable)
${KERNEL_OPT}`,
  export: `Usage: forge seccomp export PROFILE [--format oci|k8s|kubelet] [--arch ARCH] [--kernel X.Y] [--allow-differences] [-o OUT]

Writes PROFILE for other runtimes: oci (default: a config.json fragment), k8s (a
Security Profiles Operator SeccompProfile, which PROFILE arguments read back) or
kubelet (a localhost profile file). What is written is checked: runc + libseccomp
enforcing it decide every call as Forge does. A profile with "precedence":
"strictest" has its rules reordered or rewritten for runc when that is enough;
otherwise the export is refused and says which calls would differ.

${PROFILE_ARG}

Options:
  --format FORMAT       oci, k8s or kubelet
  --arch ARCH           the nodes' architecture: resolves Docker's archMap and
                        includes for it (default: this host's)
  --kernel X.Y          the nodes' kernel, for includes/excludes.minKernel (default:
                        this host's, and a note says so when the profile has them)
  --cap CAP             a capability the containers keep (repeatable)
  --allow-differences   write the closest runc profile anyway and list every class
                        of calls runc decides differently, on stderr
  --name NAME           k8s: the resource's name (default: forge-PROFILE)
  --namespace NS        k8s: the resource's namespace
  -o OUT                write to OUT instead of stdout`,
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

/** A loaded profile: where it came from, and how to say where its problems are. */
type Loaded = seccomp.ImportedProfile & { source: string };

/** A profile's problems or a loading error as a user error (one message, no stack). */
function userError(e: unknown): never {
  if (
    e instanceof seccomp.ProfileError ||
    e instanceof RangeError ||
    e instanceof seccomp.CompileError
  ) {
    throw new CliError(e.message);
  }
  throw e;
}

function load(spec: string): Loaded {
  try {
    const loaded = seccomp.loadProfileOrResource(spec);
    warn(loaded.warnings.map((w) => seccomp.formatProfileIssue(w, loaded.source)));
    return loaded;
  } catch (e) {
    return userError(e);
  }
}

/** Validates --kernel: "6.1", "5.15.0-91-generic". */
function kernel(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+(\.[0-9]+){0,2}([-+.~][0-9A-Za-z._+~-]*)?$/.test(v))
    throw new CliError(
      `--kernel: "${v}" is not a kernel version; give one such as 6.1 or 5.15.0-91`,
    );
  return v;
}

interface ResolveFlags {
  readonly arch: libc.Arch;
  readonly caps: readonly string[];
  readonly kernel?: string | undefined;
}

/**
 * Resolves a loaded profile and prints its warnings (located in the file). A built-in
 * is trusted, as `forge run` trusts it: this package's tests validate it, and its
 * warnings would be nothing a user can act on.
 */
function resolve(loaded: Loaded, f: ResolveFlags): seccomp.ResolvedProfile {
  const trusted = !seccomp.isSeccompPath(loaded.source);
  try {
    const r = seccomp.resolveProfile(
      loaded.profile,
      { arch: f.arch, caps: f.caps, trusted, ...(f.kernel ? { kernel: f.kernel } : {}) },
      loaded.source,
    );
    warn(r.warnings.map((w) => seccomp.formatProfileIssue(loaded.locate(w), loaded.source)));
    return r;
  } catch (e) {
    return userError(e);
  }
}

function compile(spec: string, f: ResolveFlags): seccomp.CompiledFilter {
  const r = resolve(load(spec), f);
  try {
    const c = seccomp.compileResolved(r);
    warn(c.conflicts);
    return c;
  } catch (e) {
    return userError(e);
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

/**
 * "--syscall -1" and "--args -1,2": parseArgs takes a word starting with "-" for an
 * option, so a negative number after an option that takes one is joined to it
 * ("--syscall=-1").
 */
function joinNegatives(argv: readonly string[], options: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (options.includes(a) && next !== undefined && /^-[0-9]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Reads a raw filter file; a failure is one line naming the file. */
function readBpf(file: string): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    // 4096 instructions of 8 bytes is the kernel's limit; allow a little more to say so.
    if (st.size > 64 * 1024)
      throw new CliError(
        `${file}: ${st.size} bytes; a filter is at most 4096 instructions (32768 bytes)`,
      );
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(
      `${file}: cannot read it (${code}${code === "ENOENT" ? ": no such file" : code === "EISDIR" ? ": not a regular file" : ""})`,
    );
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
        kernel: { type: "string" },
      },
    });
    if (p.length !== 1)
      throw new CliError(
        "usage: forge seccomp compile PROFILE --arch ARCH --format raw|hex|c|json|asm -o OUT",
      );
    const a = arch(v.arch);
    const format = v.format ?? "raw";
    if (!["raw", "hex", "c", "json", "asm"].includes(format))
      throw new CliError(`--format: unknown format "${format}"; expected raw, hex, c, json or asm`);
    const f = compile(p[0]!, { arch: a, caps: v.cap ?? [], kernel: kernel(v.kernel) });
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
    }
    if (v.o && v.o !== "-")
      process.stderr.write(
        `${v.o}: ${f.program.length} instructions (${f.resolved.abis.map((x) => x.arch).join(", ")})\n`,
      );
    return 0;
  },

  sim(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: joinNegatives(argv, ["--syscall", "--args"]),
      allowPositionals: true,
      options: {
        arch: { type: "string" },
        abi: { type: "string" },
        syscall: { type: "string" },
        args: { type: "string" },
        cap: { type: "string", multiple: true },
        kernel: { type: "string" },
      },
    });
    if (p.length !== 1 || !v.syscall)
      throw new CliError(
        "usage: forge seccomp sim PROFILE --arch ARCH --syscall NAME|NR [--args A0,A1,...]",
      );
    const a = arch(v.arch);
    const abi = v.abi ? arch(v.abi) : a;
    const info = libc.ARCHES[abi];
    let nr: number;
    let name: string | undefined;
    const syscall = v.syscall.trim();
    if (/^-[0-9]+$/.test(syscall)) {
      // Negative: -1 is "no system call" (tracers skip one with it), on every ABI.
      const n = Number(syscall);
      if (!Number.isSafeInteger(n) || n < -0x80000000)
        throw new CliError(`--syscall: ${syscall} is not a 32-bit syscall number`);
      nr = n >>> 0;
      name = `nr ${n}`;
    } else if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(syscall)) {
      const n = Number(syscall);
      if (n > 0xffffffff)
        throw new CliError(`--syscall: ${syscall} is not a 32-bit syscall number`);
      nr = (n | info.syscallBit) >>> 0;
    } else {
      const n = libc.syscallNumber(syscall, abi);
      if (n === undefined) throw new CliError(`--syscall: no syscall "${syscall}" on ${abi}`);
      nr = (n | info.syscallBit) >>> 0;
    }
    const args = (v.args ? v.args.split(",") : []).map((x, i) => parseNumber(x, `--args[${i}]`));
    if (args.length > 6) throw new CliError("--args: at most 6 arguments");
    const f = compile(p[0]!, { arch: a, caps: v.cap ?? [], kernel: kernel(v.kernel) });
    if (!f.resolved.abis.some((x) => x.arch === abi))
      process.stderr.write(
        `forge seccomp: note: the filter does not cover ${abi} (it covers ${f.resolved.abis.map((x) => x.arch).join(", ")}): calls from it get the bad-architecture action\n`,
      );
    const r = seccomp.emulate(f.program, { nr, arch: info.auditArch, args });
    name ??=
      libc.syscallName((nr - info.syscallBit) >>> 0, abi) ?? `nr ${(nr - info.syscallBit) >>> 0}`;
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
    const a = arch(v.arch);
    const bytes = readBpf(p[0]!);
    let program: seccomp.Instruction[];
    try {
      program = seccomp.decodeFilter(bytes);
    } catch (e) {
      throw new CliError(`${p[0]}: ${(e as Error).message}`);
    }
    process.stdout.write(`${seccomp.disassemble(program, a)}\n`);
    for (const problem of seccomp.checkFilter(program))
      process.stderr.write(`forge seccomp: the kernel would reject this: ${problem}\n`);
    return 0;
  },

  verify(argv) {
    const { values: v, positionals: p } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        arch: { type: "string" },
        cap: { type: "string", multiple: true },
        kernel: { type: "string" },
        bpf: { type: "string" },
      },
    });
    if (p.length !== 1)
      throw new CliError("usage: forge seccomp verify PROFILE [--arch ARCH] [--bpf FILE.bpf]");
    const flags = { arch: arch(v.arch), caps: v.cap ?? [], kernel: kernel(v.kernel) };
    if (v.bpf !== undefined) {
      const bytes = readBpf(v.bpf);
      const r = resolve(load(p[0]!), flags);
      let report: seccomp.BpfVerifyReport;
      try {
        report = seccomp.verifyBpf(bytes, r);
      } catch (e) {
        if (e instanceof RangeError) throw new CliError(`${v.bpf}: ${e.message}`);
        throw e;
      }
      const lines = [
        ...report.loadProblems.map((x) => `${v.bpf}: the kernel would refuse to load it: ${x}`),
        ...(report.differences.length > 0 ? [seccomp.formatDifferences(report.differences)] : []),
      ];
      if (lines.length > 0) {
        process.stdout.write(`${lines.join("\n")}\n`);
        process.stdout.write(
          `${report.differences.length} differences in ${report.checked} calls (${v.bpf}, ${report.length} instructions)\n`,
        );
        return 1;
      }
      process.stdout.write(
        `ok: ${report.checked} calls on ${r.abis.map((x) => x.arch).join(", ")} match the profile (${v.bpf}, ${report.length} instructions)\n`,
      );
      return 0;
    }
    const f = compile(p[0]!, flags);
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
        kernel: { type: "string" },
        "allow-differences": { type: "boolean" },
        name: { type: "string" },
        namespace: { type: "string" },
        o: { type: "string", short: "o" },
      },
    });
    if (p.length !== 1)
      throw new CliError(
        "usage: forge seccomp export PROFILE --format oci|k8s|kubelet [--arch ARCH] [--kernel X.Y] [-o OUT]",
      );
    const format = v.format ?? "oci";
    if (!["oci", "k8s", "kubelet"].includes(format))
      throw new CliError(`--format: unknown format "${format}"; expected oci, k8s or kubelet`);
    const flags = { arch: arch(v.arch), caps: v.cap ?? [], kernel: kernel(v.kernel) };
    const loaded = load(p[0]!);
    // Validates (every problem listed) and prints the warnings for the target.
    const r = resolve(loaded, flags);
    warn(r.conflicts);
    const opts = {
      ...flags,
      kernel: flags.kernel ?? os.release(),
      allowDifferences: v["allow-differences"] === true,
    };
    const name =
      v.name ??
      `forge-${loaded.source
        .replace(/^.*\//, "")
        .replace(/\.(json|ya?ml)$/, "")
        .replace(/[^a-z0-9-]/gi, "-")
        .toLowerCase()}`;
    let checked: seccomp.CheckedExport;
    let text: string;
    try {
      checked = seccomp.exportSeccomp(loaded.profile, opts);
      switch (format) {
        case "oci":
          text = seccomp.exportJson({ linux: { seccomp: checked.seccomp } });
          break;
        case "k8s":
          text = seccomp.exportJson(seccomp.spoSeccompProfile(checked.seccomp, name, v.namespace));
          break;
        default:
          text = seccomp.exportJson(checked.seccomp);
      }
    } catch (e) {
      if (e instanceof seccomp.ExportError) {
        const n = e.differences.length;
        throw new CliError(
          `${loaded.source}: runc would decide ${n} class${n === 1 ? "" : "es"} of calls differently from Forge${e.reason ? ` (${e.reason})` : ""}, e.g. ${seccomp.formatExportDifference(e.differences[0]!)}; give --allow-differences to write the closest runc profile and list them all`,
        );
      }
      if (e instanceof seccomp.ProfileError || e instanceof RangeError)
        throw new CliError(`${loaded.source}: ${e.message}`);
      throw e;
    }
    out(v.o, text);
    // Said once the export is written (a write that fails is the one message).
    if (flags.kernel === undefined) {
      const rules = seccomp.minKernelRules(loaded.profile, opts);
      if (rules.length > 0) {
        const kept = rules.filter((x) => x.kept).length;
        process.stderr.write(
          `forge seccomp: note: ${rules.length} rule${rules.length === 1 ? "" : "s"} with minKernel resolved for this host's kernel ${opts.kernel} (${kept} kept, ${rules.length - kept} left out); give --kernel X.Y for the nodes' kernel\n`,
        );
      }
    }
    if (checked.rules !== "as-is")
      process.stderr.write(
        `forge seccomp: note: ${loaded.source} has "precedence": "strictest"; its rules were ${checked.rules === "ordered" ? "put in precedence order (most restrictive action first)" : "rewritten so that no two rules with different actions overlap"} for runc, which decides them alike (checked)\n`,
      );
    if (checked.differences.length > 0) {
      for (const d of checked.differences)
        process.stderr.write(`forge seccomp: differs: ${seccomp.formatExportDifference(d)}\n`);
      process.stderr.write(
        `forge seccomp: warning: runc decides ${checked.differences.length} class${checked.differences.length === 1 ? "" : "es"} of calls differently from Forge (listed above); written anyway (--allow-differences)\n`,
      );
    }
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
