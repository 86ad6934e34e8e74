/**
 * A model of libseccomp 2.5.4's BPF generator (src/gen_bpf.c): instruction blocks per
 * tree node, shared when equal, laid out by its "pull in the jump targets" pass, with
 * its accumulator bookkeeping: a node omits `ld` when the generator believes A already
 * holds its word, and the layout pass adds a reload only where the first jump it lays
 * out disagrees. The result is libseccomp's program (without its long-jump padding,
 * which changes no decision) as blocks, and {@link programDecision} reads what it
 * returns for a call by following it with the real content of A. Private.
 *
 * @module
 */

import { type ArchDb, type ChainNode, CMP, ScmpError, type SysEntry } from "./_scmp_db.ts";
import { decodeAction } from "./action.ts";
import type { DecisionBuilder, DecisionNode } from "./decision.ts";

type Jump =
  | { readonly t: "none" }
  | { readonly t: "nxt"; readonly n: number }
  | { readonly t: "db"; readonly node: ChainNode }
  | { readonly t: "blk"; readonly blk: Block }
  | { readonly t: "hsh"; readonly h: number };

type Op = "ld" | "and" | "jeq" | "jgt" | "jge" | "ret";

interface Ins {
  op: Op;
  k: number;
  jt: Jump;
  jf: Jump;
}

interface Acc {
  offset: number;
  mask: number;
}

const MAX = 0xffffffff;
const UNDEF: Acc = { offset: -1, mask: MAX };
const NR = 0;
const ARCH = 4;
const NONE: Jump = { t: "none" };

class Block {
  ins: Ins[] = [];
  accStart: Acc = { ...UNDEF };
  accEnd: Acc = { ...UNDEF };
  priority = 0;
  flagHash = false;
  flagDup = false;
  hash = -1;
  prev: Block | null = null;
  next: Block | null = null;
  lvlPrv: Block | null = null;
  lvlNxt: Block | null = null;
}

interface Entry {
  blk: Block;
  found: boolean;
}

/** One architecture's part of the filter: its database and its AUDIT_ARCH. */
export interface GenArch {
  readonly token: "x86_64" | "x32" | "other";
  readonly auditArch: number;
  readonly db: ArchDb;
}

/** libseccomp's program as laid out: blocks in order, jumps by block identity. */
export interface Program {
  readonly blocks: readonly Block[];
  /** For each block's hash, the positions of the blocks carrying it, ascending. */
  readonly at: ReadonlyMap<number, readonly number[]>;
}

function jkey(j: Jump): string {
  switch (j.t) {
    case "none":
      return "-";
    case "hsh":
      return `h${j.h}`;
    case "nxt":
      return `n${j.n}`;
    default:
      throw new Error(`unresolved jump ${j.t} at hashing`);
  }
}

class Gen {
  #table = new Map<string, Entry>();
  #byId = new Map<number, Entry>();
  #nextId = 0;
  defHsh = -1;
  badHsh = -1;
  head: Block | null = null;
  newest: Block | null = null;
  #steps = 0;

  constructor(
    readonly defAction: number,
    readonly badArch: number,
    readonly optimize: 1 | 2,
  ) {}

  step(): void {
    if (++this.#steps > 5_000_000)
      throw new ScmpError("HANG", "libseccomp 2.5.4 does not finish generating this filter");
  }

  append(blk: Block | null, i: Ins): Block {
    const b = blk ?? new Block();
    b.ins.push(i);
    return b;
  }

  /** _hsh_add: the block, or the equal block already hashed (found: kept apart). */
  hshAdd(blk: Block, found: boolean): Block {
    if (blk.flagHash) return blk;
    // libseccomp 2.5 hashes and compares the instructions with the accumulator state
    // at the block's start and end (issue #148): equal code under another state stays apart.
    const acc = `${blk.accStart.offset}/${blk.accStart.mask}/${blk.accEnd.offset}/${blk.accEnd.mask}`;
    const key = `${acc}|${blk.ins.map((i) => `${i.op}:${i.k}:${jkey(i.jt)}:${jkey(i.jf)}`).join(";")}`;
    blk.flagHash = true;
    const have = this.#table.get(key);
    if (have) {
      blk.hash = have.blk.hash;
      if (found) {
        blk.flagDup = true;
        return blk;
      }
      if (have.blk.priority < blk.priority) have.blk.priority = blk.priority;
      return have.blk;
    }
    blk.hash = this.#nextId++;
    const e: Entry = { blk, found };
    this.#table.set(key, e);
    this.#byId.set(blk.hash, e);
    return blk;
  }

  findOnce(h: number): Block | null {
    const e = this.#byId.get(h);
    if (!e || e.found) return null;
    e.found = true;
    return e.blk;
  }

  action(action: number): Block {
    return this.append(null, { op: "ret", k: action >>> 0, jt: NONE, jf: NONE });
  }

  actionHsh(action: number): Block {
    return this.hshAdd(this.action(action), false);
  }

  /** _gen_bpf_node. */
  node(n: ChainNode, acc: Acc): Block {
    this.step();
    const blk = new Block();
    blk.accStart = { ...acc };
    const tHash = n.actTFlg ? this.actionHsh(n.actT).hash : 0;
    const fHash = n.actFFlg ? this.actionHsh(n.actF).hash : 0;
    if (n.offset !== acc.offset || (n.mask & acc.mask) >>> 0 !== n.mask) {
      acc.offset = n.offset;
      acc.mask = MAX;
      this.append(blk, { op: "ld", k: n.offset, jt: NONE, jf: NONE });
      blk.accStart = { ...UNDEF };
    }
    if (n.mask !== acc.mask) {
      acc.mask = n.mask;
      this.append(blk, { op: "and", k: n.mask, jt: NONE, jf: NONE });
    }
    blk.accEnd = { ...acc };
    let op: Op;
    switch (n.op) {
      case CMP.EQ:
      case CMP.MASKED_EQ:
        op = "jeq";
        break;
      case CMP.GT:
        op = "jgt";
        break;
      case CMP.GE:
        op = "jge";
        break;
      default:
        throw new Error(`tree node with operator ${n.op}`);
    }
    const jt: Jump = n.nxtT
      ? { t: "db", node: n.nxtT }
      : n.actTFlg
        ? { t: "hsh", h: tHash }
        : { t: "nxt", n: 0 };
    const jf: Jump = n.nxtF
      ? { t: "db", node: n.nxtF }
      : n.actFFlg
        ? { t: "hsh", h: fHash }
        : { t: "nxt", n: 0 };
    this.append(blk, { op, k: n.datum >>> 0, jt, jf });
    return blk;
  }

  /** _gen_bpf_chain_lvl_res. */
  lvlRes(sys: SysEntry, blk: Block, nxt: Jump): Block {
    if (blk.flagHash) return blk;
    for (const i of blk.ins) {
      for (const side of ["jt", "jf"] as const) {
        const j = i[side];
        if (j.t === "blk") i[side] = { t: "hsh", h: this.lvlRes(sys, j.blk, nxt).hash };
        else if (j.t === "db")
          i[side] = { t: "hsh", h: this.chain(sys, j.node, nxt, blk.accEnd).hash };
      }
    }
    return this.hshAdd(blk, false);
  }

  /** _gen_bpf_chain: one level of a tree, its fall-through going to the next node. */
  chain(sys: SysEntry, chain: ChainNode | null, nxt: Jump, aState: Acc): Block {
    const acc = { ...aState };
    let head: Block | null = null;
    let tail: Block | null = null;
    if (chain === null) {
      head = this.action(sys.action);
      tail = head;
    } else {
      let c: ChainNode | null = chain;
      while (c.lvlPrv) c = c.lvlPrv;
      do {
        const b = this.node(c, acc);
        if (head) {
          b.lvlPrv = tail;
          tail!.lvlNxt = b;
          tail = b;
        } else {
          head = b;
          tail = b;
        }
        c = c.lvlNxt;
      } while (c);
      for (let b: Block | null = head; b; b = b.lvlNxt) {
        const bn = b.lvlNxt;
        for (const i of b.ins) {
          if (i.jt.t === "nxt") i.jt = bn ? { t: "blk", blk: bn } : nxt;
          if (i.jf.t === "nxt") i.jf = bn ? { t: "blk", blk: bn } : nxt;
        }
      }
    }
    let b: Block | null = tail;
    do {
      const prev: Block | null = b!.lvlPrv;
      const next: Block | null = b!.lvlNxt;
      const r = this.lvlRes(sys, b!, next ? { t: "blk", blk: next } : nxt);
      if (prev) prev.lvlNxt = r;
      r.lvlPrv = prev;
      r.lvlNxt = next;
      if (next) next.lvlPrv = r;
      if (!r.lvlPrv) head = r;
      b = prev;
    } while (b);
    return head!;
  }

  /** _gen_bpf_syscall. */
  syscall(sys: SysEntry, nxtHash: number, accReset: boolean): Block {
    let blk = new Block();
    let a: Acc;
    if (accReset) {
      blk = this.append(blk, { op: "ld", k: NR, jt: NONE, jf: NONE });
      a = { offset: NR, mask: MAX };
      blk.accStart = { ...UNDEF };
      blk.accEnd = { offset: NR, mask: MAX };
    } else {
      a = { ...UNDEF };
      blk.accStart = { offset: NR, mask: MAX };
      blk.accEnd = { offset: NR, mask: MAX };
    }
    const c = this.chain(sys, sys.chains, { t: "hsh", h: this.defHsh }, a);
    this.append(blk, {
      op: "jeq",
      k: sys.num >>> 0,
      jt: { t: "hsh", h: c.hash },
      jf: { t: "hsh", h: nxtHash },
    });
    blk.priority = sys.priority;
    return this.hshAdd(blk, true);
  }

  /** _gen_bpf_insert: a new block at the head of the architecture's list. */
  insert(i: Ins, into: Block | null): Block {
    const b = this.append(into, i);
    b.next = this.head;
    if (this.head) this.head.prev = b;
    this.head = b;
    return this.hshAdd(b, true);
  }

  /** _gen_bpf_syscalls with the binary tree of _gen_bpf_bintree. */
  syscalls(a: GenArch, secondary: GenArch | null): number {
    this.head = null;
    this.newest = null;
    let tailSet = false;
    let added = 0;
    const list: SysEntry[] = [];
    const key = (s: SysEntry) => (this.optimize === 2 ? s.num >>> 0 : s.priority >>> 0);
    const sortIn = (entries: readonly SysEntry[]) => {
      for (const s of entries) {
        if (list.length === 0) {
          list.push(s);
          continue;
        }
        let b = 0;
        while (b < list.length - 1 && key(s) <= key(list[b]!)) b++;
        if (key(s) > key(list[b]!)) list.splice(b, 0, s);
        else list.push(s);
      }
    };
    sortIn(a.db.syscalls);
    if (secondary) sortIn(secondary.db.syscalls);
    const skip = (s: SysEntry) => !s.valid || (s.num | 0) < 0;
    let levels = 0;
    let empty = 0;
    const btSys: (number | undefined)[] = [];
    const btHash: (number | undefined)[] = [];
    if (this.optimize === 2) {
      const cnt = list.filter((s) => !skip(s)).length;
      if (cnt > 0) {
        levels = 2;
        let max = 8;
        while (max < cnt) {
          max *= 2;
          levels++;
        }
        empty = 8 * 2 ** (levels - 1) - cnt;
      }
    }
    let accReset = !((a.token === "x86_64" || a.token === "x32") && secondary === null);
    if (levels > 0) accReset = false;
    let cnt = 0;
    for (let idx = list.length - 1; idx >= 0; idx--) {
      const s = list[idx]!;
      if (skip(s)) continue;
      const nxt =
        levels > 0 && (cnt + empty) % 4 === 0
          ? this.defHsh
          : this.head
            ? this.head.hash
            : this.defHsh;
      const b = this.syscall(s, nxt, idx === 0 ? accReset : false);
      this.newest = b;
      b.prev = null;
      b.next = this.head;
      if (tailSet) this.head!.prev = b;
      this.head = b;
      tailSet = true;
      added++;
      cnt++;
      if (levels > 0) {
        const total = cnt + empty;
        for (let i = levels - 1; i >= 0; i--) {
          const level = 4 * 2 ** i;
          if (total % level !== 0) continue;
          btSys[i] = s.num >>> 0;
          btHash[i] = b.hash;
          let bt: Block | null = null;
          let j = 0;
          for (; j < i; j++) {
            if (btSys[j] === undefined || btHash[j] === undefined) continue;
            const ins: Ins = {
              op: "jgt",
              k: btSys[j]!,
              jt: { t: "hsh", h: bt === null ? this.newest.hash : bt.hash },
              jf: { t: "hsh", h: btHash[j]! },
            };
            added++;
            bt = this.insert(ins, null);
          }
          if (bt) btHash[j] = bt.hash;
          break;
        }
      }
    }
    if (levels > 0) {
      const ld = this.insert({ op: "ld", k: NR, jt: NONE, jf: NONE }, null);
      ld.accStart = { ...UNDEF };
      ld.accEnd = { offset: NR, mask: MAX };
      added++;
    }
    return added;
  }

  /** _gen_bpf_arch: the architecture check, x86_64/x32 number split, syscalls. */
  arch(a: GenArch, secondary: GenArch | null): Block {
    let cnt = this.syscalls(a, secondary);
    if ((a.token === "x86_64" || a.token === "x32") && secondary === null) {
      const b = this.append(null, { op: "ld", k: NR, jt: NONE, jf: NONE });
      b.accEnd = { offset: NR, mask: MAX };
      const first: Jump = { t: "hsh", h: this.head ? this.head.hash : this.defHsh };
      if (a.token === "x86_64") {
        this.append(b, { op: "jge", k: 0x40000000, jt: NONE, jf: first });
        this.insert({ op: "jeq", k: MAX, jt: first, jf: { t: "hsh", h: this.badHsh } }, b);
      } else {
        this.insert({ op: "jge", k: 0x40000000, jt: first, jf: { t: "hsh", h: this.badHsh } }, b);
      }
      cnt++;
    }
    const jt: Jump = { t: "hsh", h: this.head ? this.head.hash : this.defHsh };
    this.insert({ op: "jeq", k: a.auditArch >>> 0, jt, jf: { t: "nxt", n: cnt } }, null);
    return this.head!;
  }
}

/**
 * _gen_bpf_build_bpf up to the final layout: the program libseccomp exports for these
 * architectures (in the collection's order), as laid-out blocks.
 */
export function generate(
  arches: readonly GenArch[],
  defAction: number,
  badArch: number,
  optimize: 1 | 2,
): Program {
  const g = new Gen(defAction, badArch, optimize);
  const bad = g.hshAdd(g.action(badArch), true);
  g.badHsh = bad.hash;
  const def = g.hshAdd(g.action(defAction), false);
  g.defHsh = def.hash;
  const first = g.hshAdd(g.append(null, { op: "ld", k: ARCH, jt: NONE, jf: NONE }), true);
  first.accEnd = { offset: ARCH, mask: MAX };
  let tail: Block = first;
  const x64 = arches.findIndex((a) => a.token === "x86_64");
  const x32 = arches.findIndex((a) => a.token === "x32");
  arches.forEach((a, i) => {
    let secondary: GenArch | null = null;
    if (i === x64) {
      if (x32 > i) secondary = arches[x32]!;
      else if (x32 >= 0) return;
    } else if (i === x32) {
      if (x64 > i) secondary = arches[x64]!;
      else if (x64 >= 0) return;
    }
    const h = g.arch(a, secondary);
    h.prev = tail;
    tail.next = h;
    tail = h;
    while (tail.next) tail = tail.next;
  });
  bad.prev = tail;
  bad.next = null;
  tail.next = bad;
  tail = bad;
  // Top-level fall-through jumps (the architecture checks).
  for (let b: Block | null = first; b?.next; b = b.next) {
    for (const i of b.ins) {
      for (const side of ["jt", "jf"] as const) {
        const j = i[side];
        if (j.t !== "nxt") continue;
        let t: Block | null = b.next;
        for (let n = j.n; t && n > 0; n--) t = t.next;
        if (!t) throw new ScmpError("EINVAL", "libseccomp could not resolve a jump");
        i[side] = { t: "hsh", h: t.hash };
      }
    }
  }
  // Pull in the jump targets, last block first; a target laid out after a block whose
  // accumulator state differs from the one it was generated for gets a reload.
  let it: Block | null = tail;
  while (it) {
    g.step();
    let placed: Block | null = null;
    for (let x = it.ins.length - 1; x >= 0 && !placed; x--) {
      const i = it.ins[x]!;
      if (i.jt.t === "hsh") placed = g.findOnce(i.jt.h);
      if (!placed && i.jf.t === "hsh") placed = g.findOnce(i.jf.h);
      if (placed) {
        const s = placed.accStart;
        if (s.offset !== -1 && (it.accEnd.offset !== s.offset || it.accEnd.mask !== s.mask)) {
          if (s.mask !== MAX) placed.ins.unshift({ op: "and", k: s.mask, jt: NONE, jf: NONE });
          placed.ins.unshift({ op: "ld", k: s.offset, jt: NONE, jf: NONE });
          placed.accStart = { ...UNDEF };
        }
        placed.prev = it;
        placed.next = it.next;
        it.next = placed;
        if (placed.next) placed.next.prev = placed;
      }
    }
    // Everything after `placed` has no target left to lay out: carry on from it.
    it = placed ?? it.prev;
  }
  const blocks: Block[] = [];
  for (let b: Block | null = first; b; b = b.next) blocks.push(b);
  const at = new Map<number, number[]>();
  blocks.forEach((b, i) => {
    let l = at.get(b.hash);
    if (!l) {
      l = [];
      at.set(b.hash, l);
    }
    l.push(i);
  });
  return { blocks, at };
}

type AccVal = { readonly c: number } | { readonly off: number; readonly mask: number };

/**
 * What libseccomp's program returns for a call from `auditArch` with number `nr`, as a
 * decision graph over the arguments: the program followed with the real content of A.
 */
export function programDecision(
  p: Program,
  auditArch: number,
  nr: number,
  b: DecisionBuilder,
): DecisionNode {
  const memo = new Map<string, DecisionNode>();
  const target = (from: number, h: number): number => {
    const l = p.at.get(h) ?? [];
    const t = l.find((x) => x > from);
    if (t === undefined)
      throw new ScmpError("EINVAL", "libseccomp emits a backward jump (export fails)");
    return t;
  };
  const run = (bi: number, ii: number, a: AccVal): DecisionNode => {
    // While A holds a constant (nr, arch) the path is fixed: follow it without memo.
    while ("c" in a) {
      const blk = p.blocks[bi]!;
      if (ii >= blk.ins.length) {
        bi++;
        ii = 0;
        continue;
      }
      const i = blk.ins[ii]!;
      if (i.op === "ret") return b.leaf(decodeAction(i.k));
      if (i.op === "ld") {
        if (i.k !== NR && i.k !== ARCH) break;
        a = { c: (i.k === NR ? nr : auditArch) >>> 0 };
        ii++;
      } else if (i.op === "and") {
        a = { c: (a.c & i.k) >>> 0 };
        ii++;
      } else {
        const k = i.k >>> 0;
        const holds = i.op === "jeq" ? a.c === k : i.op === "jgt" ? a.c > k : a.c >= k;
        const j = holds ? i.jt : i.jf;
        if (j.t === "none") ii++;
        else {
          bi = target(bi, (j as { h: number }).h);
          ii = 0;
        }
      }
    }
    const key = `${bi}.${ii}.${"c" in a ? `c${a.c}` : `${a.off}/${a.mask}`}`;
    const have = memo.get(key);
    if (have) return have;
    let out: DecisionNode;
    const blk = p.blocks[bi]!;
    if (ii >= blk.ins.length) out = run(bi + 1, 0, a);
    else {
      const i = blk.ins[ii]!;
      const go = (j: Jump): DecisionNode =>
        j.t === "none" ? run(bi, ii + 1, a) : run(target(bi, (j as { h: number }).h), 0, a);
      switch (i.op) {
        case "ret":
          out = b.leaf(decodeAction(i.k));
          break;
        case "ld":
          out = run(
            bi,
            ii + 1,
            i.k === NR
              ? { c: nr >>> 0 }
              : i.k === ARCH
                ? { c: auditArch >>> 0 }
                : { off: i.k, mask: MAX },
          );
          break;
        case "and":
          out = run(
            bi,
            ii + 1,
            "c" in a ? { c: (a.c & i.k) >>> 0 } : { off: a.off, mask: (a.mask & i.k) >>> 0 },
          );
          break;
        default: {
          const wop = i.op === "jeq" ? "eq" : i.op === "jgt" ? "gt" : "ge";
          if ("c" in a) {
            const v = a.c;
            const k = i.k >>> 0;
            const holds = wop === "eq" ? v === k : wop === "gt" ? v > k : v >= k;
            out = go(holds ? i.jt : i.jf);
          } else {
            const word = { arg: (a.off - 16) >> 3, hi: (a.off - 16) % 8 === 4 };
            out = b.test(word, wop, i.k, a.mask, go(i.jt), go(i.jf));
          }
        }
      }
    }
    memo.set(key, out);
    return out;
  };
  return run(0, 0, { c: 0 });
}
