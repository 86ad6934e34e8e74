import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLONE, openLibc, spawn } from "@forge/libc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capDropSteps } from "./drop.ts";
import { noNewPrivsStep } from "./no_new_privs.ts";
import { capgetSelf, parseProcStatusCaps } from "./read_caps.ts";

const isRoot = process.getuid?.() === 0;

async function statusOf(
  lateSteps: Parameters<typeof spawn>[0]["lateSteps"],
  cloneFlags = CLONE.NEWUSER,
): Promise<string> {
  const child = spawn({
    argv: ["/bin/cat", "/proc/self/status"],
    cloneFlags,
    lateSteps,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const ended = new Promise((r) => child.stdout!.on("close", r));
  const [st] = await Promise.all([child.wait(), ended]);
  expect(st.exitCode).toBe(0);
  return out;
}

describe("capabilities on the real kernel", () => {
  it("leaves only the kept capability in every set, with no_new_privs", async () => {
    const s = parseProcStatusCaps(
      await statusOf([...capDropSteps({ keep: ["NET_BIND_SERVICE"] }), noNewPrivsStep()]),
    );
    expect(s).toEqual({
      inheritable: 0x400n,
      permitted: 0x400n,
      effective: 0x400n,
      bounding: 0x400n,
      ambient: 0x400n,
      noNewPrivs: true,
    });
  });

  it("drops everything by default", async () => {
    const s = parseProcStatusCaps(await statusOf([...capDropSteps(), noNewPrivsStep()]));
    expect(s).toEqual({
      inheritable: 0n,
      permitted: 0n,
      effective: 0n,
      bounding: 0n,
      ambient: 0n,
      noNewPrivs: true,
    });
  });

  it("reads its own capabilities through capget", () => {
    const s = capgetSelf(openLibc());
    if (isRoot) expect(s.effective & (1n << 21n)).toBe(1n << 21n);
    expect(s.bounding).not.toBe(0n);
  });

  describe.skipIf(!isRoot)("rootless (uid 65534)", () => {
    let tmp = "";
    const dist = path.resolve(import.meta.dirname, "../dist/mod.js");
    const libcDist = path.resolve(import.meta.dirname, "../../libc/dist/mod.js");
    beforeAll(() => {
      execFileSync("npx", ["tsc", "-b", path.resolve(import.meta.dirname, "..")], {
        stdio: "inherit",
      });
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-caps-"));
      fs.chmodSync(tmp, 0o755);
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("drops capabilities in a user namespace made by an unprivileged caller", () => {
      const file = path.join(tmp, "caps.mjs");
      fs.writeFileSync(
        file,
        `import { spawn, CLONE } from ${JSON.stringify(libcDist)};
import { capDropSteps, noNewPrivsStep, parseProcStatusCaps } from ${JSON.stringify(dist)};
const w = (f, t, n) => [{ label: "open " + f, syscall: "openat", args: [-100, { cstring: f }, 1], id: "w" + n },
  { label: "write " + f, syscall: "write", args: [{ result: "w" + n }, { cstring: t }, t.length] }];
const steps = [...w("/proc/self/setgroups", "deny", 1), ...w("/proc/self/uid_map", "0 65534 1", 2), ...w("/proc/self/gid_map", "0 65534 1", 3)];
const c = spawn({ argv: ["/bin/cat", "/proc/self/status"], cloneFlags: CLONE.NEWUSER, steps, lateSteps: [...capDropSteps({ keep: ["CHOWN"] }), noNewPrivsStep()], stdio: ["ignore", "pipe", "inherit"] });
let out = ""; c.stdout.on("data", (d) => (out += d));
const ended = new Promise((r) => c.stdout.on("close", r));
const [st] = await Promise.all([c.wait(), ended]);
const s = parseProcStatusCaps(out);
console.log(JSON.stringify({ code: st.exitCode, uid: /^Uid:\\s*(\\d+)/m.exec(out)[1], eff: String(s.effective), amb: String(s.ambient), bnd: String(s.bounding), nnp: s.noNewPrivs }));`,
      );
      fs.chmodSync(file, 0o644);
      const out = execFileSync(
        "setpriv",
        ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, file],
        { encoding: "utf8" },
      );
      expect(JSON.parse(out)).toEqual({
        code: 0,
        uid: "0",
        eff: "1",
        amb: "1",
        bnd: "1",
        nnp: true,
      });
    });
  });
});
