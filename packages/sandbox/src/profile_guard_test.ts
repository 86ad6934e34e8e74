// Rootless, a job writes as the caller, whose config directory is trusted for profiles
// by name: a read-write bind that contains it would let one run plant the next run's
// `default` (found in review of issue 11, item 1).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FORGE_CLI } from "./_probes.ts";
import { ProfileError } from "./profile.ts";
import { refuseBindsOverProfileDirs } from "./profile_guard.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "forge-guard-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("refuseBindsOverProfileDirs", () => {
  const home = path.join(tmp, "home");
  const dir = path.join(home, ".config", "forge", "profiles");
  fs.mkdirSync(path.join(home, "proj"), { recursive: true });

  it("refuses a read-write bind that contains a profile directory, existing or not", () => {
    for (const src of [home, path.join(home, ".config"), `${home}/proj/..`]) {
      let err: unknown;
      try {
        refuseBindsOverProfileDirs([{ src, readonly: false }], [dir]);
      } catch (e) {
        err = e;
      }
      expect(err, src).toBeInstanceOf(ProfileError);
      expect((err as Error).message).toBe(
        `bind ${src}: read-write, it contains ${dir}, where forge looks up profiles by name: a job could plant one there that the next run loads. Bind it read-only (:ro) or a narrower directory, or set FORGE_USER_PROFILES=off to stop looking there`,
      );
    }
  });

  it("allows read-only binds, narrower binds and binds beside it", () => {
    refuseBindsOverProfileDirs(
      [
        { src: home, readonly: true },
        { src: path.join(home, "proj"), readonly: false },
        { src: `${home}x`, readonly: false },
      ],
      [dir],
    );
  });
});

const isRoot = process.getuid?.() === 0;
const cliBuilt = fs.existsSync(path.join(path.dirname(FORGE_CLI), "..", "dist", "main.js"));

describe.skipIf(!isRoot || !cliBuilt)(
  "forge run as uid 65534 with its home bound read-write",
  () => {
    it("is refused, so that no job can plant ~/.config/forge/profiles/default.json", () => {
      const home = path.join(tmp, "nobody");
      fs.mkdirSync(home, { recursive: true });
      fs.chownSync(home, 65534, 65534);
      fs.chmodSync(tmp, 0o755);
      const run = (env: Record<string, string>) =>
        spawnSync(
          "setpriv",
          [
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            process.execPath,
            FORGE_CLI,
            "run",
            "--bind",
            `${home}:/work`,
            "--",
            "/bin/sh",
            "-c",
            "mkdir -p /work/.config/forge/profiles && echo planted",
          ],
          {
            encoding: "utf8",
            env: { PATH: process.env.PATH!, HOME: home, ...env },
            timeout: 30_000,
          },
        );
      const r = run({});
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain("where forge looks up profiles by name");
      expect(fs.existsSync(path.join(home, ".config"))).toBe(false);
      // With the user directory out of the search path, the bind is fine.
      const ok = run({ FORGE_USER_PROFILES: "off" });
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toBe("planted\n");
    });
  },
);
