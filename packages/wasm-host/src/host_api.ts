import os from "node:os";
import type { AuditEvent } from "@forge/policy";
import { HOST_ERROR as H } from "./wasi_errno.ts";

/**
 * What the Forge host interface needs from the bridge it is part of.
 *
 * @example
 * ```ts
 * import type { HostApiContext } from "@forge/wasm-host";
 * const ctx: Partial<HostApiContext> = { subject: "wasm:app" };
 * ```
 */
export interface HostApiContext {
  readonly subject: string;
  /** The module's memory as bytes (fresh after growth). */
  memory(): Uint8Array;
  /** Asks the policy about `host:<api>`; false means denied (already audited). */
  authorize(api: string, resource: string): boolean;
  record(e: AuditEvent): void;
  log(line: string): void;
  sleep(ms: number): void;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The small host interface for tools beyond WASI, imported from module "forge":
 *
 * - `log(level i32, ptr, len) -> i32` with level 0 debug, 1 info, 2 warn, 3 error, and
 *   `debug/info/warn/error(ptr, len) -> i32`: one line, prefixed `[WASM]`;
 * - `system_info(buf, buf_len, used_ptr) -> i32`: JSON `{platform, arch, cpus,
 *   totalMemory, uptime}` (EWASM_BUFFER with the size needed when too small);
 * - `time_now(clock i32, out_ptr) -> i32`: nanoseconds as u64 (0 realtime, 1 monotonic);
 * - `sleep(ms i32) -> i32`.
 *
 * Each is gated by the policy as action `host:<name>` and answers with the seeds'
 * error codes ({@link HOST_ERROR}).
 *
 * @example
 * ```ts
 * import { createHostApi } from "@forge/wasm-host";
 * const mem = new Uint8Array(16);
 * const api = createHostApi({ subject: "s", memory: () => mem, authorize: () => true, record: () => {}, log: console.log, sleep: () => {} });
 * mem.set(new TextEncoder().encode("hi"));
 * api.info(0, 2); // prints "[WASM] info s: hi"
 * ```
 */
export function createHostApi(ctx: HostApiContext): Record<string, (...a: number[]) => number> {
  const text = (ptr: number, len: number): string | number => {
    const m = ctx.memory();
    if (ptr < 0 || len < 0 || ptr + len > m.length) return H.EWASM_BOUNDS;
    try {
      return decoder.decode(m.subarray(ptr, ptr + len));
    } catch {
      return H.EWASM_UTF8;
    }
  };
  const log = (level: number, ptr: number, len: number): number => {
    const name = LEVELS[level];
    if (!name) return H.EWASM_INVALID;
    if (!ctx.authorize("log", name)) return H.EPERM;
    const msg = text(ptr, len);
    if (typeof msg === "number") return msg;
    const clean = msg.replace(/[\r\n]+/g, " ");
    ctx.log(`[WASM] ${name} ${ctx.subject}: ${clean}`);
    ctx.record({
      kind: "host.log",
      subject: ctx.subject,
      level: name,
      message: clean.slice(0, 1024),
    });
    return H.SUCCESS;
  };
  const guard = (f: () => number): number => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError) return H.EWASM_BOUNDS;
      if ((e as Error)?.name === "WasmLimitError") throw e;
      return H.EINTERNAL;
    }
  };
  return {
    log: (level, ptr, len) => guard(() => log(level, ptr, len)),
    debug: (ptr, len) => guard(() => log(0, ptr, len)),
    info: (ptr, len) => guard(() => log(1, ptr, len)),
    warn: (ptr, len) => guard(() => log(2, ptr, len)),
    error: (ptr, len) => guard(() => log(3, ptr, len)),
    system_info: (buf, bufLen, usedPtr) =>
      guard(() => {
        if (!ctx.authorize("system_info", "system")) return H.EPERM;
        const json = new TextEncoder().encode(
          JSON.stringify({
            platform: process.platform,
            arch: process.arch,
            cpus: os.availableParallelism(),
            totalMemory: os.totalmem(),
            uptime: Math.floor(os.uptime()),
          }),
        );
        const m = ctx.memory();
        if (usedPtr < 0 || usedPtr + 4 > m.length || buf < 0 || buf + bufLen > m.length)
          return H.EWASM_BOUNDS;
        new DataView(m.buffer, m.byteOffset).setUint32(usedPtr, json.length, true);
        if (json.length > bufLen) return H.EWASM_BUFFER;
        m.set(json, buf);
        return H.SUCCESS;
      }),
    time_now: (clock, out) =>
      guard(() => {
        if (!ctx.authorize("time_now", `clock:${clock}`)) return H.EPERM;
        let ns: bigint;
        if (clock === 0) ns = BigInt(Date.now()) * 1_000_000n;
        else if (clock === 1) ns = process.hrtime.bigint();
        else return H.EWASM_INVALID;
        const m = ctx.memory();
        if (out < 0 || out + 8 > m.length) return H.EWASM_BOUNDS;
        new DataView(m.buffer, m.byteOffset).setBigUint64(out, ns, true);
        return H.SUCCESS;
      }),
    sleep: (ms) =>
      guard(() => {
        if (!ctx.authorize("sleep", "time")) return H.EPERM;
        if (ms < 0) return H.EWASM_INVALID;
        ctx.sleep(ms);
        return H.SUCCESS;
      }),
  };
}
