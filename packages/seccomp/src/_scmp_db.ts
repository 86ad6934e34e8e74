/**
 * A model of libseccomp 2.5.4's rule database (src/db.c, and src/arch-x86.c for the
 * i386 multiplexers): how `seccomp_rule_add` turns rules into one tree of argument
 * tests per syscall, merging and pruning them, with the library's quirks kept (the
 * level ordering of `_db_chain_lt`, the reference counting that decides which
 * sub-trees survive a prune, the action copied to the wrong branch when two 64-bit
 * LT/LE nodes meet, EEXIST on conflicting leaves). Private: runc_semantics.ts feeds
 * it and _scmp_gen.ts turns it into libseccomp's program.
 *
 * @module
 */

/** libseccomp's comparison codes (enum scmp_compare). */
export const CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

/** One argument comparison of an API rule (64-bit values, as seccomp_rule_add takes). */
export interface ApiArg {
  readonly arg: number;
  readonly op: number;
  /** DATUM_MAX for all but MASKED_EQ, whose mask it is. */
  readonly mask: bigint;
  readonly datum: bigint;
}

/** A rule as the database receives it: arguments indexed by argument number. */
export interface ApiRule {
  readonly action: number;
  /** The arch's number; negative for a name the arch lacks (libseccomp's pseudo numbers). */
  readonly syscall: number;
  readonly args: readonly (ApiArg | undefined)[];
}

/** A node of a syscall's tree: `(word & mask) op datum` on one 32-bit word. */
export class ChainNode {
  arg = 0;
  hi = false;
  offset = 0;
  op = 0;
  opOrig = 0;
  mask = 0;
  datum = 0;
  datumFull = 0n;
  actT = 0;
  actTFlg = false;
  actF = 0;
  actFFlg = false;
  nxtT: ChainNode | null = null;
  nxtF: ChainNode | null = null;
  lvlPrv: ChainNode | null = null;
  lvlNxt: ChainNode | null = null;
  refcnt = 0;
  freed = false;
}

/** A syscall's entry (struct db_sys_list). */
export interface SysEntry {
  /** As stored: an unsigned 32-bit view of the (possibly negative) number. */
  num: number;
  chains: ChainNode | null;
  action: number;
  nodeCnt: number;
  priority: number;
  valid: boolean;
}

/** Why libseccomp refused a rule (runc then fails to start the container). */
export class ScmpError extends Error {
  constructor(
    readonly errno: "EEXIST" | "EINVAL" | "HANG",
    message: string,
  ) {
    super(message);
  }
}

const DATUM_MAX = 0xffffffffffffffffn;
const PRI_MASK_CHAIN = 0xffff;
const IST_MATCH = 0x1;
const IST_MATCH_ONCE = 0x2;
const IST_X_FINISHED = 0x10;
const IST_N_FINISHED = 0x20;
const IST_X_PREFIX = 0x100;
const IST_N_PREFIX = 0x200;
const IST_MATCHSET = IST_MATCH | IST_MATCH_ONCE;
const IST_REDUNDANT = IST_MATCH | IST_X_FINISHED | IST_N_PREFIX;

interface IterState {
  flags: number;
  action: number;
  sx: SysEntry;
}

/** A settable reference to a tree pointer (C's `struct db_arg_chain_tree **`). */
interface Ref {
  get(): ChainNode | null;
  set(n: ChainNode | null): void;
}

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

/** Work budget: libseccomp loops forever on some trees; so would a faithful model. */
class Budget {
  #left: number;
  constructor(n: number) {
    this.#left = n;
  }
  step(): void {
    if (--this.#left < 0)
      throw new ScmpError("HANG", "libseccomp 2.5.4 does not finish building this filter");
  }
}

/** The rule database of one architecture (struct db_filter). */
export class ArchDb {
  /** Entries in libseccomp's order: by number as an unsigned value. */
  readonly syscalls: SysEntry[] = [];
  readonly #budget: Budget;

  constructor(
    /** 64 for x86_64 and aarch64, 32 for i386, x32 and arm. */
    readonly size: 32 | 64,
    budget = 2_000_000,
  ) {
    this.#budget = new Budget(budget);
  }

  /** db_rule_add: adds one rule (already translated for this architecture). */
  addRule(rule: ApiRule): void {
    const sNew = this.size === 64 ? this.#gen64(rule) : this.#gen32(rule);
    const num = rule.syscall >>> 0;
    let idx = 0;
    while (idx < this.syscalls.length && this.syscalls[idx]!.num < num) idx++;
    sNew.priority = (PRI_MASK_CHAIN - sNew.nodeCnt) >>> 0;
    let rmFlag = false;
    const sIter = this.syscalls[idx];
    for (;;) {
      if (!sIter || sIter.num !== num) {
        this.syscalls.splice(idx, 0, sNew);
        return;
      }
      if (sIter.chains === null) {
        if (rmFlag || !sIter.valid) {
          sIter.chains = sNew.chains;
          sIter.action = sNew.action;
          sIter.nodeCnt = sNew.nodeCnt;
          if (sIter.valid) sIter.priority = sNew.priority;
          sIter.valid = true;
          this.#priorityUpdate(sIter);
          return;
        }
        this.#treePut(sNew.chains);
        this.#priorityUpdate(sIter);
        return;
      }
      if (sNew.chains === null) {
        this.#treePut(sIter.chains);
        sIter.chains = null;
        sIter.nodeCnt = 0;
        sIter.action = rule.action;
        this.#priorityUpdate(sIter);
        return;
      }
      const state: IterState = { flags: 0, action: rule.action, sx: sIter };
      const rc = this.#prune(sIter.chains, sNew.chains, state);
      if (rc > 0) {
        rmFlag = true;
        sIter.nodeCnt = (sIter.nodeCnt - rc) >>> 0;
        if (sIter.chains === null) continue;
      } else if ((state.flags & IST_REDUNDANT) === IST_REDUNDANT) {
        this.#treePut(sNew.chains);
        this.#priorityUpdate(sIter);
        return;
      }
      const addState: IterState = { flags: 0, action: 0, sx: sIter };
      const ref: Ref = { get: () => sIter.chains, set: (n) => (sIter.chains = n) };
      this.#treeAdd(ref, sNew.chains, addState);
      sIter.nodeCnt = (sIter.nodeCnt + sNew.nodeCnt) >>> 0;
      sIter.nodeCnt = (sIter.nodeCnt - this.#treePut(sNew.chains)[0]) >>> 0;
      this.#priorityUpdate(sIter);
      return;
    }
  }

  #priorityUpdate(s: SysEntry): void {
    s.priority = ((s.priority & ~PRI_MASK_CHAIN) | ((PRI_MASK_CHAIN - s.nodeCnt) >>> 0)) >>> 0;
  }

  #entry(rule: ApiRule): SysEntry {
    return {
      num: rule.syscall >>> 0,
      chains: null,
      action: 0,
      nodeCnt: 0,
      priority: 0,
      valid: true,
    };
  }

  #node(
    arg: number,
    hi: boolean,
    op: number,
    opOrig: number,
    mask: number,
    datum: number,
    full: bigint,
  ) {
    const n = new ChainNode();
    n.arg = arg;
    n.hi = hi;
    n.offset = 16 + arg * 8 + (hi ? 4 : 0);
    n.op = op;
    n.opOrig = opOrig;
    n.mask = mask >>> 0;
    n.datum = (datum & mask) >>> 0;
    n.datumFull = full;
    return n;
  }

  /** _db_rule_gen_64: two or three nodes per comparison, high word first. */
  #gen64(rule: ApiRule): SysEntry {
    const s = this.#entry(rule);
    let prev: (ChainNode | null)[] = [null, null, null];
    let cur: (ChainNode | null)[] = [null, null, null];
    let opPrev = 0;
    for (let i = 0; i < 6; i++) {
      const a = rule.args[i];
      if (!a) continue;
      if (a.op === CMP.MASKED_EQ && hi32(a.mask) === 0 && lo32(a.mask) === 0) continue;
      const { arg, mask, datum } = a;
      switch (a.op) {
        case CMP.GT:
        case CMP.GE:
        case CMP.LE:
        case CMP.LT: {
          const lowOp = a.op === CMP.GT || a.op === CMP.LE ? CMP.GT : CMP.GE;
          cur = [
            this.#node(arg, true, CMP.GT, a.op, hi32(mask), hi32(datum), datum),
            this.#node(arg, true, CMP.EQ, a.op, hi32(mask), hi32(datum), datum),
            this.#node(arg, false, lowOp, a.op, lo32(mask), lo32(datum), datum),
          ];
          cur[0]!.nxtF = get(cur[1]!);
          cur[1]!.nxtT = get(cur[2]!);
          break;
        }
        default: {
          const op = a.op === CMP.MASKED_EQ ? CMP.MASKED_EQ : CMP.EQ;
          cur = [
            this.#node(arg, true, op, a.op, hi32(mask), hi32(datum), datum),
            this.#node(arg, false, op, a.op, lo32(mask), lo32(datum), datum),
            null,
          ];
          cur[0]!.nxtT = get(cur[1]!);
        }
      }
      if (prev[0]) {
        switch (opPrev) {
          case CMP.GT:
          case CMP.GE:
            prev[0]!.nxtT = get(cur[0]!);
            prev[2]!.nxtT = get(cur[0]!);
            break;
          case CMP.EQ:
          case CMP.MASKED_EQ:
            prev[1]!.nxtT = get(cur[0]!);
            break;
          case CMP.LE:
          case CMP.LT:
            prev[1]!.nxtF = get(cur[0]!);
            prev[2]!.nxtF = get(cur[0]!);
            break;
          case CMP.NE:
            prev[0]!.nxtF = get(cur[0]!);
            prev[1]!.nxtF = get(cur[0]!);
            break;
        }
      } else s.chains = get(cur[0]!);
      s.nodeCnt += cur[2] ? 3 : 2;
      prev = cur;
      opPrev = a.op;
    }
    if (cur[0]) {
      const act = rule.action;
      const setT = (n: ChainNode) => {
        n.actTFlg = true;
        n.actT = act;
      };
      const setF = (n: ChainNode) => {
        n.actFFlg = true;
        n.actF = act;
      };
      switch (opPrev) {
        case CMP.GT:
        case CMP.GE:
          setT(cur[0]!);
          setT(cur[2]!);
          break;
        case CMP.LE:
        case CMP.LT:
          setF(cur[1]!);
          setF(cur[2]!);
          break;
        case CMP.EQ:
        case CMP.MASKED_EQ:
          setT(cur[1]!);
          break;
        case CMP.NE:
          setF(cur[0]!);
          setF(cur[1]!);
          break;
      }
    } else s.action = rule.action;
    return s;
  }

  /** _db_rule_gen_32: one node per comparison on the low word, values taken mod 2^32. */
  #gen32(rule: ApiRule): SysEntry {
    const s = this.#entry(rule);
    let prev: ChainNode | null = null;
    let cur: ChainNode | null = null;
    let tf = true;
    for (let i = 0; i < 6; i++) {
      const a = rule.args[i];
      if (!a) continue;
      if (a.op === CMP.MASKED_EQ && lo32(a.mask) === 0) continue;
      let op = a.op;
      let nextTf = true;
      if (op === CMP.NE) [op, nextTf] = [CMP.EQ, false];
      else if (op === CMP.LT) [op, nextTf] = [CMP.GE, false];
      else if (op === CMP.LE) [op, nextTf] = [CMP.GT, false];
      cur = this.#node(a.arg, false, op, a.op, lo32(a.mask), lo32(a.datum), a.datum);
      if (prev) {
        if (tf) prev.nxtT = get(cur);
        else prev.nxtF = get(cur);
      } else s.chains = get(cur);
      s.nodeCnt++;
      tf = nextTf;
      prev = cur;
    }
    if (cur) {
      if (tf) {
        cur.actTFlg = true;
        cur.actT = rule.action;
      } else {
        cur.actFFlg = true;
        cur.actF = rule.action;
      }
    } else s.action = rule.action;
    return s;
  }

  // Reference counting, as db.c does it (the counts decide what a prune frees).

  /** _db_node_put: [nodes freed, what the caller's pointer becomes]. */
  #nodePut(n: ChainNode | null): [number, ChainNode | null] {
    this.#budget.step();
    if (!n) return [0, null];
    if (--n.refcnt !== 0) return [0, n];
    let cnt = 0;
    let lp = n.lvlPrv;
    let ln = n.lvlNxt;
    const nt = n.nxtT;
    const nf = n.nxtF;
    if (lp) lp.lvlNxt = null;
    if (ln) ln.lvlPrv = null;
    if (lp) {
      const [c, r] = this.#nodePut(lp);
      cnt += c;
      lp = r;
    }
    if (ln) {
      const [c, r] = this.#nodePut(ln);
      cnt += c;
      ln = r;
    }
    if (lp) lp.lvlNxt = get(ln);
    if (ln) ln.lvlPrv = get(lp);
    const repl = lp ?? ln ?? null;
    cnt += this.#treePut(nt)[0];
    cnt += this.#treePut(nf)[0];
    n.freed = true;
    return [cnt + 1, repl];
  }

  /** _db_tree_put: drops a reference and garbage-collects the top level. */
  #treePut(tree: ChainNode | null): [number, ChainNode | null] {
    let [cnt, t] = this.#nodePut(tree);
    if (t) cnt += this.#levelClean(t);
    return [cnt, t];
  }

  #levelClean(node: ChainNode): number {
    let n: ChainNode | null = node;
    while (n.lvlPrv) n = n.lvlPrv;
    const start = n;
    for (let m: ChainNode | null = start; m; m = m.lvlNxt) {
      const links = (m.lvlPrv ? 1 : 0) + (m.lvlNxt ? 1 : 0);
      if (m.refcnt > links) return 0;
    }
    let cnt = 0;
    n = start;
    while (n) {
      const [c, r] = this.#nodePut(n);
      cnt += c;
      n = r;
    }
    return cnt;
  }

  /** _db_tree_remove: unlinks `node` (and zombie leaves met on the way) from a tree. */
  #treeRemove(tree: Ref, node: ChainNode): number {
    let c = tree.get();
    if (!c) return 0;
    while (c.lvlPrv) c = c.lvlPrv;
    let cnt = 0;
    let hit: ChainNode | null = null;
    let it: ChainNode | null = c;
    do {
      this.#budget.step();
      const x: ChainNode = it!;
      if (x === node) {
        hit = x;
        break;
      }
      cnt += this.#treeRemove({ get: () => x.nxtT, set: (v) => (x.nxtT = v) }, node);
      cnt += this.#treeRemove({ get: () => x.nxtF, set: (v) => (x.nxtF = v) }, node);
      if (zombie(x)) {
        hit = x;
        break;
      }
      it = x.lvlNxt;
    } while (it && cnt === 0);
    if (!hit) return cnt;
    if (hit === tree.get()) tree.set(hit.lvlPrv ?? hit.lvlNxt);
    if (hit.lvlPrv) hit.lvlPrv.lvlNxt = hit.lvlNxt;
    if (hit.lvlNxt) hit.lvlNxt.lvlPrv = hit.lvlPrv;
    hit.lvlPrv = null;
    hit.lvlNxt = null;
    return cnt + this.#nodePut(hit)[0];
  }

  /** _db_tree_prune: removes what the new chain makes redundant. */
  #prune(existing: ChainNode | null, nw: ChainNode | null, state: IterState): number {
    this.#budget.step();
    let cnt = 0;
    const stNew: IterState = { ...state };
    let x = existing;
    const n = nw;
    const ret = (): number => {
      if (stNew.flags & IST_MATCH) state.flags |= stNew.flags;
      else state.flags &= ~IST_MATCH;
      return cnt;
    };
    if (!n || !x) return ret();
    if ((state.flags & IST_MATCHSET) === IST_MATCH_ONCE) return ret();
    while (x.lvlPrv) x = x.lvlPrv;
    let cur: ChainNode | null = x;
    do {
      let xi: ChainNode | null = cur!;
      const xNext: ChainNode | null = xi.lvlNxt;
      const down = (
        from: ChainNode,
        into: ChainNode | null,
        nn: ChainNode,
        clear: boolean,
        set: number,
      ): [boolean, ChainNode | null] => {
        get(from);
        const sn: IterState = { ...state };
        if (clear) sn.flags &= ~IST_MATCH;
        sn.flags |= set;
        cnt += this.#prune(into, nn, sn);
        const [c, r] = this.#nodePut(from);
        cnt += c;
        if (sn.flags & IST_MATCH) stNew.flags |= sn.flags;
        return [(sn.flags & IST_MATCH) !== 0, r];
      };
      let skipRest = false;
      if (chainEq(xi, n)) {
        stNew.flags |= IST_MATCHSET;
        if (leaf(n)) stNew.flags |= IST_N_FINISHED;
        if (leaf(xi)) stNew.flags |= IST_X_FINISHED;
        if ((xi.actTFlg || xi.nxtT) && !(n.actTFlg || n.nxtT)) return ret();
        if ((xi.actFFlg || xi.nxtF) && !(n.actFFlg || n.nxtF)) return ret();
        if (stNew.flags & IST_N_FINISHED && stNew.flags & IST_X_FINISHED) {
          if (n.actTFlg !== xi.actTFlg || n.actT !== xi.actT) return ret();
          if (n.actFFlg !== xi.actFFlg || n.actF !== xi.actF) return ret();
        }
        if (n.nxtT) {
          const [, r] = down(xi, xi.nxtT, n.nxtT, false, IST_MATCHSET);
          xi = r;
          if (!xi) skipRest = true;
        }
        if (!skipRest && n.nxtF) {
          const [, r] = down(xi!, xi!.nxtF, n.nxtF, false, IST_MATCHSET);
          xi = r;
          if (!xi) skipRest = true;
        }
        if (!skipRest) {
          const x2 = xi!;
          if (
            this.#actCheck(x2, stNew.action) === 0 &&
            stNew.flags & IST_MATCH &&
            stNew.flags & IST_N_FINISHED &&
            stNew.flags & IST_X_PREFIX
          ) {
            const sx = state.sx;
            cnt += this.#treeRemove({ get: () => sx.chains, set: (v) => (sx.chains = v) }, x2);
            if (sx.chains === null) return ret();
          } else if (
            this.#actCheck(x2, stNew.action) === 0 &&
            stNew.flags & IST_MATCH &&
            stNew.flags & IST_X_FINISHED &&
            stNew.flags & IST_N_PREFIX
          ) {
            return ret();
          }
        }
      } else if (chainLt(xi, n)) {
        if (state.flags & IST_N_PREFIX) return ret();
        if (xi.nxtT) {
          const [m, r] = down(xi, xi.nxtT, n, true, IST_X_PREFIX);
          if (m) return ret();
          xi = r;
          if (!xi) skipRest = true;
        }
        if (!skipRest && xi!.nxtF) {
          const [m, r] = down(xi!, xi!.nxtF, n, true, IST_X_PREFIX);
          if (m) return ret();
          xi = r;
        }
      } else {
        if (state.flags & IST_X_PREFIX) return ret();
        if (n.nxtT) {
          const [m, r] = down(xi, xi, n.nxtT, true, IST_N_PREFIX);
          if (m) return ret();
          xi = r;
          if (!xi) skipRest = true;
        }
        if (!skipRest && n.nxtF) {
          const [m, r] = down(xi!, xi!, n.nxtF, true, IST_N_PREFIX);
          if (m) return ret();
          xi = r;
        }
      }
      cur = xNext;
    } while (cur);
    stNew.flags &= ~IST_MATCH;
    return ret();
  }

  /** _db_tree_act_check: 0 when every action in the tree equals `action`. */
  #actCheck(tree: ChainNode | null, action: number): number {
    if (!tree) return 0;
    let c: ChainNode | null = tree;
    while (c.lvlPrv) c = c.lvlPrv;
    do {
      this.#budget.step();
      if (c!.actTFlg && c!.actT !== action) return -1;
      if (c!.actFFlg && c!.actF !== action) return -1;
      if (this.#actCheck(c!.nxtT, action) < 0) return -1;
      if (this.#actCheck(c!.nxtF, action) < 0) return -1;
      c = c!.lvlNxt;
    } while (c);
    return 0;
  }

  /** _db_tree_add: merges a new chain into the tree. */
  #treeAdd(existing: Ref, nw: ChainNode, state: IterState): void {
    let x = existing.get()!;
    const n = nw;
    for (;;) {
      this.#budget.step();
      if (chainEq(x, n)) {
        if (n.actTFlg) {
          if (!x.actTFlg) {
            if (this.#actCheck(x.nxtT, n.actT) !== 0)
              throw new ScmpError("EEXIST", "a rule conflicts with an earlier one");
            const rc = this.#nodePut(x.nxtT)[0];
            x.nxtT = null;
            x.actT = n.actT;
            x.actTFlg = true;
            state.sx.nodeCnt = (state.sx.nodeCnt - rc) >>> 0;
          } else if (n.actT !== x.actT) {
            if (n.hi && n.datumFull > x.datumFull) x.actT = n.actT;
            if (leaf(x) || leaf(n))
              throw new ScmpError("EEXIST", "a rule conflicts with an earlier one");
          }
        }
        if (n.actFFlg) {
          if (!x.actFFlg) {
            if (this.#actCheck(x.nxtF, n.actF) !== 0)
              throw new ScmpError("EEXIST", "a rule conflicts with an earlier one");
            const rc = this.#nodePut(x.nxtF)[0];
            x.nxtF = null;
            x.actF = n.actF;
            x.actFFlg = true;
            state.sx.nodeCnt = (state.sx.nodeCnt - rc) >>> 0;
          } else if (n.actF !== x.actF) {
            // libseccomp 2.5.4 copies the true action here (db.c, _db_tree_add).
            if (n.hi && n.datumFull < x.datumFull) x.actT = n.actT;
            if (leaf(x) || leaf(n))
              throw new ScmpError("EEXIST", "a rule conflicts with an earlier one");
          }
        }
        if (n.nxtT) {
          if (x.nxtT) {
            const xx = x;
            this.#treeAdd({ get: () => xx.nxtT, set: (v) => (xx.nxtT = v) }, n.nxtT, state);
          } else if (!x.actTFlg) x.nxtT = get(n.nxtT);
          else return;
        }
        if (n.nxtF) {
          if (x.nxtF) {
            const xx = x;
            this.#treeAdd({ get: () => xx.nxtF, set: (v) => (xx.nxtF = v) }, n.nxtF, state);
          } else if (!x.actFFlg) x.nxtF = get(n.nxtF);
          else return;
        }
        return;
      }
      if (!chainLt(x, n)) {
        if (!x.lvlNxt) {
          n.lvlPrv = get(x);
          x.lvlNxt = get(n);
          return;
        }
        x = x.lvlNxt;
      } else {
        if (x.lvlPrv) {
          x.lvlPrv.lvlNxt = get(n);
          n.lvlPrv = x.lvlPrv;
          x.lvlPrv = get(n);
          n.lvlNxt = x;
        } else {
          x.lvlPrv = get(n);
          n.lvlNxt = get(x);
        }
        if (existing.get() === x) {
          existing.set(get(n));
          this.#nodePut(x);
        }
        return;
      }
    }
  }
}

function get(n: ChainNode): ChainNode;
function get(n: ChainNode | null): ChainNode | null;
function get(n: ChainNode | null): ChainNode | null {
  if (n) n.refcnt++;
  return n;
}

function leaf(n: ChainNode): boolean {
  return n.nxtT === null && n.nxtF === null;
}

function zombie(n: ChainNode): boolean {
  return leaf(n) && !n.actTFlg && !n.actFFlg;
}

function argPriority(n: ChainNode): number {
  return (n.arg << 1) + (n.hi ? 1 : 0);
}

function opPriority(op: number): number {
  switch (op) {
    case CMP.MASKED_EQ:
    case CMP.EQ:
    case CMP.NE:
      return 3;
    case CMP.LE:
    case CMP.LT:
      return 2;
    case CMP.GE:
    case CMP.GT:
      return 1;
    default:
      return 0;
  }
}

/** _db_chain_lt: the order of nodes on one level. */
function chainLt(a: ChainNode, b: ChainNode): boolean {
  const [pa, pb] = [argPriority(a), argPriority(b)];
  if (pa !== pb) return pa < pb;
  const [oa, ob] = [opPriority(a.opOrig), opPriority(b.opOrig)];
  if (oa !== ob) return oa < ob;
  if (a.opOrig === CMP.LE || a.opOrig === CMP.LT) return a.datum > b.datum;
  return a.datum < b.datum;
}

/** _db_chain_eq: same word, operator, datum and mask. */
function chainEq(a: ChainNode, b: ChainNode): boolean {
  return (
    argPriority(a) === argPriority(b) && a.op === b.op && a.datum === b.datum && a.mask === b.mask
  );
}

/** An API argument from a profile condition (MASKED_EQ: value is the mask, valueTwo the datum). */
export function apiArg(index: number, op: number, value: bigint, valueTwo: bigint): ApiArg {
  const v = BigInt.asUintN(64, value);
  return op === CMP.MASKED_EQ
    ? { arg: index, op, mask: v, datum: BigInt.asUintN(64, valueTwo) }
    : { arg: index, op, mask: DATUM_MAX, datum: v };
}

/** i386's socketcall(2) sub-calls: name → [sub-call number, direct syscall or undefined]. */
export const X86_SOCKETCALL: ReadonlyMap<string, readonly [number, number | undefined]> = new Map([
  ["socket", [1, 359]],
  ["bind", [2, 361]],
  ["connect", [3, 362]],
  ["listen", [4, 363]],
  ["accept", [5, undefined]],
  ["getsockname", [6, 367]],
  ["getpeername", [7, 368]],
  ["socketpair", [8, 360]],
  ["send", [9, undefined]],
  ["recv", [10, undefined]],
  ["sendto", [11, 369]],
  ["recvfrom", [12, 371]],
  ["shutdown", [13, 373]],
  ["setsockopt", [14, 366]],
  ["getsockopt", [15, 365]],
  ["sendmsg", [16, 370]],
  ["recvmsg", [17, 372]],
  ["accept4", [18, 364]],
  ["recvmmsg", [19, 337]],
  ["sendmmsg", [20, 345]],
]);

/** i386's ipc(2) sub-calls: name → [sub-call number, direct syscall or undefined]. */
export const X86_IPC: ReadonlyMap<string, readonly [number, number | undefined]> = new Map([
  ["semop", [1, undefined]],
  ["semget", [2, 393]],
  ["semctl", [3, 394]],
  ["semtimedop", [4, undefined]],
  ["msgsnd", [11, 400]],
  ["msgrcv", [12, 401]],
  ["msgget", [13, 399]],
  ["msgctl", [14, 402]],
  ["shmat", [21, 397]],
  ["shmdt", [22, 398]],
  ["shmget", [23, 395]],
  ["shmctl", [24, 396]],
]);

/** socketcall's and ipc's numbers on i386. */
export const X86_SOCKETCALL_NR = 102;
export const X86_IPC_NR = 117;

/**
 * x86_rule_add: a rule on a socket or IPC call becomes a rule on the multiplexer with
 * argument 0 replaced by `== sub-call` (the rule's other conditions stay on the same
 * argument indexes: they are not shifted), plus the rule on the direct syscall (or,
 * where i386 has none, on libseccomp's negative pseudo number).
 */
export function x86Rules(
  name: string,
  action: number,
  args: readonly (ApiArg | undefined)[],
): ApiRule[] {
  const sock = X86_SOCKETCALL.get(name);
  const ipc = X86_IPC.get(name);
  const mux = sock ?? ipc;
  if (!mux) return [];
  const [sub, direct] = mux;
  const muxed = [...args];
  muxed[0] = { arg: 0, op: CMP.EQ, mask: DATUM_MAX, datum: BigInt(sub) };
  // Without a direct syscall (accept, send, recv, semop, semtimedop) 2.5.4 still adds
  // the rule under its negative pseudo number: an entry the generator skips, but one
  // that takes part in ordering the syscalls (and can take the accumulator reset).
  const pseudo = -((sock ? 100 : 200) + sub);
  return [
    { action, syscall: sock ? X86_SOCKETCALL_NR : X86_IPC_NR, args: muxed },
    { action, syscall: direct ?? pseudo, args },
  ];
}
