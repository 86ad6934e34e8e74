import net from "node:net";
import { openLibc } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { nativeSocketOps, Policy, WasiHost } from "./wasm.ts";

/** A listening TCP socket on 127.0.0.1 made with libc (so that libuv does not accept on it). */
function listener(): { fd: number; port: number } {
  const libc = openLibc();
  const fd = libc.syscall("socket", 2 /* AF_INET */, 1 | 0o2000000 /* SOCK_STREAM|CLOEXEC */, 0);
  const addr = new Uint8Array(16);
  const v = new DataView(addr.buffer);
  v.setUint16(0, 2, true);
  addr.set([127, 0, 0, 1], 4);
  libc.syscall("bind", fd, addr, 16);
  libc.syscall("listen", fd, 4);
  const len = new Uint32Array([16]);
  libc.syscall("getsockname", fd, addr, new Uint8Array(len.buffer));
  return { fd, port: v.getUint16(2, false) };
}

describe("WASI sockets with native socket operations", () => {
  it("accepts, exchanges data and shuts down through the policy", async () => {
    const libc = openLibc();
    const { fd, port } = listener();
    const client = net.connect(port, "127.0.0.1");
    await new Promise<void>((r) => client.once("connect", () => r()));
    const memory = new WebAssembly.Memory({ initial: 1 });
    const events: string[] = [];
    const wasi = new WasiHost({
      subject: "wasm:net",
      listeners: [fd],
      socketOps: nativeSocketOps(),
      audit: (e) => events.push(`${(e as { call?: string }).call ?? ""}`),
      policy: new Policy({
        version: 1,
        identities: [
          {
            id: "wasm:net",
            trustLevel: "Standard",
            capabilities: { syscalls: ["sock_*", "fd_*"], resources: ["**"], apis: [] },
          },
        ],
      }),
    });
    try {
      wasi.setMemory(memory);
      const w = wasi.imports().wasi_snapshot_preview1;
      const dv = new DataView(memory.buffer);
      expect(w.sock_accept!(3, 0, 0)).toBe(0);
      const conn = dv.getUint32(0, true);
      expect(conn).toBeGreaterThan(3);
      // send "ping" from the module
      new Uint8Array(memory.buffer).set(Buffer.from("ping"), 100);
      dv.setUint32(16, 100, true);
      dv.setUint32(20, 4, true);
      const got = new Promise<string>((r) => client.once("data", (d) => r(d.toString())));
      expect(w.sock_send!(conn, 16, 1, 0, 32)).toBe(0);
      expect(await got).toBe("ping");
      // receive "pong" in the module
      client.write("pong");
      await new Promise((r) => setTimeout(r, 50));
      dv.setUint32(16, 200, true);
      dv.setUint32(20, 16, true);
      expect(w.sock_recv!(conn, 16, 1, 0, 40, 44)).toBe(0);
      expect(dv.getUint32(40, true)).toBe(4);
      expect(Buffer.from(memory.buffer, 200, 4).toString()).toBe("pong");
      // shut down writing: the client sees the end of the stream
      const ended = new Promise<void>((r) => client.once("end", () => r()));
      client.resume();
      expect(w.sock_shutdown!(conn, 2)).toBe(0);
      await ended;
      // a listener is not a connected socket: it cannot be read
      expect(w.sock_recv!(3, 16, 1, 0, 40, 44)).not.toBe(0);
    } finally {
      wasi.close();
      client.destroy();
      libc.close(fd);
    }
    expect(events.some((e) => e.includes("sock_accept"))).toBe(true);
  });

  it("answers ENOTSUP to sock_accept without native operations", () => {
    const { fd } = listener();
    const wasi = new WasiHost({ listeners: [fd] });
    try {
      wasi.setMemory(new WebAssembly.Memory({ initial: 1 }));
      expect(wasi.imports().wasi_snapshot_preview1.sock_accept!(3, 0, 0)).toBe(58); // ENOTSUP
    } finally {
      wasi.close();
      openLibc().close(fd);
    }
  });
});
