import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parseYaml } from "./_yaml.ts";
import {
  fromSpoSeccompProfile,
  isSpoSeccompProfile,
  loadProfileOrResource,
  parseProfileOrResource,
} from "./import_k8s.ts";
import { formatProfileIssue, ProfileError, ProfileSyntaxError } from "./profile.ts";
import { resolveProfile } from "./resolve.ts";

const API = "security-profiles-operator.x-k8s.io/v1beta1";

const YAML = `# kubectl get seccompprofile forge-x -o yaml
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  annotations:
    description: |
      Allows what a small program needs.
      Nothing else.
    forge.dev/generated-by: '@forge/seccomp'
  name: forge-x
  namespace: apps
spec:
  defaultAction: SCMP_ACT_ERRNO   # EPERM
  architectures: [SCMP_ARCH_X86_64, "SCMP_ARCH_X86"]
  syscalls:
  - names:
    - read
    - write
    action: SCMP_ACT_ALLOW
  - names: [ioctl]
    action: "SCMP_ACT_ERRNO"
    errnoRet: "25"
    args:
    - index: 1
      value: 18446744073709551615
      op: SCMP_CMP_EQ
    - {index: 0, value: 0x10, valueTwo: 0, op: SCMP_CMP_MASKED_EQ}
status:
  status: Installed
`;

describe("SeccompProfile resources read back as profiles", () => {
  test("JSON: the spec, with errnoRet strings made numbers", () => {
    const res = {
      apiVersion: API,
      kind: "SeccompProfile",
      metadata: { name: "x" },
      spec: {
        defaultAction: "SCMP_ACT_ERRNO",
        listenerMetadata: "m",
        syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: "38" }],
      },
    };
    expect(isSpoSeccompProfile(res)).toBe(true);
    const got = parseProfileOrResource(JSON.stringify(res, null, 2), "r.json");
    expect(got.format).toBe("k8s");
    expect(got.profile).toEqual({
      defaultAction: "SCMP_ACT_ERRNO",
      listenerMetadata: "m",
      syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
    });
    // A plain profile is itself.
    const plain = parseProfileOrResource('{"defaultAction":"SCMP_ACT_ALLOW"}', "p.json");
    expect(plain.format).toBe("profile");
    expect(plain.locate({ pointer: "/x", message: "m" })).toEqual({ pointer: "/x", message: "m" });
  });

  test("YAML as kubectl prints it: block and flow collections, quotes, comments, block scalars", () => {
    const got = parseProfileOrResource(YAML, "r.yaml");
    expect(got.format).toBe("k8s");
    expect(got.profile).toEqual({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["ioctl"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 25,
          args: [
            { index: 1, value: "18446744073709551615", op: "SCMP_CMP_EQ" },
            { index: 0, value: 16, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" },
          ],
        },
      ],
    });
    const [doc] = parseYaml(YAML);
    expect(
      (doc!.value as { metadata: { annotations: Record<string, string> } }).metadata.annotations,
    ).toEqual({
      description: "Allows what a small program needs.\nNothing else.\n",
      "forge.dev/generated-by": "@forge/seccomp",
    });
    expect(doc!.positions.get("/spec/syscalls/1/errnoRet")).toEqual({ line: 22, column: 15 });
    expect(doc!.positions.get("/spec/syscalls/1/args/1/op")).toEqual({ line: 27, column: 48 });
  });

  test("problems are reported in the resource, /spec/..., at FILE:LINE:COLUMN", () => {
    const bad = YAML.replace('action: "SCMP_ACT_ERRNO"', "action: SCMP_ACT_EROR").replace(
      'errnoRet: "25"',
      'errnoRet: "x25"',
    );
    let err: unknown;
    try {
      parseProfileOrResource(bad, "r.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    const lines = (err as Error).message.split("\n");
    expect(lines[0]).toBe("r.yaml: invalid seccomp profile (2 problems)");
    expect(lines).toContain(
      '  r.yaml:22:15: /spec/syscalls/1/errnoRet: "x25" is not an errno; write a number 0..65535 as a string, e.g. "1"',
    );
    expect(
      lines.some((l) => l.startsWith("  r.yaml:21:13: /spec/syscalls/1/action: unknown action")),
    ).toBe(true);

    const json = `{
  "apiVersion": "${API}",
  "kind": "SeccompProfile",
  "metadata": {"name": "x"},
  "spec": {"defaultAction": "SCMP_ACT_ALLOW", "baseProfileName": "runc-v1.0.0",
           "disabled": true, "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}
}`;
    expect(() => parseProfileOrResource(json, "r.json")).toThrow(
      /r\.json:5:66: \/spec\/baseProfileName: a base profile is merged by the operator/,
    );
    expect(() => parseProfileOrResource(json, "r.json")).toThrow(
      /r\.json:6:73: \/spec\/syscalls\/0\/action: unknown action "SCMP_ACT_NOPE"/,
    );
    const ok = parseProfileOrResource(
      json.replace(/"baseProfileName": "runc-v1.0.0",/, "").replace("NOPE", "ERRNO"),
      "r.json",
    );
    expect(ok.warnings.map((w) => formatProfileIssue(w, "r.json"))).toEqual([
      "r.json:6:24: /spec/disabled: true: the operator does not install this profile on nodes; Forge reads it anyway",
    ]);
  });

  test("the profile's own warnings are located in the resource too", () => {
    const text = YAML.replace("    - write\n", "    - wirte\n");
    const got = parseProfileOrResource(text, "r.yaml");
    const r = resolveProfile(got.profile, { arch: "x86_64" }, "r.yaml");
    expect(r.warnings.map((w) => formatProfileIssue(got.locate(w), "r.yaml"))).toEqual([
      'r.yaml:18:7: /spec/syscalls/0/names/1: unknown syscall "wirte" on every architecture: ignored, as runc does; did you mean "write"?',
    ]);
  });

  test("YAML it cannot read is a one-line error at LINE:COLUMN; other text keeps its JSON error", () => {
    const cases: [string, RegExp][] = [
      [
        YAML.replace("  name: forge-x\n", "  name: forge-x\n  name: y\n"),
        /^r\.yaml:11:3: not valid YAML: duplicate key "name" \(first on line 10\)/,
      ],
      [
        YAML.replace("  namespace: apps", "  namespace: &a apps"),
        /^r\.yaml:11:14: not valid YAML: YAML anchors \("&"\) are not supported/,
      ],
      [
        YAML.replace("    - read\n", "\t- read\n"),
        /^r\.yaml:17:1: not valid YAML: a tab in the indentation/,
      ],
      [
        YAML.replace('action: "SCMP_ACT_ERRNO"', 'action: "SCMP_ACT_ERRNO'),
        /^r\.yaml:21:13: not valid YAML: the quoted string does not end on this line/,
      ],
      [
        YAML.replace("  - names: [ioctl]", "  - names: [ioctl"),
        /not valid YAML: .*not closed|not valid YAML/,
      ],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        parseProfileOrResource(text, "r.yaml");
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ProfileSyntaxError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain("\n");
    }
    // Not a resource: the JSON error stands.
    expect(() => parseProfileOrResource("{ not json", "p.json")).toThrow(
      /^p\.json:1:3: not valid JSON: expected a property name in double quotes/,
    );
    expect(() => parseProfileOrResource("defaultAction: SCMP_ACT_ALLOW\n", "p.yaml")).toThrow(
      /not valid JSON/,
    );
  });

  test("other Kubernetes kinds and files without a SeccompProfile are refused", () => {
    expect(() =>
      parseProfileOrResource('{"apiVersion": "v1", "kind": "Pod", "spec": {}}', "pod.json"),
    ).toThrow(/pod\.json:1:\d+: \/kind: a v1 Pod, not a seccomp profile/);
    expect(() =>
      fromSpoSeccompProfile({ apiVersion: API, kind: "SeccompProfile" }, "x.json"),
    ).toThrow(/missing "spec"/);
    const two = `${YAML}---\n${YAML}`;
    expect(() => parseProfileOrResource(two, "two.yaml")).toThrow(/2 SeccompProfile documents/);
    const mixed = `apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n---\n${YAML}`;
    expect(parseProfileOrResource(mixed, "m.yaml").profile.defaultAction).toBe("SCMP_ACT_ERRNO");
  });

  test("loadProfileOrResource: built-ins, profile files and resource files", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-import-"));
    try {
      expect(loadProfileOrResource("minimal").format).toBe("profile");
      const y = path.join(dir, "r.yaml");
      fs.writeFileSync(y, YAML);
      const got = loadProfileOrResource(y);
      expect(got).toMatchObject({ format: "k8s", source: y });
      const j = path.join(dir, "r.json");
      fs.writeFileSync(
        j,
        JSON.stringify({
          apiVersion: API,
          kind: "SeccompProfile",
          spec: { defaultAction: "SCMP_ACT_LOG" },
        }),
      );
      expect(loadProfileOrResource(j).profile).toEqual({ defaultAction: "SCMP_ACT_LOG" });
      expect(() => loadProfileOrResource(path.join(dir, "missing.yaml"))).toThrow(/no such file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a YAML resource read from a pipe", () => {
  // The file was read once (by loadProfile, as JSON) and, for the YAML fallback, read
  // again only when it was a regular file: a pipe (/dev/fd/N of `<(...)`, a FIFO) was
  // consumed by then, and the YAML was reported as invalid JSON.
  test.skipIf(process.platform !== "linux")("a FIFO holding YAML is read as YAML", async () => {
    const { execFileSync, spawn } = await import("node:child_process");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-k8s-fifo-"));
    try {
      const fifo = path.join(dir, "p.yaml");
      execFileSync("mkfifo", [fifo]);
      const yaml =
        "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - names: [read]\n    action: SCMP_ACT_ALLOW\n";
      const writer = spawn("sh", ["-c", 'printf %s "$1" > "$2"', "sh", yaml, fifo]);
      const done = new Promise((r) => writer.on("exit", r));
      const { profile, format } = loadProfileOrResource(fifo);
      await done;
      expect(format).toBe("k8s");
      expect(profile.syscalls?.[0]?.names).toEqual(["read"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
