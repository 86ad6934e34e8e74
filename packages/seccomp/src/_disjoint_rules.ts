/**
 * Rewrites rules decided by precedence (Forge's "strictest": the most restrictive
 * matching action wins) into rules of which no two with different actions overlap
 * (private; used by `export.ts`). Once no call matches two rules with different
 * actions, every engine decides the rules alike, whatever order or precedence it
 * applies: runc + libseccomp then enforce what Forge enforces. Rules with the default
 * action are left out (runc skips them; their calls get the default anyway).
 *
 * For one syscall, with its rules R1..Rn in precedence order, rule i keeps the calls
 * that match it and no earlier rule with another action: Ci AND NOT Cj for each such j,
 * where NOT (a AND b) is "NOT a" or "NOT b" (alternatives with the same action may
 * overlap: that changes nothing). A negated comparison is one comparison (NE for EQ, GE
 * for LT...); a negated MASKED_EQ is one alternative per bit of the mask. Several
 * comparisons on one argument (which libseccomp refuses in one rule) are merged into
 * one, or, when no single comparison says it, into masked-equality blocks, one
 * alternative rule each.
 *
 * On 32-bit ABIs (i386, arm; x32 as libseccomp compares it) values are compared
 * modulo 2^32, so alternatives that are disjoint on 64 bits may overlap there; the
 * rules come most restrictive first, which decides such overlaps as Forge does for an
 * engine that takes the first match. The export's exact check says whether runc does.
 *
 * The result is bounded: a profile whose rewrite would need more than a few thousand
 * rules gets `undefined` (the caller keeps the profile's rules and reports the
 * differences).
 *
 * @module
 */
import { type Action, actionRank, actionValue, parseAction } from "./action.ts";
import type { Operator, SeccompArg, SeccompRule } from "./profile.ts";
import { u64 } from "./profile.ts";
import { type Condition, conditionHolds } from "./resolve.ts";

const MAX = 0xffffffffffffffffn;
/** Alternatives per rule, and rules in all, before the rewrite gives up. */
const CUBES_PER_RULE = 512;
const RULES_LIMIT = 4000;

/** A set of 64-bit values: those with `(x & m) == d`. */
interface Cube {
  readonly m: bigint;
  readonly d: bigint;
}

/** A conjunction of conditions (at most one per argument once simplified). */
type Conj = readonly Condition[];

function negate(c: Condition): Condition[] {
  const op = (o: Operator, value: bigint): Condition => ({
    index: c.index,
    op: o,
    value,
    valueTwo: 0n,
  });
  switch (c.op) {
    case "SCMP_CMP_EQ":
      return [op("SCMP_CMP_NE", c.value)];
    case "SCMP_CMP_NE":
      return [op("SCMP_CMP_EQ", c.value)];
    case "SCMP_CMP_LT":
      return [op("SCMP_CMP_GE", c.value)];
    case "SCMP_CMP_GE":
      return [op("SCMP_CMP_LT", c.value)];
    case "SCMP_CMP_LE":
      return [op("SCMP_CMP_GT", c.value)];
    case "SCMP_CMP_GT":
      return [op("SCMP_CMP_LE", c.value)];
    case "SCMP_CMP_MASKED_EQ": {
      // (x & m) != (d & m): some bit of the mask differs from the datum's.
      const m = c.value;
      const d = c.valueTwo & m;
      const out: Condition[] = [];
      for (let b = 0n; b < 64n; b++) {
        const bit = 1n << b;
        if ((m & bit) === 0n) continue;
        out.push({ index: c.index, op: "SCMP_CMP_MASKED_EQ", value: bit, valueTwo: ~d & bit });
      }
      return out;
    }
  }
}

/** The aligned power-of-two blocks whose union is [lo, hi], as cubes. */
function rangeCubes(lo: bigint, hi: bigint): Cube[] {
  const out: Cube[] = [];
  let x = lo;
  while (x <= hi) {
    let size = 1n;
    while (x % (size * 2n) === 0n && x + size * 2n - 1n <= hi && size < 1n << 63n) size *= 2n;
    if (x === 0n && hi === MAX) return [{ m: 0n, d: 0n }];
    out.push({ m: MAX & ~(size - 1n), d: x });
    x += size;
  }
  return out;
}

function cubesOf(c: Condition): Cube[] {
  const v = c.value;
  switch (c.op) {
    case "SCMP_CMP_EQ":
      return [{ m: MAX, d: v }];
    case "SCMP_CMP_MASKED_EQ":
      return [{ m: v, d: c.valueTwo & v }];
    case "SCMP_CMP_NE": {
      const out: Cube[] = [];
      for (let b = 63n; b >= 0n; b--) {
        const m = MAX & ~((1n << b) - 1n);
        out.push({ m, d: (v & m) ^ (1n << b) });
      }
      return out;
    }
    case "SCMP_CMP_GE":
      return rangeCubes(v, MAX);
    case "SCMP_CMP_GT":
      return v === MAX ? [] : rangeCubes(v + 1n, MAX);
    case "SCMP_CMP_LE":
      return rangeCubes(0n, v);
    case "SCMP_CMP_LT":
      return v === 0n ? [] : rangeCubes(0n, v - 1n);
  }
}

function intersect(a: readonly Cube[], b: readonly Cube[]): Cube[] | undefined {
  const out = new Map<string, Cube>();
  for (const x of a) {
    for (const y of b) {
      if (((x.d ^ y.d) & x.m & y.m) !== 0n) continue;
      const c = { m: x.m | y.m, d: x.d | y.d };
      out.set(`${c.m}/${c.d}`, c);
      if (out.size > CUBES_PER_RULE) return undefined;
    }
  }
  // Drop cubes inside others (same action: only fewer rules).
  const list = [...out.values()];
  return list.filter(
    (c, i) =>
      !list.some(
        (o, j) => j !== i && (o.m & c.m) === o.m && (c.d & o.m) === o.d && (o.m !== c.m || j < i),
      ),
  );
}

function cubeCondition(index: number, c: Cube): Condition {
  return c.m === MAX
    ? { index, op: "SCMP_CMP_EQ", value: c.d, valueTwo: 0n }
    : { index, op: "SCMP_CMP_MASKED_EQ", value: c.m, valueTwo: c.d };
}

/**
 * The alternatives (each at most one condition per argument) equal to a conjunction;
 * [] when it never holds; undefined when too many are needed.
 */
function simplify(conj: Conj): Conj[] | undefined {
  const byArg = new Map<number, Condition[]>();
  for (const c of conj) {
    const list = byArg.get(c.index) ?? [];
    list.push(c);
    byArg.set(c.index, list);
  }
  let alts: Condition[][] = [[]];
  for (const [index, list] of [...byArg.entries()].sort((a, b) => a[0] - b[0])) {
    let options: Condition[][];
    const eq = list.find((c) => c.op === "SCMP_CMP_EQ");
    if (list.length === 1) options = [[list[0]!]];
    else if (eq) options = list.every((c) => conditionHolds(c, eq.value, 64)) ? [[eq]] : [];
    else {
      let cubes: Cube[] | undefined = [{ m: 0n, d: 0n }];
      for (const c of list) {
        cubes = intersect(cubes, cubesOf(c));
        if (!cubes) return undefined;
      }
      options = cubes.map((c) => (c.m === 0n ? [] : [cubeCondition(index, c)]));
    }
    if (options.length === 0) return [];
    const next: Condition[][] = [];
    for (const a of alts) for (const o of options) next.push([...a, ...o]);
    if (next.length > CUBES_PER_RULE) return undefined;
    alts = next;
  }
  return alts;
}

function ruleConditions(r: SeccompRule): Condition[] {
  return (r.args ?? []).map((a) => ({
    index: a.index,
    op: a.op,
    value: u64(a.value),
    valueTwo: a.op === "SCMP_CMP_MASKED_EQ" ? u64(a.valueTwo ?? 0) & u64(a.value) : 0n,
  }));
}

function exportedArg(c: Condition): SeccompArg {
  const v = (x: bigint) => (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString());
  return c.op === "SCMP_CMP_MASKED_EQ"
    ? { index: c.index, value: v(c.value), valueTwo: v(c.valueTwo), op: c.op }
    : { index: c.index, value: v(c.value), op: c.op };
}

/**
 * The rules (already filtered for includes/excludes) rewritten so that no two with
 * different actions overlap on any syscall, decided as Forge's "strictest" semantics
 * decides the originals; undefined when that needs too many rules.
 */
export function disjointRules(
  rules: readonly SeccompRule[],
  defaultAction: Action,
): SeccompRule[] | undefined {
  const def = actionValue(defaultAction) >>> 0;
  type Entry = { conds: Condition[]; action: Action; value: number; source: number };
  const perName = new Map<string, Entry[]>();
  rules.forEach((r, source) => {
    const action = parseAction(r.action, r.errnoRet);
    const conds = ruleConditions(r);
    for (const name of [...(r.names ?? []), ...(r.name ? [r.name] : [])]) {
      const list = perName.get(name) ?? [];
      list.push({ conds, action, value: actionValue(action) >>> 0, source });
      perName.set(name, list);
    }
  });
  // Output rules keyed by action and conditions, with the names that share them.
  const out = new Map<string, { rule: SeccompRule; first: number; rank: number }>();
  let count = 0;
  for (const [name, entries] of perName) {
    const sorted = [...entries].sort(
      (a, b) => actionRank(a.value) - actionRank(b.value) || a.source - b.source,
    );
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      let region: Conj[] | undefined = simplify(e.conds);
      if (!region) return undefined;
      for (let j = 0; j < i && region.length > 0; j++) {
        const earlier = sorted[j]!;
        if (earlier.value === e.value) continue;
        if (earlier.conds.length === 0) {
          region = [];
          break;
        }
        const next: Conj[] = [];
        for (const cube of region) {
          for (const lit of earlier.conds.flatMap(negate)) {
            const s = simplify([...cube, lit]);
            if (!s) return undefined;
            next.push(...s);
          }
        }
        if (next.length > CUBES_PER_RULE) return undefined;
        region = dedupe(next);
      }
      if (e.value === def) continue;
      for (const cube of region) {
        const args = [...cube].sort((a, b) => a.index - b.index).map(exportedArg);
        const key = `${e.value}|${JSON.stringify(args)}`;
        const have = out.get(key);
        if (have) {
          if (!have.rule.names!.includes(name)) have.rule.names!.push(name);
          continue;
        }
        if (++count > RULES_LIMIT) return undefined;
        const rule: SeccompRule = { names: [name], action: rules[e.source]!.action };
        const errnoRet = rules[e.source]!.errnoRet;
        if (errnoRet !== undefined && errnoRet !== null) rule.errnoRet = errnoRet;
        if (args.length > 0) rule.args = args;
        out.set(key, { rule, first: e.source, rank: actionRank(e.value) });
      }
    }
  }
  // Most restrictive first: on 32-bit ABIs, where the upper halves of values drop out,
  // alternatives that were disjoint on 64 bits may overlap; an engine that takes the
  // first match then still picks the stricter one, as Forge does.
  return [...out.values()].sort((a, b) => a.rank - b.rank || a.first - b.first).map((x) => x.rule);
}

function dedupe(list: Conj[]): Conj[] {
  const seen = new Map<string, Conj>();
  for (const c of list) {
    const key = [...c]
      .map((x) => `${x.index}${x.op}${x.value}/${x.valueTwo}`)
      .sort()
      .join("&");
    seen.set(key, c);
  }
  return [...seen.values()];
}
