import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSeccompForRun } from "./load.ts";
import { precompiledFilter, precompiledPath, precompiledSteps } from "./precompiled.ts";
import { builtinProfiles } from "./profiles.ts";

describe.skipIf(!fs.existsSync(precompiledPath()))("precompiled built-in filters", () => {
  it("are exactly what the compiler produces now", () => {
    for (const { name } of builtinProfiles()) {
      const pre = precompiledFilter(name);
      expect(pre, `${name} precompiled for this host`).toBeDefined();
      const fresh = compileSeccompForRun(name, { caps: [] });
      expect(Buffer.from(pre!.bytes).equals(Buffer.from(fresh.bytes)), `${name} bytes`).toBe(true);
      expect(pre!.instructions).toBe(fresh.program.length);
      expect(pre!.flags).toEqual([...fresh.resolved.flags]);
    }
  });

  it("install with the same steps as a fresh compile", () => {
    const steps = precompiledSteps(precompiledFilter("default")!);
    expect(steps.map((s) => (s.kind === undefined ? s.syscall : s.kind))).toEqual([
      "prctl",
      "seccomp",
    ]);
  });

  it("are not used for a profile the build did not compile", () => {
    expect(precompiledFilter("no-such-profile")).toBeUndefined();
  });
});
