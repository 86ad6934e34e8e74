import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AuditLog, Policy } from "@forge/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { Writer } from "./_binary.ts";
import { body, command, moduleOf, sample, section } from "./_test_modules.ts";
import { compileC, useHostFixtures } from "./_test_wasm.ts";
import { WasmLimitError, WasmModuleError } from "./errors.ts";
import { inspectModule } from "./module_info.ts";
import type { WasmHost } from "./wasm_host.ts";

beforeAll(() => {
  // Worker isolation loads the compiled worker entry from dist/.
  const entry = fileURLToPath(new URL("../dist/_worker.js", import.meta.url));
  if (!fs.existsSync(entry))
    execFileSync("npx", ["tsc", "-b", "packages/wasm-host"], {
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
    });
});
const fx = useHostFixtures();
const newHost = fx.newHost;

async function runOut(
  host: WasmHost,
  name: string,
  args: string[],
  opts: { timeoutMs?: number; fuel?: number } = {},
) {
  const out = path.join(fx.work, `out-${Math.random()}`);
  const fd = fs.openSync(out, "w");
  try {
    const r = await host.run(name, { ...opts, wasi: { args, stdio: [0, fd, fd] } });
    return { ...r, out: fs.readFileSync(out, "utf8") };
  } finally {
    fs.closeSync(fd);
  }
}

describe("WasmHost loading", () => {
  it("hashes, lists imports/exports, records load facts and audits", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    expect(host.status).toBe("Ready");
    const file = compileC("limits");
    const info = await host.loadModule("limits", file);
    const bytes = fs.readFileSync(file);
    const { createHash } = await import("node:crypto");
    expect(info.hash).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(info.size).toBe(bytes.length);
    expect(
      info.imports.some((i) => i.module === "wasi_snapshot_preview1" && i.name === "fd_write"),
    ).toBe(true);
    expect(info.exports.map((e) => e.name)).toEqual(expect.arrayContaining(["memory", "_start"]));
    expect(info.memoryLimit).toBe(256 * 1024 * 1024);
    expect(info.version).toBe(1);
    expect(Date.parse(info.loadTime)).not.toBeNaN();
    await expect(host.loadModule("limits", file)).rejects.toThrow(/loaded already/);
    await expect(host.loadModule("bad", new Uint8Array([0, 1, 2]))).rejects.toBeInstanceOf(
      WasmModuleError,
    );
    expect(host.status).toBe("Error");
    expect(audit.entries().map((e) => e.event.kind)).toEqual(
      expect.arrayContaining(["wasm.load", "wasm.load.error"]),
    );
    expect(host.unloadModule("limits")).toBe(true);
    await expect(host.call("limits", "_start")).rejects.toThrow(/no module named/);
  });

  it("verifies ed25519 signatures against trusted keys", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const other = generateKeyPairSync("ed25519");
    const file = compileC("limits");
    const bytes = fs.readFileSync(file);
    const sig = sign(null, bytes, privateKey);
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const host = newHost({ trustedKeys: [other.publicKey, raw], requireSignature: true });
    expect((await host.loadModule("a", bytes, { signature: sig })).signed).toBe(true);
    expect((await host.loadModule("b", bytes, { signature: sig.toString("base64") })).signed).toBe(
      true,
    );
    await expect(
      host.loadModule("c", bytes, { signature: sign(null, bytes, other.privateKey).subarray(1) }),
    ).rejects.toThrow(/does not verify/);
    await expect(host.loadModule("d", bytes)).rejects.toThrow(/not signed/);
    const copy = path.join(fx.work, "m.wasm");
    fs.copyFileSync(file, copy);
    fs.writeFileSync(`${copy}.sig`, sig.toString("base64"));
    expect((await host.loadModule("e", copy)).signed).toBe(true);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1]! ^= 1;
    await expect(host.loadModule("f", tampered, { signature: sig })).rejects.toThrow(
      /does not verify/,
    );
  });

  it("refuses imports it does not provide", async () => {
    const m = Uint8Array.from([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 11, 1, 3, 0x65, 0x6e, 0x76, 3, 0x66,
      0x6f, 0x6f, 0, 0,
    ]);
    expect(inspectModule(m).imports[0]).toMatchObject({ module: "env", name: "foo" });
    await expect(newHost().loadModule("x", m)).rejects.toThrow(
      /imports env\.foo, which Forge does not provide/,
    );
  });
});

// Regression cases of issue 13: what a module's bytes can cause is a WasmModuleError or
// a WasmLimitError, never another class or a hang; the old output is in each title.
describe("bad modules end in a documented error", () => {
  it("says a reactor has no _start and lists its functions (was: TypeError)", async () => {
    const file = compileC("reactor", { reactor: true });
    const fns = inspectModule(fs.readFileSync(file))
      .exports.filter((e) => e.kind === "function" && e.name !== "_initialize")
      .map((e) => e.name);
    for (const isolation of ["thread", "worker"] as const) {
      const host = newHost({ isolation });
      await host.loadModule("r", file);
      const e = await host.run("r").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WasmModuleError);
      const m = (e as Error).message;
      expect(m).toMatch(/^module "r" has no _start export, so it cannot be run: it is a reactor/);
      for (const f of fns.slice(0, 8)) expect(m).toContain(`"${f}"`);
      expect(m).toMatch(/call\(/);
    }
  });

  it("gives an imported memory the module's own maximum under the limit (was: cannot be instantiated)", async () => {
    const bytes = command();
    const declared = inspectModule(bytes).imports.find((i) => i.kind === "memory")!.limits!;
    expect(declared.max).toBeDefined();
    // the reference: the exit code of the module run directly
    let expected = -1;
    const direct = new WebAssembly.Instance(
      new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>),
      {
        env: { memory: new WebAssembly.Memory({ initial: declared.min, maximum: declared.max }) },
        wasi_snapshot_preview1: {
          proc_exit: (c: number) => {
            expected = c;
            throw new Error("exit");
          },
        },
      },
    );
    expect(() => (direct.exports._start as () => void)()).toThrow("exit");
    // limits above the declared maximum, and above 4 GiB (was: RangeError from WebAssembly.Memory)
    for (const memoryLimit of [16 << 20, 8 * 2 ** 30]) {
      for (const isolation of ["thread", "worker"] as const) {
        for (const timeoutMs of [undefined, 5000]) {
          const host = newHost({ memoryLimit, isolation, timeoutMs });
          await host.loadModule("c", bytes);
          expect((await host.run("c")).exitCode).toBe(expected);
        }
      }
    }
  });

  it("reports a failed instantiation in a worker as a WasmModuleError (was: Error named LinkError)", async () => {
    // imports forge.nope, which the forge host interface does not have
    const bytes = moduleOf(
      section(1, new Writer().u32(1).bytes([0x60, 0, 0])),
      section(2, new Writer().u32(1).name("forge").name("nope").byte(0).u32(0)),
      section(3, new Writer().u32(1).u32(0)),
      section(7, new Writer().u32(1).name("_start").byte(0).u32(1)),
      section(10, new Writer().u32(1).bytes(body([], [0x0b]))),
    );
    for (const isolation of ["thread", "worker"] as const) {
      const host = newHost({ isolation });
      await host.loadModule("n", bytes);
      const e = await host.run("n").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WasmModuleError);
      expect((e as Error).message).toMatch(/cannot be instantiated: .*nope/);
    }
  });

  it("stops a start function that never returns at the timeout and at the fuel limit (was: a hang)", async () => {
    // function 0 loops forever and is the start function; _start (function 1) is empty
    const bytes = moduleOf(
      section(1, new Writer().u32(1).bytes([0x60, 0, 0])),
      section(3, new Writer().u32(2).u32(0).u32(0)),
      section(7, new Writer().u32(2).name("_start").byte(0).u32(1).name("f").byte(0).u32(1)),
      section(8, new Writer().u32(0)),
      section(
        10,
        new Writer()
          .u32(2)
          .bytes(body([], [0x03, 0x40, 0x0c, 0, 0x0b, 0x0b]))
          .bytes(body([], [0x0b])),
      ),
    );
    const timed = newHost({ timeoutMs: 200 });
    await timed.loadModule("s", bytes);
    await expect(timed.run("s")).rejects.toMatchObject({ name: "WasmLimitError", limit: "time" });
    await expect(timed.call("s", "f")).rejects.toMatchObject({
      name: "WasmLimitError",
      limit: "time",
    });
    const fueled = newHost({ fuel: 100_000 });
    await fueled.loadModule("s", bytes);
    await expect(fueled.run("s")).rejects.toMatchObject({ name: "WasmLimitError", limit: "fuel" });
    await expect(fueled.call("s", "f")).rejects.toBeInstanceOf(WasmLimitError);
  });
});

describe("limits leave the host healthy", () => {
  it("caps memory for a module that declares no maximum", async () => {
    const file = compileC("limits");
    expect(inspectModule(fs.readFileSync(file)).memories[0]!.max).toBeUndefined();
    const host = newHost({ memoryLimit: 16 << 20 });
    const info = await host.loadModule("l", file);
    expect(info.memoryLimit).toBe(16 << 20);
    const bomb = await runOut(host, "l", ["l", "membomb"]);
    const mib = Number(/allocated (\d+) MiB/.exec(bomb.out)![1]);
    expect(mib).toBeGreaterThan(5);
    expect(mib).toBeLessThan(16);
    expect((await runOut(host, "l", ["l", "grow"])).out).toBe("grow=-1\n");
    expect((await runOut(host, "l", ["l", "ok"])).out).toBe("ok\n");
    await expect(newHost({ memoryLimit: 65536 }).loadModule("tiny", file)).rejects.toThrow(
      /initial memory, above the limit/,
    );
  });

  it("stops an infinite loop in-thread, a deep recursion, and runs the next call", async () => {
    const host = newHost({ timeoutMs: 200 });
    expect((await host.loadModule("l", compileC("limits"))).metered).toBe(true);
    await expect(runOut(host, "l", ["l", "loop"])).rejects.toMatchObject({
      name: "WasmLimitError",
      limit: "time",
    });
    await expect(runOut(host, "l", ["l", "recurse"])).rejects.toMatchObject({ limit: "stack" });
    expect((await runOut(host, "l", ["l", "ok"])).out).toBe("ok\n");
    expect((await runOut(host, "l", ["l", "raise"])).exitCode).toBe(137);
  });

  it("meters fuel deterministically", async () => {
    const host = newHost({ fuel: 50_000_000 });
    await host.loadModule("l", compileC("limits"));
    const a = await runOut(host, "l", ["l", "count"]);
    const b = await runOut(host, "l", ["l", "count"]);
    expect(a.out).toBe("done\n");
    expect(a.fuelUsed).toBe(b.fuelUsed);
    await expect(runOut(host, "l", ["l", "count"], { fuel: a.fuelUsed - 1 })).rejects.toMatchObject(
      { limit: "fuel" },
    );
    expect((await runOut(host, "l", ["l", "count"], { fuel: a.fuelUsed })).out).toBe("done\n");
    await expect(runOut(host, "l", ["l", "loop"], { fuel: 1_000_000 })).rejects.toBeInstanceOf(
      WasmLimitError,
    );
  });

  it("does not count a worker's start-up against a call's timeout", async () => {
    // A worker takes ~100 ms or more to start here (a thread, its code, the module's
    // compilation); the calls' clocks start when it is ready.
    const host = newHost({ isolation: "worker", timeoutMs: 100 });
    await host.loadModule("r", compileC("reactor", { reactor: true }));
    expect(await Promise.all([host.call("r", "add", [2, 3]), host.call("r", "bump")])).toEqual([
      5, 1,
    ]);
  });

  it("fails the calls of a worker that does not start in time, and ends its thread", () => {
    // In a process of its own: the thread must end, or the process would never exit.
    const dist = fileURLToPath(new URL("../dist/worker_instance.js", import.meta.url));
    const mod = compileC("reactor", { reactor: true });
    const script = `import { WorkerInstance } from ${JSON.stringify(dist)};
      import fs from "node:fs";
      const w = new WorkerInstance({ bytes: fs.readFileSync(${JSON.stringify(mod)}), metered: false,
        memoryLimit: 1 << 24, wasi: {}, subject: "t", policy: { version: 1 },
        onAudit() {}, onQuarantine() {}, startTimeoutMs: 1 });
      try { await w.call("add", [1, 2], 1000); console.log("answered"); }
      catch (e) { console.log(e.name + ": " + e.message); }`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(out.trim()).toBe("WasmLimitError: the worker did not start within 1 ms");
  });

  it("terminates a worker on timeout and serves the next call from a fresh one", async () => {
    const host = newHost({ isolation: "worker", timeoutMs: 300 });
    await host.loadModule("r", compileC("reactor", { reactor: true }));
    expect(await host.call("r", "add", [2, 3])).toBe(5);
    expect(await host.call("r", "bump")).toBe(1);
    expect(await host.call("r", "bump")).toBe(2);
    await expect(host.call("r", "spin")).rejects.toMatchObject({ limit: "time" });
    expect(await host.call("r", "bump")).toBe(1); // a fresh instance
    await host.loadModule("l", compileC("limits"));
    await expect(runOut(host, "l", ["l", "loop"])).rejects.toMatchObject({ limit: "time" });
    expect((await runOut(host, "l", ["l", "ok"])).out).toBe("ok\n");
  });
});

describe("calls, host interface and hot reload", () => {
  it("calls exports, keeps instance state, and serves the forge host interface", async () => {
    const lines: string[] = [];
    const audit = new AuditLog();
    let during = "";
    const host = newHost({
      audit,
      log: (l) => {
        lines.push(l);
        during = host.status;
      },
    });
    await host.loadModule("r", compileC("reactor", { reactor: true }));
    expect(await host.call("r", "add", [40, 2])).toBe(42);
    expect(await host.call("r", "bump")).toBe(1);
    expect(await host.call("r", "bump")).toBe(2);
    expect(await host.call("r", "host_api")).toBe(0);
    expect(lines).toEqual(["[WASM] info wasm:r: hello host"]);
    expect(during).toBe("Running");
    expect(host.status).toBe("Ready");
    expect(
      audit.entries().some((e) => e.event.kind === "host.log" && e.event.message === "hello host"),
    ).toBe(true);
    await expect(host.call("r", "nope")).rejects.toThrow(TypeError);
  });

  it("reloads under load in-thread without losing a call", async () => {
    const host = newHost();
    const v1 = compileC("reactor", { reactor: true, defines: { VERSION: 1 }, out: "v1.wasm" });
    const v2 = compileC("reactor", { reactor: true, defines: { VERSION: 2 }, out: "v2.wasm" });
    await host.loadModule("svc", v1);
    const results: unknown[] = [];
    let done = false;
    const reload = host.reloadModule("svc", v2).then((i) => {
      done = true;
      return i;
    });
    let issued = 0;
    const calls: Promise<unknown>[] = [];
    while (!done || issued < 50) {
      calls.push(host.call("svc", "version").then((v) => results.push(v)));
      issued++;
      if (!done) await new Promise((r) => setImmediate(r));
      if (done) {
        for (let i = 0; i < 50; i++)
          calls.push(host.call("svc", "version").then((v) => results.push(v)));
        issued += 50;
        break;
      }
    }
    await Promise.all(calls);
    expect((await reload).version).toBe(2);
    expect(results).toHaveLength(issued);
    expect(results.every((v) => v === 1 || v === 2)).toBe(true);
    expect(results.indexOf(1)).toBe(0);
    expect(results.lastIndexOf(1)).toBeLessThan(results.indexOf(2));
    expect(results.slice(-50).every((v) => v === 2)).toBe(true);
  });

  it("reloads under load with workers: calls in flight finish on the old version", async () => {
    const audit = new AuditLog();
    const host = newHost({ isolation: "worker", audit });
    const v1 = compileC("reactor", { reactor: true, defines: { VERSION: 1 }, out: "v1.wasm" });
    const v2 = compileC("reactor", { reactor: true, defines: { VERSION: 2 }, out: "v2.wasm" });
    await host.loadModule("svc", v1);
    const before = Array.from({ length: 100 }, () => host.call("svc", "version"));
    const reload = host.reloadModule("svc", v2);
    const during = Array.from({ length: 100 }, () => host.call("svc", "version"));
    await reload;
    const after = Array.from({ length: 100 }, () => host.call("svc", "version"));
    const [b, d, a] = await Promise.all([
      Promise.all(before),
      Promise.all(during),
      Promise.all(after),
    ]);
    expect(b.every((v) => v === 1)).toBe(true);
    expect(d.every((v) => v === 1 || v === 2)).toBe(true);
    expect(a.every((v) => v === 2)).toBe(true);
    expect(audit.entries().filter((e) => e.event.kind === "wasm.reload")).toHaveLength(1);
  });

  it("flushes coalesced stdout at the end of each call", async () => {
    const out = path.join(fx.work, "say.out");
    const fd = fs.openSync(out, "w");
    try {
      const host = newHost();
      await host.loadModule("r", compileC("reactor", { reactor: true }), {
        wasi: { stdio: [0, fd, 2] },
      });
      expect(await host.call("r", "say")).toBe(0);
      expect(fs.readFileSync(out, "utf8")).toBe("hello from v1\n");
      expect(await host.call("r", "say")).toBe(0);
      expect(fs.readFileSync(out, "utf8")).toBe("hello from v1\nhello from v1\n");
    } finally {
      fs.closeSync(fd);
    }
  });

  it("keeps a worker's policy copy in step with the host's (quarantine reaches it)", async () => {
    const audit = new AuditLog();
    const fd = fs.openSync(path.join(fx.work, "w.out"), "w");
    try {
      const host = newHost({ isolation: "worker", audit });
      await host.loadModule("r", compileC("reactor", { reactor: true }), {
        wasi: { stdio: [0, fd, 2] },
      });
      expect(await host.call("r", "bump")).toBe(1);
      await host.call("r", "say");
      host.policy.quarantine("wasm:r", "test");
      await host.call("r", "say");
      expect(await host.call("r", "bump")).toBe(2); // same instance, state kept
      const writes = audit
        .entries()
        .filter((e) => e.event.kind === "wasi" && e.event.call === "fd_write");
      expect(writes.map((e) => e.event.effect)).toEqual(["allow", "deny"]);
      expect(writes[1]!.event.rule).toBe("quarantined");
      expect(fs.readFileSync(path.join(fx.work, "w.out"), "utf8")).toBe("hello from v1\n");
    } finally {
      fs.closeSync(fd);
    }
  });

  it("terminates", async () => {
    const host = newHost();
    await host.loadModule("r", compileC("reactor", { reactor: true }));
    await host.terminate();
    expect(host.status).toBe("Terminated");
    await expect(host.call("r", "add", [1, 2])).rejects.toThrow(/terminated/);
  });
});

// Review findings on the host: each test failed before its fix.
describe("host review fixes", () => {
  it("audits a reload with the old hash as from and the new one as to", async () => {
    const audit = new AuditLog();
    const host = newHost({ audit });
    const v1 = compileC("reactor", { reactor: true, defines: { VERSION: 1 }, out: "v1.wasm" });
    const v2 = compileC("reactor", { reactor: true, defines: { VERSION: 2 }, out: "v2.wasm" });
    const a = await host.loadModule("svc", v1);
    const b = await host.reloadModule("svc", v2);
    expect(a.hash).not.toBe(b.hash);
    const r = audit.entries().find((e) => e.event.kind === "wasm.reload")!;
    expect(r.event).toMatchObject({ module: "svc", from: a.hash, to: b.hash, version: 2 });
  });

  /** A policy whose identity `id` may do anything but write (a rule denies fd_write). */
  function noWrites(id: string, audit: AuditLog, quarantineAfter: number): Policy {
    return new Policy(
      {
        version: 1,
        identities: [
          {
            id,
            trustLevel: "Standard",
            capabilities: { syscalls: ["*"], resources: ["**"], apis: ["*"] },
            quarantineAfter,
          },
        ],
        rules: [{ id: "no-writes", actions: ["fd_write"], decision: "deny" }],
      },
      { audit },
    );
  }

  it("counts a worker module's denials across worker restarts (a timeout) toward quarantine", async () => {
    const audit = new AuditLog();
    const policy = noWrites("wasm:r", audit, 2);
    const fd = fs.openSync(path.join(fx.work, "w.out"), "w");
    try {
      const host = newHost({ isolation: "worker", policy, audit });
      await host.loadModule("r", compileC("reactor", { reactor: true }), {
        wasi: { stdio: [0, fd, 2] },
      });
      await host.call("r", "say"); // denial 1
      expect(policy.quarantined("wasm:r")).toBeUndefined();
      await expect(host.call("r", "spin", [], { timeoutMs: 200 })).rejects.toMatchObject({
        limit: "time",
      });
      await host.call("r", "say"); // denial 2, in a fresh worker
      expect(policy.quarantined("wasm:r")?.reason).toMatch(/quarantineAfter=2/);
      // the host's audit trail has the decisions, as in-thread
      const denials = audit
        .entries()
        .filter((e) => e.event.kind === "decision" && e.event.action === "fd_write");
      expect(denials.map((e) => e.event.effect)).toEqual(["deny", "quarantine"]);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("counts a worker module's denials across policy changes toward quarantine", async () => {
    const audit = new AuditLog();
    const policy = noWrites("wasm:r", audit, 2);
    const fd = fs.openSync(path.join(fx.work, "w.out"), "w");
    try {
      const host = newHost({ isolation: "worker", policy, audit });
      await host.loadModule("r", compileC("reactor", { reactor: true }), {
        wasi: { stdio: [0, fd, 2] },
      });
      await host.call("r", "say"); // denial 1
      // a capability change (the same set): the worker gets a new copy of the policy
      policy.setIdentity({ ...policy.identity("wasm:r")!, quarantineAfter: 2 });
      await host.call("r", "say"); // denial 2
      expect(policy.quarantined("wasm:r")).toBeDefined();
      expect(await host.call("r", "bump")).toBe(1); // the same worker served both
    } finally {
      fs.closeSync(fd);
    }
  });

  it("keeps a default-deny policy default-deny: a module gets only what is granted", async () => {
    const audit = new AuditLog();
    const policy = new Policy({ version: 1, defaultDecision: "deny" }, { audit });
    const out = path.join(fx.work, "say.out");
    const fd = fs.openSync(out, "w");
    try {
      for (const isolation of ["thread", "worker"] as const) {
        const host = newHost({ policy, audit, isolation });
        await host.loadModule(`r-${isolation}`, compileC("reactor", { reactor: true }), {
          wasi: { stdio: [0, fd, 2] },
        });
        expect(policy.identity(`wasm:r-${isolation}`)?.capabilities).toMatchObject({
          syscalls: [],
          resources: [],
          apis: [],
        });
        expect(await host.call(`r-${isolation}`, "add", [2, 3])).toBe(5);
        await host.call(`r-${isolation}`, "say");
        expect(fs.readFileSync(out, "utf8")).toBe("");
      }
      // what the policy grants by rule is granted
      policy.addRule({
        id: "may-write",
        subjects: ["wasm:r-thread"],
        actions: ["fd_write", "fd_fdstat_get"],
        decision: "allow",
      });
      const granted = newHost({ policy, audit });
      await granted.loadModule("r-thread", compileC("reactor", { reactor: true }), {
        wasi: { stdio: [0, fd, 2] },
      });
      await granted.call("r-thread", "say");
      expect(fs.readFileSync(out, "utf8")).toBe("hello from v1\n");
    } finally {
      fs.closeSync(fd);
    }
    // without a policy of its own, the host still lets a module use what it was given
    const own = newHost();
    await own.loadModule("r", compileC("reactor", { reactor: true }));
    expect(own.policy.identity("wasm:r")?.capabilities.syscalls).toEqual(["*"]);
  });

  it("keeps ModuleInfo.memoryUsage current after the memory grows", async () => {
    for (const isolation of ["thread", "worker"] as const) {
      const host = newHost({ isolation });
      const info = await host.loadModule("m", sample());
      await host.instantiate("m");
      expect(await host.call("m", "grow", [0])).toBe(1);
      expect(host.module("m")!.memoryUsage).toBe(65536);
      expect(await host.call("m", "grow", [2])).toBe(1);
      expect(host.module("m")!.memoryUsage).toBe(3 * 65536);
      expect(info.memoryUsage).toBe(3 * 65536);
    }
  });

  /** A policy for "wasm:f": libc's start-up probing, path_open/fd_read/fd_close on /data only. */
  function pathOnly(audit: AuditLog, rules: Array<Record<string, unknown>> = []): Policy {
    return new Policy(
      {
        version: 1,
        quarantineAfter: 1,
        identities: [
          {
            id: "wasm:f",
            trustLevel: "Standard",
            capabilities: {
              syscalls: ["path_open", "fd_read", "fd_close"],
              resources: ["/data/**"],
            },
          },
        ],
        rules: [
          ...(rules as never[]),
          {
            id: "probe",
            actions: ["fd_prestat_get", "fd_prestat_dir_name", "fd_fdstat_get"],
            decision: "allow",
          },
        ],
      },
      { audit },
    );
  }

  it("lets an fd opened from a granted path be read and closed without fd:* (in-thread and worker)", async () => {
    const data = path.join(fx.work, "data");
    fs.mkdirSync(path.join(data, "secret"), { recursive: true });
    fs.writeFileSync(path.join(data, "in.txt"), "twelve bytes");
    fs.writeFileSync(path.join(data, "secret", "key"), "k");
    const mod = compileC("fd_grant", { reactor: true });
    for (const isolation of ["thread", "worker"] as const) {
      const audit = new AuditLog();
      const policy = pathOnly(audit);
      const host = newHost({ isolation, policy, audit });
      await host.loadModule("f", mod, {
        wasi: { preopens: [{ host: data, guest: "/data", readOnly: true }] },
      });
      expect(await host.call("f", "read_in")).toBe(12);
      expect(await host.call("f", "read_in")).toBe(12);
      expect(policy.quarantined("wasm:f"), isolation).toBeUndefined();
    }
    // a rule on the path still applies to the fd opened from it
    const audit = new AuditLog();
    const policy = pathOnly(audit, [
      {
        id: "no-secret-reads",
        actions: ["fd_read"],
        resources: ["/data/secret/**"],
        decision: "deny",
      },
    ]);
    const host = newHost({ policy, audit });
    await host.loadModule("f", mod, {
      wasi: { preopens: [{ host: data, guest: "/data", readOnly: true }] },
    });
    expect(await host.call("f", "read_in")).toBe(12);
    expect(await host.call("f", "read_secret")).toBe(-2);
    expect(policy.quarantined("wasm:f")?.reason).toMatch(/no-secret-reads/);
  });
});
