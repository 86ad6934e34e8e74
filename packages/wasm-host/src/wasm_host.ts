import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import fs from "node:fs";
import { type AuditEvent, AuditLog, Policy, type PolicyRequest } from "@forge/policy";
import { FdGrants } from "./_fd_grants.ts";
import { printable, quoted } from "./_util.ts";
import { WasiExit, WasmLimitError, WasmModuleError } from "./errors.ts";
import { instrumentValid } from "./instrument.ts";
import { Meter } from "./meter.ts";
import {
  capMemory,
  importedMemory,
  inspectModule,
  type ModuleShape,
  memoryLimitPages,
} from "./module_info.ts";
import { WasiHost, type WasiOptions } from "./wasi.ts";
import { type WorkerDecision, WorkerInstance } from "./worker_instance.ts";

/** The seeds' per-instance memory limit: 256 MiB. */
export const DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024;

/**
 * Status of a {@link WasmHost}, as in the execution module's seed.
 *
 * @example
 * ```ts
 * import { WasmHost } from "@forge/wasm-host";
 * console.log(new WasmHost().status); // "Ready"
 * ```
 */
export type WasmHostStatus = "Initializing" | "Ready" | "Running" | "Error" | "Terminated";

/**
 * The WASI configuration a module runs with (the policy, audit and subject come from
 * the host).
 *
 * @example
 * ```ts
 * import type { ModuleWasi } from "@forge/wasm-host";
 * const w: ModuleWasi = { args: ["tool"], preopens: [{ host: "/srv/data", guest: "/data", readOnly: true }] };
 * ```
 */
export type ModuleWasi = Omit<WasiOptions, "policy" | "audit" | "subject" | "deadline">;

/**
 * Per-module options of {@link WasmHost.loadModule}.
 *
 * @example
 * ```ts
 * import type { LoadOptions } from "@forge/wasm-host";
 * const o: LoadOptions = { memoryLimit: 64 * 1024 * 1024, timeoutMs: 1000, wasi: { args: ["app"] } };
 * ```
 */
export interface LoadOptions {
  /** Detached ed25519 signature of the module bytes (raw or base64). For a path, `<path>.sig` is used when present. */
  readonly signature?: Uint8Array | string;
  readonly wasi?: ModuleWasi;
  readonly memoryLimit?: number;
  readonly timeoutMs?: number;
  readonly fuel?: number;
  readonly isolation?: "thread" | "worker";
  /** The policy subject (default "wasm:<name>"). */
  readonly subject?: string;
}

/**
 * Options of a {@link WasmHost}; per-module {@link LoadOptions} override them.
 *
 * @example
 * ```ts
 * import { AuditLog, WasmHost } from "@forge/wasm-host";
 * const host = new WasmHost({ memoryLimit: 128 << 20, timeoutMs: 5000, audit: new AuditLog() });
 * ```
 */
export interface WasmHostOptions {
  /** Bytes per instance (default 256 MiB). */
  readonly memoryLimit?: number;
  /** Per-call timeout in ms (default: none). In-thread it needs metering, added automatically. */
  readonly timeoutMs?: number;
  /** Deterministic fuel per call (instrumentation units; default: unlimited). */
  readonly fuel?: number;
  /** "thread" (default): run in this thread; "worker": one worker per module, terminated on timeout. */
  readonly isolation?: "thread" | "worker";
  /** Public ed25519 keys (KeyObject, PEM, or raw 32 bytes) whose signatures are trusted. */
  readonly trustedKeys?: ReadonlyArray<KeyObject | string | Uint8Array>;
  /** Refuse modules without a valid signature by a trusted key. */
  readonly requireSignature?: boolean;
  /**
   * The policy every call is checked against. A module whose subject it does not know
   * is added with an empty capability set, so that it gets only what the policy's rules
   * (and a `defaultDecision: "allow"`) grant. Without one, the host makes its own, in
   * which each module may use what it was given (its preopens, env, stdio).
   */
  readonly policy?: Policy;
  readonly audit?: AuditLog;
  /** Where `[WASM]` log lines go (default: stderr). */
  readonly log?: (line: string) => void;
}

/**
 * What the host knows about a loaded module, as in the seed's WasmModule.
 *
 * @example
 * ```ts
 * import { WasmHost } from "@forge/wasm-host";
 * const host = new WasmHost();
 * const info = await host.loadModule("app", "app.wasm");
 * console.log(info.hash, info.exports.map((e) => e.name));
 * ```
 */
export interface ModuleInfo extends ModuleShape {
  readonly name: string;
  /** sha256 of the module as given, hex. */
  readonly hash: string;
  readonly size: number;
  readonly signed: boolean;
  readonly memoryLimit: number;
  /**
   * Bytes of linear memory of the module's current instance, read when asked (it
   * follows memory.grow); once an instance is dropped, its size when it ended; with
   * worker isolation, the size at the end of the last call or run. 0 until instantiated.
   */
  readonly memoryUsage: number;
  readonly loadTime: string;
  /** Time to validate, rewrite and compile, in ms. */
  readonly loadMs: number;
  readonly metered: boolean;
  /** 1 for the first load, +1 per reload. */
  readonly version: number;
}

/**
 * The outcome of {@link WasmHost.run}.
 *
 * @example
 * ```ts
 * import type { RunResult } from "@forge/wasm-host";
 * const r: RunResult = { exitCode: 0, fuelUsed: 0 };
 * ```
 */
export interface RunResult {
  readonly exitCode: number;
  readonly fuelUsed: number;
}

interface Live {
  instance: WebAssembly.Instance;
  wasi: WasiHost;
  meter?: Meter;
  memory?: WebAssembly.Memory;
}

/** Where {@link ModuleInfo.memoryUsage} is read from. */
interface MemoryUsage {
  /** The memory of the instance in use (in-thread). */
  memory?: WebAssembly.Memory;
  /** The last size known when no instance is in use (or reported by a worker). */
  bytes: number;
}

interface Loaded {
  info: ModuleInfo;
  usage: MemoryUsage;
  opts: LoadOptions;
  compiled: WebAssembly.Module;
  prepared: Uint8Array;
  live?: Live;
  worker?: WorkerInstance;
  running: number;
  deadline?: number;
  workerGen?: number;
}

const compileCache = new Map<
  string,
  Promise<{ compiled: WebAssembly.Module; prepared: Uint8Array }>
>();
const CACHE_MAX = 64;
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function toKey(k: KeyObject | string | Uint8Array): KeyObject {
  if (typeof k === "string") return createPublicKey(k);
  if (k instanceof Uint8Array) {
    if (k.length !== 32) throw new TypeError("a raw ed25519 public key has 32 bytes");
    return createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, k]),
      format: "der",
      type: "spki",
    });
  }
  return k;
}

/**
 * Loads, runs, hot-reloads and unloads WebAssembly modules under limits: memory
 * (declared limits rewritten so the module cannot grow past the limit), per-call
 * timeouts (metered in-thread, or a terminated worker), optional deterministic fuel,
 * and WASI preview1 routed through the policy with every call audited.
 *
 * @example
 * ```ts
 * import { WasmHost } from "@forge/wasm-host";
 * const host = new WasmHost({ timeoutMs: 1000 });
 * await host.loadModule("math", "math.wasm");
 * console.log(await host.call("math", "add", [1, 2])); // 3
 * await host.reloadModule("math", "math-v2.wasm");
 * host.unloadModule("math");
 * ```
 */
export class WasmHost {
  readonly #opts: WasmHostOptions;
  readonly #modules = new Map<string, Loaded>();
  readonly #keys: KeyObject[];
  readonly policy: Policy;
  readonly audit: AuditLog;
  #loading = 0;
  #running = 0;
  #error: string | undefined;
  #terminated = false;

  constructor(opts: WasmHostOptions = {}) {
    this.#opts = opts;
    this.#keys = (opts.trustedKeys ?? []).map(toKey);
    this.audit = opts.audit ?? opts.policy?.audit ?? new AuditLog({ keep: 10_000 });
    this.policy = opts.policy ?? new Policy({ version: 1 }, { audit: this.audit });
  }

  /** The host's status (see {@link WasmHostStatus}); `error` holds the last failure. */
  get status(): WasmHostStatus {
    if (this.#terminated) return "Terminated";
    if (this.#running > 0) return "Running";
    if (this.#loading > 0 && this.#modules.size === 0) return "Initializing";
    if (this.#error !== undefined) return "Error";
    return "Ready";
  }

  /** The last load or call failure, cleared by the next success. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Information on a loaded module. */
  module(name: string): ModuleInfo | undefined {
    return this.#modules.get(name)?.info;
  }

  /** All loaded modules. */
  modules(): ModuleInfo[] {
    return [...this.#modules.values()].map((m) => m.info);
  }

  #record(e: AuditEvent): void {
    this.audit.append(e);
  }

  #alive(): void {
    if (this.#terminated) throw new Error("the WasmHost was terminated; create a new one");
  }

  async #prepare(
    name: string,
    source: Uint8Array | string,
    opts: LoadOptions,
    version: number,
  ): Promise<Omit<Loaded, "running">> {
    const t0 = performance.now();
    let bytes: Uint8Array;
    let sig = opts.signature;
    if (typeof source === "string") {
      bytes = await fs.promises.readFile(source).catch((e: Error) => {
        throw new WasmModuleError(`cannot read module ${source}: ${e.message}`);
      });
      if (sig === undefined && fs.existsSync(`${source}.sig`)) {
        // Either the raw 64-byte signature or its base64 text.
        const raw = await fs.promises.readFile(`${source}.sig`).catch((e: Error) => {
          throw new WasmModuleError(`cannot read the signature ${source}.sig: ${e.message}`);
        });
        sig = raw.length === 64 ? raw : raw.toString("utf8");
      }
    } else bytes = source;
    const hash = createHash("sha256").update(bytes).digest("hex");
    let signed = false;
    if (sig !== undefined) {
      const s = typeof sig === "string" ? Buffer.from(sig.trim(), "base64") : sig;
      signed = this.#keys.some((k) => cryptoVerify(null, bytes, k, s));
      if (!signed)
        throw new WasmModuleError(
          `module "${name}" (sha256 ${hash.slice(0, 12)}…): the signature does not verify against any trusted key`,
        );
    } else if (this.#opts.requireSignature) {
      throw new WasmModuleError(
        `module "${name}" is not signed and requireSignature is on; pass a signature or a <file>.sig`,
      );
    }
    // Structure and the engine's validator: nothing below ever sees an invalid module.
    const who = typeof source === "string" ? source : `module "${name}"`;
    let shape: ModuleShape;
    try {
      shape = inspectModule(bytes);
    } catch (e) {
      throw naming(e, who);
    }
    const known = new Set(["wasi_snapshot_preview1", "forge"]);
    const missing = shape.imports.filter(
      (i) => !known.has(i.module) && !(i.kind === "memory" && i.module === "env"),
    );
    if (missing.length > 0) {
      const list = missing
        .slice(0, 5)
        .map((i) => `${printable(i.module, 40)}.${printable(i.name, 40)}`)
        .join(", ");
      const more = missing.length > 5 ? ` and ${missing.length - 5} more` : "";
      throw new WasmModuleError(
        `module "${name}" imports ${list}${more}, which Forge does not provide (only wasi_snapshot_preview1, forge and env.memory)`,
      );
    }
    const memoryLimit = opts.memoryLimit ?? this.#opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
    const limitPages = memoryLimitPages(memoryLimit);
    const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs;
    const fuel = opts.fuel ?? this.#opts.fuel;
    const isolation = opts.isolation ?? this.#opts.isolation ?? "thread";
    const metered = fuel !== undefined || (timeoutMs !== undefined && isolation === "thread");
    const key = `${hash}:${memoryLimit}:${metered ? "m" : "-"}`;
    let entry = compileCache.get(key);
    if (!entry) {
      entry = (async () => {
        let prepared: Uint8Array;
        try {
          prepared = capMemory(bytes, limitPages);
          if (metered) prepared = instrumentValid(prepared);
        } catch (e) {
          throw naming(e, who);
        }
        try {
          return {
            compiled: await WebAssembly.compile(prepared as Uint8Array<ArrayBuffer>),
            prepared,
          };
        } catch (e) {
          // The original passed the validator: its rewrite must too.
          throw new WasmModuleError(
            `module "${name}" is valid, but Forge's rewrite of it (memory limit${metered ? ", metering" : ""}) is not: ${printable((e as Error).message, 300)}; this is a bug in Forge, please report it with the module`,
          );
        }
      })();
      compileCache.set(key, entry);
      entry.catch(() => compileCache.delete(key));
      if (compileCache.size > CACHE_MAX) compileCache.delete(compileCache.keys().next().value!);
    }
    const { compiled, prepared } = await entry;
    const usage: MemoryUsage = { bytes: 0 };
    const info = {
      name,
      hash,
      size: bytes.length,
      signed,
      memoryLimit,
      loadTime: new Date().toISOString(),
      loadMs: performance.now() - t0,
      metered,
      version,
      ...shape,
    } as Omit<ModuleInfo, "memoryUsage"> as ModuleInfo;
    Object.defineProperty(info, "memoryUsage", {
      enumerable: true,
      get: () => usage.memory?.buffer.byteLength ?? usage.bytes,
    });
    return { info, usage, opts, compiled, prepared };
  }

  #subject(name: string, opts: LoadOptions): string {
    return opts.subject ?? `wasm:${name}`;
  }

  #ensureIdentity(subject: string): void {
    if (this.policy.identity(subject)) return;
    // A policy the caller gave decides what its modules may do: an unknown module
    // gets nothing of its own (rules and a default allow still apply). The host's own
    // policy lets a module use what it was given.
    const own = this.#opts.policy === undefined;
    this.policy.setIdentity({
      id: subject,
      trustLevel: "Standard",
      capabilities: own
        ? { syscalls: ["*"], resources: ["**"], apis: ["*"] }
        : { syscalls: [], resources: [], apis: [] },
    });
  }

  /**
   * Validates, hashes, verifies (when signed or required), rewrites the memory limits,
   * meters (when a timeout or fuel is set), compiles (cached by hash) and records a
   * module. Throws {@link WasmModuleError} on any problem with the module, whatever its
   * bytes (the message names the file or module, and the section and byte when the
   * bytes are at fault); a RangeError only for a `memoryLimit` below one page. Audited
   * as "wasm.load".
   */
  async loadModule(
    name: string,
    source: Uint8Array | string,
    opts: LoadOptions = {},
  ): Promise<ModuleInfo> {
    this.#alive();
    if (this.#modules.has(name))
      throw new WasmModuleError(
        `a module named "${name}" is loaded already; unload it or use reloadModule`,
      );
    this.#loading++;
    try {
      const p = await this.#prepare(name, source, opts, 1);
      if (this.#modules.has(name))
        throw new WasmModuleError(`a module named "${name}" was loaded meanwhile`);
      const subject = this.#subject(name, opts);
      this.#ensureIdentity(subject);
      this.#modules.set(name, { ...p, running: 0 });
      this.#record({
        kind: "wasm.load",
        module: name,
        subject,
        hash: p.info.hash,
        size: p.info.size,
        signed: p.info.signed,
        memoryLimit: p.info.memoryLimit,
        metered: p.info.metered,
      });
      this.#error = undefined;
      return p.info;
    } catch (e) {
      this.#error = (e as Error).message;
      this.#record({ kind: "wasm.load.error", module: name, error: (e as Error).message });
      throw e;
    } finally {
      this.#loading--;
    }
  }

  /**
   * Hot reload: prepares the new version while the old one keeps serving; new calls use
   * the new version, calls in flight finish on the old one (whose instance is then
   * dropped). Audited as "wasm.reload" with both hashes.
   */
  async reloadModule(
    name: string,
    source: Uint8Array | string,
    opts?: LoadOptions,
  ): Promise<ModuleInfo> {
    this.#alive();
    const old = this.#get(name);
    const o = opts ?? old.opts;
    const p = await this.#prepare(name, source, o, old.info.version + 1);
    const cur = this.#get(name);
    // `cur` is the entry `old` was (updated in place below): keep what it was now.
    const from = cur.info.hash;
    const retiring = { live: cur.live, worker: cur.worker };
    cur.info = p.info;
    cur.usage = p.usage;
    cur.opts = o;
    cur.compiled = p.compiled;
    cur.prepared = p.prepared;
    cur.live = undefined;
    cur.worker = undefined;
    retiring.live?.wasi.close();
    void retiring.worker?.retire();
    this.#record({
      kind: "wasm.reload",
      module: name,
      from,
      to: p.info.hash,
      version: p.info.version,
    });
    return p.info;
  }

  /** Unloads a module: drops its instance (a worker is terminated). Audited. */
  unloadModule(name: string): boolean {
    const m = this.#modules.get(name);
    if (!m) return false;
    this.#modules.delete(name);
    if (m.live) this.#drop(m, m.live);
    void m.worker?.terminate();
    this.#record({ kind: "wasm.unload", module: name, hash: m.info.hash });
    return true;
  }

  #get(name: string): Loaded {
    const m = this.#modules.get(name);
    if (!m) throw new WasmModuleError(`no module named "${name}" is loaded`);
    return m;
  }

  #instantiate(
    m: Loaded,
    wasiOverride?: Partial<ModuleWasi>,
    deadline?: () => number | undefined,
  ): Live {
    const subject = this.#subject(m.info.name, m.opts);
    const wasi = new WasiHost({
      ...(m.opts.wasi ?? {}),
      ...(wasiOverride ?? {}),
      subject,
      policy: this.policy,
      audit: (e) => this.audit.append(e),
      log: this.#opts.log,
      deadline,
    });
    const meter = m.info.metered ? new Meter() : undefined;
    const grants = new FdGrants(wasi);
    const imports: Record<string, Record<string, unknown>> = {
      ...grants.wrap(wasi.imports()),
      ...(meter?.imports() ?? {}),
    };
    const mem = m.info.imports.find((i) => i.kind === "memory");
    let instance: WebAssembly.Instance;
    try {
      if (mem?.limits) {
        imports[mem.module] = {
          ...(imports[mem.module] ?? {}),
          [mem.name]: importedMemory(mem.limits, m.info.memoryLimit),
        };
      }
      instance = new WebAssembly.Instance(m.compiled, imports as WebAssembly.Imports);
    } catch (e) {
      wasi.close();
      throw new WasmModuleError(
        `module "${m.info.name}" cannot be instantiated: ${printable((e as Error).message, 300)}`,
      );
    }
    meter?.attach(instance);
    const memory =
      instance.exports.memory ??
      (mem ? (imports[mem.module]![mem.name] as WebAssembly.Memory) : undefined);
    if (!(memory instanceof WebAssembly.Memory)) return { instance, wasi, meter };
    wasi.setMemory(memory);
    grants.setMemory(memory);
    m.usage.memory = memory;
    return { instance, wasi, meter, memory };
  }

  /** Closes an instance's bridge; its memory's last size stays as the module's usage. */
  #drop(m: Loaded, live: Live): void {
    live.wasi.close();
    if (live.memory && m.usage.memory === live.memory) {
      m.usage.bytes = live.memory.buffer.byteLength;
      // A run's own instance ends: the instance serving calls, if any, is current again.
      m.usage.memory = m.live !== live ? m.live?.memory : undefined;
    }
  }

  /**
   * A worker's policy copy answers allows itself and asks here about everything else,
   * so that denials are counted, quarantines decided and decisions audited by the
   * host's policy, whatever the worker's restarts and copies.
   */
  #evaluateForWorker(req: PolicyRequest): WorkerDecision {
    const decision = this.policy.evaluate(req);
    return { decision, quarantined: this.policy.quarantined(req.subject)?.reason };
  }

  #classify(e: unknown, what: string): unknown {
    if (e instanceof WasiExit || e instanceof WasmLimitError || e instanceof WasmModuleError)
      return e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return new WasmLimitError("stack", `${what}: stack overflow (recursion too deep)`, {
        cause: e,
      });
    }
    if (e instanceof WebAssembly.RuntimeError)
      return new WasmLimitError("trap", `${what} trapped: ${e.message}`, { cause: e });
    return e;
  }

  #limits(m: Loaded, opts?: { timeoutMs?: number; fuel?: number }) {
    const timeoutMs = opts?.timeoutMs ?? m.opts.timeoutMs ?? this.#opts.timeoutMs;
    const fuel = opts?.fuel ?? m.opts.fuel ?? this.#opts.fuel;
    return { timeoutMs, fuel };
  }

  #useWorker(m: Loaded): boolean {
    return (m.opts.isolation ?? this.#opts.isolation ?? "thread") === "worker";
  }

  #worker(m: Loaded): WorkerInstance {
    if (m.worker && !m.worker.dead && m.workerGen !== this.policy.generation) {
      m.worker.updatePolicy(this.policy.toDocument(), this.policy.quarantinedSubjects());
      m.workerGen = this.policy.generation;
    }
    if (!m.worker || m.worker.dead) {
      m.workerGen = this.policy.generation;
      const subject = this.#subject(m.info.name, m.opts);
      const usage = m.usage;
      m.worker = new WorkerInstance({
        bytes: m.prepared,
        metered: m.info.metered,
        memoryLimit: m.info.memoryLimit,
        wasi: m.opts.wasi ?? {},
        subject,
        policy: this.policy.toDocument(),
        quarantined: this.policy.quarantinedSubjects(),
        onAudit: (e) => this.audit.append(e),
        onQuarantine: (s, reason) => this.policy.quarantine(s, reason),
        evaluate: (req) => this.#evaluateForWorker(req),
        onMemory: (bytes) => {
          usage.bytes = bytes;
        },
        log: this.#opts.log,
      });
    }
    return m.worker;
  }

  /**
   * Calls an exported function with numeric (or BigInt) arguments and resolves to its
   * result. Limits end the call with a {@link WasmLimitError}; the instance is then
   * replaced by a fresh one for the next call, so the host stays healthy.
   */
  async call(
    name: string,
    fn: string,
    args: ReadonlyArray<number | bigint> = [],
    opts?: { timeoutMs?: number; fuel?: number },
  ): Promise<unknown> {
    this.#alive();
    const m = this.#get(name);
    const { timeoutMs, fuel } = this.#limits(m, opts);
    const what = `${name}.${fn}`;
    this.#running++;
    m.running++;
    try {
      if (this.#useWorker(m)) {
        const w = this.#worker(m);
        return await w.call(fn, [...args], timeoutMs, fuel).catch((e) => {
          throw this.#noteLimit(m, what, e);
        });
      }
      if (!m.info.metered && (timeoutMs !== undefined || fuel !== undefined)) {
        throw new WasmModuleError(
          `module "${name}" was loaded without metering; pass timeoutMs/fuel at load time (or use isolation "worker")`,
        );
      }
      // The deadline covers a first instantiation's start function and _initialize too.
      const deadline = timeoutMs !== undefined ? performance.now() + timeoutMs : undefined;
      m.deadline = deadline;
      try {
        const live = this.#ensureLive(m, fuel, deadline, timeoutMs);
        const f = live.instance.exports[fn];
        if (typeof f !== "function")
          throw new TypeError(`module "${name}" exports no function ${quoted(fn)}`);
        live.meter?.begin(fuel, deadline, timeoutMs);
        try {
          const r = (f as (...a: unknown[]) => unknown)(...args);
          this.#error = undefined;
          return r;
        } catch (e) {
          this.#drop(m, live);
          if (m.live === live) m.live = undefined;
          throw this.#noteLimit(m, what, this.#classify(e, what));
        } finally {
          live.meter?.end();
          live.wasi.flushAudit();
        }
      } finally {
        m.deadline = undefined;
      }
    } finally {
      this.#running--;
      m.running--;
    }
  }

  /**
   * Runs the start function an instrumented module defers from instantiation (see
   * START_EXPORT), metered: a limit stays a limit; any other failure means, as without
   * metering, that the module cannot be instantiated.
   */
  #start(m: Loaded, live: Live): void {
    try {
      live.meter?.start(live.instance);
    } catch (e) {
      if (e instanceof WasmLimitError) throw e;
      throw new WasmModuleError(
        `module "${m.info.name}" cannot be instantiated: its start function failed: ${printable((e as Error)?.message ?? String(e), 300)}`,
      );
    }
  }

  #ensureLive(m: Loaded, fuel?: number, deadline?: number, timeoutMs?: number): Live {
    if (m.live) return m.live;
    const fresh = this.#instantiate(m, undefined, () => m.deadline);
    try {
      fresh.meter?.begin(fuel, deadline, timeoutMs);
      this.#start(m, fresh);
      fresh.wasi.initialize(fresh.instance);
    } catch (e) {
      this.#drop(m, fresh);
      const what = `${m.info.name}._initialize`;
      throw this.#noteLimit(m, what, this.#classify(e, what));
    } finally {
      fresh.meter?.end();
    }
    m.live = fresh;
    return fresh;
  }

  /**
   * Instantiates a module now (running its `_initialize`) instead of on the first
   * call; with worker isolation, starts its worker.
   */
  async instantiate(name: string): Promise<void> {
    this.#alive();
    const m = this.#get(name);
    if (this.#useWorker(m)) this.#worker(m);
    else {
      const { timeoutMs, fuel } = this.#limits(m);
      const deadline = timeoutMs !== undefined ? performance.now() + timeoutMs : undefined;
      m.deadline = deadline;
      try {
        this.#ensureLive(m, fuel, deadline, timeoutMs);
      } finally {
        m.deadline = undefined;
      }
    }
  }

  #noteLimit(m: Loaded, what: string, e: unknown): unknown {
    if (e instanceof WasmLimitError) {
      this.#error = e.message;
      this.#record({
        kind: "wasm.limit",
        module: m.info.name,
        call: what,
        limit: e.limit,
        message: e.message,
      });
    }
    return e;
  }

  /**
   * Runs a command module's `_start` in a fresh instance and resolves to its exit code
   * (and the fuel used). `wasi` overrides the module's WASI options for this run. A
   * reactor (no `_start`) is a {@link WasmModuleError} that lists the functions to
   * {@link WasmHost.call} instead.
   */
  async run(
    name: string,
    opts?: { timeoutMs?: number; fuel?: number; wasi?: Partial<ModuleWasi> },
  ): Promise<RunResult> {
    this.#alive();
    const m = this.#get(name);
    const { timeoutMs, fuel } = this.#limits(m, opts);
    const what = `${name}._start`;
    if (!m.info.exports.some((e) => e.name === "_start" && e.kind === "function")) {
      throw new WasmModuleError(reactorMessage(`module "${name}"`, m.info));
    }
    this.#running++;
    m.running++;
    try {
      if (this.#useWorker(m)) {
        const usage = m.usage;
        const w = new WorkerInstance({
          bytes: m.prepared,
          metered: m.info.metered,
          memoryLimit: m.info.memoryLimit,
          wasi: { ...(m.opts.wasi ?? {}), ...(opts?.wasi ?? {}) },
          subject: this.#subject(name, m.opts),
          policy: this.policy.toDocument(),
          quarantined: this.policy.quarantinedSubjects(),
          onAudit: (e) => this.audit.append(e),
          onQuarantine: (s, reason) => this.policy.quarantine(s, reason),
          evaluate: (req) => this.#evaluateForWorker(req),
          onMemory: (bytes) => {
            usage.bytes = bytes;
          },
          log: this.#opts.log,
        });
        try {
          return await w.run(timeoutMs, fuel);
        } catch (e) {
          throw this.#noteLimit(m, what, e);
        } finally {
          await w.terminate();
        }
      }
      if (!m.live && !m.info.metered && (timeoutMs !== undefined || fuel !== undefined)) {
        throw new WasmModuleError(
          `module "${name}" was loaded without metering; pass timeoutMs/fuel at load time (or use isolation "worker")`,
        );
      }
      let deadline: number | undefined;
      const live = this.#instantiate(m, opts?.wasi, () => deadline);
      deadline = timeoutMs !== undefined ? performance.now() + timeoutMs : undefined;
      live.meter?.begin(fuel, deadline, timeoutMs);
      let fuelUsed = 0;
      try {
        this.#start(m, live);
        const exitCode = live.wasi.start(live.instance);
        fuelUsed = live.meter?.end() ?? 0;
        this.#record({ kind: "wasm.exit", module: name, exitCode, fuelUsed });
        this.#error = undefined;
        return { exitCode, fuelUsed };
      } catch (e) {
        live.meter?.end();
        throw this.#noteLimit(m, what, this.#classify(e, what));
      } finally {
        this.#drop(m, live);
      }
    } finally {
      this.#running--;
      m.running--;
    }
  }

  /** Unloads everything and refuses further use. */
  async terminate(): Promise<void> {
    for (const name of [...this.#modules.keys()]) this.unloadModule(name);
    this.#terminated = true;
    this.#record({ kind: "wasm.host.terminate" });
  }
}

/** A module error from a step that does not know the module, prefixed with `who`. */
function naming(e: unknown, who: string): unknown {
  if (!(e instanceof WasmModuleError)) return e;
  return new WasmModuleError(`${who}: ${e.message}`, {
    section: e.section,
    offset: e.offset,
    cause: e.cause,
  });
}

/**
 * Why a module without `_start` cannot be run, and what to do instead; `who` names it
 * (e.g. `module "app"`).
 */
function reactorMessage(who: string, shape: Pick<ModuleShape, "exports">): string {
  const fns = shape.exports
    .filter((e) => e.kind === "function" && e.name !== "_initialize")
    .map((e) => quoted(e.name));
  const list =
    fns.length === 0
      ? "it exports no functions"
      : `its functions: ${fns.slice(0, 8).join(", ")}${fns.length > 8 ? ` and ${fns.length - 8} more` : ""}`;
  return `${who} has no _start export, so it cannot be run: it is a reactor (a library module whose exports are called one by one; ${list}); call an export with WasmHost.call(name, export, args)`;
}

/** For tests: forget every compiled module. */
export function clearCompileCache(): void {
  compileCache.clear();
}
