// Test helper: small valid WebAssembly modules built by hand as bytes, covering the
// sections and instructions Forge reads or rewrites (imports, memories, globals with
// ref.func, every element segment form, data count, start, tags, bulk memory, SIMD,
// atomics, tail calls, multi-value). The fuzz targets mutate them; tests assert they
// validate, so a mistake here shows at once.
import { Writer } from "./_binary.ts";

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A section: id, size, payload. */
export function section(id: number, body: Writer | ArrayLike<number>): number[] {
  const b = body instanceof Writer ? body.finish() : Array.from(body);
  return [...new Writer().byte(id).u32(b.length).finish(), ...b];
}

/** A module from its sections. */
export function moduleOf(...sections: number[][]): Uint8Array {
  return Uint8Array.from([...MAGIC, ...sections.flat()]);
}

/** One function body: local groups `[count, type]` then the code (ending in 0x0b). */
export function body(locals: ReadonlyArray<readonly [number, number]>, code: readonly number[]) {
  const w = new Writer().u32(locals.length);
  for (const [n, t] of locals) w.u32(n).byte(t);
  const b = w.bytes(code).finish();
  return [...new Writer().u32(b.length).finish(), ...b];
}

function codeSection(bodies: number[][]): number[] {
  return section(10, new Writer().u32(bodies.length).bytes(bodies.flat()));
}

/**
 * A small module: imports sched_yield, declares memory (min 1, no max), exports
 * grow(n) -> memory.grow, count(n) -> loops n times, twice(n) -> count(n) + count(n)
 * through a call, and a table with an element pointing at count.
 */
export function sample(opts: { max?: number; min?: number } = {}): Uint8Array {
  const mem = new Writer()
    .u32(1)
    .byte(opts.max === undefined ? 0 : 1)
    .u32(opts.min ?? 1);
  if (opts.max !== undefined) mem.u32(opts.max);
  return moduleOf(
    section(1, new Writer().u32(2).bytes([0x60, 1, 0x7f, 1, 0x7f]).bytes([0x60, 0, 1, 0x7f])),
    section(
      2,
      new Writer().u32(1).name("wasi_snapshot_preview1").name("sched_yield").byte(0).u32(1),
    ),
    section(3, new Writer().u32(3).u32(0).u32(0).u32(0)),
    section(4, new Writer().u32(1).byte(0x70).byte(0).u32(1)),
    section(5, mem),
    section(
      7,
      new Writer()
        .u32(4)
        .name("grow")
        .byte(0)
        .u32(1)
        .name("count")
        .byte(0)
        .u32(2)
        .name("twice")
        .byte(0)
        .u32(3)
        .name("memory")
        .byte(2)
        .u32(0),
    ),
    section(9, new Writer().u32(1).u32(0).bytes([0x41, 0, 0x0b]).u32(1).u32(2)),
    codeSection([
      // grow: local.get 0; memory.grow 0
      body([], [0x20, 0, 0x40, 0, 0x0b]),
      // count: block loop l1++ ; br_if (l1 < l0) end end ; l1
      body(
        [[1, 0x7f]],
        [
          0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x41, 1, 0x6a, 0x21, 1, 0x20, 1, 0x20, 0, 0x49, 0x0d, 0,
          0x0b, 0x0b, 0x20, 1, 0x0b,
        ],
      ),
      // twice: call sched_yield; drop; count(n) + count(n) (count is function index 2)
      body([], [0x10, 0, 0x1a, 0x20, 0, 0x10, 2, 0x20, 0, 0x10, 2, 0x6a, 0x0b]),
    ]),
  );
}

/**
 * A command module that touches most of the binary format: an imported memory with a
 * maximum, an imported function and global, a start function, globals initialised with
 * ref.func and global.get, active/passive/declarative element segments in both the
 * index and the expression form, a data count with active and passive data, and code
 * with block types, br_table, call_indirect, return_call, select with a type, bulk
 * memory and table instructions, multi-value, i64/f32/f64 constants and SIMD.
 */
export function kitchenSink(): Uint8Array {
  // types: 0 () -> (), 1 (i32) -> (i32), 2 (i32, i32) -> (i32, i32), 3 (i32) -> ()
  const types = new Writer()
    .u32(4)
    .bytes([0x60, 0, 0])
    .bytes([0x60, 1, 0x7f, 1, 0x7f])
    .bytes([0x60, 2, 0x7f, 0x7f, 2, 0x7f, 0x7f])
    .bytes([0x60, 1, 0x7f, 0]);
  const imports = new Writer()
    .u32(3)
    .name("env")
    .name("memory")
    .byte(2)
    .byte(1)
    .u32(1)
    .u32(2)
    .name("wasi_snapshot_preview1")
    .name("proc_exit")
    .byte(0)
    .u32(3)
    .name("forge")
    .name("base")
    .byte(3)
    .byte(0x7f)
    .byte(0);
  // functions (after 1 import): 1 init, 2 id, 3 swap, 4 _start, 5 tail, 6 simd
  const funcs = new Writer().u32(6).u32(0).u32(1).u32(2).u32(0).u32(1).u32(1);
  const table = new Writer().u32(1).byte(0x70).byte(0).u32(4);
  // globals (after 1 imported): 1 counter (mut i32 = global.get 0), 2 fref = ref.func 2, 3 i64
  const globals = new Writer()
    .u32(3)
    .bytes([0x7f, 1, 0x23, 0, 0x0b])
    .bytes([0x70, 0, 0xd2, 2, 0x0b])
    .bytes([0x7e, 0, 0x42, 0x80, 0x80, 0x04, 0x0b]);
  const exports = new Writer()
    .u32(3)
    .name("_start")
    .byte(0)
    .u32(4)
    .name("id")
    .byte(0)
    .u32(2)
    .name("table")
    .byte(1)
    .u32(0);
  const start = new Writer().u32(1);
  const elems = new Writer()
    .u32(5)
    // 0: active, table 0, offset 0, [id]
    .u32(0)
    .bytes([0x41, 0, 0x0b])
    .u32(1)
    .u32(2)
    // 1: passive, elemkind funcref, [swap]
    .u32(1)
    .byte(0)
    .u32(1)
    .u32(3)
    // 3: declarative, [tail]
    .u32(3)
    .byte(0)
    .u32(1)
    .u32(5)
    // 4: active, expressions, offset 1, [ref.func simd]
    .u32(4)
    .bytes([0x41, 1, 0x0b])
    .u32(1)
    .bytes([0xd2, 6, 0x0b])
    // 6: active, table 0, offset 2, funcref expressions [ref.null func, ref.func id]
    .u32(6)
    .u32(0)
    .bytes([0x41, 2, 0x0b])
    .byte(0x70)
    .u32(2)
    .bytes([0xd0, 0x70, 0x0b])
    .bytes([0xd2, 2, 0x0b]);
  const dataCount = new Writer().u32(2);
  const data = new Writer()
    .u32(2)
    .u32(0)
    .bytes([0x41, 16, 0x0b])
    .u32(2)
    .bytes([0x68, 0x69])
    .u32(1)
    .u32(3)
    .bytes([0x78, 0x79, 0x7a]);
  const code = codeSection([
    // init: counter += 1
    body([], [0x23, 1, 0x41, 1, 0x6a, 0x24, 1, 0x0b]),
    // id: if (l0) l0 else 0 end with a typed block, select t, a br_table
    body(
      [],
      [
        0x02, 0x7f, 0x20, 0, 0x04, 0x7f, 0x20, 0, 0x05, 0x41, 0, 0x0b, 0x20, 0, 0x41, 1, 0x1c, 1,
        0x7f, 0x0b, 0x02, 0x40, 0x20, 0, 0x0e, 2, 0, 0, 0, 0x0b, 0x0b,
      ],
    ),
    // swap: a multi-value block with a type index that takes and returns (i32, i32)
    body([], [0x20, 1, 0x20, 0, 0x02, 2, 0x0b, 0x0b]),
    // _start: bulk memory and table ops, constants, then return
    body(
      [[1, 0x7e]],
      [
        0x41, 0, 0x41, 0, 0x41, 3, 0xfc, 8, 1, 0, 0xfc, 9, 1, 0x41, 32, 0x41, 16, 0x41, 2, 0xfc, 10,
        0, 0, 0x41, 48, 0x41, 0, 0x41, 4, 0xfc, 11, 0, 0x41, 3, 0x41, 0, 0x41, 1, 0xfc, 12, 1, 0,
        0xfc, 13, 1, 0x42, 0xff, 0x00, 0x21, 0, 0x43, 0, 0, 0x80, 0x3f, 0x1a, 0x44, 0, 0, 0, 0, 0,
        0, 0xf0, 0x3f, 0x1a, 0x41, 5, 0x10, 5, 0x1a, 0x41, 0, 0x25, 0, 0x1a, 0xfc, 16, 0, 0x1a,
        0x41, 7, 0x10, 6, 0x1a, 0x41, 9, 0x41, 0, 0x11, 1, 0, 0x1a, 0x0b,
      ],
    ),
    // tail: return_call id
    body([], [0x20, 0, 0x12, 2, 0x0b]),
    // simd: v128.const, shuffle, extract lane, load/store lane
    body(
      [],
      [
        0xfd,
        12,
        ...Array.from({ length: 16 }, (_, i) => i),
        0xfd,
        12,
        ...Array.from({ length: 16 }, () => 1),
        0xfd,
        13,
        ...Array.from({ length: 16 }, (_, i) => 31 - i),
        0xfd,
        12,
        ...Array.from({ length: 16 }, () => 2),
        0xfd,
        0x6e,
        0xfd,
        27,
        0,
        0x20,
        0,
        0x6a,
        0x0b,
      ],
    ),
  ]);
  return moduleOf(
    section(1, types),
    section(2, imports),
    section(3, funcs),
    section(4, table),
    section(6, globals),
    section(7, exports),
    section(8, start),
    section(9, elems),
    section(12, dataCount),
    code,
    section(11, data),
    section(0, new Writer().name("producers").bytes([0])),
  );
}

/**
 * Threads and exceptions: a shared memory with atomics (rmw, load, wait/notify, fence)
 * and a tag with try/catch/catch_all/throw/rethrow/delegate (the legacy exception
 * instructions Node's engine accepts).
 */
export function threadsAndExceptions(): Uint8Array {
  // types: 0 () -> (), 1 (i32) -> (i32)
  const types = new Writer().u32(2).bytes([0x60, 0, 0]).bytes([0x60, 1, 0x7f, 1, 0x7f]);
  const code = codeSection([
    // bump: atomic add, fence, atomic load, notify
    body(
      [],
      [
        0x41, 0, 0x20, 0, 0xfe, 0x1e, 2, 0, 0xfe, 3, 0, 0x41, 0, 0xfe, 0x10, 2, 0, 0x6a, 0x41, 4,
        0x41, 1, 0xfe, 0x00, 2, 0, 0x6a, 0x0b,
      ],
    ),
    // catcher: try { try { throw 0 } delegate 0 } catch 0 {} ; try { nop } catch_all { } end
    body(
      [],
      [
        0x06, 0x40, 0x06, 0x40, 0x08, 0, 0x18, 0, 0x07, 0, 0x0b, 0x06, 0x40, 0x01, 0x19, 0x0b, 0x06,
        0x40, 0x01, 0x07, 0, 0x09, 0, 0x0b, 0x0b,
      ],
    ),
  ]);
  return moduleOf(
    section(1, types),
    section(3, new Writer().u32(2).u32(1).u32(0)),
    section(5, new Writer().u32(1).byte(3).u32(1).u32(1)),
    section(13, new Writer().u32(1).byte(0).u32(0)),
    section(
      7,
      new Writer()
        .u32(3)
        .name("bump")
        .byte(0)
        .u32(0)
        .name("catcher")
        .byte(0)
        .u32(1)
        .name("memory")
        .byte(2)
        .u32(0),
    ),
    code,
  );
}

/**
 * A command module Forge can run: imports env.memory (1 page, at most 2) and
 * proc_exit; a start function stores 7 at address 0; `_start` counts to the value at
 * address 0 in a loop, then exits with the count.
 */
export function command(): Uint8Array {
  // types: 0 () -> (), 1 (i32) -> ()
  const types = new Writer().u32(2).bytes([0x60, 0, 0]).bytes([0x60, 1, 0x7f, 0]);
  const imports = new Writer()
    .u32(2)
    .name("env")
    .name("memory")
    .byte(2)
    .byte(1)
    .u32(1)
    .u32(2)
    .name("wasi_snapshot_preview1")
    .name("proc_exit")
    .byte(0)
    .u32(1);
  return moduleOf(
    section(1, types),
    section(2, imports),
    section(3, new Writer().u32(2).u32(0).u32(0)),
    section(7, new Writer().u32(1).name("_start").byte(0).u32(2)),
    section(8, new Writer().u32(1)),
    codeSection([
      // init: i32.store (0) 7
      body([], [0x41, 0, 0x41, 7, 0x36, 2, 0, 0x0b]),
      // _start: loop l0++ br_if (l0 < mem[0]) end; proc_exit(l0)
      body(
        [[1, 0x7f]],
        [
          0x03, 0x40, 0x20, 0, 0x41, 1, 0x6a, 0x21, 0, 0x20, 0, 0x41, 0, 0x28, 2, 0, 0x49, 0x0d, 0,
          0x0b, 0x20, 0, 0x10, 0, 0x0b,
        ],
      ),
    ]),
  );
}
