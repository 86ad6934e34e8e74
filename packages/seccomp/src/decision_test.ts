import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { actionValue } from "./action.ts";
import {
  type ArgCondition,
  DecisionBuilder,
  decisionDifferences,
  decisionNodes,
  evaluateDecision,
  formatDecision,
} from "./decision.ts";
import { OPERATORS } from "./profile.ts";

/** The meaning of one condition on whole arguments, straight from the definition. */
function reference(c: ArgCondition, arg: bigint, bits: 32 | 64): boolean {
  const x = BigInt.asUintN(bits, arg);
  const v = BigInt.asUintN(bits, c.value);
  switch (c.op) {
    case "SCMP_CMP_EQ":
      return x === v;
    case "SCMP_CMP_NE":
      return x !== v;
    case "SCMP_CMP_LT":
      return x < v;
    case "SCMP_CMP_LE":
      return x <= v;
    case "SCMP_CMP_GT":
      return x > v;
    case "SCMP_CMP_GE":
      return x >= v;
    case "SCMP_CMP_MASKED_EQ":
      return (x & v) === (BigInt.asUintN(bits, c.valueTwo) & v);
  }
}

const ALLOW = { kind: "allow" } as const;
const DENY = { kind: "errno", data: 1 } as const;

/** 64-bit values near interesting edges: the generator the tests draw from. */
const value = fc.oneof(
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
  fc.constantFrom(0n, 1n, 0xffffffffn, 0x100000000n, 0xffffffffffffffffn, 0x7fffffffffffffffn),
  fc.bigInt({ min: 0n, max: 20n }),
  fc.bigInt({ min: 0n, max: 20n }).map((x) => x | 0xdead00000000n),
);

describe("DecisionBuilder.condition", () => {
  test("decides every operator as its definition, on 32 and 64 bits", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPERATORS),
        value,
        value,
        value,
        fc.constantFrom(32 as const, 64 as const),
        (op, v, v2, arg, bits) => {
          const b = new DecisionBuilder();
          const c: ArgCondition = {
            index: 2,
            op,
            value: v,
            valueTwo: op === "SCMP_CMP_MASKED_EQ" ? v2 : 0n,
          };
          const n = b.condition(c, bits, b.leaf(ALLOW), b.leaf(DENY));
          const got = evaluateDecision(n, [0n, 0n, arg]).kind === "allow";
          expect(got).toBe(reference(c, arg, bits));
          // Near the compared value too.
          for (const x of [v, v + 1n, v - 1n, v2, v | 0xffff00000000n]) {
            const a = BigInt.asUintN(64, x);
            expect(evaluateDecision(n, [0n, 0n, a]).kind === "allow").toBe(reference(c, a, bits));
          }
        },
      ),
    );
  });

  test("on 32 bits never looks at the upper half", () => {
    const b = new DecisionBuilder();
    const n = b.all(
      [
        { index: 0, op: "SCMP_CMP_GT", value: 0x1_0000_0005n, valueTwo: 0n },
        { index: 1, op: "SCMP_CMP_MASKED_EQ", value: 0xffn, valueTwo: 4n },
      ],
      32,
      b.leaf(ALLOW),
      b.leaf(DENY),
    );
    expect(decisionNodes([n]).every((x) => x.kind === "leaf" || !x.word.hi)).toBe(true);
  });
});

describe("hash-consing", () => {
  test("equal graphs are one object, across calls", () => {
    const b = new DecisionBuilder();
    const c: ArgCondition = { index: 1, op: "SCMP_CMP_EQ", value: 0x5412n, valueTwo: 0n };
    const x = b.condition(c, 64, b.leaf(DENY), b.leaf(ALLOW));
    const y = b.condition(c, 64, b.leaf(DENY), b.leaf(ALLOW));
    expect(x).toBe(y);
    expect(b.leaf({ kind: "errno", data: 1 })).toBe(b.leaf(DENY));
    expect(b.leaf(DENY).value).toBe(actionValue(DENY));
    // A test whose branches agree is no test.
    expect(b.condition(c, 64, b.leaf(ALLOW), b.leaf(ALLOW))).toBe(b.leaf(ALLOW));
  });

  test("firstMatch: the first rule that holds decides", () => {
    const b = new DecisionBuilder();
    const n = b.firstMatch(
      [
        { conditions: [{ index: 0, op: "SCMP_CMP_LE", value: 64n, valueTwo: 0n }], action: ALLOW },
        { conditions: [{ index: 0, op: "SCMP_CMP_GT", value: 32n, valueTwo: 0n }], action: DENY },
      ],
      64,
      b.leaf({ kind: "kill_process" }),
    );
    expect(evaluateDecision(n, [40n]).kind).toBe("allow");
    expect(evaluateDecision(n, [65n]).kind).toBe("errno");
    expect(formatDecision(n)).toContain("args[0].hi");
  });
});

describe("decisionDifferences", () => {
  test("finds exactly the inputs where two graphs differ, with a real witness", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom(...OPERATORS),
            index: fc.integer({ min: 0, max: 2 }),
            value,
            valueTwo: value,
            allow: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.constantFrom(32 as const, 64 as const),
        (rs, bits) => {
          const b = new DecisionBuilder();
          const rules = rs.map((r) => ({
            conditions: [{ index: r.index, op: r.op, value: r.value, valueTwo: r.valueTwo }],
            action: r.allow ? ALLOW : DENY,
          }));
          const def = b.leaf({ kind: "trap" });
          const fwd = b.firstMatch(rules, bits, def);
          const rev = b.firstMatch([...rules].reverse(), bits, def);
          for (const d of decisionDifferences(fwd, rev, 8)) {
            expect(evaluateDecision(fwd, d.args)).toEqual(d.left);
            expect(evaluateDecision(rev, d.args)).toEqual(d.right);
            expect(actionValue(d.left)).not.toBe(actionValue(d.right));
          }
          expect(decisionDifferences(fwd, fwd)).toEqual([]);
          // Complete: where probing finds a difference, so does the walk.
          const probes = rs.flatMap((r) =>
            [r.value, r.value + 1n, r.value - 1n, r.valueTwo, r.valueTwo & r.value].map((x) => {
              const args = [0n, 0n, 0n];
              args[r.index] = BigInt.asUintN(64, x);
              return args;
            }),
          );
          const differs = probes.some(
            (a) => actionValue(evaluateDecision(fwd, a)) !== actionValue(evaluateDecision(rev, a)),
          );
          if (differs) expect(decisionDifferences(fwd, rev, 1).length).toBe(1);
        },
      ),
    );
  });

  test("names the class: ioctl TIOCSTI denied on one side only", () => {
    const b = new DecisionBuilder();
    const tiocsti: ArgCondition = { index: 1, op: "SCMP_CMP_EQ", value: 0x5412n, valueTwo: 0n };
    const strict = b.condition(tiocsti, 32, b.leaf(DENY), b.leaf(ALLOW));
    const lax = b.leaf(ALLOW);
    const [d] = decisionDifferences(strict, lax);
    expect(d?.args[1]).toBe(0x5412n);
    expect(d?.path).toEqual(["args[1].lo == 0x5412"]);
    expect(d?.left.kind).toBe("errno");
  });
});
