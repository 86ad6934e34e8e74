// Worker entry of WorkerInstance: hosts one module instance, runs calls sent by the parent.
import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import { type Decision, Policy, type PolicyDocument, type PolicyRequest } from "@forge/policy";
import { FdGrants } from "./_fd_grants.ts";
import { printable } from "./_util.ts";
import { WasiExit, WasmLimitError, WasmModuleError } from "./errors.ts";
import { Meter } from "./meter.ts";
import { importedMemory, inspectModule } from "./module_info.ts";
import { WasiHost } from "./wasi.ts";

const port = parentPort!;
const data = workerData as {
  quarantined?: Array<{ subject: string; reason: string }>;
  bytes: Uint8Array;
  metered: boolean;
  memoryLimit: number;
  wasi: any;
  subject: string;
  policy: any;
  /** Present when the parent answers what the copy does not allow (see WorkerInit.evaluate). */
  sync?: { asked: Int32Array; port: MessagePort };
};

/** How long to wait for the parent's answer before the copy's own (a deny) stands. */
const ASK_MS = 10_000;
let asks = 0;

/** Asks the parent's policy, blocking until it answers (undefined: no answer in time). */
function ask(
  sync: NonNullable<typeof data.sync>,
  req: PolicyRequest,
): { decision: Decision; quarantined?: string } | undefined {
  const id = ++asks;
  Atomics.store(sync.asked, 0, 0);
  port.postMessage({ type: "evaluate", id, req });
  const until = performance.now() + ASK_MS;
  for (;;) {
    // A late answer to an earlier request that timed out is skipped.
    for (let r = receiveMessageOnPort(sync.port); r; r = receiveMessageOnPort(sync.port)) {
      const a = r.message as { id: number; decision?: Decision; quarantined?: string };
      if (a.id === id) return a.decision ? (a as { decision: Decision }) : undefined;
    }
    const left = until - performance.now();
    if (left <= 0) return undefined;
    Atomics.wait(sync.asked, 0, 0, left);
    Atomics.store(sync.asked, 0, 0);
  }
}

/**
 * The worker's copy of the host's policy. With the parent answering, the copy counts
 * no denials (its thresholds are off) and decides only allows: anything else is asked
 * of the host's policy, which counts it, quarantines and audits as in-thread; its
 * quarantine is mirrored here at once, so that the rest of the call is refused too.
 */
class WorkerPolicy extends Policy {
  readonly #sync: typeof data.sync;
  constructor(doc: PolicyDocument, sync: typeof data.sync) {
    super(
      sync
        ? {
            ...doc,
            quarantineAfter: 0,
            identities: (doc.identities ?? []).map((i) => ({ ...i, quarantineAfter: 0 })),
          }
        : doc,
    );
    this.#sync = sync;
  }

  override evaluate(req: PolicyRequest): Decision {
    const local = super.evaluate(req);
    if (local.effect === "allow" || !this.#sync) return local;
    const answer = ask(this.#sync, req);
    if (!answer) {
      // No answer: the copy's deny stands; a quarantine it decided is forwarded.
      const q = this.quarantined(req.subject);
      if (q) port.postMessage({ type: "quarantine", subject: q.subject, reason: q.reason });
      return local;
    }
    if (answer.quarantined !== undefined) this.quarantine(req.subject, answer.quarantined);
    return answer.decision;
  }
}

let policy = makePolicy(data.policy, data.quarantined ?? []);

function makePolicy(doc: any, quarantined: Array<{ subject: string; reason: string }>): Policy {
  const p = new WorkerPolicy(doc, data.sync);
  for (const q of quarantined) p.quarantine(q.subject, q.reason);
  // Without the parent answering, the copy's own quarantines are forwarded as they happen.
  if (!data.sync)
    p.onQuarantine((r) =>
      port.postMessage({ type: "quarantine", subject: r.subject, reason: r.reason }),
    );
  return p;
}
const compiled = new WebAssembly.Module(data.bytes as Uint8Array<ArrayBuffer>);
const shape = inspectModule(data.bytes);
let deadline: number | undefined;

function instantiate() {
  const wasi = new WasiHost({
    ...data.wasi,
    subject: data.subject,
    policy,
    audit: (event) => port.postMessage({ type: "audit", event }),
    log: (line) => port.postMessage({ type: "log", line }),
    deadline: () => deadline,
  });
  const meter = data.metered ? new Meter() : undefined;
  const grants = new FdGrants(wasi);
  const imports: Record<string, Record<string, unknown>> = {
    ...grants.wrap(wasi.imports()),
    ...(meter?.imports() ?? {}),
  };
  const mem = shape.imports.find((i) => i.kind === "memory");
  let instance: WebAssembly.Instance;
  try {
    if (mem?.limits) {
      imports[mem.module] = {
        ...(imports[mem.module] ?? {}),
        [mem.name]: importedMemory(mem.limits, data.memoryLimit),
      };
    }
    instance = new WebAssembly.Instance(compiled, imports as WebAssembly.Imports);
  } catch (e) {
    wasi.close();
    throw new WasmModuleError(
      `the module cannot be instantiated: ${printable((e as Error).message, 300)}`,
    );
  }
  meter?.attach(instance);
  const memory = instance.exports.memory ?? (mem ? imports[mem.module]![mem.name] : undefined);
  if (memory instanceof WebAssembly.Memory) {
    wasi.setMemory(memory);
    grants.setMemory(memory);
  }
  return {
    instance,
    wasi,
    meter,
    grants,
    memory: memory instanceof WebAssembly.Memory ? memory : undefined,
  };
}

/** The memory of the instance serving the request (its size goes with each answer). */
let serving: WebAssembly.Memory | undefined;

function memoryBytes(): number | undefined {
  return serving?.buffer.byteLength;
}

let live: ReturnType<typeof instantiate> | undefined;

/** The start function instrumentation deferred (as WasmHost does it in-thread). */
function start(l: ReturnType<typeof instantiate>): void {
  try {
    l.meter?.start(l.instance);
  } catch (e) {
    if (e instanceof WasmLimitError) throw e;
    throw new WasmModuleError(
      `the module cannot be instantiated: its start function failed: ${printable((e as Error)?.message ?? String(e), 300)}`,
    );
  }
}

function serialize(e: unknown) {
  if (e instanceof WasmLimitError) return { name: e.name, message: e.message, limit: e.limit };
  if (e instanceof WasiExit) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof WasmModuleError) return { name: e.name, message: e.message };
  if (e instanceof RangeError && /call stack/i.test(e.message))
    return {
      name: "WasmLimitError",
      message: `stack overflow (recursion too deep)`,
      limit: "stack",
    };
  if (e instanceof WebAssembly.RuntimeError)
    return { name: "WasmLimitError", message: `trapped: ${e.message}`, limit: "trap" };
  const err = e as Error;
  return { name: err?.name ?? "Error", message: err?.message ?? String(e) };
}

// Loaded and compiled: the parent starts the calls' clocks from here.
port.postMessage({ type: "ready" });
port.on(
  "message",
  (m: {
    type: string;
    id: number;
    fn?: string;
    args?: unknown[];
    fuel?: number;
    timeoutMs?: number;
  }) => {
    if (m.type === "policy") {
      // The live instance keeps its state and asks the new copy from now on.
      const u = m as unknown as {
        policy: any;
        quarantined: Array<{ subject: string; reason: string }>;
      };
      policy = makePolicy(u.policy, u.quarantined);
      if (live) live.grants.policy = policy;
      return;
    }
    deadline = m.timeoutMs !== undefined ? performance.now() + m.timeoutMs : undefined;
    try {
      if (m.type === "run") {
        const l = instantiate();
        serving = l.memory;
        l.meter?.begin(m.fuel, undefined);
        try {
          start(l);
          const exitCode = l.wasi.start(l.instance);
          port.postMessage({
            type: "result",
            id: m.id,
            value: { exitCode, fuelUsed: l.meter?.end() ?? 0 },
            memory: memoryBytes(),
          });
        } finally {
          l.wasi.close();
        }
        return;
      }
      if (!live) {
        const fresh = instantiate();
        fresh.meter?.begin(m.fuel, undefined);
        try {
          start(fresh);
          fresh.wasi.initialize(fresh.instance);
        } catch (e) {
          fresh.wasi.close();
          throw e;
        } finally {
          fresh.meter?.end();
        }
        live = fresh;
      }
      const l = live;
      serving = l.memory;
      const f = l.instance.exports[m.fn!];
      if (typeof f !== "function") throw new TypeError(`the module exports no function "${m.fn}"`);
      l.meter?.begin(m.fuel, undefined);
      try {
        const value = (f as (...a: unknown[]) => unknown)(...(m.args ?? []));
        port.postMessage({ type: "result", id: m.id, value, memory: memoryBytes() });
      } catch (e) {
        l.wasi.close();
        live = undefined;
        throw e;
      } finally {
        l.meter?.end();
        l.wasi.flushAudit();
      }
    } catch (e) {
      port.postMessage({ type: "error", id: m.id, error: serialize(e), memory: memoryBytes() });
    }
  },
);
