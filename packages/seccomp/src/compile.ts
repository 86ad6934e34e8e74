/**
 * The compiler: a resolved profile to a seccomp-BPF program, from its decision graphs
 * (`AbiPlan.decisions`), deciding exactly as {@link decide} for every input.
 *
 * Shape of the output:
 * 1. `ld [arch]`, one `jeq` per covered audit arch (the target's first), else the
 *    bad-arch action;
 * 2. per audit arch, `ld [nr]` and a dispatch on the number. What each number gets
 *    (an action, or a decision graph) is asked of {@link decide} itself, with the
 *    graphs swapped for sentinels, once per interval on which nothing it looks at
 *    changes, so runc's -ENOSYS stub, the bad-arch action and -1 come out exactly as
 *    the semantics says. x86_64 and x32 share one map (x32 numbers sit at 0x40000000
 *    and above); a graph that is just a leaf is that action and costs nothing;
 *    consecutive numbers with the same answer are one segment. `_emit_switch.ts`
 *    plans the fewest jumps: blocks of `jeq` lists (one jump per isolated number, one
 *    bound per run) under a `jge` tree shaped for the shortest worst path;
 * 3. the decision graphs, path-specialised (`_emit_specialize.ts`: a test that the
 *    tests above it decide is dropped, which merges rules), then emitted once per
 *    distinct sub-graph (shared across syscalls and ABIs): a maximal run of tests on
 *    one word under one mask becomes one switch on that word (a chain of
 *    `a1 == v_i` tests is a dispatch on a1 like the one on nr), `(w & m) == 0` and
 *    single-bit tests become `jset`;
 * 4. every node's code starts with `ld` (and `and` for a mask) only where some jump
 *    into it comes with another word in A: jumps that arrive with the word already
 *    loaded enter past the load, so each word is loaded once per path (scratch
 *    memory or X would not help: `txa` or `ld M[]` costs what `ld [word]` costs);
 * 5. `ret`s placed by the linker (`_emit_link.ts`, one linear pass) where jumps reach
 *    them, one per distinct action and 256-instruction window; long jumps through
 *    `ja` stubs.
 * Syscalls whose answer is unconditional therefore touch only nr and arch, which keeps
 * them in the kernel's constant-action cache.
 *
 * @module
 */
import type { Arch } from "@forge/libc";
import { type Label, Program } from "./_emit_link.ts";
import { Specializer, wordSlot } from "./_emit_specialize.ts";
import {
  mergeSegments,
  planSwitch,
  planWorst,
  type Segment,
  type SwitchPlan,
} from "./_emit_switch.ts";
import { type Action, SECCOMP_RET } from "./action.ts";
import {
  argHi,
  argLo,
  BPF,
  BPF_MAXINSNS,
  encodeFilter,
  type Instruction,
  SECCOMP_DATA,
} from "./bpf.ts";
import {
  type DecisionNode,
  decisionNodes,
  type LeafNode,
  type TestNode,
  testHolds,
} from "./decision.ts";
import { checkFilter } from "./emulator.ts";
import { formatProfileIssue } from "./profile.ts";
import {
  type AbiPlan,
  decide,
  NR_NONE,
  type ResolvedProfile,
  type ResolveOptions,
  resolveProfile,
} from "./resolve.ts";

/** A compiled filter. */
export interface CompiledFilter {
  /** The native architecture it was compiled for. */
  readonly arch: Arch;
  readonly program: readonly Instruction[];
  /** The `struct sock_filter[]` bytes the kernel loads. */
  readonly bytes: Uint8Array;
  /** What the filter implements. */
  readonly resolved: ResolvedProfile;
  /** Overlapping rules with different actions (resolved by precedence). */
  readonly conflicts: readonly string[];
  /** The profile's warnings (`resolved.warnings`) as lines: "FILE:LINE:COLUMN: /pointer: ...". */
  readonly warnings?: readonly string[];
}

/**
 * A compile-time failure that is not the profile's fault (e.g. too long a program).
 *
 * @example
 * ```ts
 * import { CompileError, compileProfile } from "@forge/seccomp";
 * try {
 *   compileProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" });
 * } catch (e) {
 *   if (e instanceof CompileError) console.error(e.message);
 * }
 * ```
 */
export class CompileError extends Error {
  override name = "CompileError";
}

/** Emitting stops past this many instructions (the exact count is reported up to here). */
const EMIT_LIMIT = 4 * BPF_MAXINSNS;

const FULL = 0xffffffff;

/**
 * What A holds where a jump leaves: "" (nr, arch: no argument word), `"<slot>"` (the
 * word of that slot), `"<slot>&<mask>"` (the word masked).
 */
type State = string;

interface RegionBase {
  /** The first test (what jumps into the region jump to). */
  readonly root: TestNode;
  readonly slot: number;
  /** What A holds when the region's code jumps out. */
  readonly after: State;
  /** What A holds on the jumps into it. */
  readonly sources: Set<State>;
  /** Who first reached it, for "too long" messages. */
  owner: string;
  /** Set when the region decides the same for every input: jump there instead. */
  alias?: DecisionNode;
  live: boolean;
}

/** A run of tests on one word under one mask, emitted as one switch on `(w & mask)`. */
interface SwitchRegion extends RegionBase {
  readonly form: "switch";
  readonly mask: number;
  segments: Segment<DecisionNode>[];
  plan?: SwitchPlan<DecisionNode>;
}

/** One `jset k` on the whole word. */
interface JsetRegion extends RegionBase {
  readonly form: "jset";
  readonly k: number;
  readonly t: DecisionNode;
  readonly f: DecisionNode;
}

type Region = SwitchRegion | JsetRegion;

interface Entries {
  /** At the `ld`. */
  readonly load: Label;
  /** At the `and` (switch regions with a mask). */
  readonly mask: Label;
  /** At the first jump. */
  readonly body: Label;
}

function singleBit(x: number): boolean {
  return x !== 0 && (x & (x - 1)) >>> 0 === 0;
}

/** Whether `m` is 1...10...0: `(w & m) == k` then holds exactly for w in k..k|~m. */
function prefixMask(m: number): boolean {
  const low = ~m >>> 0;
  return m !== 0 && (low & (low + 1)) >>> 0 === 0;
}

/**
 * Which region a test can join: tests of one word that are intervals of the word
 * (whole-word compares, `==` under a prefix mask) share `"<slot>"`; `==`, `>`, `>=`
 * under another mask share `"<slot>&<mask>"` (a switch on the masked word); `jset`
 * tests join none (undefined).
 */
function regionKey(n: TestNode): string | undefined {
  const slot = wordSlot(n.word);
  if (n.op === "set") return undefined;
  if (n.mask === FULL || (n.op === "eq" && prefixMask(n.mask))) return `${slot}`;
  return `${slot}&${n.mask}`;
}

/** The mask a region applies with `and` (FULL: none). */
function regionMask(n: TestNode): number {
  return regionKey(n) === `${wordSlot(n.word)}` ? FULL : n.mask;
}

function wordOffset(slot: number): number {
  const arg = slot >> 1;
  return slot & 1 ? argHi(arg) : argLo(arg);
}

/** Groups ABIs by audit arch (x86_64 and x32 share one), in the profile's order. */
function auditGroups(r: ResolvedProfile): [number, AbiPlan[]][] {
  const groups = new Map<number, AbiPlan[]>();
  for (const abi of r.abis) {
    const g = groups.get(abi.auditArch);
    if (g) g.push(abi);
    else groups.set(abi.auditArch, [abi]);
  }
  return [...groups.entries()];
}

function isNode(x: DecisionNode | Action): x is DecisionNode {
  return x.kind === "leaf" || x.kind === "test";
}

/**
 * The values of A (the word, or the word under the region's mask) for which a test
 * holds, or undefined when it never does.
 */
function truthInterval(n: TestNode, mask: number): [number, number] | undefined {
  const k = n.k >>> 0;
  switch (n.op) {
    case "eq":
      // Bits outside the mask can never match.
      if ((k & ~n.mask) >>> 0 !== 0) return undefined;
      // In a raw region the mask is FULL or a prefix mask: k..k|~mask.
      return [k, mask === FULL ? (k | ~n.mask) >>> 0 : k];
    case "gt":
      return k === FULL ? undefined : [k + 1, FULL];
    case "ge":
      return [k, FULL];
    case "set":
      throw new CompileError("internal: a jset test in a switch region");
  }
}

/**
 * A region as a map of A, in sorted segments. A chain that goes on when a test fails
 * (a rule list: first match wins) is swept in O(n log n); any other shape is walked
 * from each point where the map can change.
 */
function regionSegments(
  root: TestNode,
  members: readonly TestNode[],
  inside: ReadonlySet<number>,
  mask: number,
): Segment<DecisionNode>[] {
  const chain: TestNode[] = [];
  for (let cur: DecisionNode = root; cur.kind === "test" && inside.has(cur.id); cur = cur.f) {
    if (cur.t.kind === "test" && inside.has(cur.t.id)) break;
    chain.push(cur);
  }
  if (chain.length === members.length) {
    const last = chain[chain.length - 1]!;
    const otherwise = last.f;
    // A test that never holds spans nothing (it is never where the chain leaves).
    const spans = chain.map((m) => truthInterval(m, mask) ?? ([1, 0] as [number, number]));
    // Sweep: at each point, the first test (lowest index) whose interval covers it.
    const starts = new Set<number>([0]);
    for (const [a, z] of spans) {
      if (a > z) continue;
      starts.add(a);
      if (z < FULL) starts.add(z + 1);
    }
    const points = [...starts].sort((x, y) => x - y);
    const byStart = [...spans.keys()]
      .filter((i) => spans[i]![0] <= spans[i]![1])
      .sort((x, y) => spans[x]![0] - spans[y]![0]);
    const heap: number[] = []; // indices into chain, min-heap
    const push = (i: number) => {
      heap.push(i);
      for (let c = heap.length - 1; c > 0; ) {
        const p = (c - 1) >> 1;
        if (heap[p]! <= heap[c]!) break;
        [heap[p], heap[c]] = [heap[c]!, heap[p]!];
        c = p;
      }
    };
    const pop = () => {
      const top = heap[0]!;
      const end = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = end;
        for (let c = 0; ; ) {
          const l = 2 * c + 1;
          const r = l + 1;
          let m = c;
          if (l < heap.length && heap[l]! < heap[m]!) m = l;
          if (r < heap.length && heap[r]! < heap[m]!) m = r;
          if (m === c) break;
          [heap[m], heap[c]] = [heap[c]!, heap[m]!];
          c = m;
        }
      }
      return top;
    };
    const segs: Segment<DecisionNode>[] = [];
    let next = 0;
    points.forEach((lo, i) => {
      while (next < byStart.length && spans[byStart[next]!]![0] <= lo) push(byStart[next++]!);
      while (heap.length > 0 && spans[heap[0]!]![1] < lo) pop();
      const hi = i + 1 < points.length ? points[i + 1]! - 1 : FULL;
      const target = heap.length > 0 ? chain[heap[0]!]!.t : otherwise;
      segs.push({ lo, hi, target, weight: 1 });
    });
    return segs;
  }
  const points = new Set<number>([0]);
  for (const m of members) {
    const span = truthInterval(m, mask);
    if (!span) continue;
    points.add(span[0]);
    if (span[1] < FULL) points.add(span[1] + 1);
  }
  const starts = [...points].sort((a, c) => a - c);
  return starts.map((lo, i) => {
    let cur: DecisionNode = root;
    while (cur.kind === "test" && inside.has(cur.id)) {
      // A holds the word (raw region) or the word under the region's mask.
      const holds: boolean =
        mask === FULL ? testHolds(cur.op, cur.k, cur.mask, lo) : testHolds(cur.op, cur.k, FULL, lo);
      cur = holds ? cur.t : cur.f;
    }
    const hi = i + 1 < starts.length ? starts[i + 1]! - 1 : FULL;
    return { lo, hi, target: cur, weight: 1 };
  });
}

/**
 * {@link decide} with every decision graph replaced by a sentinel leaf: asking it about a
 * number tells whether the answer is a graph (which one) or an action, whatever order
 * the semantics checks its cases in (runc's -ENOSYS stub, bad arch, default).
 */
function numberOracle(r: ResolvedProfile): (audit: number, nr: number) => DecisionNode | Action {
  const graphs = new Map<number, DecisionNode>();
  const probe: ResolvedProfile = {
    ...r,
    abis: r.abis.map((abi) => {
      const decisions = new Map<number, DecisionNode>();
      for (const [nr, d] of abi.decisions) {
        const tag = graphs.size + 1;
        graphs.set(tag, d);
        // An errno no action has: evaluateDecision returns it, decide() passes it on.
        const sentinel: LeafNode = {
          kind: "leaf",
          id: -tag,
          action: { kind: "errno", data: -tag },
          value: 0,
        };
        decisions.set(nr, sentinel);
      }
      return { ...abi, decisions };
    }),
  };
  const none: readonly bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
  return (audit, nr) => {
    const a = decide(probe, audit, nr, none);
    if (a.kind === "errno" && a.data < 0) {
      const d = graphs.get(-a.data);
      if (!d) throw new CompileError(`internal: decide() returned an unknown sentinel ${a.data}`);
      return d;
    }
    return a;
  };
}

/**
 * The numbers of one audit arch as sorted segments of what they get, exactly as
 * {@link decide} answers: it is asked once per interval on which nothing it looks at
 * (ABI ranges, numbers with graphs, -ENOSYS bounds, -1, the x32 bit) changes.
 */
function numberSegments(
  audit: number,
  abis: readonly AbiPlan[],
  oracle: (audit: number, nr: number) => DecisionNode | Action,
  get: (n: DecisionNode) => DecisionNode,
  leaf: (a: Action) => LeafNode,
): Segment<DecisionNode>[] {
  // Quarters of the number space: bit 30 is x32's, bit 31 -1's.
  const bounds = new Set<number>([0, 0x40000000, 0x80000000, 0xc0000000, NR_NONE]);
  const add = (x: number) => {
    if (x >= 0 && x <= FULL) bounds.add(x);
  };
  const names: number[] = [];
  for (const abi of abis) {
    add(abi.nrRange[0]);
    add(abi.nrRange[1] + 1);
    for (const nr of abi.decisions.keys()) {
      add(nr >>> 0);
      add((nr >>> 0) + 1);
    }
    if (abi.enosysAbove !== undefined) {
      add((abi.enosysAbove >>> 0) + 1);
      // The stub of x86_64 or x32 may judge the other's numbers by its bound.
      add(((abi.enosysAbove >>> 0) ^ 0x40000000) + 1);
      add(((abi.enosysAbove >>> 0) | 0x80000000) + 1);
      add((((abi.enosysAbove >>> 0) ^ 0x40000000) | 0x80000000) + 1);
    }
    for (const nr of abi.names.keys()) names.push(nr >>> 0);
  }
  names.sort((a, b) => a - b);
  const below = (x: number): number => {
    // How many names are < x.
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (names[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const starts = [...bounds].sort((a, b) => a - b);
  const segs: Segment<DecisionNode>[] = [];
  for (let i = 0; i < starts.length; i++) {
    const lo = starts[i]!;
    const hi = i + 1 < starts.length ? starts[i + 1]! - 1 : FULL;
    const answer = oracle(audit, lo);
    const target = isNode(answer) ? get(answer) : leaf(answer);
    const weight = Math.max(1, below(hi + 1) - below(lo));
    segs.push({ lo, hi, target, weight });
  }
  return mergeSegments(segs);
}

/**
 * Compiles a resolved profile to BPF. Throws a {@link CompileError} when the result
 * would not load (longer than 4096 instructions), naming what takes the room.
 *
 * @example
 * ```ts
 * import { compileResolved, resolveProfile } from "@forge/seccomp";
 * const f = compileResolved(resolveProfile({ defaultAction: "SCMP_ACT_ALLOW" }, { arch: "x86_64" }));
 * f.program.length; // 7
 * ```
 */
export function compileResolved(r: ResolvedProfile): CompiledFilter {
  const groups = auditGroups(r);

  // 1. Specialise every graph along its paths (shared builder: equal results merge).
  const inputRoots: DecisionNode[] = [];
  for (const abi of r.abis) for (const d of abi.decisions.values()) inputRoots.push(d);
  const sp = new Specializer(inputRoots);
  const b = sp.builder;
  // Keyed by object: ids are unique only within the builder that made them.
  const specialized = new Map<DecisionNode, DecisionNode>();
  for (const d of inputRoots) if (!specialized.has(d)) specialized.set(d, sp.specialize(d));
  // Specialisation copies a node per context; should that outgrow what it saves, the
  // graphs as they are make the shorter filter.
  if (decisionNodes([...specialized.values()]).length > sp.inputSize) {
    for (const d of inputRoots) specialized.set(d, sp.copy(d));
  }
  const get = (d: DecisionNode): DecisionNode => specialized.get(d) ?? sp.copy(d);
  const oracle = numberOracle(r);
  const covered = new Set(r.abis.map((a) => a.auditArch));
  let uncovered = 0;
  while (covered.has(uncovered)) uncovered++;
  const bad = oracle(uncovered, 0);
  if (isNode(bad)) throw new CompileError("internal: decide() gives a graph for an uncovered arch");
  const badLeaf = b.leaf(bad);

  // 2. The number map of each audit arch.
  const dispatch = groups.map(([audit, abis]) => {
    const segments = numberSegments(audit, abis, oracle, get, (a) => b.leaf(a));
    const owner = (seg: Segment<DecisionNode>): string => {
      for (const abi of abis) {
        const name = abi.names.get(seg.lo);
        if (name !== undefined) return `${name} (${abi.arch})`;
      }
      return `nr ${seg.lo} (${abis[0]!.arch})`;
    };
    return {
      audit,
      abis,
      segments,
      owner,
      plan: undefined as SwitchPlan<DecisionNode> | undefined,
    };
  });

  // 3. Regions: maximal runs of tests on one word and mask, each node in one region.
  const roots: TestNode[] = [];
  const preds = new Map<number, number>();
  const EXTERNAL = 1 << 20;
  for (const g of dispatch) {
    for (const s of g.segments) {
      if (s.target.kind !== "test") continue;
      roots.push(s.target);
      preds.set(s.target.id, (preds.get(s.target.id) ?? 0) + EXTERNAL);
    }
  }
  const order = decisionNodes(roots);
  for (const n of order) {
    if (n.kind !== "test") continue;
    preds.set(n.t.id, (preds.get(n.t.id) ?? 0) + 1);
    preds.set(n.f.id, (preds.get(n.f.id) ?? 0) + 1);
  }
  const regionOf = new Map<number, Region>();
  const regions: Region[] = [];
  const absorbed = new Set<number>();
  for (const n of order) {
    if (n.kind !== "test" || absorbed.has(n.id)) continue;
    const slot = wordSlot(n.word);
    let region: Region;
    const base = { root: n, slot, sources: new Set<State>(), owner: "", live: false };
    const key = regionKey(n);
    if (key === undefined) {
      // (w & mask & k) != 0.
      region = { ...base, form: "jset", after: `${slot}`, k: (n.k & n.mask) >>> 0, t: n.t, f: n.f };
    } else {
      const members: TestNode[] = [n];
      const inside = new Set<number>([n.id]);
      for (let i = 0; i < members.length; i++) {
        for (const c of [members[i]!.t, members[i]!.f]) {
          if (
            c.kind === "test" &&
            regionKey(c) === key &&
            preds.get(c.id) === 1 &&
            !inside.has(c.id)
          ) {
            inside.add(c.id);
            absorbed.add(c.id);
            members.push(c);
          }
        }
      }
      const mask = regionMask(n);
      // One test under a mask that asks whether some bit of it is set: `jset` (no `and`,
      // A keeps the word).
      const single = members.length === 1 && mask !== FULL;
      const anySet =
        single &&
        ((n.op === "eq" && singleBit(mask) && n.k === mask) || // (w & bit) == bit
          (n.op === "gt" && n.k === 0) || // (w & m) > 0
          (n.op === "ge" && n.k === 1)); // (w & m) >= 1
      if (single && n.op === "eq" && n.k === 0) {
        // (w & m) == 0: no bit of m set.
        region = { ...base, form: "jset", after: `${slot}`, k: n.mask, t: n.f, f: n.t };
      } else if (anySet) {
        region = { ...base, form: "jset", after: `${slot}`, k: n.mask, t: n.t, f: n.f };
      } else {
        const segments = regionSegments(n, members, inside, mask);
        region = {
          ...base,
          form: "switch",
          after: mask === FULL ? `${slot}` : `${slot}&${mask}`,
          mask,
          segments,
        };
      }
    }
    regionOf.set(n.id, region);
    regions.push(region);
  }

  // 4. Regions that decide one thing for every input become that thing (children first).
  const resolve = (d: DecisionNode): DecisionNode => {
    let cur = d;
    for (;;) {
      if (cur.kind !== "test") return cur;
      const reg = regionOf.get(cur.id);
      if (!reg) throw new CompileError(`internal: node ${cur.id} is in no region`);
      if (!reg.alias) return cur;
      cur = reg.alias;
    }
  };
  // The most instructions a target runs (its ld, and, jumps, the ret): plans put
  // expensive targets where fewer jumps lead to them.
  const worstOf = new Map<Region, number>();
  const extra = (d: DecisionNode): number => {
    const t = resolve(d);
    return t.kind === "leaf" ? 1 : worstOf.get(regionOf.get(t.id)!)!;
  };
  for (let i = regions.length - 1; i >= 0; i--) {
    const reg = regions[i]!;
    if (reg.form === "jset") {
      const [t, f] = [resolve(reg.t), resolve(reg.f)];
      if (t === f) reg.alias = t;
      else worstOf.set(reg, 2 + Math.max(extra(t), extra(f)));
    } else {
      reg.segments = mergeSegments(reg.segments.map((s) => ({ ...s, target: resolve(s.target) })));
      if (reg.segments.length === 1) reg.alias = reg.segments[0]!.target;
      else {
        reg.plan = planSwitch(reg.segments, extra);
        worstOf.set(reg, (reg.mask === FULL ? 1 : 2) + planWorst(reg.plan, extra));
      }
    }
  }
  for (const g of dispatch) {
    g.segments = mergeSegments(g.segments.map((s) => ({ ...s, target: resolve(s.target) })));
    g.plan = planSwitch(g.segments, extra);
  }

  // 5. Which regions are reached, and with what in A.
  const exitsOf = (reg: Region): DecisionNode[] =>
    reg.form === "jset" ? [resolve(reg.t), resolve(reg.f)] : reg.segments.map((s) => s.target);
  const reach = (d: DecisionNode, from: State, owner: string) => {
    if (d.kind !== "test") return;
    const reg = regionOf.get(d.id)!;
    reg.sources.add(from);
    if (!reg.live) {
      reg.live = true;
      reg.owner = owner;
    }
  };
  for (const g of dispatch) for (const s of g.segments) reach(s.target, "", g.owner(s));
  for (const reg of regions) {
    if (!reg.live || reg.alias) continue;
    for (const d of exitsOf(reg)) reach(d, reg.after, reg.owner);
  }

  // 6. Emit.
  const spent = new Map<string, number>();
  let current = "the arch check";
  let mark = 0;
  const account = (owner: string) => {
    spent.set(current, (spent.get(current) ?? 0) + (p.length - mark));
    current = owner;
    mark = p.length;
  };
  const breakdown = (): string => {
    account(current);
    const top = [...spent.entries()]
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 4)
      .map(([who, n]) => `${who}: ${n}`);
    return top.join(", ");
  };
  const tooLong = (n: number, exact: boolean) =>
    new CompileError(
      `the filter has ${exact ? "" : "at least "}${n} instructions; the kernel loads at most ${BPF_MAXINSNS} (largest parts: ${breakdown()}). Merge rules or split the profile into stacked filters`,
    );
  const p = new Program(EMIT_LIMIT, (n) => tooLong(n, false));

  const entries = new Map<Region, Entries>();
  const entriesOf = (reg: Region): Entries => {
    let e = entries.get(reg);
    if (!e) {
      e = { load: p.label(), mask: p.label(), body: p.label() };
      entries.set(reg, e);
    }
    return e;
  };
  /** Where a jump leaving with `from` in A enters a region: 0 load, 1 mask, 2 body. */
  const entryLevel = (reg: Region, from: State): 0 | 1 | 2 => {
    if (reg.form === "jset" || reg.mask === FULL) return from === `${reg.slot}` ? 2 : 0;
    if (from === reg.after) return 2;
    return from === `${reg.slot}` ? 1 : 0;
  };
  const targetLabel = (d: DecisionNode, from: State): Label => {
    const t = resolve(d);
    if (t.kind === "leaf") return p.retLabel(t.value);
    const reg = regionOf.get(t.id)!;
    const e = entriesOf(reg);
    return [e.load, e.mask, e.body][entryLevel(reg, from)]!;
  };

  const emitPlan = (plan: SwitchPlan<DecisionNode>, from: State): void => {
    const entry = (q: SwitchPlan<DecisionNode>): Label =>
      q.kind === "goto" ? targetLabel(q.target, from) : p.label();
    switch (plan.kind) {
      case "goto":
        return;
      case "split": {
        const above = entry(plan.above);
        const below = entry(plan.below);
        p.jmp(BPF.JGE, plan.at, above, below);
        if (plan.below.kind !== "goto") {
          p.bind(below);
          emitPlan(plan.below, from);
        }
        if (plan.above.kind !== "goto") {
          p.bind(above);
          emitPlan(plan.above, from);
        }
        return;
      }
      case "chain": {
        const { lo, hi, tests } = plan;
        tests.forEach((t, i) => {
          const last = i === tests.length - 1;
          const next = last ? targetLabel(plan.otherwise, from) : p.label();
          const to = targetLabel(t.target, from);
          if (t.lo === t.hi) p.jmp(BPF.JEQ, t.lo, to, next);
          else if (t.lo === lo) p.jmp(BPF.JGT, t.hi, next, to);
          else if (t.hi === hi) p.jmp(BPF.JGE, t.lo, to, next);
          else {
            const inside = p.label();
            p.jmp(BPF.JGT, t.hi, next, inside);
            p.bind(inside);
            p.jmp(BPF.JGE, t.lo, to, next);
          }
          if (!last) p.bind(next);
        });
        return;
      }
    }
  };

  // The arch check.
  p.ld(SECCOMP_DATA.ARCH);
  const groupEntry = dispatch.map((g) =>
    g.plan!.kind === "goto" ? targetLabel(g.plan!.target, "") : p.label(),
  );
  dispatch.forEach((g, i) => {
    const last = i === dispatch.length - 1;
    const next = last ? p.retLabel(badLeaf.value) : p.label();
    p.jmp(BPF.JEQ, g.audit, groupEntry[i]!, next);
    if (!last) p.bind(next);
  });
  // The number dispatch of each audit arch.
  dispatch.forEach((g, i) => {
    if (g.plan!.kind === "goto") return;
    account(`the syscall-number dispatch (${g.abis.map((a) => a.arch).join(" + ")})`);
    p.bind(groupEntry[i]!);
    p.ld(SECCOMP_DATA.NR);
    emitPlan(g.plan!, "");
  });
  // The decision graphs, parents before children.
  for (const reg of regions) {
    if (!reg.live || reg.alias) continue;
    account(reg.owner);
    const e = entriesOf(reg);
    const levels = [...reg.sources].map((s) => entryLevel(reg, s));
    if (levels.includes(0)) {
      p.bind(e.load);
      p.ld(wordOffset(reg.slot));
    }
    if (reg.form === "switch" && reg.mask !== FULL && levels.some((l) => l <= 1)) {
      p.bind(e.mask);
      p.and(reg.mask);
    }
    p.bind(e.body);
    if (reg.form === "jset") {
      p.jmp(BPF.JSET, reg.k, targetLabel(reg.t, reg.after), targetLabel(reg.f, reg.after));
    } else emitPlan(reg.plan!, reg.after);
  }
  account("linking");
  // Linking only adds instructions: a program already too long is refused before it.
  if (p.length > BPF_MAXINSNS) throw tooLong(p.length, false);
  const program = p.link();
  if (program.length > BPF_MAXINSNS) throw tooLong(program.length, true);
  const problems = checkFilter(program);
  if (problems.length > 0)
    throw new CompileError(`internal: the compiled filter is invalid: ${problems.join("; ")}`);
  return {
    arch: r.target,
    program,
    bytes: encodeFilter(program),
    resolved: r,
    conflicts: r.conflicts,
    warnings: (r.warnings ?? []).map((w) => formatProfileIssue(w, r.source)),
  };
}

/**
 * Validates, resolves and compiles a profile for an architecture (default: the host's).
 * Throws a ProfileError listing every problem of a bad profile.
 *
 * @example
 * ```ts
 * import { compileProfile } from "@forge/seccomp";
 * const f = compileProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] }, { arch: "x86_64" });
 * console.log(f.bytes.length / 8, "instructions");
 * ```
 */
export function compileProfile(
  profile: unknown,
  opts: ResolveOptions = {},
  source?: string,
): CompiledFilter {
  return compileResolved(resolveProfile(profile, opts, source));
}

/**
 * The return value for calls from an architecture a filter does not cover.
 *
 * @example
 * ```ts
 * import { BAD_ARCH_VALUE } from "@forge/seccomp";
 * BAD_ARCH_VALUE === 0x80000000; // KILL_PROCESS
 * ```
 */
export const BAD_ARCH_VALUE: number = SECCOMP_RET.KILL_PROCESS;
