/**
 * vitest setup: the settings of every property-based fuzz test (fast-check), so that
 * a test calls `fc.assert(property)` and nothing more.
 *
 * In `npm test` every target is seeded (the same inputs on every run) and bounded to a
 * few seconds; `npm run fuzz` runs the same targets (files named `*_fuzz_test.ts`)
 * longer with a fresh seed, printed so that a counterexample can be replayed:
 *
 *   FORGE_FUZZ_SECONDS  time budget per fc.assert (default 3; `npm run fuzz`: 60)
 *   FORGE_FUZZ_SEED     the seed (default 20261207; "random": a new one, printed)
 *
 * A counterexample found becomes a fixed regression case beside the property.
 */
import fc from "fast-check";

const seconds = Number(process.env.FORGE_FUZZ_SECONDS ?? 3);
const raw = process.env.FORGE_FUZZ_SEED ?? "20261207";
const seed = raw === "random" ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(raw);
if (raw === "random") console.log(`fuzz: FORGE_FUZZ_SEED=${seed} FORGE_FUZZ_SECONDS=${seconds}`);

fc.configureGlobal({
  seed,
  // The time budget ends a run, not the count (checked between runs).
  numRuns: 1_000_000,
  interruptAfterTimeLimit: seconds * 1000,
  markInterruptAsFailure: false,
});
