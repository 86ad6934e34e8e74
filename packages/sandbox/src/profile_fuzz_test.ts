// Fuzzing sandbox profiles: validateProfile accepts exactly the documents a launch plan
// can be made of (checkSandbox: the whole plan, nothing started), and fails with
// nothing but a ProfileError whose problems are one line each with a JSON pointer.
// Host facts are held fixed: bind sources exist unless optional, seccomp is a name.
import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ProfileError as PE,
  ProfileError,
  type SandboxProfile,
  validateProfile,
} from "./profile.ts";
import { checkSandbox } from "./sandbox.ts";

const landlockStrict = (() => {
  try {
    checkSandbox({ argv: ["/bin/true"], landlock: "strict" });
    return true;
  } catch {
    return false;
  }
})();

const existing = ["/usr", "/etc", "/tmp", "/bin", "/"].filter((p) => fs.existsSync(p));
const paths = [
  "/usr",
  "/x",
  "/x/",
  "/proc",
  "/dev",
  "/dev/null",
  "/",
  "/a/../b",
  "/y",
  "/tmp",
  "relative",
  "/a\u0000b",
  "//x",
];

const bind = fc.oneof(
  fc.record(
    {
      src: fc.constantFrom(...existing, "/usr/../etc", "relative"),
      dst: fc.constantFrom(...paths),
      readonly: fc.boolean(),
    },
    { requiredKeys: ["src"] },
  ),
  fc.record(
    {
      src: fc.constantFrom("/no/such/forge-fuzz", ...existing),
      dst: fc.constantFrom(...paths),
      optional: fc.constant(true),
    },
    { requiredKeys: ["src", "optional"] },
  ),
);
const tmpfs = fc.record(
  {
    dst: fc.constantFrom(...paths),
    size: fc.constantFrom("0", "1", "64m", "1g", "99999999999g", "1k", "8M"),
    inodes: fc.constantFrom(1, 100, 4294967295),
  },
  { requiredKeys: ["dst"] },
);

/** Profile documents as the schema shapes them, with values that planning may refuse. */
const profile = fc.record(
  {
    name: fc.constant("fz"),
    namespaces: fc.record(
      {
        user: fc.boolean(),
        pid: fc.boolean(),
        mount: fc.boolean(),
        ipc: fc.boolean(),
        uts: fc.boolean(),
        cgroup: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    net: fc.constantFrom("none", "host"),
    hostname: fc.constantFrom(
      "box",
      "a-b.c",
      "a b",
      "-a",
      "a.",
      "a".repeat(64),
      "\u00e9",
      "a\u0000b",
      "x",
    ),
    root: fc.record(
      {
        binds: fc.array(bind, { maxLength: 3 }),
        tmpfs: fc.array(tmpfs, { maxLength: 2 }),
        proc: fc.boolean(),
        dev: fc.boolean(),
        readonly: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    cwd: fc.constantFrom("/", "/work", "relative", "/a\u0000b", ""),
    uid: fc.constantFrom(0, 1000, 4294967294),
    gid: fc.constantFrom(0, 1000),
    env: fc.record(
      {
        set: fc.dictionary(
          fc.constantFrom("A", "A=B", "", "LANG", "__proto__", "x y"),
          fc.constantFrom("1", "", "a\u0000b"),
        ),
        keep: fc.array(fc.constantFrom("HOME", "TERM", ""), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    capabilities: fc.record(
      {
        add: fc.array(
          fc.constantFrom(
            "NET_RAW",
            "CAP_SYS_ADMIN",
            "CAP_NOPE",
            "SYS_PTRACE",
            "CAP_",
            "chown",
            "CAP_CHOWN",
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
    seccomp: fc.constantFrom(
      "default",
      "docker-default",
      "unconfined",
      "no-such",
      "minimal",
      "python-safe",
      "node-safe",
      "shell-readonly",
    ),
    landlock: fc.constantFrom(...(landlockStrict ? ["strict"] : []), "best-effort", "off"),
    rlimits: fc.dictionary(
      fc.constantFrom("nofile", "nproc", "core", "cpu"),
      fc.constantFrom<number | "unlimited">(0, 1024, "unlimited", 1e300, 2 ** 64),
    ),
    limits: fc.record(
      {
        memory: fc.constantFrom("256M", "lots", "-5M", "0", "max", "1e3", "1.5G"),
        swap: fc.constantFrom("0", "max", "1G", "x"),
        cpus: fc.constantFrom(0.05, 0.0001, 1, 1e21, 0.5, 64),
        pids: fc.constantFrom(1, 32, 5_000_000),
        oomGroupKill: fc.boolean(),
        mode: fc.constantFrom("strict", "best-effort"),
      },
      { requiredKeys: [] },
    ),
    timeout: fc.constantFrom("10s", "0s", "597h", "0.5ms", `${"9".repeat(30)}h`, "1.5m"),
  },
  { requiredKeys: ["name"] },
);

function outcome(doc: unknown): { accepted: boolean; planned: boolean; why: string } {
  let accepted = true;
  let why = "";
  try {
    validateProfile(JSON.parse(JSON.stringify(doc)), "fuzz.json");
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    accepted = false;
    why = e.message;
    for (const p of (e as PE).problems) {
      expect(p.pointer).toMatch(/^(\/|$)/);
      expect(p.message).not.toMatch(/[\n\r]/);
    }
  }
  let planned = true;
  try {
    checkSandbox({ argv: ["/bin/true"], profile: doc as SandboxProfile });
  } catch (e) {
    planned = false;
    why ||= (e as Error).message;
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).not.toMatch(/[\n\r]/);
  }
  return { accepted, planned, why };
}

describe("sandbox profiles: validate <=> plans", () => {
  it("validateProfile accepts exactly the documents a launch plan can be made of", () => {
    fc.assert(
      fc.property(profile, (doc) => {
        const { accepted, planned, why } = outcome(doc);
        expect(accepted, `${JSON.stringify(doc)}\n${why}`).toBe(planned);
      }),
    );
  });
});

describe("sandbox profiles: counterexamples the fuzzer found, fixed", () => {
  it.each([
    // A fresh /proc masks files with /dev/null: without the minimal /dev no plan held.
    [
      { root: { dev: false } },
      false,
      /^fuzz\.json: \/root\/dev: a fresh \/proc without the minimal \/dev/,
    ],
    // --cap-add takes any case; so does a profile now.
    [{ capabilities: { add: ["chown", "cap_net_raw"] } }, true, undefined],
    // Without a user namespace the names went unchecked (and, as root, nothing was dropped).
    [
      { namespaces: { user: false }, capabilities: { add: ["CAP_NOPE"] } },
      false,
      /\/capabilities\/add\/0: unknown capability "CAP_NOPE"/,
    ],
    // A variable named __proto__ vanished from the plan (with its NUL byte).
    [{ env: { set: { ["__proto__"]: "a\u0000b" } } }, false, /\/env\/set\/__proto__: /],
    [{ env: { set: { ["__proto__"]: "1" } } }, true, undefined],
    // An optional bind whose source is missing here was never checked by the plan.
    [
      { root: { binds: [{ src: "/no/such/forge-fuzz", dst: "/a/../b", optional: true }] } },
      false,
      /\/root\/binds\/0\/dst: bind destination must not contain/,
    ],
    // An empty memory limit was ignored by the plan.
    [{ limits: { memory: "" } }, false, /\/limits\/memory: invalid memory ""/],
  ] as [Record<string, unknown>, boolean, RegExp | undefined][])(
    "%j: accepted %s, and planned the same",
    (doc, accepted, message) => {
      const r = outcome(JSON.parse(JSON.stringify({ name: "fz", ...doc })));
      expect(r.accepted).toBe(accepted);
      expect(r.planned).toBe(accepted);
      if (message) expect(r.why).toMatch(message);
    },
  );

  it("an environment variable named __proto__ reaches the plan", () => {
    const doc = JSON.parse('{"name":"fz","env":{"set":{"__proto__":"1"}}}');
    expect(Object.hasOwn(doc.env.set, "__proto__")).toBe(true);
    expect(() => validateProfile(doc, "x.json")).not.toThrow();
  });
});
