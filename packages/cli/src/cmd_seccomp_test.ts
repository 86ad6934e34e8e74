// `forge seccomp` end to end through the built CLI (bin/forge.cjs → dist/bundle/forge.cjs).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));

function forge(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, "seccomp", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A user error: exit 2, one "forge: ..." message (plus listed problems), no stack trace. */
function userError(r: ReturnType<typeof forge>, message: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err).toMatch(/^forge: /);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe.skipIf(!built)("forge seccomp (built CLI)", () => {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-cli-seccomp-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("compile --format raw, then disasm, hex, c, json and asm of the same filter", () => {
    const raw = path.join(dir, "default.bpf");
    const c = forge("compile", "default", "--arch", "x86_64", "--format", "raw", "-o", raw);
    expect(c.code, c.err).toBe(0);
    const bytes = fs.readFileSync(raw);
    const n = bytes.length / 8;
    expect(Number.isInteger(n) && n > 100 && n <= 4096).toBe(true);
    expect(c.err).toBe(`${raw}: ${n} instructions (x86_64, i386, x32)\n`);

    const d = forge("disasm", raw, "--arch", "x86_64");
    expect(d.code, d.err).toBe(0);
    expect(d.err).toBe(""); // the kernel would accept it
    const lines = d.out.trimEnd().split("\n");
    expect(lines).toHaveLength(n);
    expect(lines[0]).toBe("0000: ld   [arch]");
    expect(d.out).toMatch(/\(ioctl\)/);
    expect(d.out).toMatch(/ret {2}KILL_(PROCESS|THREAD)/);

    const asm = forge("compile", "default", "--arch", "x86_64", "--format", "asm");
    expect(asm.out).toBe(d.out);
    const hex = forge("compile", "default", "--arch", "x86_64", "--format", "hex");
    expect(hex.out.trim()).toBe(bytes.toString("hex"));
    const json = JSON.parse(
      forge("compile", "default", "--arch", "x86_64", "--format", "json").out,
    );
    expect(json).toMatchObject({ arch: "x86_64", arches: ["x86_64", "i386", "x32"], length: n });
    expect(json.program).toHaveLength(n);
    const cText = forge("compile", "default", "--arch", "x86_64", "--format", "c").out;
    expect(cText).toContain(`.len = ${n},`);

    // raw refuses to write binary to a terminal only; to a pipe it is the same bytes.
    const piped = spawnSync(
      process.execPath,
      [bin, "seccomp", "compile", "default", "--arch", "x86_64", "--format", "raw"],
      { timeout: 60_000 },
    );
    expect(Buffer.compare(piped.stdout, bytes)).toBe(0);
  });

  it("sim decides calls by name or number, on the target or a sub-architecture", () => {
    const ioctl = forge(
      "sim",
      "default",
      "--arch",
      "x86_64",
      "--syscall",
      "ioctl",
      "--args",
      "1,0xdead00005412",
    );
    expect(ioctl.code, ioctl.err).toBe(0);
    expect(ioctl.out).toMatch(
      /^x86_64 ioctl\(0x1, 0xdead00005412\): ERRNO\(1\) \(0x00050001\) after \d+ instructions\n$/,
    );
    const i386 = forge(
      "sim",
      "default",
      "--arch",
      "x86_64",
      "--abi",
      "i386",
      "--syscall",
      "54",
      "--args",
      "1,0x5412",
    );
    expect(i386.out).toMatch(/^i386 ioctl\(0x1, 0x5412\): ERRNO\(1\)/);
    const getpid = forge("sim", "default", "--arch", "aarch64", "--syscall", "getpid");
    expect(getpid.out).toMatch(
      /^aarch64 getpid\(\): ALLOW \(0x7fff0000\) after \d+ instructions, no argument loaded\n$/,
    );
    const x32 = forge("sim", "minimal", "--arch", "x86_64", "--abi", "x32", "--syscall", "ptrace");
    expect(x32.out).toMatch(/^x32 ptrace\(\): ERRNO\(1\)/);
  });

  it("verify checks a built-in and a file profile", () => {
    const v = forge("verify", "default", "--arch", "aarch64");
    expect(v.code, v.err).toBe(0);
    expect(v.out).toMatch(
      /^ok: \d+ calls on aarch64, arm match the profile \(\d+ instructions\)\n$/,
    );
    const file = path.join(dir, "p.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 1, value: 21523, op: "SCMP_CMP_EQ" }],
          },
        ],
      }),
    );
    const f = forge("verify", file, "--arch", "x86_64");
    expect(f.code, f.err).toBe(0);
    expect(f.out).toMatch(/^ok: \d+ calls on x86_64 match/);
  });

  it("export --format oci, k8s and kubelet", () => {
    const oci = JSON.parse(
      forge("export", "docker-default", "--format", "oci", "--arch", "x86_64").out,
    );
    expect(Object.keys(oci)).toEqual(["linux"]);
    expect(oci.linux.seccomp.architectures).toEqual([
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
    ]);
    expect(
      oci.linux.seccomp.syscalls.some((r: { names: string[] }) => r.names.includes("clone")),
    ).toBe(true);
    const k8s = forge(
      "export",
      "default",
      "--format",
      "k8s",
      "--arch",
      "aarch64",
      "--namespace",
      "apps",
    );
    expect(k8s.code, k8s.err).toBe(0);
    const res = JSON.parse(k8s.out);
    expect(res).toMatchObject({
      apiVersion: "security-profiles-operator.x-k8s.io/v1beta1",
      kind: "SeccompProfile",
      metadata: { name: "forge-default", namespace: "apps" },
      spec: {
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
      },
    });
    for (const s of res.spec.syscalls)
      if ("errnoRet" in s) expect(typeof s.errnoRet).toBe("string");
    const out = path.join(dir, "kubelet.json");
    expect(
      forge("export", "minimal", "--format", "kubelet", "--arch", "x86_64", "-o", out).code,
    ).toBe(0);
    const kubelet = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(kubelet.defaultAction).toBe("SCMP_ACT_ERRNO");
    // The kubelet file is itself a profile forge compiles.
    expect(forge("verify", out, "--arch", "x86_64").code).toBe(0);
  });

  it("profiles lists the built-ins", () => {
    const p = forge("profiles");
    expect(p.code).toBe(0);
    const names = p.out
      .trimEnd()
      .split("\n")
      .map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual([
      "default",
      "docker-default",
      "minimal",
      "python-safe",
      "node-safe",
      "shell-readonly",
    ]);
  });

  it("bad profiles and bad arguments are one-message user errors (exit 2)", () => {
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(
      bad,
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["opne"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQQ"}]}]}',
    );
    const r = forge("compile", bad, "--arch", "x86_64", "-o", path.join(dir, "x.bpf"));
    // An unknown syscall name is a warning (runc ignores it); the operator is an error.
    userError(r, /invalid seccomp profile \(1 problem\)/);
    expect(r.err).toMatch(/\/syscalls\/0\/args\/0\/op: unknown operator "SCMP_CMP_EQQ"/);
    expect(fs.existsSync(path.join(dir, "x.bpf"))).toBe(false);
    userError(forge("verify", bad), /\/syscalls\/0\/args\/0\/op/);
    userError(forge("export", bad, "--format", "k8s"), /\/syscalls\/0\/args\/0\/op/);
    fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
    userError(
      forge("sim", path.join(dir, "broken.json"), "--syscall", "read"),
      /^forge: .*broken\.json:1:3: not valid JSON: expected a property name in double quotes, found "n"\n$/,
    );
    userError(
      forge("compile", "nope", "-o", path.join(dir, "y.bpf")),
      /"nope": no built-in of that name \(built-in: default, docker-default.*\); a file is loaded only when given as a path, e\.g\. \.\/nope/,
    );
    userError(
      forge("compile", "default", "--arch", "sparc", "-o", path.join(dir, "y.bpf")),
      /--arch: unknown architecture "sparc"/,
    );
    userError(forge("compile", "default", "--format", "elf"), /--format: unknown format "elf"/);
    userError(
      forge("sim", "default", "--syscall", "nosuch", "--arch", "x86_64"),
      /no syscall "nosuch" on x86_64/,
    );
    userError(
      forge("sim", "default", "--syscall", "read", "--args", "1,zz"),
      /--args\[1\]: "zz" is not a number/,
    );
    fs.writeFileSync(path.join(dir, "odd.bpf"), "abc");
    userError(
      forge("disasm", path.join(dir, "odd.bpf"), "--arch", "x86_64"),
      /multiple of 8 bytes; got 3/,
    );
    userError(
      forge("disasm", path.join(dir, "missing.bpf")),
      /missing\.bpf: cannot read it \(ENOENT: no such file\)\n$/,
    );
    fs.writeFileSync(
      path.join(dir, "e13.json"),
      '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13}',
    );
    userError(forge("export", path.join(dir, "e13.json"), "--format", "k8s"), /no defaultErrnoRet/);
    userError(
      forge("export", "default", "--format", "yaml"),
      /unknown format "yaml"; expected oci, k8s or kubelet/,
    );
    userError(
      forge("compile", "default", "--bogus"),
      /^forge: seccomp compile: Unknown option '--bogus'/,
    );
    userError(
      forge("bogus"),
      /^forge: seccomp: unknown sub-command "bogus"; expected compile, sim/,
    );
  });

  it("every sub-command prints its usage with --help (exit 0)", () => {
    const subs = ["compile", "sim", "disasm", "verify", "export", "profiles"];
    // The sub-command list of the error names exactly these.
    expect(forge("bogus").err).toMatch(new RegExp(`expected ${subs.join(", ")}\\n$`));
    for (const sub of subs) {
      for (const flag of ["--help", "-h"]) {
        const r = forge(sub, flag);
        expect(r.code, `${sub} ${flag}: ${r.err}`).toBe(0);
        expect(r.err).toBe("");
        expect(r.out).toMatch(new RegExp(`^Usage: forge seccomp ${sub}`));
      }
    }
    // Also after other arguments.
    expect(forge("compile", "default", "--arch", "x86_64", "--help").code).toBe(0);
    // The new options are documented.
    expect(forge("verify", "--help").out).toMatch(/--bpf FILE\.bpf/);
    const exp = forge("export", "--help").out;
    expect(exp).toMatch(/--kernel X\.Y/);
    expect(exp).toMatch(/--allow-differences/);
    expect(forge("sim", "--help").out).toMatch(/-1 is\s+no call/);
    expect(forge("--help").out).toMatch(/SeccompProfile/);
  });

  it("an unwritable -o is one line naming the flag and the path (exit 2)", () => {
    const missing = path.join(dir, "no-such-dir", "out.bpf");
    for (const args of [
      ["compile", "default", "--arch", "x86_64", "-o", missing],
      ["export", "default", "--format", "oci", "-o", missing],
    ]) {
      const r = forge(...args);
      userError(
        r,
        /^forge: -o .*no-such-dir\/out\.bpf: cannot write it \(ENOENT: no such directory\); give a writable path, or "-" for stdout\n$/,
      );
    }
    const r = forge("compile", "default", "--arch", "x86_64", "--format", "hex", "-o", dir);
    userError(
      r,
      /^forge: -o .*: cannot write it \(EISDIR: it is a directory\); give a writable path/,
    );
  });

  it("inputs that crashed or garbled (issue 13) are user errors with pointers, no stack", () => {
    const cases: [string, RegExp][] = [
      ['{"defaultAction":{"toString":1}}', /\/defaultAction: expected an action name/],
      [
        '{"defaultAction":{"toString":1},"defaultErrnoRet":1}',
        /\/defaultAction: expected an action name/,
      ],
      [
        '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"errnoRet":1}]}',
        /\/syscalls\/0: missing required property "action"/,
      ],
      [
        '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":{"x":1},"errnoRet":1}]}',
        /\/syscalls\/0\/action: expected an action name/,
      ],
      [
        `{"defaultAction":"SCMP_ACT_ALLOW","comment":${"[".repeat(10000)}${"]".repeat(10000)}}`,
        /^forge: .*:1:\d+: nested deeper than 64 levels/,
      ],
      ['{"defaultAction":"SCMP_ACT_NOTIFY"}', /SCMP_ACT_NOTIFY cannot be the default action/],
      [
        '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_FOO"]}',
        /\/architectures\/0: unknown architecture "SCMP_ARCH_FOO"/,
      ],
    ];
    cases.forEach(([text, message], i) => {
      const file = path.join(dir, `i13-${i}.json`);
      fs.writeFileSync(file, text);
      const r = forge("compile", file, "--arch", "x86_64", "--format", "hex");
      userError(r, message);
      expect(r.err, text).not.toMatch(
        /undefined|\[object Object\]|internal error|Maximum call stack/,
      );
      // One line, or a head line and one line per problem.
      for (const line of r.err.trimEnd().split("\n").slice(1)) expect(line).toMatch(/^ {2}\S/);
    });
  });

  it("warns about what runc loads but is likely a mistake, and compiles it", () => {
    const cases: [object, RegExp][] = [
      [
        {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["opne"], action: "SCMP_ACT_ERRNO" }],
        },
        /^forge seccomp: warning: .*w0\.json:1:\d+: \/syscalls\/0\/names\/0: unknown syscall "opne" on every architecture: ignored, as runc does; did you mean "open"\?\n$/,
      ],
      [
        { defaultAction: "SCMP_ACT_ERRNO", syscalls: [] },
        /^forge seccomp: warning: .*w1\.json:1:\d+: \/syscalls: the list is empty/,
      ],
      [
        { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_MIPS"] },
        /^forge seccomp: warning: .*w2\.json:1:\d+: \/architectures: none of SCMP_ARCH_MIPS runs on x86_64/,
      ],
    ];
    cases.forEach(([profile, warning], i) => {
      const file = path.join(dir, `w${i}.json`);
      fs.writeFileSync(file, JSON.stringify(profile));
      const r = forge("compile", file, "--arch", "x86_64", "--format", "hex");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^[0-9a-f]+\n$/);
      expect(r.err).toMatch(warning);
    });
  });

  it("sim --syscall -1 is no call: the default action, also on x86_64 without x32", () => {
    const file = path.join(dir, "nox32.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{ names: ["read", "getpid"], action: "SCMP_ACT_ALLOW" }],
      }),
    );
    const r = forge("sim", file, "--arch", "x86_64", "--syscall", "-1");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^x86_64 nr -1\(\): ERRNO\(1\) \(0x00050001\) after \d+ instructions/);
    // Negative arguments after their option work too.
    const a = forge("sim", file, "--arch", "x86_64", "--syscall", "read", "--args", "-1,2");
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/^x86_64 read\(0xffffffffffffffff, 0x2\): ALLOW/);
    userError(
      forge("sim", file, "--arch", "x86_64", "--syscall", "-99999999999"),
      /--syscall: -99999999999 is not a 32-bit syscall number/,
    );
  });

  it("verify --bpf checks an external raw filter against the profile", () => {
    const profile = path.join(dir, "vb.json");
    fs.writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 1, value: 21522, op: "SCMP_CMP_EQ" }],
          },
          { names: ["ptrace"], action: "SCMP_ACT_ERRNO" },
        ],
      }),
    );
    const raw = path.join(dir, "vb.bpf");
    expect(forge("compile", profile, "--arch", "x86_64", "-o", raw).code).toBe(0);
    const ok = forge("verify", profile, "--arch", "x86_64", "--bpf", raw);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(
      /^ok: \d+ calls on x86_64 match the profile \(.*vb\.bpf, \d+ instructions\)\n$/,
    );
    // Another filter (ptrace allowed): each call that differs, one per line, exit 1.
    const other = path.join(dir, "other.json");
    fs.writeFileSync(
      other,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 1, value: 21522, op: "SCMP_CMP_EQ" }],
          },
        ],
      }),
    );
    const otherRaw = path.join(dir, "other.bpf");
    expect(forge("compile", other, "--arch", "x86_64", "-o", otherRaw).code).toBe(0);
    const bad = forge("verify", profile, "--arch", "x86_64", "--bpf", otherRaw);
    expect(bad.code, bad.err).toBe(1);
    const lines = bad.out.trimEnd().split("\n");
    expect(
      lines
        .slice(0, -1)
        .every((l) =>
          /^x86_64 ptrace\(.*\): profile says ERRNO\(1\), filter returns ALLOW$/.test(l),
        ),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(
      /^\d+ differences in \d+ calls \(.*other\.bpf, \d+ instructions\)$/,
    );
    // Not a filter: one line, exit 2.
    fs.writeFileSync(path.join(dir, "odd2.bpf"), "abcde");
    userError(
      forge("verify", profile, "--bpf", path.join(dir, "odd2.bpf")),
      /odd2\.bpf: a BPF program is a multiple of 8 bytes; got 5 bytes\n$/,
    );
    userError(
      forge("verify", profile, "--bpf", path.join(dir, "none.bpf")),
      /none\.bpf: cannot read it \(ENOENT: no such file\)\n$/,
    );
  });

  it("export --kernel resolves minKernel for the nodes; without it a note says the host's was used", () => {
    const allows = (text: string) =>
      JSON.parse(text).linux.seccomp.syscalls.some(
        (r: { names: string[]; action: string }) =>
          r.names.includes("ptrace") && r.action === "SCMP_ACT_ALLOW",
      );
    const old = forge("export", "docker-default", "--arch", "x86_64", "--kernel", "4.4");
    expect(old.code, old.err).toBe(0);
    expect(old.err).toBe("");
    expect(allows(old.out)).toBe(false); // ptrace: minKernel 4.8
    const fresh = forge("export", "docker-default", "--arch", "x86_64", "--kernel", "6.1");
    expect(allows(fresh.out)).toBe(true);
    const host = forge("export", "docker-default", "--arch", "x86_64");
    expect(host.code, host.err).toBe(0);
    expect(host.err).toMatch(
      new RegExp(
        `^forge seccomp: note: 1 rule with minKernel resolved for this host's kernel ${os.release().replace(/[.+]/g, "\\$&")} \\(1 kept, 0 left out\\); give --kernel X\\.Y for the nodes' kernel\\n$`,
      ),
    );
    userError(
      forge("export", "docker-default", "--kernel", "six"),
      /^forge: --kernel: "six" is not a kernel version; give one such as 6\.1 or 5\.15\.0-91\n$/,
    );
  });

  it("export keeps listenerPath and listenerMetadata, never writes precedence", () => {
    const file = path.join(dir, "listener.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        listenerMetadata: "forge",
        syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }],
      }),
    );
    const r = forge("export", file, "--arch", "x86_64", "--kernel", "6.1");
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out).linux.seccomp;
    expect(s.listenerPath).toBe("/run/agent.sock");
    expect(s.listenerMetadata).toBe("forge");
    expect(r.out).not.toContain("precedence");
  });

  it('a "strictest" profile: refused with the reason, or written closest with every difference', () => {
    const file = path.join(dir, "strict.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        precedence: "strictest",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          { names: ["ioctl", "read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 1, value: 21522, op: "SCMP_CMP_EQ" }],
          },
        ],
      }),
    );
    const args = ["export", file, "--arch", "x86_64", "--kernel", "6.1"];
    const refused = forge(...args);
    const written = forge(...args, "--allow-differences");
    expect(written.code, written.err).toBe(0);
    expect(written.out).not.toContain("precedence");
    const lines = written.err.trimEnd().split("\n");
    expect(
      lines.some((l) =>
        /^forge seccomp: note: .*strict\.json has "precedence": "strictest"; its rules were /.test(
          l,
        ),
      ),
    ).toBe(true);
    const differs = lines.filter((l) => l.startsWith("forge seccomp: differs: "));
    // The rules decide alike (TIOCSTI stays denied); what differs is runc's own.
    expect(differs.filter((l) => /ioctl/.test(l))).toEqual([]);
    if (differs.length === 0) {
      expect(refused.code, refused.err).toBe(0);
      expect(refused.out).toBe(written.out);
    } else {
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^forge seccomp: warning: runc decides ${differs.length} class(es)? of calls differently from Forge \\(listed above\\); written anyway`,
        ),
      );
      for (const l of differs)
        expect(l).toMatch(
          /^forge seccomp: differs: .+ \(x86_64\)?.*: forge [A-Z_()0-9]+, runc [A-Z_()0-9]+( \(e\.g\. .+\))?$/,
        );
      userError(
        refused,
        /^forge: .*strict\.json: runc would decide \d+ class(es)? of calls differently from Forge \(.*\), e\.g\. .*; give --allow-differences to write the closest runc profile and list them all\n$/,
      );
      expect(refused.out).toBe("");
    }
  });

  it("export k8s reads back: compile gives the bytes of the source; sim and verify take it", () => {
    const res = path.join(dir, "forge-default.k8s.json");
    const e = forge(
      "export",
      "default",
      "--format",
      "k8s",
      "--arch",
      "x86_64",
      "--kernel",
      "6.1",
      "-o",
      res,
    );
    expect(e.code, e.err).toBe(0);
    const a = forge("compile", "default", "--arch", "x86_64", "--kernel", "6.1", "--format", "hex");
    const b = forge("compile", res, "--arch", "x86_64", "--kernel", "6.1", "--format", "hex");
    expect(b.code, b.err).toBe(0);
    expect(b.out).toBe(a.out);
    expect(forge("verify", res, "--arch", "x86_64", "--kernel", "6.1").code).toBe(0);
    expect(
      forge("sim", res, "--arch", "x86_64", "--syscall", "ioctl", "--args", "0,0x5412").out,
    ).toMatch(/^x86_64 ioctl\(0x0, 0x5412\): ERRNO\(1\)/);
    // YAML, as kubectl shows it.
    const yaml = path.join(dir, "r.yaml");
    fs.writeFileSync(
      yaml,
      [
        "apiVersion: security-profiles-operator.x-k8s.io/v1beta1",
        "kind: SeccompProfile",
        "metadata:",
        "  name: small",
        "spec:",
        "  defaultAction: SCMP_ACT_ERRNO",
        "  architectures:",
        "  - SCMP_ARCH_X86_64",
        "  syscalls:",
        "  - names: [read, write, exit_group]",
        "    action: SCMP_ACT_ALLOW",
        "  - names:",
        "    - getpid",
        "    action: SCMP_ACT_ERRNO",
        '    errnoRet: "38"',
        "",
      ].join("\n"),
    );
    const y = forge("sim", yaml, "--arch", "x86_64", "--syscall", "getpid");
    expect(y.code, y.err).toBe(0);
    expect(y.out).toMatch(/^x86_64 getpid\(\): ERRNO\(38\)/);
    // Its problems at FILE:LINE:COLUMN, with pointers into the resource.
    fs.writeFileSync(
      yaml,
      fs.readFileSync(yaml, "utf8").replace("SCMP_ACT_ALLOW", "SCMP_ACT_ALOW"),
    );
    userError(
      forge("compile", yaml, "--arch", "x86_64", "--format", "hex"),
      /r\.yaml:11:13: \/spec\/syscalls\/0\/action: unknown action "SCMP_ACT_ALOW"/,
    );
    fs.writeFileSync(
      yaml,
      "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nspec:\n  syscalls: [read\n",
    );
    userError(
      forge("verify", yaml, "--arch", "x86_64"),
      /^forge: .*r\.yaml:4:\d+: not valid YAML: .*\n$/,
    );
  });

  it("every sub-command that reads a profile prints its warnings, and JSON errors at FILE:LINE:COLUMN", () => {
    const file = path.join(dir, "typo.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["ptrac"], action: "SCMP_ACT_ERRNO" }],
      }),
    );
    const warning =
      /forge seccomp: warning: .*typo\.json:1:\d+: \/syscalls\/0\/names\/0: unknown syscall "ptrac"/;
    for (const args of [
      ["compile", file, "--arch", "x86_64", "--format", "hex"],
      ["sim", file, "--arch", "x86_64", "--syscall", "read"],
      ["verify", file, "--arch", "x86_64"],
      ["export", file, "--arch", "x86_64", "--kernel", "6.1"],
    ]) {
      const r = forge(...args);
      expect(r.err, args[0]).toMatch(warning);
    }
    const broken = path.join(dir, "broken2.json");
    fs.writeFileSync(broken, '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n  "syscalls": []\n}\n');
    for (const sub of ["compile", "verify", "export"]) {
      userError(
        forge(sub, broken, "--arch", "x86_64"),
        /^forge: .*broken2\.json:3:3: not valid JSON: expected "," or "}" after a property, found "\\""\n$/,
      );
    }
  });

  it("forge run --seccomp FILE: a bad profile is the same user error (exit 2), before anything runs", () => {
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [bin, "run", ...args], {
        encoding: "utf8",
        timeout: 60_000,
      });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const bad = path.join(dir, "run-bad.json");
    fs.writeFileSync(bad, '{"defaultAction":{"toString":1},"defaultErrnoRet":1}');
    const a = run("--seccomp", bad, "--", "/bin/true");
    userError(
      a,
      /invalid seccomp profile \(1 problem\)\n {2}.*\/defaultAction: expected an action name/,
    );
    const broken = path.join(dir, "run-broken.json");
    fs.writeFileSync(broken, '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [,]\n}\n');
    userError(
      run("--seccomp", broken, "--", "/bin/true"),
      /^forge: .*run-broken\.json:3:16: not valid JSON: expected a value, found ","\n$/,
    );
    const deep = path.join(dir, "run-deep.json");
    fs.writeFileSync(
      deep,
      `{"defaultAction":"SCMP_ACT_ALLOW","comment":${"[".repeat(10000)}${"]".repeat(10000)}}`,
    );
    userError(run("--seccomp", deep, "--", "/bin/true"), /nested deeper than 64 levels/);
  });
});
