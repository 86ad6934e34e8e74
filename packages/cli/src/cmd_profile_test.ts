import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/forge.cjs");
const built = fs.existsSync(path.resolve(bin, "../../dist/main.js"));

function forge(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd, timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!built)("forge profile (built CLI)", () => {
  it("show: the profile as JSON on stdout, where it came from on stderr", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-profile-cli-"));
    try {
      fs.mkdirSync(path.join(dir, "profiles"));
      fs.writeFileSync(
        path.join(dir, "profiles", "default.json"),
        JSON.stringify({ name: "default", description: "planted" }),
      );
      const r = forge(["profile", "show", "default"], dir);
      expect(r.code).toBe(0);
      expect(r.err).toBe('forge: profile "default" from the built-ins\n');
      expect(JSON.parse(r.out)).toMatchObject({ name: "default", seccomp: "default" });
      const byPath = forge(["profile", "show", "./profiles/default.json"], dir);
      expect(byPath.err).toBe(
        `forge: profile "default" from ${path.join(dir, "profiles", "default.json")}\n`,
      );
      expect(JSON.parse(byPath.out)).toEqual({ name: "default", description: "planted" });
      expect(forge(["profile", "show", "default.json"], dir)).toMatchObject({
        code: 2,
        err: "forge: default.json: not a profile name; a file is loaded only when given as a path (./default.json)\n",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("list: the search path with each directory's rule and state, then the profiles", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-profile-cli-"));
    try {
      fs.mkdirSync(path.join(dir, "profiles"));
      fs.writeFileSync(
        path.join(dir, "profiles", "planted.json"),
        JSON.stringify({ name: "planted" }),
      );
      const r = forge(["profile", "list"], dir);
      expect(r.code).toBe(0);
      const lines = r.out.split("\n");
      expect(lines[0]).toBe(
        "Search path for profile names (first match wins; a file needs a path, e.g. ./x.json):",
      );
      expect(lines[1]).toMatch(
        /^ {2}system {4}\/etc\/forge\/profiles {2}\(root-owned, not group\/other-writable\)/,
      );
      expect(r.out).toMatch(/^ {2}built-in {2}\S+\/profiles {2}\(shipped with Forge\)$/m);
      expect(r.out).toMatch(/^default {10}Forge's default/m);
      expect(r.out).toMatch(/^ {17}built-in: \S+\/default\.json$/m);
      expect(r.out).not.toContain("planted");
      expect(forge(["profile", "--help"], dir).out).toMatch(
        /The working directory is never searched/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("validate: ok exactly when forge run can plan the profile (validate <=> plans)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-profile-cli-"));
    try {
      const write = (name: string, doc: unknown) => {
        fs.writeFileSync(path.join(dir, name), JSON.stringify({ name: "x", ...(doc as object) }));
        return `./${name}`;
      };
      const cases: [string, string][] = [
        [
          write("host.json", { hostname: "a b" }),
          './host.json: /hostname: invalid hostname "a b": 1 to 64 letters, digits, "." and "-", not starting or ending with "." or "-"\n',
        ],
        [
          write("dotdot.json", { root: { binds: [{ src: "/usr", dst: "/usr/../etc" }] } }),
          './dotdot.json: /root/binds/0/dst: bind destination must not contain "." or ".." components: "/usr/../etc"\n',
        ],
        [
          write("dup.json", {
            root: {
              binds: [
                { src: "/usr", dst: "/usr" },
                { src: "/etc", dst: "/usr" },
              ],
            },
          }),
          "./dup.json: /root/binds/1/dst: bind destination /usr (the bind of /etc) is already used by the bind of /usr; give each mount its own destination\n",
        ],
        [
          write("missing.json", { root: { binds: [{ src: "/no/such/dir", dst: "/x" }] } }),
          "./missing.json: on this host: bind source /no/such/dir does not exist (ENOENT)\n",
        ],
      ];
      for (const [file, err] of cases) {
        expect(forge(["profile", "validate", file], dir), file).toMatchObject({
          code: 1,
          err,
          out: "",
        });
        const run = forge(["run", "--profile", file, "--", "true"], dir);
        expect(run.code, file).toBe(2);
        // The same sentence: a document problem as validate says it; a host problem
        // without the file's name (the run names no file for it).
        expect(run.err).toBe(
          file === "./missing.json"
            ? "forge: bind source /no/such/dir does not exist (ENOENT)\n"
            : `forge: ${path.join(dir, file)}${err.slice(file.length)}`,
        );
      }
      // A new root of /usr alone cannot run /usr/bin/true (no /lib64 for its loader):
      // a plan is made, the exec fails inside. Validation is about plans.
      const good = write("good.json", {
        hostname: "box",
        root: {
          binds: [
            { src: "/usr", readonly: true },
            { src: "/lib", optional: true },
            { src: "/lib64", optional: true },
            { src: "/bin", optional: true },
          ],
        },
      });
      expect(forge(["profile", "validate", good], dir)).toMatchObject({
        code: 0,
        out: "./good.json: ok\n",
        err: "",
      });
      expect(forge(["run", "--profile", good, "--", "/usr/bin/true"], dir)).toMatchObject({
        code: 0,
        err: "",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
