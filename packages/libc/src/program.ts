/**
 * Steps: what the spawn trampoline runs in the child between clone and execve, as
 * plain data. Layers produce steps; {@link compileProgram} turns them into the
 * trampoline's binary program (72-byte ops plus a data blob).
 *
 * @module
 */
import { type Arch, hostArch } from "./arch.ts";
import { syscallNumber } from "./syscall_table.ts";

/**
 * One argument of a step:
 * - a number or bigint: passed as is;
 * - `{ cstring }`: a pointer to a NUL-terminated copy of the string;
 * - `{ strings }`: a pointer to a NULL-terminated `char *[]` (argv, envp);
 * - `{ bytes, pointers }`: a pointer to a copy of the bytes; each `pointers` entry
 *   writes, at byte offset `at`, a pointer to another copied byte array or string
 *   (for structs such as `sock_fprog` or `iovec`);
 * - `{ result }`: the return value of the earlier step whose `id` is given;
 * - `{ out, size }`: a pointer to a zeroed scratch buffer named `out` (shared by every
 *   step that names it; `size` is taken from the first use);
 * - `{ load32, offset }`: the 32-bit signed integer at `offset` of a scratch buffer,
 *   read when the step runs (e.g. an fd that an earlier `pipe2` step wrote).
 */
export type StepArg =
  | number
  | bigint
  | { readonly cstring: string }
  | { readonly strings: readonly string[] }
  | {
      readonly bytes: Uint8Array;
      readonly pointers?: ReadonlyArray<{ readonly at: number; readonly to: Uint8Array | string }>;
    }
  | { readonly result: string }
  | { readonly out: string; readonly size?: number }
  | { readonly load32: string; readonly offset?: number };

/** A raw syscall in the child. */
export interface SyscallStep {
  readonly kind?: "syscall";
  /** What the step does, in words: "mount proc on /proc". Errors name it. */
  readonly label: string;
  /** The syscall, by name (resolved for the target architecture) or number. */
  readonly syscall: string | number;
  readonly args: readonly StepArg[];
  /** Lets later steps use this step's return value through `{ result: id }`. */
  readonly id?: string;
  /** When true a failure does not stop the child; the result is then -errno. */
  readonly optional?: boolean;
}

/** Reads one byte from `fd` and fails unless it arrives (waits for the parent). */
export interface WaitByteStep {
  readonly kind: "wait-byte";
  readonly label: string;
  readonly fd: StepArg;
  readonly id?: string;
}

/**
 * Makes the current process the PID 1 of its pid namespace: it starts the payload,
 * which goes on with the next steps, and at once execs forge-init (through `initFd`),
 * which forwards signals, reaps orphans and exits with the payload's status. {@link spawn} fills `statusFd` and `initFd`.
 */
export interface ReaperStep {
  readonly kind: "reaper";
  readonly label: string;
  /** Where forge-init writes the payload's raw wait status. */
  readonly statusFd?: StepArg;
  /** An O_PATH fd of the forge-init executable. */
  readonly initFd?: StepArg;
}

/**
 * Fails (ESRCH) if the process that spawned the child has exited. Put it right after
 * a `prctl(PR_SET_PDEATHSIG)` that follows a change of ids (which clears the
 * parent-death signal): a parent that died in between would otherwise go unnoticed.
 * The trampoline does the same itself before the first step.
 */
export interface ParentAliveStep {
  readonly kind: "parent-alive";
  readonly label: string;
}

/** One step of the child's program. */
export type Step = SyscallStep | WaitByteStep | ReaperStep | ParentAliveStep;

/** The trampoline's binary program. */
export interface Program {
  /** 72 bytes per op. */
  readonly ops: Uint8Array;
  readonly opCount: number;
  /** The data blob; the trampoline rewrites the pointer slots listed in relocs. */
  readonly data: Uint8Array;
  /** Offsets in `data` of blob-relative pointers. */
  readonly relocs: BigUint64Array;
  /** The steps, in op order, for error messages. */
  readonly steps: readonly Step[];
}

export const OP_SIZE = 72;
const OP_SYSCALL = 0;
const OP_WAIT_BYTE = 1;
const OP_REAPER = 2;
const OP_PARENT_ALIVE = 3;
const ARG_IMM = 0;
const ARG_DATA = 1;
const ARG_RESULT = 2;
const ARG_MEM32 = 3;
const ARG_MEM64 = 4;
const STEP_OPTIONAL = 1;

class Blob {
  #buf = new Uint8Array(4096);
  #len = 0;
  readonly relocs: number[] = [];
  readonly named = new Map<string, number>();

  alloc(size: number): number {
    const off = (this.#len + 7) & ~7;
    const end = off + Math.max(size, 1);
    if (end > this.#buf.length) {
      // A multiple of 8 bytes, always: pointer() views the buffer as 32-bit words.
      const next = new Uint8Array((Math.max(end, this.#buf.length * 2) + 7) & ~7);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#len = end;
    return off;
  }
  bytes(b: Uint8Array): number {
    const off = this.alloc(b.length);
    this.#buf.set(b, off);
    return off;
  }
  cstring(s: string): number {
    if (s.includes("\0")) throw new TypeError(`string contains a NUL byte: ${JSON.stringify(s)}`);
    const n = Buffer.byteLength(s);
    const off = this.alloc(n + 1);
    this.#buf[off + n] = 0;
    Buffer.from(this.#buf.buffer, this.#buf.byteOffset + off, n).write(s);
    return off;
  }
  pointer(at: number, target: number): void {
    // #buf is its own buffer (offset 0) and a multiple of 8 bytes long; `at` is aligned.
    setInt64(new Int32Array(this.#buf.buffer), at, target);
    this.relocs.push(at);
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, Math.max(this.#len, 8));
  }
}

/**
 * Compiles steps into the trampoline's program for an architecture (default: the
 * host's; the trampoline itself only runs on the host).
 *
 * @example
 * ```ts
 * import { compileProgram } from "@forge/libc";
 * const p = compileProgram([{ label: "set hostname", syscall: "sethostname", args: [{ cstring: "box" }, 3] }]);
 * console.log(p.opCount); // 1
 * ```
 */
export function compileProgram(steps: readonly Step[], arch: Arch = hostArch()): Program {
  if (!LITTLE_ENDIAN) throw new Error("@forge/libc: big-endian hosts are not supported");
  const ops = new Uint8Array(steps.length * OP_SIZE);
  const view = new DataView(ops.buffer);
  // Every field but the arg kinds is a 32-bit-aligned word: written through an
  // Int32Array, which a cold start's interpreter does far faster than DataView calls.
  const words = new Int32Array(ops.buffer);
  const blob = new Blob();
  const ids = new Map<string, number>();

  steps.forEach((step, i) => {
    const base = i * OP_SIZE;
    let code = OP_SYSCALL;
    let nr = 0;
    let args: readonly StepArg[] = [];
    let flags = 0;
    if (step.kind === "wait-byte") {
      code = OP_WAIT_BYTE;
      args = [step.fd];
    } else if (step.kind === "reaper") {
      code = OP_REAPER;
      args = [step.statusFd ?? -1, step.initFd ?? -1];
    } else if (step.kind === "parent-alive") {
      code = OP_PARENT_ALIVE;
    } else {
      if (typeof step.syscall === "number") nr = step.syscall;
      else {
        const n = syscallNumber(step.syscall, arch);
        if (n === undefined)
          throw new RangeError(
            `step ${i} (${step.label}): no syscall "${step.syscall}" on ${arch}`,
          );
        nr = n;
      }
      args = step.args;
      if (step.optional) flags |= STEP_OPTIONAL;
    }
    if (args.length > 6)
      throw new RangeError(`step ${i} (${step.label}): at most 6 arguments, got ${args.length}`);
    words[base >> 2] = code;
    words[(base >> 2) + 1] = flags;
    setInt64(words, base + 8, nr);
    for (let j = 0; j < args.length; j++) {
      const a = args[j]!;
      const at = base + 24 + j * 8;
      if (typeof a === "number" && Number.isSafeInteger(a)) {
        // The common case, without a BigInt per argument (this runs on every launch).
        ops[base + 16 + j] = ARG_IMM;
        setInt64(words, at, a);
        continue;
      }
      ops[base + 16 + j] = encodeArg(a, blob, ids, step.label, i, view, words, at);
    }
    if (
      (step.kind === undefined || step.kind === "syscall" || step.kind === "wait-byte") &&
      step.id !== undefined
    ) {
      if (ids.has(step.id))
        throw new RangeError(`step ${i} (${step.label}): duplicate id "${step.id}"`);
      ids.set(step.id, i);
    }
  });
  return {
    ops,
    opCount: steps.length,
    data: blob.finish(),
    relocs: uint64Array(blob.relocs),
    steps,
  };
}

/** The trampoline runs on the host, and every host Forge supports is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Writes a safe integer as an int64 at byte offset `at` (a multiple of 4), in host order. */
function setInt64(words: Int32Array, at: number, v: number): void {
  words[at >> 2] = v | 0;
  words[(at >> 2) + 1] = Math.floor(v / 0x100000000);
}

/** Non-negative safe integers as a BigUint64Array, without a BigInt each. */
function uint64Array(values: readonly number[]): BigUint64Array {
  const out = new BigUint64Array(values.length);
  const words = new Int32Array(out.buffer);
  values.forEach((v, k) => {
    setInt64(words, k * 8, v);
  });
  return out;
}

/** Writes argument `a` at `at` in the op and returns its kind (ARG_*). */
function encodeArg(
  a: StepArg,
  blob: Blob,
  ids: Map<string, number>,
  label: string,
  i: number,
  view: DataView,
  words: Int32Array,
  at: number,
): number {
  const put = (kind: number, value: number): number => {
    setInt64(words, at, value);
    return kind;
  };
  if (typeof a === "number") {
    if (!Number.isInteger(a))
      throw new TypeError(`step ${i} (${label}): argument ${a} is not an integer`);
    // Integers beyond 2^53 lose their low bits as numbers: give them as bigint.
    view.setBigInt64(at, BigInt(a), true);
    return ARG_IMM;
  }
  if (typeof a === "bigint") {
    view.setBigInt64(at, BigInt.asIntN(64, a), true);
    return ARG_IMM;
  }
  if ("cstring" in a) return put(ARG_DATA, blob.cstring(a.cstring));
  if ("strings" in a) {
    const table = blob.alloc((a.strings.length + 1) * 8);
    a.strings.forEach((s, k) => {
      blob.pointer(table + k * 8, blob.cstring(s));
    });
    return put(ARG_DATA, table);
  }
  if ("bytes" in a) {
    const off = blob.bytes(a.bytes);
    for (const p of a.pointers ?? []) {
      if (p.at < 0 || p.at + 8 > a.bytes.length) {
        throw new RangeError(
          `step ${i} (${label}): pointer at ${p.at} is outside the ${a.bytes.length}-byte struct`,
        );
      }
      blob.pointer(off + p.at, typeof p.to === "string" ? blob.cstring(p.to) : blob.bytes(p.to));
    }
    return put(ARG_DATA, off);
  }
  if ("result" in a) {
    const k = ids.get(a.result);
    if (k === undefined)
      throw new RangeError(`step ${i} (${label}): no earlier step with id "${a.result}"`);
    return put(ARG_RESULT, k);
  }
  if ("out" in a) return put(ARG_DATA, named(blob, a.out, a.size, label, i));
  if ("load32" in a) {
    const off = blob.named.get(a.load32);
    if (off === undefined)
      throw new RangeError(`step ${i} (${label}): no scratch buffer "${a.load32}" yet`);
    return put(ARG_MEM32, off + (a.offset ?? 0));
  }
  throw new TypeError(`step ${i} (${label}): cannot encode argument ${JSON.stringify(a)}`);
}

function named(
  blob: Blob,
  name: string,
  size: number | undefined,
  label: string,
  i: number,
): number {
  let off = blob.named.get(name);
  if (off === undefined) {
    if (!size) throw new RangeError(`step ${i} (${label}): scratch buffer "${name}" needs a size`);
    off = blob.alloc(size);
    blob.named.set(name, off);
  }
  return off;
}

/**
 * Joins compiled programs into one, as if their steps had been compiled together:
 * result references and data offsets of each part are moved past the parts before
 * it. No part may refer to another's results or scratch buffers. Lets a caller compile
 * the costly middle of a program ahead of time and add the parts that change per run.
 *
 * @example
 * ```ts
 * import { compileProgram, linkPrograms } from "@forge/libc";
 * const a = compileProgram([{ label: "set hostname", syscall: "sethostname", args: [{ cstring: "box" }, 3] }]);
 * const b = compileProgram([{ label: "get pid", syscall: "getpid", args: [] }]);
 * console.log(linkPrograms([a, b]).opCount); // 2
 * ```
 */
export function linkPrograms(parts: readonly Program[]): Program {
  let opCount = 0;
  let dataLen = 0;
  const opAt: number[] = [];
  const dataAt: number[] = [];
  for (const p of parts) {
    opAt.push(opCount);
    dataLen = (dataLen + 7) & ~7;
    dataAt.push(dataLen);
    opCount += p.opCount;
    dataLen += p.data.length;
  }
  const ops = new Uint8Array(opCount * OP_SIZE);
  const data = new Uint8Array(Math.max(dataLen, 8));
  const opView = new DataView(ops.buffer);
  const dataView = new DataView(data.buffer);
  const relocs: bigint[] = [];
  const steps: Step[] = [];
  parts.forEach((p, k) => {
    const op0 = opAt[k]!;
    const d0 = dataAt[k]!;
    ops.set(p.ops.subarray(0, p.opCount * OP_SIZE), op0 * OP_SIZE);
    data.set(p.data, d0);
    for (let i = 0; i < p.opCount; i++) {
      const base = (op0 + i) * OP_SIZE;
      for (let j = 0; j < 6; j++) {
        const kind = ops[base + 16 + j];
        const at = base + 24 + j * 8;
        if (kind === ARG_RESULT)
          opView.setBigInt64(at, opView.getBigInt64(at, true) + BigInt(op0), true);
        else if (kind === ARG_DATA || kind === ARG_MEM32 || kind === ARG_MEM64)
          opView.setBigInt64(at, opView.getBigInt64(at, true) + BigInt(d0), true);
      }
    }
    for (const r of p.relocs) {
      const at = Number(r) + d0;
      dataView.setBigUint64(at, dataView.getBigUint64(at, true) + BigInt(d0), true);
      relocs.push(BigInt(at));
    }
    steps.push(...p.steps);
  });
  return { ops, opCount, data, relocs: BigUint64Array.from(relocs), steps };
}
