import { spawn } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { parseRlimit, rlimitSteps, rlimitsFromRecord } from "./rlimits.ts";

describe("rlimits", () => {
  it("parses NAME=N and NAME=SOFT:HARD", () => {
    expect(parseRlimit("nofile=256:1024")).toEqual({ resource: "nofile", soft: 256n, hard: 1024n });
    expect(parseRlimit("core=0")).toEqual({ resource: "core", soft: 0n, hard: 0n });
    expect(parseRlimit("stack=unlimited").hard).toBe(0xffffffffffffffffn);
    expect(rlimitsFromRecord({ nproc: 10, as: "unlimited" }).map((r) => r.resource)).toEqual([
      "nproc",
      "as",
    ]);
  });

  it("says what is wrong", () => {
    expect(() => parseRlimit("files=1")).toThrow(
      /unknown resource "files"; expected one of cpu, fsize/,
    );
    expect(() => parseRlimit("nofile")).toThrow(
      '--rlimit: expected NAME=N or NAME=SOFT:HARD, got "nofile"',
    );
    expect(() => parseRlimit("nofile=lots")).toThrow(
      '--rlimit nofile: expected a whole number or "unlimited", got "lots"',
    );
    expect(() => parseRlimit("nofile=10:5")).toThrow("the soft limit 10 is above the hard limit 5");
  });

  it("applies them in the child", async () => {
    const steps = rlimitSteps([
      parseRlimit("nofile=100:200"),
      parseRlimit("core=0"),
      parseRlimit("nofile=64:128"),
    ]);
    expect(steps.map((s) => s.label)).toEqual([
      "set rlimit nofile to 64:128",
      "set rlimit core to 0",
    ]);
    const c = spawn({
      argv: ["/bin/sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -c"],
      steps,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    c.stdout!.on("data", (d) => (out += d));
    const closed = new Promise((r) => c.stdout!.once("close", r));
    await c.wait();
    await closed; // the exit may be reported before the pipe is read to its end
    expect(out).toBe("64\n128\n0\n");
  });
});
