import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  argumentHint,
  commandHint,
  cwdHint,
  explainSetupError,
  type SandboxView,
} from "./path_hints.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-hints-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.writeFileSync(path.join(dir, "job.py"), "print(1)\n");
fs.writeFileSync(path.join(dir, "tool"), "#!/usr/bin/env sh\n", { mode: 0o755 });
fs.writeFileSync(path.join(dir, "odd"), "#!/no/such/interpreter -x\n", { mode: 0o755 });
fs.mkdirSync(path.join(dir, "data"));

const root = {
  binds: [
    { src: "/usr", dst: "/usr", readonly: true },
    { src: "/etc", dst: "/etc", readonly: true },
  ],
  tmpfs: [{ dst: "/tmp" }],
};
const view = (argv: string[], extra: Partial<SandboxView> = {}): SandboxView => ({
  argv,
  root,
  cwd: "/",
  ...extra,
});
const host = { cwd: dir, path: `/usr/bin:${dir}` };

describe("commandHint", () => {
  it("a path on the host but not bound: the --bind of its directory", () => {
    expect(commandHint(view([`${dir}/tool`]), "x", host)).toBe(
      `cannot execute ${dir}/tool: no such file in the sandbox; it is on the host, but ${dir} is not bound into the sandbox: add --bind ${dir}:ro`,
    );
    // Nowhere at all, absolute: nothing to add.
    expect(commandHint(view(["/no/such"]), "x", host)).toBeUndefined();
  });

  it("a relative path: resolved against the working directory inside, which it names", () => {
    expect(commandHint(view(["./tool"]), "x", host)).toBe(
      `cannot execute ./tool: no such file in the sandbox, whose working directory is /; on the host it is ${dir}/tool: add --bind ${dir}:ro --cwd ${dir}`,
    );
    // Bound already: only the --cwd is missing.
    const bound = { ...root, binds: [...root.binds, { src: dir, dst: dir, readonly: true }] };
    expect(commandHint(view(["./tool"], { root: bound }), "x", host)).toBe(
      `cannot execute ./tool: no such file in the sandbox, whose working directory is /; on the host it is ${dir}/tool: add --cwd ${dir}`,
    );
    expect(commandHint(view(["./nope"], { cwd: "/work" }), "x", host)).toBe(
      "cannot execute ./nope: no such file or directory (the working directory inside the sandbox is /work)",
    );
  });

  it("a bare name: found on the host's PATH but not in the sandbox", () => {
    expect(commandHint(view(["tool"]), "command not found: tool (searched /usr/bin)", host)).toBe(
      `command not found: tool (searched /usr/bin); it is on the host at ${dir}/tool, which is not in the sandbox: add --bind ${dir}:ro and run ${dir}/tool`,
    );
    expect(commandHint(view(["no-such-tool-x"]), "command not found", host)).toBeUndefined();
  });

  it("there, but its #! interpreter is not", () => {
    const bound = { ...root, binds: [...root.binds, { src: dir, dst: "/w", readonly: true }] };
    expect(commandHint(view(["/w/odd"], { root: bound }), "x", host)).toBe(
      "cannot execute /w/odd: its interpreter /no/such/interpreter (its #! line) is not in the sandbox",
    );
    // An interpreter that is there explains nothing.
    expect(commandHint(view(["/w/tool"], { root: bound }), "x", host)).toBeUndefined();
  });

  it("no new root: the host's tree, nothing to hint", () => {
    expect(commandHint({ argv: [`${dir}/tool`] }, "x", host)).toBeUndefined();
  });
});

describe("cwdHint and explainSetupError", () => {
  it("a working directory on the host but not bound", () => {
    expect(cwdHint(view(["true"], { cwd: dir }))).toBe(
      `${dir} is on the host, but not bound into the sandbox: add --bind ${dir}:ro`,
    );
    expect(cwdHint(view(["true"], { cwd: "/tmp" }))).toBeUndefined(); // a mount point
    expect(cwdHint(view(["true"], { cwd: "/no/such/dir" }))).toBeUndefined();
  });

  it("rewrites a SpawnError for ENOENT only, and keeps anything else as it is", () => {
    const spawnError = (syscall: string, step: string, message: string) =>
      Object.assign(new Error(message), { name: "SpawnError", code: "ENOENT", syscall, step });
    const e = spawnError("execve", "exec", `cannot execute ${dir}/tool: no such file or directory`);
    expect(explainSetupError(e, view([`${dir}/tool`]), host)).toBe(e);
    expect(e.message).toMatch(/is not bound into the sandbox: add --bind /);
    const c = spawnError(
      "openat2",
      `enter the working directory ${dir} (...)`,
      "enter ...: ENOENT",
    );
    explainSetupError(c, view(["true"], { cwd: dir }), host);
    expect(c.message).toBe(
      `enter ...: ENOENT; ${dir} is on the host, but not bound into the sandbox: add --bind ${dir}:ro`,
    );
    const other = new RangeError("x");
    expect(explainSetupError(other, view(["true"]), host)).toBe(other);
    expect(other.message).toBe("x");
  });
});

describe("argumentHint", () => {
  it("names the first argument on the host but not in the sandbox, with the fix", () => {
    expect(argumentHint(view(["python3", "-u", "job.py"]), host)).toBe(
      `job.py is not in the sandbox, whose working directory is /; on the host it is ${dir}/job.py: add --bind ${dir}:ro --cwd ${dir}`,
    );
    expect(argumentHint(view(["ls", `${dir}/data`]), host)).toBe(
      `${dir}/data is not in the sandbox; it is on the host, but ${dir}/data is not bound into the sandbox: add --bind ${dir}/data:ro`,
    );
  });

  it("says nothing for what is in the sandbox, options, words with spaces or NAME=VALUE", () => {
    expect(argumentHint(view(["cat", "/etc/hostname", "/tmp", "usr"]), host)).toBeUndefined();
    expect(
      argumentHint(view(["sh", "-c", "cat job.py", "A=job.py", "--job.py"]), host),
    ).toBeUndefined();
    const bound = { ...root, binds: [...root.binds, { src: dir, dst: "/work", readonly: true }] };
    expect(
      argumentHint(view(["python3", "job.py"], { root: bound, cwd: "/work" }), host),
    ).toBeUndefined();
  });
});
