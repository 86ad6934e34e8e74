import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { AuditEvent, Decision, PolicyDocument, PolicyRequest } from "@forge/policy";
import { WasiExit, WasmLimitError, WasmModuleError } from "./errors.ts";
import type { WasiOptions } from "./wasi.ts";

/**
 * The host policy's answer to a request a worker's copy did not allow: the decision,
 * and the subject's quarantine reason when it is (now) quarantined.
 *
 * @example
 * ```ts
 * import type { WorkerDecision } from "@forge/wasm-host";
 * const d: WorkerDecision = { decision: { effect: "deny", errno: "EACCES", rule: "default", reason: "no grant" } };
 * ```
 */
export interface WorkerDecision {
  readonly decision: Decision;
  readonly quarantined?: string;
}

/**
 * What a worker needs to host one module instance.
 *
 * @example
 * ```ts
 * import type { WorkerInit } from "@forge/wasm-host";
 * const init: Partial<WorkerInit> = { subject: "wasm:app", metered: false };
 * ```
 */
export interface WorkerInit {
  readonly bytes: Uint8Array;
  readonly metered: boolean;
  readonly memoryLimit: number;
  readonly wasi: Omit<WasiOptions, "policy" | "audit" | "subject" | "deadline" | "log">;
  readonly subject: string;
  readonly policy: PolicyDocument;
  /** Subjects quarantined when the worker starts. */
  readonly quarantined?: ReadonlyArray<{ readonly subject: string; readonly reason: string }>;
  readonly onAudit: (e: AuditEvent) => void;
  readonly onQuarantine: (subject: string, reason: string) => void;
  /**
   * The host's policy. The worker's copy answers what it allows itself and asks this,
   * synchronously, about everything else, so that the host's policy counts the
   * denials (toward `quarantineAfter`), quarantines and audits the decisions, across
   * worker restarts and policy updates. Without it the copy decides alone.
   */
  readonly evaluate?: (req: PolicyRequest) => WorkerDecision;
  /** The module's memory size in bytes, reported after each call and run. */
  readonly onMemory?: (bytes: number) => void;
  readonly log?: (line: string) => void;
  /** How long the worker may take to start (default 30 s); its calls fail after that. */
  readonly startTimeoutMs?: number;
}

/** Where the compiled worker entry lives (dist/_worker.js, also when running from sources). */
export function workerEntry(): URL {
  const here = new URL(import.meta.url);
  const url = here.pathname.endsWith(".ts")
    ? new URL("../dist/_worker.js", here)
    : new URL("./_worker.js", here);
  if (!fs.existsSync(fileURLToPath(url))) {
    throw new WasmModuleError(
      `the worker entry ${fileURLToPath(url)} is missing; build the package first (npx tsc -b packages/wasm-host)`,
    );
  }
  return url;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer?: NodeJS.Timeout;
  /** Armed when the worker is ready: its start-up is not the call's time. */
  timeout?: () => void;
}

/** How long a worker may take to start (load its code, compile the module). */
const START_MS = 30_000;

function revive(e: {
  name: string;
  message: string;
  limit?: WasmLimitError["limit"];
  code?: number;
}): Error {
  if (e.name === "WasmLimitError") return new WasmLimitError(e.limit ?? "trap", e.message);
  if (e.name === "WasiExit") return new WasiExit(e.code ?? 1);
  if (e.name === "WasmModuleError") return new WasmModuleError(e.message);
  if (e.name === "TypeError") return new TypeError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * One module instance inside a worker thread: hard isolation for timeouts (the worker
 * is terminated, which stops any code, metered or not). Audit events and quarantines
 * are forwarded to the parent's log and policy.
 *
 * @example
 * ```ts
 * import { WorkerInstance } from "@forge/wasm-host";
 * // normally created by WasmHost with isolation: "worker"
 * ```
 */
export class WorkerInstance {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #dead = false;
  #ready = false;
  #startTimer: NodeJS.Timeout | undefined;
  #drained: (() => void) | undefined;
  #answers: MessagePort | undefined;

  constructor(init: WorkerInit) {
    // The worker blocks on `asked` (Atomics.wait) until the answer is on its port.
    let sync: { asked: Int32Array; port: MessagePort } | undefined;
    let asked: Int32Array | undefined;
    if (init.evaluate) {
      const { port1, port2 } = new MessageChannel();
      asked = new Int32Array(new SharedArrayBuffer(4));
      this.#answers = port1;
      port1.unref();
      sync = { asked, port: port2 };
    }
    this.#worker = new Worker(workerEntry(), {
      workerData: {
        bytes: init.bytes,
        metered: init.metered,
        memoryLimit: init.memoryLimit,
        wasi: init.wasi,
        subject: init.subject,
        policy: init.policy,
        quarantined: init.quarantined ?? [],
        sync,
      },
      transferList: sync ? [sync.port] : [],
      execArgv: [],
    });
    const log = init.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.#worker.on("message", (m: any) => {
      if (m.type === "ready") this.#onReady();
      else if (m.type === "audit") init.onAudit(m.event);
      else if (m.type === "evaluate") {
        let answer: WorkerDecision | { error: string };
        try {
          answer = init.evaluate!(m.req);
        } catch (e) {
          answer = { error: String((e as Error)?.message ?? e) };
        }
        this.#answers?.postMessage({ id: m.id, ...answer });
        Atomics.store(asked!, 0, 1);
        Atomics.notify(asked!, 0);
      } else if (m.type === "quarantine") init.onQuarantine(m.subject, m.reason);
      else if (m.type === "log") log(m.line);
      else if (m.type === "result" || m.type === "error") {
        if (typeof m.memory === "number") init.onMemory?.(m.memory);
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#settle(m.id);
        if (m.type === "result") p.resolve(m.value);
        else p.reject(revive(m.error));
      }
    });
    const fail = (e: Error) => {
      this.#dead = true;
      this.#answers?.close();
      clearTimeout(this.#startTimer);
      this.#worker.unref();
      for (const [id, p] of this.#pending) {
        this.#settle(id);
        p.reject(e);
      }
    };
    // A worker that never starts fails its calls (their own timeouts start when it is ready).
    const startMs = init.startTimeoutMs ?? START_MS;
    this.#startTimer = setTimeout(() => {
      fail(new WasmLimitError("time", `the worker did not start within ${startMs} ms`));
      void this.terminate();
    }, startMs);
    this.#startTimer.unref();
    this.#worker.on("error", (e) => fail(e instanceof Error ? e : new Error(String(e))));
    this.#worker.on("exit", (code) => fail(new Error(`the worker exited (code ${code})`)));
    this.#worker.unref();
  }

  /** Whether the worker has ended (terminated or crashed). */
  get dead(): boolean {
    return this.#dead;
  }

  /** The worker has started: the calls' timeouts run from now. */
  #onReady(): void {
    this.#ready = true;
    clearTimeout(this.#startTimer);
    for (const p of this.#pending.values()) p.timeout?.();
  }

  #settle(id: number): void {
    const p = this.#pending.get(id);
    if (p?.timer) clearTimeout(p.timer);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#drained?.();
  }

  #send(msg: Record<string, unknown>, timeoutMs: number | undefined, what: string): Promise<any> {
    if (this.#dead) return Promise.reject(new Error("the worker has ended"));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (timeoutMs !== undefined) {
        p.timeout = () => {
          p.timeout = undefined;
          p.timer = setTimeout(() => {
            this.#settle(id);
            reject(
              new WasmLimitError(
                "time",
                `${what} exceeded its timeout of ${timeoutMs} ms; its worker was terminated`,
              ),
            );
            void this.terminate();
          }, timeoutMs);
        };
        if (this.#ready) p.timeout();
      }
      this.#pending.set(id, p);
      this.#worker.ref();
      this.#worker.postMessage({ ...msg, id, timeoutMs });
    }).finally(() => {
      if (this.#pending.size === 0 && !this.#dead) this.#worker.unref();
    });
  }

  /** Replaces the worker's copy of the policy (identities, rules, quarantines). */
  updatePolicy(
    doc: PolicyDocument,
    quarantined: ReadonlyArray<{ subject: string; reason: string }>,
  ): void {
    if (!this.#dead) this.#worker.postMessage({ type: "policy", policy: doc, quarantined });
  }

  /** Calls an export in the worker. */
  call(
    fn: string,
    args: Array<number | bigint>,
    timeoutMs?: number,
    fuel?: number,
  ): Promise<unknown> {
    return this.#send({ type: "call", fn, args, fuel }, timeoutMs, `call ${fn}`);
  }

  /** Runs `_start` in the worker; resolves to the exit code and fuel used. */
  run(timeoutMs?: number, fuel?: number): Promise<{ exitCode: number; fuelUsed: number }> {
    return this.#send({ type: "run", fuel }, timeoutMs, "_start");
  }

  /** Terminates once the calls in flight have finished (hot reload). */
  async retire(): Promise<void> {
    if (this.#pending.size > 0) await new Promise<void>((r) => (this.#drained = r));
    await this.terminate();
  }

  /** Terminates the worker now. */
  async terminate(): Promise<void> {
    // Also after a failure (a start that took too long): the thread must end either way.
    // Terminating a worker that has already exited does nothing.
    this.#dead = true;
    this.#answers?.close();
    await this.#worker.terminate();
  }
}
