import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeLibc } from "@forge/libc";
import { afterEach, describe, expect, it } from "vitest";
import { openStatusFile, StatusFileError } from "./status_file.ts";

const tmps: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "forge-status-"));
  tmps.push(d);
  return d;
}
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("openStatusFile", () => {
  it("writes the record as JSON, mode 0644, replacing a symlink at the name instead of following it", () => {
    const d = tmpdir();
    const victim = path.join(tmpdir(), "victim");
    fs.writeFileSync(victim, "keep\n");
    const file = path.join(d, "status.json");
    const status = openStatusFile(file);
    fs.symlinkSync(victim, file);
    status.write({ reason: "exit", exitCode: 0 });
    expect(fs.readFileSync(victim, "utf8")).toBe("keep\n");
    const st = fs.lstatSync(file);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o644 & ~process.umask());
    expect(fs.readFileSync(file, "utf8")).toBe('{\n  "reason": "exit",\n  "exitCode": 0\n}\n');
    expect(fs.readdirSync(d)).toEqual(["status.json"]);
    expect(() => status.write({})).toThrow("already written or closed");
  });

  it("writes into the directory opened first, even when it was moved and replaced by a symlink", () => {
    const base = tmpdir();
    const elsewhere = tmpdir();
    fs.mkdirSync(path.join(base, "out"));
    const status = openStatusFile(path.join(base, "out", "status.json"));
    fs.renameSync(path.join(base, "out"), path.join(base, "out.old"));
    fs.symlinkSync(elsewhere, path.join(base, "out"));
    status.write({ reason: "exit" });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(base, "out.old", "status.json"), "utf8"))).toEqual({
      reason: "exit",
    });
  });

  it("follows no symlink on the way to the directory that someone else owns (a link planted by an earlier run)", () => {
    // As root an earlier job (host uid 65534) turned the status file's directory into a
    // symlink to a victim directory; the next run must not write there.
    const d = tmpdir();
    const victim = path.join(d, "victim");
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, "status.json"), "precious\n");
    fs.symlinkSync(victim, path.join(d, "out"));
    fs.lchownSync(path.join(d, "out"), 4242, 4242);
    const file = path.join(d, "out", "status.json");
    let err: StatusFileError | undefined;
    try {
      openStatusFile(file, { owners: [process.geteuid!()] }).write({ reason: "exit" });
    } catch (e) {
      err = e as StatusFileError;
    }
    expect(err).toBeInstanceOf(StatusFileError);
    expect(err!.message).toBe(
      `${file}: refused: ${path.join(d, "out")} is a symlink owned by uid 4242, not ${process.geteuid!() === 0 ? "root" : `uid ${process.geteuid!()}`}, which a sandboxed job could have planted; give --json-status a path without it`,
    );
    expect(fs.readFileSync(path.join(victim, "status.json"), "utf8")).toBe("precious\n");
    // A link of ours is followed.
    fs.lchownSync(path.join(d, "out"), process.geteuid!(), process.getegid!());
    openStatusFile(file, { owners: [process.geteuid!()] }).write({ reason: "exit" });
    expect(JSON.parse(fs.readFileSync(path.join(victim, "status.json"), "utf8"))).toEqual({
      reason: "exit",
    });
  });

  it("keeps a directory that cannot be opened for write() to report, in one line", () => {
    const missing = path.join(tmpdir(), "no", "status.json");
    const status = openStatusFile(missing);
    let err: StatusFileError | undefined;
    try {
      status.write({});
    } catch (e) {
      err = e as StatusFileError;
    }
    expect(err).toBeInstanceOf(StatusFileError);
    expect(err!.message).toBe(
      `${missing}: cannot open its directory ${path.dirname(missing)}: ENOENT (No such file or directory)`,
    );
    expect(err!.code).toBe("ENOENT");
    expect(() => openStatusFile("").write({})).toThrow(": not a file name");
    status.close();
  });

  it("removes its temporary file when a step fails (fake libc)", () => {
    // The walk: "/" (3), "srv" (4), "." of it for reading (5); then the temporary (6).
    const fds: Record<string, number> = { "/": 3, srv: 4, ".": 5 };
    const libc = new FakeLibc()
      .on("openat", (args) => fds[args[1] as string] ?? 6)
      .on("write", (args) => args[2] as number)
      .on("fsync", () => -5); // EIO
    const fstat = () =>
      ({
        uid: 0,
        mode: 0o40755,
        isSymbolicLink: () => false,
        isDirectory: () => true,
      }) as unknown as fs.Stats;
    const status = openStatusFile("/srv/status.json", { libc, fstat });
    expect(() => status.write({ a: 1 })).toThrow(
      "/srv/status.json: cannot write it: EIO (Input/output error)",
    );
    const names = libc.calls.map((c) => c.name);
    expect(names).toEqual([
      ...["openat", "openat", "close", "openat", "close"], // the walk
      ...["openat", "write", "fsync", "close", "unlinkat", "close"],
    ]);
    const create = libc.callsTo("openat")[3]!;
    expect(create.args[0]).toBe(5);
    expect(create.args[1]).toMatch(/^\.status\.json\.[0-9a-f]{12}\.tmp$/);
    const flags = create.args[2] as number;
    const { O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    expect(flags & (O_CREAT | O_EXCL | O_NOFOLLOW)).toBe(O_CREAT | O_EXCL | O_NOFOLLOW);
    expect(libc.callsTo("unlinkat")[0]!.args.slice(0, 2)).toEqual([5, create.args[1]]);
  });
});
