// @forge/wasm-host from its tarball: load a module (add(i32, i32) -> i32) and call it.
import { AuditLog, WasmHost } from "@forge/wasm-host";

// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
const bytes = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01,
  0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09,
  0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
]);
const audit = new AuditLog();
const host = new WasmHost({ audit, timeoutMs: 5_000 });
const info = await host.loadModule("math", bytes);
const sum = await host.call("math", "add", [1, 2]);
await host.terminate();
if (sum !== 3) throw new Error(`add(1, 2) = ${String(sum)}`);
console.log(
  `ok @forge/wasm-host: add(1, 2) = ${String(sum)}, module ${info.hash.slice(0, 12)}, audit ${AuditLog.verify(audit.export()).ok ? "verified" : "BROKEN"}`,
);
