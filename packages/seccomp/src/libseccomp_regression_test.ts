// libseccomp's own regression tests (tests/*.tests, as OCI profiles with the expected
// action of every call), replayed against Forge's runc semantics: decide() must give
// an accepted answer for every case on an architecture Forge builds. runc puts its
// -ENOSYS stub in front of libseccomp's filter, which libseccomp's tests know nothing
// of: where the stub answers, decide() must give ERRNO(ENOSYS) and the rest of the
// model (the stub taken out) one of the accepted answers.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { ARCHES, type Arch } from "@forge/libc";
import { describe, expect, test } from "vitest";
import { type Action, formatAction, sameAction } from "./action.ts";
import type { SeccompProfile } from "./profile.ts";
import { decide, ENOSYS_ACTION, type ResolvedProfile, resolveProfile } from "./resolve.ts";

/** Beside the checkout: shared/data (CI has it at the same relative place). */
const DATA = fileURLToPath(
  new URL("../../../../shared/data/libseccomp-regression.json", import.meta.url),
);

interface Case {
  readonly line: number;
  readonly arch: string;
  readonly nr: number;
  readonly args: readonly (number | string)[];
  readonly expected: string;
  readonly accept: readonly string[];
}

interface Entry {
  readonly test: string;
  readonly arch: string;
  readonly group: number;
  readonly profile: SeccompProfile;
  readonly abis: readonly string[];
  readonly skip: string | null;
  readonly cases: readonly Case[];
}

const CASE_ARCH: Record<string, Arch> = {
  x86: "i386",
  x86_64: "x86_64",
  x32: "x32",
  arm: "arm",
  aarch64: "aarch64",
};

/** libseccomp's spelling of an action (its tests say KILL for SCMP_ACT_KILL, the thread). */
function scmpName(a: Action): string {
  return a.kind === "kill_thread" ? "KILL" : formatAction(a);
}

function load(): Entry[] {
  if (!fs.existsSync(DATA))
    throw new Error(
      `missing ${DATA}: the libseccomp regression data lives in shared/data beside the checkout (CI has it at the same place)`,
    );
  // Values above 2^53 must stay exact: read long integer literals as strings.
  const text = fs
    .readFileSync(DATA, "utf8")
    .replace(/(?<=[[,:]\s*)(\d{16,})(?=\s*[,\]}])/g, '"$1"');
  return (JSON.parse(text) as { entries: Entry[] }).entries;
}

describe("libseccomp regression tests under runc semantics", () => {
  test("every runnable case decides as libseccomp's tests expect", () => {
    const entries = load();
    expect(entries.length).toBe(87);
    let run = 0;
    let stub = 0;
    let skippedArch = 0;
    let skippedEntries = 0;
    let foreignEntries = 0;
    const diffs: string[] = [];
    for (const e of entries) {
      if (e.skip) {
        skippedEntries++;
        continue;
      }
      if (!e.abis.some((a) => a in CASE_ARCH)) foreignEntries++;
      const host = CASE_ARCH[e.arch]!;
      let r: ResolvedProfile;
      try {
        r = resolveProfile(e.profile, { arch: host, kernel: "6.1", semantics: "runc" });
      } catch (err) {
        diffs.push(`${e.test}@${e.arch}#${e.group}: resolveProfile: ${(err as Error).message}`);
        continue;
      }
      const bare: ResolvedProfile = {
        ...r,
        abis: r.abis.map(({ enosysAbove: _, ...a }) => a),
      };
      for (const c of e.cases) {
        const arch = CASE_ARCH[c.arch];
        if (!arch) {
          skippedArch++;
          continue;
        }
        run++;
        const args = c.args.map((a) => BigInt(a));
        const audit = ARCHES[arch].auditArch;
        const got = decide(r, audit, c.nr, args);
        const lib = decide(bare, audit, c.nr, args);
        const where = `${e.test}@${e.arch}#${e.group} line ${c.line}: ${c.arch} nr ${c.nr} (${c.args.join(", ")})`;
        if (!sameAction(got, lib)) {
          stub++;
          if (!sameAction(got, ENOSYS_ACTION))
            diffs.push(`${where}: decide ${scmpName(got)}, not the stub's ENOSYS`);
          if (!c.accept.includes(scmpName(lib)))
            diffs.push(
              `${where}: without the stub ${scmpName(lib)}, expected ${c.accept.join(" or ")}`,
            );
        } else if (!c.accept.includes(scmpName(got))) {
          diffs.push(`${where}: decide ${scmpName(got)}, expected ${c.accept.join(" or ")}`);
        }
      }
    }
    console.log(
      `libseccomp regression: ${run} cases run (${stub} of them answered by runc's -ENOSYS stub), ${skippedArch} skipped (architectures Forge does not build), ${foreignEntries} entries only for such architectures, ${skippedEntries} entries without an OCI form; ${diffs.length} differences`,
    );
    expect(diffs).toEqual([]);
    expect(run).toBeGreaterThan(10_000);
  });
});
