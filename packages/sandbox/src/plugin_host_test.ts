import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AuditLog, Policy } from "@forge/policy";
import { WasmHost, WasmLimitError } from "@forge/wasm-host";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  PluginHost,
  PluginManifestError,
  PluginStateError,
  parsePluginManifest,
} from "./plugin_host.ts";
import { type NativeHandle, type NativeLauncher, namespaceLauncher } from "./plugin_native.ts";

let dir: string;
let reactor: string;
let reader: string;
const hosts: PluginHost[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-plugin-"));
  reactor = path.join(dir, "reactor.wasm");
  const src = fileURLToPathSafe("../../wasm-host/testdata/reactor.c");
  execFileSync(
    "clang",
    ["--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-mexec-model=reactor", "-o", reactor, src],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  reader = path.join(dir, "fd_grant.wasm");
  execFileSync(
    "clang",
    [
      "--target=wasm32-wasi",
      "--sysroot=/usr",
      "-O1",
      "-mexec-model=reactor",
      "-o",
      reader,
      fileURLToPathSafe("../../wasm-host/testdata/fd_grant.c"),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileURLToPathSafe(rel: string): string {
  return new URL(rel, import.meta.url).pathname;
}

function newHost(opts: ConstructorParameters<typeof PluginHost>[0] = {}): PluginHost {
  const h = new PluginHost(opts);
  hosts.push(h);
  return h;
}

class FakeLauncher implements NativeLauncher {
  signals: string[] = [];
  launched: Array<{ command: string; args: readonly string[] }> = [];
  #exit?: (c: number) => void;
  launch(command: string, args: readonly string[]): NativeHandle {
    this.launched.push({ command, args });
    const done = new Promise<number>((r) => (this.#exit = r));
    return {
      pid: 4242,
      wait: async () => ({ exitCode: await done }),
      kill: (sig = "SIGTERM") => {
        this.signals.push(sig);
        if (sig === "SIGTERM" || sig === "SIGKILL") this.#exit?.(sig === "SIGTERM" ? 143 : 137);
        return true;
      },
    };
  }
  exit(code: number): void {
    this.#exit?.(code);
  }
}

describe("PluginHost with WebAssembly plugins", () => {
  it("runs the lifecycle load → start → pause → resume → stop → unload, auditing each step", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    const id = await host.load({
      name: "calc",
      version: "1.0.0",
      wasm: reactor,
      trustLevel: "Standard",
      capabilities: {},
    });
    expect(host.info(id).status).toBe("Loaded");
    await expect(host.call(id, "add", [1, 2])).rejects.toBeInstanceOf(PluginStateError);
    await host.start(id);
    expect(host.info(id).status).toBe("Active");
    expect(await host.call(id, "add", [1, 2])).toBe(3);
    expect(await host.call(id, "bump")).toBe(1);
    await host.pause(id);
    await expect(host.call(id, "add", [1, 2])).rejects.toThrow(/Paused/);
    await host.start(id); // resumes
    expect(await host.call(id, "bump")).toBe(2);
    await host.stop(id);
    expect(host.info(id).status).toBe("Stopped");
    await host.start(id);
    expect(await host.call(id, "bump")).toBe(1); // a fresh instance after stop
    await host.unload(id);
    expect(host.list()).toEqual([]);
    const kinds = audit.entries().map((e) => e.event.kind);
    for (const k of [
      "plugin.load",
      "plugin.loaded",
      "plugin.start",
      "plugin.pause",
      "plugin.resume",
      "plugin.stop",
      "plugin.unload",
      "identity.add",
      "identity.remove",
    ]) {
      expect(kinds, k).toContain(k);
    }
    expect(AuditLog.verify(audit.export(), { head: audit.head }).ok).toBe(true);
  });

  it("quarantines a plugin that calls outside its capabilities", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    const id = await host.load({
      name: "quiet",
      version: "1.0.0",
      wasm: reactor,
      trustLevel: "Limited",
      capabilities: { apis: ["log"] },
    });
    await host.start(id);
    expect(await host.call(id, "add", [2, 2])).toBe(4);
    await host.call(id, "say"); // fd_write to stdout was never granted
    const info = host.info(id);
    expect(info.quarantined).toBe(true);
    expect(info.status).toBe("Failed");
    expect(info.failure).toMatch(/quarantined/);
    expect(host.policy.identity("plugin:quiet")?.trustLevel).toBe("Quarantined");
    await expect(host.call(id, "add", [1, 1])).rejects.toThrow(/quarantined/);
    expect(() => host.setCapabilities(id, { syscalls: ["*"] })).toThrow(/quarantined/);
    const q = audit.entries().find((e) => e.event.kind === "plugin.quarantine");
    expect(q?.event.reason).toMatch(/fd_write/);
  });

  it("audits capability changes and enforces the new set", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    const id = await host.load({
      name: "talker",
      version: "2.0.0",
      wasm: reactor,
      trustLevel: "Standard",
      capabilities: {},
      violationsBeforeQuarantine: 3,
    });
    await host.start(id);
    const lines: string[] = [];
    host.setCapabilities(id, { apis: ["log", "system_info", "time_now", "sleep"] });
    const change = audit.entries().find((e) => e.event.kind === "plugin.capabilities");
    expect(change?.event).toMatchObject({
      before: { apis: [] },
      after: { apis: ["log", "system_info", "time_now", "sleep"] },
    });
    void lines;
    expect(await host.call(id, "host_api")).toBe(0);
    host.setCapabilities(id, { apis: [] });
    expect(await host.call(id, "host_api")).toBe(-1); // log denied (EPERM) inside the module
    expect(host.info(id).quarantined).toBe(false); // 1 of 3 violations
  });

  it("quarantines on a reported violation and validates manifests", async () => {
    const host = newHost();
    const id = await host.load({
      name: "x",
      version: "1",
      wasm: reactor,
      trustLevel: "Standard",
      capabilities: {},
    });
    host.reportViolation(id, "seccomp: ptrace");
    expect(host.info(id)).toMatchObject({ quarantined: true, status: "Failed" });
    expect(() =>
      parsePluginManifest({ name: "x", version: "1", trustLevel: "Standard", capabilities: {} }),
    ).toThrow(PluginManifestError);
    expect(() =>
      parsePluginManifest({
        name: "x",
        version: "1",
        wasm: "a",
        native: { command: "b" },
        trustLevel: "Standard",
        capabilities: {},
      }),
    ).toThrow(/exactly one/);
    try {
      parsePluginManifest({ name: "x", wasm: "a", trustLevel: "Standard", capabilities: {} });
    } catch (e) {
      expect((e as PluginManifestError).pointer).toBe("/version");
    }
    await expect(
      host.load({
        name: "y",
        version: "1",
        wasm: path.join(dir, "missing.wasm"),
        trustLevel: "Standard",
        capabilities: {},
      }),
    ).rejects.toThrow(/cannot read/);
  });
});

describe("PluginHost with native plugins", () => {
  it("launches through the injected launcher, pauses with SIGSTOP and stops", async () => {
    const launcher = new FakeLauncher();
    const audit = new AuditLog();
    const host = newHost({ launcher, audit, stopGraceMs: 50 });
    const id = await host.load({
      name: "native",
      version: "1",
      native: { command: "/bin/sleep", args: ["100"] },
      trustLevel: "Limited",
      capabilities: { syscalls: ["read"] },
    });
    await host.start(id);
    expect(launcher.launched).toEqual([{ command: "/bin/sleep", args: ["100"] }]);
    await host.pause(id);
    await host.resume(id);
    await host.stop(id);
    expect(launcher.signals).toEqual(["SIGSTOP", "SIGCONT", "SIGCONT", "SIGTERM"]);
    expect(host.info(id)).toMatchObject({ status: "Stopped", exitCode: 143 });
    await host.start(id);
    launcher.exit(3);
    await new Promise((r) => setTimeout(r, 10));
    expect(host.info(id)).toMatchObject({ status: "Failed", exitCode: 3 });
    expect(
      audit.entries().some((e) => e.event.kind === "plugin.exit" && e.event.exitCode === 3),
    ).toBe(true);
  });

  it("runs a real command in new namespaces with the default launcher", async () => {
    const h = namespaceLauncher({ stdio: ["ignore", "ignore", "ignore"] }).launch(
      "/bin/sh",
      ["-c", "exit 3"],
      { syscalls: [], resources: [], apis: [], custom: {} },
    );
    expect((await h.wait()).exitCode).toBe(3);
    const host = newHost({
      stopGraceMs: 2000,
      launcher: namespaceLauncher({ stdio: ["ignore", "ignore", "ignore"] }),
    });
    const id = await host.load({
      name: "sleeper",
      version: "1",
      native: { command: "/bin/sleep", args: ["100"] },
      trustLevel: "Limited",
      capabilities: {},
    });
    await host.start(id);
    await host.pause(id);
    await host.stop(id);
    expect(host.info(id).exitCode).toBe(143);
  });
});

// Review findings on the plugin host: each test failed before its fix.
describe("PluginHost review fixes", () => {
  const manifest = (extra: Record<string, unknown> = {}) => ({
    name: "calc",
    version: "1.0.0",
    wasm: reactor,
    trustLevel: "Standard" as const,
    capabilities: {},
    ...extra,
  });

  it("stops a plugin's endless loop after 30 s by default (Node's timers would freeze)", async () => {
    const host = newHost();
    const id = await host.load(manifest());
    await host.start(id);
    // without a timeout the module is not metered and the call below would never end
    expect(host.wasm.module(id)?.metered).toBe(true);
    expect(host.timeoutMs).toBe(30_000);
    // 30 s pass at once: the clock the meter reads jumps past the deadline
    const now = performance.now.bind(performance);
    let calls = 0;
    const spy = vi
      .spyOn(performance, "now")
      .mockImplementation(() => now() + (calls++ > 0 ? 30_001 : 0));
    try {
      const e = await host.call(id, "spin").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WasmLimitError);
      expect(e).toMatchObject({ limit: "time", message: expect.stringMatching(/30000 ms/) });
    } finally {
      spy.mockRestore();
    }
    expect(await host.call(id, "add", [1, 2])).toBe(3);
  });

  it("takes a timeout of choice, and Infinity for none", async () => {
    const host = newHost({ timeoutMs: 200 });
    const id = await host.load(manifest());
    await host.start(id);
    expect(host.wasm.module(id)?.metered).toBe(true); // else the call below never ends
    await expect(host.call(id, "spin")).rejects.toMatchObject({ limit: "time" });
    expect(await host.call(id, "add", [2, 2])).toBe(4);
    const none = newHost({ timeoutMs: Number.POSITIVE_INFINITY });
    const id2 = await none.load(manifest());
    expect(none.wasm.module(id2)?.metered).toBe(false);
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => new PluginHost({ timeoutMs: bad })).toThrow(/timeoutMs/);
    }
  });

  it("forgets a plugin whose load failed, so that its name can be loaded again", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    const missing = path.join(dir, "missing.wasm");
    await expect(host.load(manifest({ wasm: missing }))).rejects.toThrow(/cannot read/);
    expect(host.list()).toEqual([]);
    expect(host.policy.identity("plugin:calc")).toBeUndefined();
    expect(audit.entries().some((e) => e.event.kind === "plugin.load.failed")).toBe(true);
    const id = await host.load(manifest());
    await host.start(id);
    expect(await host.call(id, "add", [1, 2])).toBe(3);
  });

  it("validates the manifest's wasi object, naming the property and what is allowed", () => {
    const bad = (wasi: unknown) => {
      try {
        parsePluginManifest(manifest({ wasi }));
      } catch (e) {
        expect(e).toBeInstanceOf(PluginManifestError);
        return e as PluginManifestError;
      }
      throw new Error(`accepted wasi ${JSON.stringify(wasi)}`);
    };
    const e = bad({ bogus: 1 });
    expect(e.pointer).toBe("/wasi/bogus");
    expect(e.message).toMatch(/\/wasi\/bogus is not a known property/);
    expect(e.message).toMatch(/args, env, preopens/);
    expect(bad({ args: "x" }).message).toMatch(/\/wasi\/args must be array/);
    expect(bad({ env: { A: 1 } }).pointer).toBe("/wasi/env/A");
    expect(bad({ preopens: [{ host: "/srv" }] }).message).toMatch(
      /\/wasi\/preopens\/0\/guest is required/,
    );
    expect(bad({ preopens: [{ host: "/srv", guest: "/d", ro: true }] }).message).toMatch(
      /\/wasi\/preopens\/0\/ro is not a known property.*host, guest, readOnly/,
    );
    expect(bad({ auditMode: "loud" }).message).toMatch(/"coalesce", "every-call"/);
    expect(bad({ stdio: [0, 1] }).pointer).toBe("/wasi/stdio");
    expect(bad("args").pointer).toBe("/wasi");
    expect(
      parsePluginManifest(
        manifest({
          wasi: {
            args: ["a"],
            env: { A: "1" },
            preopens: [{ host: "/srv", guest: "/d", readOnly: true }],
          },
        }),
      ).wasi?.args,
    ).toEqual(["a"]);
  });

  it("keeps counting a worker plugin's violations across capability changes and restarts", async () => {
    const audit = new AuditLog();
    const policy = new Policy({ version: 1 }, { audit });
    const wasmHost = new WasmHost({ isolation: "worker", policy, audit });
    const host = newHost({ policy, audit, wasmHost });
    const id = await host.load(manifest({ name: "w", violationsBeforeQuarantine: 3 }));
    await host.start(id);
    await host.call(id, "say"); // fd_write to stdout was never granted: violation 1
    host.setCapabilities(id, { apis: ["log"] }); // the worker gets a fresh policy copy
    await host.call(id, "say"); // violation 2
    expect(host.info(id).quarantined).toBe(false);
    await host.stop(id); // a fresh module and worker
    await host.start(id);
    await host.call(id, "say"); // violation 3
    expect(host.info(id)).toMatchObject({ quarantined: true, status: "Failed" });
    expect(host.info(id).failure).toMatch(/3 denial\(s\) reached quarantineAfter=3/);
  });

  it("lets a plugin read a file it was granted by path, without fd:*", async () => {
    const data = fs.mkdtempSync(path.join(dir, "data-"));
    fs.writeFileSync(path.join(data, "in.txt"), "twelve bytes");
    const host = newHost();
    const id = await host.load({
      name: "reader",
      version: "1.0.0",
      wasm: reader,
      trustLevel: "Limited",
      capabilities: { syscalls: ["path_open", "fd_read", "fd_close"], resources: ["/data/**"] },
      wasi: { preopens: [{ host: data, guest: "/data", readOnly: true }] },
    });
    await host.start(id);
    expect(await host.call(id, "read_in")).toBe(12);
    expect(host.info(id)).toMatchObject({ quarantined: false, status: "Active" });
  });
});
