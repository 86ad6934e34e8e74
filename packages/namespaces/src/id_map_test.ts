import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SyscallStep } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { idMapPlan } from "./id_map.ts";

const labels = (s: readonly unknown[]) => (s as SyscallStep[]).map((x) => x.label);

describe("idMapPlan", () => {
  it("rootless: the child denies setgroups, maps the caller, then switches ids", () => {
    const p = idMapPlan({ callerUid: 1000, callerGid: 100 });
    expect(p.mode).toBe("rootless");
    expect(p.uidMap).toBe("0 1000 1\n");
    expect(p.gidMap).toBe("0 100 1\n");
    expect(p.beforeStart).toBeUndefined();
    const l = labels(p.steps);
    expect(l.indexOf('write "deny" to /proc/self/setgroups')).toBeLessThan(
      l.indexOf('write "0 1000 1" to /proc/self/uid_map'),
    );
    expect(l.indexOf('write "0 1000 1" to /proc/self/uid_map')).toBeLessThan(
      l.indexOf('write "0 100 1" to /proc/self/gid_map'),
    );
    expect(l.slice(-2)).toEqual([
      "become gid 0 inside the sandbox",
      "become uid 0 inside the sandbox",
    ]);
    expect(l).not.toContain("drop supplementary groups");
  });

  it("rootless: may keep the caller's own id inside but cannot map to another host id", () => {
    expect(idMapPlan({ callerUid: 1000, callerGid: 100, uid: 1000, gid: 100 }).uidMap).toBe(
      "1000 1000 1\n",
    );
    expect(() => idMapPlan({ callerUid: 1000, callerGid: 100, outsideUid: 0 })).toThrow(
      /can only map to the caller's own uid 1000/,
    );
  });

  it("root: the parent writes inside → 65534 and the child drops groups and switches", () => {
    const p = idMapPlan({ callerUid: 0, callerGid: 0, uid: 1000, gid: 1000 });
    expect(p.mode).toBe("root");
    expect(p.uidMap).toBe("1000 65534 1\n");
    expect(labels(p.steps)).toEqual([
      "drop supplementary groups",
      "become gid 1000 inside the sandbox",
      "become uid 1000 inside the sandbox",
    ]);
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), "forge-idmap-"));
    try {
      fs.mkdirSync(path.join(proc, "42"));
      p.beforeStart!({ pid: 42, pidfd: -1 });
      expect(fs.readFileSync(path.join(proc, "42/uid_map"), "utf8")).toBe("1000 65534 1\n");
    } catch (e) {
      // procRoot was not given: the real /proc/42 is not ours to write
      expect(String(e)).toMatch(/cannot write \/proc\/42\/uid_map/);
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
  });

  it("root: writes the maps under procRoot; identity maps 0 to 0", () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), "forge-idmap-"));
    try {
      fs.mkdirSync(path.join(proc, "7"));
      const p = idMapPlan({ callerUid: 0, callerGid: 0, identity: true, procRoot: proc });
      p.beforeStart!({ pid: 7, pidfd: -1 });
      expect(fs.readFileSync(path.join(proc, "7/uid_map"), "utf8")).toBe("0 0 1\n");
      expect(fs.readFileSync(path.join(proc, "7/gid_map"), "utf8")).toBe("0 0 1\n");
      expect(() =>
        idMapPlan({ callerUid: 0, callerGid: 0, procRoot: proc }).beforeStart!({
          pid: 8,
          pidfd: -1,
        }),
      ).toThrow(/cannot write .*\/8\/uid_map/);
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
  });

  it("validates ids", () => {
    expect(() => idMapPlan({ uid: -1 })).toThrow(RangeError);
    expect(() => idMapPlan({ gid: 1.5 })).toThrow(RangeError);
  });
});
