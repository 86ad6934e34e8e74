// Profile text and validation: every bad input is a ProfileError whose issues each have
// a JSON pointer and a sentence a user can act on; what runc loads but is likely a
// mistake is a warning. The inputs marked "issue 13" crashed or garbled before.
import { describe, expect, it } from "vitest";
import { compileProfile } from "./compile.ts";
import {
  formatProfileIssue,
  ProfileError,
  type ProfileIssue,
  ProfileSyntaxError,
  parseProfileText,
  profileIssues,
  profileWarnings,
  validateProfile,
} from "./profile.ts";
import { resolveProfile } from "./resolve.ts";

/** The ProfileError that `f` throws (fails the test when it throws anything else). */
function profileError(f: () => unknown): ProfileError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProfileError) return e;
    throw new Error(`expected a ProfileError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error("expected a ProfileError, got none");
}

/** Compiles profile text the way `forge seccomp compile FILE` does. */
function compileText(text: string, source = "p.json") {
  return compileProfile(parseProfileText(text, source), { arch: "x86_64", kernel: "6.1" }, source);
}

/** A message a user can act on: one line, no JS leftovers. */
function expectReadable(issues: readonly ProfileIssue[]): void {
  expect(issues.length).toBeGreaterThan(0);
  for (const i of issues) {
    expect(i.pointer).toMatch(/^(|\/[\s\S]*)$/);
    expect(i.message).not.toMatch(/\n|undefined|\[object Object\]|NaN|Cannot |is not a function/);
    expect(i.message.length).toBeLessThan(400);
  }
}

const ALLOW = '"defaultAction":"SCMP_ACT_ALLOW"';

describe("bad values are ProfileErrors with pointers (issue 13)", () => {
  it('{"defaultAction":{"toString":1}}', () => {
    const e = profileError(() => compileText('{"defaultAction":{"toString":1}}'));
    expectReadable(e.issues);
    expect(e.issues).toEqual([
      {
        pointer: "/defaultAction",
        message: expect.stringMatching(/^expected an action name \(a string\), got an object/),
        line: 1,
        column: 18,
      },
    ]);
    // With an errno the semantic check used to print the object (TypeError).
    const e2 = profileError(() =>
      compileText('{"defaultAction":{"toString":1},"defaultErrnoRet":1}'),
    );
    expectReadable(e2.issues);
  });

  it('a rule without an action and with an errnoRet: no "action undefined"', () => {
    const e = profileError(() =>
      compileText(`{${ALLOW},"syscalls":[{"names":["read"],"errnoRet":1}]}`),
    );
    expectReadable(e.issues);
    expect(e.issues.map((i) => i.pointer)).toEqual(["/syscalls/0"]);
    expect(e.issues[0]!.message).toMatch(/missing required property "action"/);
  });

  it('an object action: no "action [object Object]"', () => {
    const e = profileError(() =>
      compileText(`{${ALLOW},"syscalls":[{"names":["read"],"action":{"x":1},"errnoRet":1}]}`),
    );
    expectReadable(e.issues);
    expect(e.issues.map((i) => i.pointer)).toEqual(["/syscalls/0/action"]);
  });

  it("10,000-deep nesting, in text and as an object", () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const e = profileError(() => compileText(`{${ALLOW},"comment":${deep}}`));
    expect(e).toBeInstanceOf(ProfileSyntaxError);
    expect(e.message).toMatch(/^p\.json:1:\d+: nested deeper than 64 levels/);
    let o: unknown = [];
    for (let i = 0; i < 10_000; i++) o = [o];
    const e2 = profileError(() => compileProfile({ defaultAction: "SCMP_ACT_ALLOW", comment: o }));
    expectReadable(e2.issues);
    expect(e2.issues[0]!.pointer).toMatch(/^\/comment(\/0)+$/);
    expect(e2.issues[0]!.message).toMatch(/nested deeper than 64 levels/);
  });

  it("objects that JSON cannot hold: cycles, bigint, functions, throwing getters", () => {
    const cyclic: Record<string, unknown> = { defaultAction: "SCMP_ACT_ALLOW" };
    cyclic.comment = cyclic;
    expectReadable(profileError(() => compileProfile(cyclic)).issues);
    expect(profileIssues(cyclic)[0]!.message).toMatch(/refers to itself/);
    const getter = {
      defaultAction: "SCMP_ACT_ALLOW",
      get syscalls(): unknown {
        throw new Error("boom");
      },
    };
    expect(profileIssues(getter)).toEqual([
      { pointer: "/syscalls", message: expect.stringMatching(/could not be read/) },
    ]);
    expectReadable(profileIssues({ defaultAction: "SCMP_ACT_ALLOW", comment: () => 1 }));
    expectReadable(profileIssues({ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1n }));
    // bigint is a U64: exact, and accepted.
    const f = compileProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["ioctl"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 1, value: 0xffffffffffffffffn, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
      { arch: "x86_64" },
    );
    expect(f.resolved.abis[0]!.rules.size).toBe(1);
  });

  it("huge and non-integer numbers", () => {
    for (const v of ["1e400", "-1e400", "1.5", "-1", "18446744073709551616", "1e19"]) {
      const e = profileError(() =>
        compileText(
          `{${ALLOW},"syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":${v},"args":[{"index":${v},"value":${v},"op":"SCMP_CMP_EQ"}]}]}`,
        ),
      );
      expectReadable(e.issues);
      expect(e.issues.map((i) => i.pointer).sort(), v).toEqual([
        "/syscalls/0/args/0/index",
        "/syscalls/0/args/0/value",
        "/syscalls/0/errnoRet",
      ]);
    }
    // Exact above 2^53 where a 64-bit value goes.
    const f = compileText(
      `{${ALLOW},"syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}`,
    );
    expect([...f.resolved.abis[0]!.rules.values()][0]![0]!.conditions[0]!.value).toBe(
      0xffffffffffffffffn,
    );
  });

  it("prototype keys are plain unknown properties, never prototypes", () => {
    const e = profileError(() =>
      compileText(
        '{"__proto__":{"defaultAction":"SCMP_ACT_ALLOW"},"constructor":1,"syscalls":[{"__proto__":{"action":"SCMP_ACT_ALLOW"},"names":["read"]}]}',
      ),
    );
    expectReadable(e.issues);
    expect(e.issues.map((i) => i.pointer).sort()).toEqual([
      "",
      "/__proto__",
      "/constructor",
      "/syscalls/0",
      "/syscalls/0/__proto__",
    ]);
    expect(e.issues.find((i) => i.pointer === "")!.message).toMatch(
      /missing required property "defaultAction"/,
    );
  });

  it("unknown properties name the key and suggest the spelling", () => {
    const e = profileError(() => validateProfile({ DefaultAction: "SCMP_ACT_ALLOW" }));
    expect(e.issues).toContainEqual({
      pointer: "/DefaultAction",
      message:
        'unknown property "DefaultAction"; did you mean "defaultAction"? (names are case-sensitive)',
    });
    const long = "x".repeat(100_000);
    const e2 = profileError(() => validateProfile({ defaultAction: "SCMP_ACT_ALLOW", [long]: 1 }));
    expectReadable(e2.issues);
  });

  it("lists at most 20 problems in the message, all in issues", () => {
    const syscalls = Array.from({ length: 50 }, () => ({ names: ["read"], action: "NOPE" }));
    const e = profileError(() => validateProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls }));
    expect(e.issues).toHaveLength(50);
    expect(e.message.split("\n")).toHaveLength(22);
    expect(e.message).toMatch(/\n {2}\.\.\. and 30 more problems$/);
  });
});

describe("found by fuzzing (profile_fuzz_test.ts)", () => {
  it("a document that is no object: the error says where it is", () => {
    const e = profileError(() => parseProfileText('\n  "SCMP_ACT_ALLOW"', "p.json"));
    expect(e.issues).toEqual([
      {
        pointer: "",
        message:
          'expected a profile, a JSON object such as {"defaultAction": "SCMP_ACT_ERRNO"}, got a string "SCMP_ACT_ALLOW"',
        line: 2,
        column: 3,
      },
    ]);
    expect(e.message).toBe(
      'p.json: invalid seccomp profile (1 problem)\n  p.json:2:3: /: expected a profile, a JSON object such as {"defaultAction": "SCMP_ACT_ERRNO"}, got a string "SCMP_ACT_ALLOW"',
    );
  });

  it("a key with a newline or 100,000 characters: the problem stays one line", () => {
    const e = profileError(() =>
      validateProfile({ defaultAction: "SCMP_ACT_ALLOW", "a\nb": 1, ["k".repeat(100_000)]: 2 }),
    );
    expect(e.issues.map((i) => i.pointer)).toContain("/a\nb");
    const lines = e.message.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^ {2}\/a\\u000ab: unknown property "a\\nb"/);
    expect(lines[2]!.length).toBeLessThan(400); // the key cut short, then the known properties
  });

  it("a message never cuts a quoted value in half", () => {
    const e = profileError(() =>
      validateProfile({ defaultAction: `[undefined,${"x".repeat(200)}]` }),
    );
    expect(e.issues[0]!.message).toMatch(/^unknown action "\[undefined,x+\.\.\."; expected one of/);
  });

  it("NaN, a boxed string, a Map: ProfileErrors, not crashes", () => {
    expect(profileIssues({ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: Number.NaN })).toEqual(
      [
        {
          pointer: "/defaultErrnoRet",
          message: expect.stringMatching(/^NaN is not a number JSON can hold; expected an errno/),
        },
      ],
    );
    expectReadable(profileIssues({ defaultAction: new String("SCMP_ACT_ALLOW") }));
    expectReadable(profileIssues(new Map([["defaultAction", "SCMP_ACT_ALLOW"]])));
  });

  // A hang guard (the test's timeout), not a speed claim: runs used to take minutes.
  it("huge arrays and thousands of overlapping rules end with a documented error", {
    timeout: 60_000,
  }, () => {
    const many = `[${Array.from({ length: 20_000 }, () => "0").join(",")}]`;
    const e = profileError(() =>
      parseProfileText(`{"defaultAction":"SCMP_ACT_ALLOW","comment":${many}}`, "p.json"),
    );
    expect(e.message).toMatch(
      /^p\.json:1:\d+: an array of more than 10000 items; a seccomp profile needs far fewer$/,
    );
    const syscalls = Array.from({ length: 3000 }, (_, i) => ({
      names: ["read"],
      action: i % 2 ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO",
      args: [{ index: i % 6, value: i, op: "SCMP_CMP_EQ" as const }],
    }));
    const r = resolveProfile(
      { defaultAction: "SCMP_ACT_LOG", syscalls },
      { arch: "x86_64", kernel: "6.1", semantics: "strictest" },
    );
    expect(r.conflicts.at(-1)).toMatch(
      /^the conflict check stopped at read \(x86_64\) after 20000 pairs/,
    );
    expect(() =>
      compileProfile({ defaultAction: "SCMP_ACT_LOG", syscalls }, { arch: "x86_64" }),
    ).toThrow(
      /^the filter has (at least \d+|more than 16384) instructions; the kernel loads at most 4096/,
    );
  });
});

describe("JSON text errors say FILE:LINE:COLUMN (issue 13)", () => {
  const cases: [string, number, number, RegExp][] = [
    [
      '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [,]\n}\n',
      3,
      16,
      /expected a value, found ","/,
    ],
    ["{ not json", 1, 3, /expected a property name in double quotes, found "n"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW",}', 1, 35, /trailing comma/],
    ["", 1, 1, /the file is empty/],
    ['{"defaultAction":"SCMP_ACT_ALLOW"', 1, 34, /ends inside the object opened at 1:1; add "}"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW"} x', 1, 36, /unexpected text after the profile/],
    ['{"a":01}', 1, 6, /leading zero/],
    ['{"a":"x\ny"}', 1, 8, /control character U\+000A in a string; write it as \\n/],
    ['{"a":tru}', 1, 6, /unexpected word "tru"/],
    ["\ufeff{}", 1, 1, /byte-order mark/],
    ['{"a":1 // c\n}', 1, 8, /comments are not allowed/],
    ["{'a':1}", 1, 2, /double quotes/],
    ['{"a":"\\x"}', 1, 7, /bad escape "\\x"/],
    ['{"a":1,"a":2}', 1, 8, /duplicate key "a" \(first at 1:2\)/],
    ['{"a":"😀","b":-}', 1, 15, /a number needs digits after "-"/],
  ];
  for (const [text, line, column, message] of cases) {
    it(JSON.stringify(text), () => {
      const e = profileError(() => parseProfileText(text, "p.json"));
      expect(e).toBeInstanceOf(ProfileSyntaxError);
      const s = e as ProfileSyntaxError;
      expect([s.line, s.column]).toEqual([line, column]);
      expect(s.message).toMatch(new RegExp(`^p\\.json:${line}:${column}: `));
      expect(s.message).toMatch(message);
      expect(s.message).not.toMatch(/\n/);
      expect(s.issues).toHaveLength(1);
      expect(s.issues[0]!.pointer).toMatch(/^(|\/[\s\S]*)$/);
    });
  }

  it("says where in the document: the pointer of the value being read", () => {
    const e = profileError(() =>
      parseProfileText('{"syscalls":[{"names":["read"],"args":[{"index":1,"value":}]}]}'),
    ) as ProfileSyntaxError;
    expect(e.issues[0]!.pointer).toBe("/syscalls/0/args/0/value");
  });

  it("validation problems carry the line and column of the value", () => {
    const text = `{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [\n    { "names": ["read"], "action": "SCMP_ACT_NOPE" }\n  ]\n}\n`;
    const e = profileError(() => compileText(text, "p.json"));
    expect(e.issues).toEqual([
      expect.objectContaining({ pointer: "/syscalls/0/action", line: 4, column: 36 }),
    ]);
    expect(e.message).toMatch(
      /\n {2}p\.json:4:36: \/syscalls\/0\/action: unknown action "SCMP_ACT_NOPE"/,
    );
  });
});

describe("what runc refuses is refused; what it loads but is likely wrong is warned (issue 13)", () => {
  const arch = { arch: "x86_64" as const, kernel: "6.1" };

  it("unknown architecture names are refused", () => {
    const e = profileError(() =>
      compileProfile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_FOO"] }, arch),
    );
    expect(e.issues).toEqual([
      {
        pointer: "/architectures/0",
        message: expect.stringMatching(
          /^unknown architecture "SCMP_ARCH_FOO"; expected one of SCMP_ARCH_X86, SCMP_ARCH_X86_64/,
        ),
      },
    ]);
    const amd64 = profileIssues({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["amd64"] });
    expect(amd64[0]!.message).toMatch(/did you mean "SCMP_ARCH_X86_64"\?/);
  });

  it("architectures this target cannot run are warned about, once, with what is covered", () => {
    const f = compileProfile(
      { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPSEL"] },
      arch,
    );
    expect(f.resolved.abis.map((a) => a.arch)).toEqual(["x86_64"]);
    expect(f.resolved.warnings).toEqual([
      {
        pointer: "/architectures",
        message: expect.stringMatching(
          /^none of SCMP_ARCH_MIPS, SCMP_ARCH_MIPSEL runs on x86_64: the filter covers x86_64 only/,
        ),
      },
    ]);
    // A multi-architecture profile is normal: no warning.
    const multi = compileProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS"],
      },
      arch,
    );
    expect(multi.resolved.warnings).toEqual([]);
    const noEntry = compileProfile(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        archMap: [{ architecture: "SCMP_ARCH_S390X", subArchitectures: ["SCMP_ARCH_S390"] }],
      },
      arch,
    );
    expect(noEntry.resolved.warnings.map((w) => w.pointer)).toEqual(["/archMap"]);
  });

  it("both architectures and archMap are refused (as Docker does)", () => {
    const e = profileError(() =>
      validateProfile({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] }],
      }),
    );
    expect(e.issues).toEqual([
      { pointer: "/archMap", message: expect.stringMatching(/both "architectures" and "archMap"/) },
    ]);
    // Empty lists do not conflict (Docker checks the lengths).
    expect(
      profileIssues({ defaultAction: "SCMP_ACT_ALLOW", architectures: [], archMap: [] }),
    ).toEqual([]);
  });

  it("both name and names in one rule are refused (as Docker does)", () => {
    expect(
      profileIssues({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ name: "read", names: ["write"], action: "SCMP_ACT_ERRNO" }],
      }),
    ).toEqual([
      { pointer: "/syscalls/0/name", message: expect.stringMatching(/both "name" and "names"/) },
    ]);
  });

  it("SCMP_ACT_NOTIFY as the default action, or for write, is refused (as runc does)", () => {
    expect(profileIssues({ defaultAction: "SCMP_ACT_NOTIFY" })).toEqual([
      {
        pointer: "/defaultAction",
        message: expect.stringMatching(/^SCMP_ACT_NOTIFY cannot be the default action/),
      },
    ]);
    expect(
      profileIssues({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }],
      }),
    ).toEqual([
      {
        pointer: "/syscalls/0/names/1",
        message: expect.stringMatching(/^SCMP_ACT_NOTIFY cannot be used for write/),
      },
    ]);
  });

  it("an empty syscalls list is a warning", () => {
    const f = compileProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [] }, arch);
    expect(f.resolved.warnings).toEqual([
      {
        pointer: "/syscalls",
        message: expect.stringMatching(
          /^the list is empty: every syscall gets the default action SCMP_ACT_ERRNO/,
        ),
      },
    ]);
    expect(compileProfile({ defaultAction: "SCMP_ACT_ERRNO" }, arch).resolved.warnings).toEqual([]);
  });

  it("a MASKED_EQ whose datum has bits outside the mask is warned as never matching", () => {
    const p = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["ioctl"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 1, value: 255, valueTwo: 256, op: "SCMP_CMP_MASKED_EQ" as const }],
        },
      ],
    };
    expect(profileWarnings(p)).toEqual([
      {
        pointer: "/syscalls/0/args/0/valueTwo",
        message: expect.stringMatching(
          /^0x100 has bits outside the mask 0xff; they are ignored: the condition is \(arg & 0xff\) == 0x0, as runc and libseccomp decide it; clear the bits outside the mask$/,
        ),
      },
    ]);
    expect(compileProfile(p, arch).resolved.warnings).toHaveLength(1);
  });

  it("unknown syscall names are warnings with the closest known name (runc ignores them)", () => {
    const p = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["opne", "read"], action: "SCMP_ACT_ERRNO" }],
    };
    expect(profileIssues(p)).toEqual([]);
    const f = compileProfile(p, arch);
    expect(f.resolved.warnings).toEqual([
      {
        pointer: "/syscalls/0/names/0",
        message:
          'unknown syscall "opne" on every architecture: ignored, as runc does; did you mean "open"?',
      },
    ]);
    expect(formatProfileIssue(f.resolved.warnings[0]!)).toBe(
      '/syscalls/0/names/0: unknown syscall "opne" on every architecture: ignored, as runc does; did you mean "open"?',
    );
    // A name that does not look like a syscall is still refused.
    expect(
      profileIssues({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["Read"], action: "SCMP_ACT_ERRNO" }],
      }),
    ).toEqual([
      {
        pointer: "/syscalls/0/names/0",
        message:
          '"Read" is not a syscall name (lowercase letters, digits and "_"); did you mean "read"?',
      },
    ]);
  });

  it("built-in profiles have no warnings", async () => {
    const { builtinProfile, builtinProfiles } = await import("./profiles.ts");
    for (const { name } of builtinProfiles()) {
      for (const a of ["x86_64", "aarch64"] as const) {
        const r = resolveProfile(builtinProfile(name), { arch: a, kernel: "6.1" });
        expect(r.warnings, `${name} ${a}`).toEqual([]);
      }
    }
  });
});
