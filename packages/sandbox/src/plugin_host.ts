import { randomUUID } from "node:crypto";
import {
  AuditLog,
  type CapabilitySet,
  Policy,
  type QuarantineRecord,
  type TrustLevel,
} from "@forge/policy";
import { type ModuleWasi, WasmHost } from "@forge/wasm-host";
import { Ajv } from "ajv";
import { type NativeHandle, type NativeLauncher, namespaceLauncher } from "./plugin_native.ts";

export {
  type NativeHandle,
  type NativeLauncher,
  namespaceLauncher,
  pluginSandboxOptions,
} from "./plugin_native.ts";

/**
 * A plugin's manifest: what it is, what runs (a WebAssembly module or a native command
 * run in the process sandbox), what it may do and how far it is trusted.
 *
 * @example
 * ```ts
 * import type { PluginManifest } from "@forge/sandbox";
 * const m: PluginManifest = {
 *   name: "greeter", version: "1.0.0", wasm: "greeter.wasm", trustLevel: "Standard",
 *   capabilities: { syscalls: ["fd_write"], resources: ["fd:1"], apis: ["log"] },
 * };
 * ```
 */
export interface PluginManifest {
  readonly name: string;
  readonly version: string;
  /** Path of the WebAssembly module (exclusive with `native`). */
  readonly wasm?: string;
  /** A native command (exclusive with `wasm`). */
  readonly native?: { readonly command: string; readonly args?: readonly string[] };
  /** syscalls: WASI functions; resources: "fd:N", guest paths, "args", "env", "clock:*", "random"; apis: host API names. */
  readonly capabilities: Partial<CapabilitySet>;
  readonly trustLevel: TrustLevel;
  /** WASI set-up for a WebAssembly plugin (preopens, env, args). */
  readonly wasi?: ModuleWasi;
  /** Policy denials before quarantine (default 1: the first violation quarantines). */
  readonly violationsBeforeQuarantine?: number;
}

/**
 * The lifecycle states: Loading → Loaded → Active ⇄ Paused → Stopped → Unloaded, or
 * Failed (with a reason; quarantined plugins end there).
 *
 * @example
 * ```ts
 * import type { PluginStatus } from "@forge/sandbox";
 * const s: PluginStatus = "Active";
 * ```
 */
export type PluginStatus =
  | "Loading"
  | "Loaded"
  | "Active"
  | "Paused"
  | "Stopped"
  | "Failed"
  | "Unloaded";

/**
 * A plugin as the host tracks it.
 *
 * @example
 * ```ts
 * import type { PluginInfo } from "@forge/sandbox";
 * declare const p: PluginInfo;
 * console.log(p.id, p.status, p.quarantined);
 * ```
 */
export interface PluginInfo {
  readonly id: string;
  readonly manifest: PluginManifest;
  readonly subject: string;
  readonly status: PluginStatus;
  readonly failure?: string;
  readonly quarantined: boolean;
  readonly capabilities: CapabilitySet;
  readonly exitCode?: number;
}

/**
 * A lifecycle step is not allowed in the plugin's current state, or the plugin is
 * unknown or quarantined.
 *
 * @example
 * ```ts
 * import { PluginStateError } from "@forge/sandbox";
 * const e = new PluginStateError("greeter is Paused; resume it first");
 * console.log(e.name);
 * ```
 */
export class PluginStateError extends Error {
  override name = "PluginStateError";
}

/**
 * A manifest is invalid; `pointer` is the JSON pointer of the first problem.
 *
 * @example
 * ```ts
 * import { PluginManifestError } from "@forge/sandbox";
 * const e = new PluginManifestError("/version is required", "/version");
 * console.log(e.pointer);
 * ```
 */
export class PluginManifestError extends Error {
  override name = "PluginManifestError";
  readonly pointer: string;
  constructor(message: string, pointer: string) {
    super(message);
    this.pointer = pointer;
  }
}

const PATTERNS = { type: "array", items: { type: "string", minLength: 1 } };
const HOST_FD = { type: "integer", minimum: 0 };
/** The manifest's `wasi`: the JSON-expressible part of {@link ModuleWasi}. */
const WASI_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    args: { type: "array", items: { type: "string" } },
    env: {
      type: "object",
      propertyNames: { pattern: "^[^=\\u0000]+$" },
      additionalProperties: { type: "string" },
    },
    preopens: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["host", "guest"],
        properties: {
          host: { type: "string", minLength: 1 },
          guest: { type: "string", minLength: 1 },
          readOnly: { type: "boolean" },
        },
      },
    },
    stdio: { type: "array", items: HOST_FD, minItems: 3, maxItems: 3 },
    sockets: { type: "array", items: HOST_FD },
    listeners: { type: "array", items: HOST_FD },
    auditMode: { enum: ["coalesce", "every-call"] },
    coalesceStdout: { type: "boolean" },
  },
};
const MANIFEST_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["name", "version", "capabilities", "trustLevel"],
  properties: {
    name: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]*$" },
    version: { type: "string", minLength: 1 },
    wasm: { type: "string", minLength: 1 },
    native: {
      type: "object",
      additionalProperties: false,
      required: ["command"],
      properties: {
        command: { type: "string", minLength: 1 },
        args: { type: "array", items: { type: "string" } },
      },
    },
    capabilities: {
      type: "object",
      additionalProperties: false,
      properties: {
        syscalls: PATTERNS,
        resources: PATTERNS,
        apis: PATTERNS,
        custom: { type: "object", additionalProperties: { type: "string" } },
      },
    },
    trustLevel: { enum: ["Core", "Trusted", "Standard", "Limited", "Quarantined"] },
    wasi: WASI_SCHEMA,
    violationsBeforeQuarantine: { type: "integer", minimum: 1 },
  },
  oneOf: [{ required: ["wasm"] }, { required: ["native"] }],
};
let validateManifest: ReturnType<Ajv["compile"]> | undefined;

/**
 * Validates a plugin manifest (a JSON string or value); throws a
 * {@link PluginManifestError} with the pointer of the first problem.
 *
 * @example
 * ```ts
 * import { parsePluginManifest } from "@forge/sandbox";
 * const m = parsePluginManifest({ name: "a", version: "1", wasm: "a.wasm", trustLevel: "Limited", capabilities: {} });
 * ```
 */
export function parsePluginManifest(input: string | unknown): PluginManifest {
  const doc = typeof input === "string" ? JSON.parse(input) : input;
  validateManifest ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(
    MANIFEST_SCHEMA,
  );
  if (!validateManifest(doc)) {
    const e = validateManifest.errors![0]!;
    let pointer = e.instancePath;
    let msg = e.message ?? "is invalid";
    if (e.keyword === "oneOf") msg = "needs exactly one of wasm or native";
    else if (e.keyword === "required") {
      pointer += `/${(e.params as { missingProperty: string }).missingProperty}`;
      msg = "is required";
    } else if (e.keyword === "additionalProperties") {
      pointer += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      const known = Object.keys(
        (e.parentSchema as { properties?: Record<string, unknown> })?.properties ?? {},
      );
      msg = `is not a known property; allowed: ${known.join(", ")}`;
    } else if (e.keyword === "enum") {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      msg = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
    } else if (e.keyword === "propertyNames" || e.keyword === "pattern") {
      const name =
        (e as { propertyName?: string }).propertyName ??
        (e.params as { propertyName?: string }).propertyName;
      if (name !== undefined)
        msg = `has the variable name ${JSON.stringify(name)}; a name must not be empty or hold "=" or NUL`;
    }
    throw new PluginManifestError(
      `plugin manifest: ${pointer || "(manifest)"} ${msg}`.replace(/[\r\n]+/g, " "),
      pointer,
    );
  }
  return doc as PluginManifest;
}

/**
 * WASI calls every plugin may make without listing them: start-up probing by the C
 * library and harmless introspection (they reveal nothing the plugin was not given).
 */
export const PLUGIN_BASELINE_CALLS = [
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "fd_fdstat_get",
  "args_sizes_get",
  "environ_sizes_get",
  "clock_res_get",
  "clock_time_get",
  "sched_yield",
  "proc_exit",
];

interface Plugin {
  readonly id: string;
  readonly manifest: PluginManifest;
  readonly subject: string;
  status: PluginStatus;
  failure?: string;
  quarantined: boolean;
  capabilities: CapabilitySet;
  native?: NativeHandle;
  exitCode?: number;
}

/**
 * Options of a {@link PluginHost}.
 *
 * @example
 * ```ts
 * import { PluginHost, type PluginHostOptions } from "@forge/sandbox";
 * const opts: PluginHostOptions = {};
 * const host = new PluginHost(opts);
 * ```
 */
export interface PluginHostOptions {
  readonly policy?: Policy;
  readonly audit?: AuditLog;
  /** Runs native plugins (default: {@link namespaceLauncher}). */
  readonly launcher?: NativeLauncher;
  /** Hosts WebAssembly plugins (default: a WasmHost on the same policy and audit log). */
  readonly wasmHost?: WasmHost;
  /** Grace period between SIGTERM and SIGKILL when stopping a native plugin (default 2000 ms). */
  readonly stopGraceMs?: number;
  /**
   * How long a WebAssembly plugin's call, `_initialize` or `_start` may run, in ms
   * (default {@link DEFAULT_PLUGIN_TIMEOUT_MS}, 30 s; `Infinity` for none). In-thread,
   * a module that never returns would freeze Node, timers included: with a timeout it is
   * metered and stopped with a WasmLimitError ("time"), and its next call gets a fresh
   * instance. A command plugin (`_start`) that runs longer must be given more.
   */
  readonly timeoutMs?: number;
}

/**
 * The default {@link PluginHostOptions.timeoutMs}: 30 s.
 *
 * @example
 * ```ts
 * import { DEFAULT_PLUGIN_TIMEOUT_MS, PluginHost } from "@forge/sandbox";
 * const host = new PluginHost({ timeoutMs: DEFAULT_PLUGIN_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

function fullCaps(c: Partial<CapabilitySet>): CapabilitySet {
  return {
    syscalls: c.syscalls ?? [],
    resources: c.resources ?? [],
    apis: c.apis ?? [],
    custom: c.custom ?? {},
  };
}

/**
 * Runs plugins described by manifests through the lifecycle load → start → pause →
 * (resume) → stop → unload. Each plugin is an identity `plugin:<name>` in the policy,
 * with its trust level and capabilities; WebAssembly plugins have every WASI and host
 * call checked against them, native plugins run in the process sandbox. Every step
 * and every capability change is audited; a plugin that violates its capabilities (a
 * denied call, an escape attempt, or a violation reported by a supervisor) is
 * quarantined: stopped, marked Failed, and its identity set to trust level Quarantined.
 *
 * @example
 * ```ts
 * import { PluginHost } from "@forge/sandbox";
 * const host = new PluginHost();
 * const id = await host.load({ name: "calc", version: "1.0.0", wasm: "calc.wasm", trustLevel: "Standard", capabilities: {} });
 * await host.start(id);
 * console.log(await host.call(id, "add", [1, 2])); // 3
 * await host.stop(id);
 * await host.unload(id);
 * ```
 */
export class PluginHost {
  readonly policy: Policy;
  readonly audit: AuditLog;
  readonly wasm: WasmHost;
  readonly #launcher: NativeLauncher;
  readonly #plugins = new Map<string, Plugin>();
  readonly #grace: number;
  readonly #unsubscribe: Array<() => void> = [];
  /** Per call and run of a WebAssembly plugin, in ms (Infinity: none). */
  readonly timeoutMs: number;

  constructor(opts: PluginHostOptions = {}) {
    const t = opts.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    if (typeof t !== "number" || !(t > 0)) {
      throw new RangeError(
        `PluginHost: timeoutMs must be a number of milliseconds above 0 (Infinity for none), got ${String(t)}`,
      );
    }
    this.timeoutMs = t;
    this.audit = opts.audit ?? opts.policy?.audit ?? new AuditLog({ keep: 10_000 });
    this.policy = opts.policy ?? new Policy({ version: 1 }, { audit: this.audit });
    this.wasm = opts.wasmHost ?? new WasmHost({ policy: this.policy, audit: this.audit });
    this.#launcher = opts.launcher ?? namespaceLauncher();
    this.#grace = opts.stopGraceMs ?? 2000;
    if (!this.policy.toDocument().rules?.some((r) => r.id === "plugin-baseline")) {
      this.policy.addRule(
        {
          id: "plugin-baseline",
          subjects: ["plugin:*"],
          actions: PLUGIN_BASELINE_CALLS,
          decision: "allow",
          description: "start-up probing and introspection every plugin may do",
        },
        "last",
      );
    }
    this.#unsubscribe.push(this.policy.onQuarantine((r) => this.#onQuarantine(r)));
    this.#unsubscribe.push(
      this.audit.subscribe((e) => {
        if (e.event.kind === "wasi.escape") {
          const p = this.#bySubject(String(e.event.subject));
          if (p) this.policy.quarantine(p.subject, `escape attempt: ${String(e.event.reason)}`);
        }
      }),
    );
  }

  #bySubject(subject: string): Plugin | undefined {
    for (const p of this.#plugins.values()) if (p.subject === subject) return p;
    return undefined;
  }

  #get(id: string): Plugin {
    const p = this.#plugins.get(id);
    if (!p) throw new PluginStateError(`no plugin with id ${id}`);
    return p;
  }

  #event(p: Plugin, kind: string, extra: Record<string, unknown> = {}): void {
    this.audit.append({
      kind: `plugin.${kind}`,
      plugin: p.manifest.name,
      id: p.id,
      version: p.manifest.version,
      subject: p.subject,
      status: p.status,
      ...extra,
    });
  }

  #expect(p: Plugin, step: string, ...states: PluginStatus[]): void {
    if (p.quarantined)
      throw new PluginStateError(
        `plugin ${p.manifest.name} is quarantined (${p.failure}); it cannot ${step}`,
      );
    if (!states.includes(p.status)) {
      throw new PluginStateError(
        `plugin ${p.manifest.name} is ${p.status}; ${step} needs it to be ${states.join(" or ")}`,
      );
    }
  }

  /** Information on a plugin. */
  info(id: string): PluginInfo {
    const p = this.#get(id);
    return {
      id: p.id,
      manifest: p.manifest,
      subject: p.subject,
      status: p.status,
      failure: p.failure,
      quarantined: p.quarantined,
      capabilities: p.capabilities,
      exitCode: p.exitCode,
    };
  }

  /** All plugins. */
  list(): PluginInfo[] {
    return [...this.#plugins.keys()].map((id) => this.info(id));
  }

  /** The WasmHost load options of a plugin's module. */
  #loadOptions(p: Plugin) {
    return {
      subject: p.subject,
      wasi: p.manifest.wasi,
      timeoutMs: Number.isFinite(this.timeoutMs) ? this.timeoutMs : undefined,
    };
  }

  /**
   * Validates the manifest, registers the identity, loads (and verifies) the module.
   * Returns the plugin id. When loading fails, the plugin is forgotten (the failure is
   * audited as "plugin.load.failed") and the identity is put back as it was, so the
   * name can be loaded again.
   */
  async load(manifestInput: PluginManifest | string): Promise<string> {
    const manifest = parsePluginManifest(manifestInput);
    const subject = `plugin:${manifest.name}`;
    if (this.#bySubject(subject))
      throw new PluginStateError(`a plugin named ${manifest.name} is loaded already`);
    const before = this.policy.identity(subject);
    const p: Plugin = {
      id: randomUUID(),
      manifest,
      subject,
      status: "Loading",
      quarantined: false,
      capabilities: fullCaps(manifest.capabilities),
    };
    this.#plugins.set(p.id, p);
    this.#event(p, "load", {
      runtime: manifest.wasm ? "wasm" : "native",
      trustLevel: manifest.trustLevel,
      capabilities: p.capabilities,
    });
    this.policy.setIdentity({
      id: subject,
      trustLevel: manifest.trustLevel,
      capabilities: p.capabilities,
      quarantineAfter: manifest.violationsBeforeQuarantine ?? 1,
    });
    try {
      if (manifest.wasm) await this.wasm.loadModule(p.id, manifest.wasm, this.#loadOptions(p));
    } catch (e) {
      p.status = "Failed";
      p.failure = (e as Error).message;
      this.#event(p, "load.failed", { error: p.failure });
      this.#plugins.delete(p.id);
      if (before) this.policy.setIdentity(before);
      else this.policy.removeIdentity(subject);
      throw e;
    }
    p.status = "Loaded";
    this.#event(p, "loaded");
    return p.id;
  }

  /**
   * Starts a plugin: a WebAssembly plugin is instantiated (its `_initialize` runs) and
   * then serves {@link PluginHost.call}; a command module (`_start`) runs to completion
   * in the background; a native plugin is launched. Starting a Paused plugin resumes it.
   */
  async start(id: string): Promise<void> {
    const p = this.#get(id);
    if (p.status === "Paused") return this.resume(id);
    this.#expect(p, "start", "Loaded", "Stopped");
    const m = p.manifest;
    if (m.native) {
      p.native = this.#launcher.launch(m.native.command, m.native.args ?? [], p.capabilities);
      p.status = "Active";
      this.#event(p, "start", { pid: p.native.pid });
      const handle = p.native;
      void handle.wait().then(({ exitCode }) => {
        if (p.native !== handle) return;
        p.native = undefined;
        p.exitCode = exitCode;
        if (p.status === "Active" || p.status === "Paused") {
          p.status = exitCode === 0 ? "Stopped" : "Failed";
          if (exitCode !== 0) p.failure ??= `exited with code ${exitCode}`;
        }
        this.#event(p, "exit", { exitCode });
      });
      return;
    }
    const info = this.wasm.module(p.id)!;
    p.status = "Active";
    this.#event(p, "start");
    if (info.exports.some((e) => e.name === "_start")) {
      void this.wasm.run(p.id).then(
        ({ exitCode }) => {
          p.exitCode = exitCode;
          if (p.status === "Active") p.status = "Stopped";
          this.#event(p, "exit", { exitCode });
        },
        (e: Error) => this.#fail(p, e.message),
      );
    } else {
      // A reactor: instantiate now (runs _initialize), then serve calls.
      try {
        await this.wasm.instantiate(p.id);
      } catch (e) {
        this.#fail(p, (e as Error).message);
        throw e;
      }
    }
  }

  #fail(p: Plugin, reason: string): void {
    if (p.status === "Unloaded") return;
    p.status = "Failed";
    p.failure ??= reason;
    this.#event(p, "failed", { error: reason });
  }

  /** Calls an export of an Active WebAssembly plugin. */
  async call(id: string, fn: string, args: ReadonlyArray<number | bigint> = []): Promise<unknown> {
    const p = this.#get(id);
    this.#expect(p, `call ${fn}`, "Active");
    if (!p.manifest.wasm)
      throw new PluginStateError(`plugin ${p.manifest.name} is native; it has no exports to call`);
    try {
      return await this.wasm.call(p.id, fn, args);
    } finally {
      if (p.quarantined) this.#event(p, "call.after-quarantine", { fn });
    }
  }

  /** Pauses an Active plugin: calls are refused; a native process is stopped (SIGSTOP). */
  async pause(id: string): Promise<void> {
    const p = this.#get(id);
    this.#expect(p, "pause", "Active");
    p.native?.kill("SIGSTOP");
    p.status = "Paused";
    this.#event(p, "pause");
  }

  /** Resumes a Paused plugin (SIGCONT for a native process). */
  async resume(id: string): Promise<void> {
    const p = this.#get(id);
    this.#expect(p, "resume", "Paused");
    p.native?.kill("SIGCONT");
    p.status = "Active";
    this.#event(p, "resume");
  }

  async #stopNative(p: Plugin): Promise<void> {
    const h = p.native;
    if (!h) return;
    p.native = undefined;
    h.kill("SIGCONT");
    h.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        h.kill("SIGKILL");
        r();
      }, this.#grace);
    });
    const done = h.wait();
    await Promise.race([done, killed]);
    const { exitCode } = await done;
    clearTimeout(timer);
    p.exitCode = exitCode;
  }

  /** Stops a plugin: a native process gets SIGTERM (SIGKILL after the grace period); a module's instance is dropped. */
  async stop(id: string): Promise<void> {
    const p = this.#get(id);
    this.#expect(p, "stop", "Active", "Paused", "Loaded");
    await this.#stopNative(p);
    if (p.manifest.wasm) await this.#reloadFresh(p);
    p.status = "Stopped";
    this.#event(p, "stop", { exitCode: p.exitCode });
  }

  async #reloadFresh(p: Plugin): Promise<void> {
    // Drop the instance (and its state) but keep the verified module for a restart.
    if (this.wasm.module(p.id)) {
      this.wasm.unloadModule(p.id);
      await this.wasm.loadModule(p.id, p.manifest.wasm!, this.#loadOptions(p));
    }
  }

  /** Unloads a plugin (stopping it first) and removes its identity. */
  async unload(id: string): Promise<void> {
    const p = this.#get(id);
    if (p.status === "Unloaded") return;
    await this.#stopNative(p);
    this.wasm.unloadModule(p.id);
    p.status = "Unloaded";
    this.#event(p, "unload");
    if (!p.quarantined) this.policy.removeIdentity(p.subject);
    this.#plugins.delete(id);
  }

  /** Replaces a plugin's capabilities (audited with before and after). */
  setCapabilities(id: string, caps: Partial<CapabilitySet>): void {
    const p = this.#get(id);
    if (p.quarantined)
      throw new PluginStateError(
        `plugin ${p.manifest.name} is quarantined; its capabilities cannot change`,
      );
    const before = p.capabilities;
    p.capabilities = fullCaps(caps);
    this.policy.setIdentity({
      id: p.subject,
      trustLevel: p.manifest.trustLevel,
      capabilities: p.capabilities,
      quarantineAfter: p.manifest.violationsBeforeQuarantine ?? 1,
    });
    this.#event(p, "capabilities", { before, after: p.capabilities });
  }

  /** For supervisors (seccomp notifier, Landlock denials): reports a violation, which quarantines the plugin. */
  reportViolation(id: string, detail: string): void {
    const p = this.#get(id);
    this.#event(p, "violation", { detail });
    this.policy.quarantine(p.subject, detail);
  }

  #onQuarantine(r: QuarantineRecord): void {
    const p = this.#bySubject(r.subject);
    if (!p || p.quarantined) return;
    p.quarantined = true;
    p.failure = `quarantined: ${r.reason}`;
    p.status = "Failed";
    this.policy.setIdentity({
      id: p.subject,
      trustLevel: "Quarantined",
      capabilities: p.capabilities,
    });
    this.#event(p, "quarantine", { reason: r.reason });
    void this.#stopNative(p);
  }

  /** Unloads every plugin. */
  async close(): Promise<void> {
    for (const id of [...this.#plugins.keys()]) await this.unload(id);
    for (const u of this.#unsubscribe.splice(0)) u();
  }
}
