// Shared helpers for the benchmarks: timing, medians, and a uniform report.
import { execFileSync } from "node:child_process";

/** Median of an array of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds since an hrtime.bigint() mark. */
export function since(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs each case `runs` times, interleaved, after `warmup` rounds; returns ms samples per case. */
export async function measure(cases, { runs = 100, warmup = 10 } = {}) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      await fn();
      if (i >= warmup) samples[name].push(since(t0));
    }
  }
  return samples;
}

/** True when a command exists on PATH. */
export function have(cmd) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Prints a table of medians and the ratio of `ours` to `peer`, with a pass/fail against `target`. */
export function report(title, samples, ours, peer, target) {
  console.log(`\n${title}`);
  for (const [name, xs] of Object.entries(samples)) {
    console.log(
      `  ${name.padEnd(44)} median ${median(xs).toFixed(3).padStart(8)} ms  (n=${xs.length})`,
    );
  }
  const ratio = median(samples[ours]) / median(samples[peer]);
  const ok = ratio <= target;
  console.log(
    `  ratio ${ours} / ${peer} = ${ratio.toFixed(3)}  (target <= ${target}: ${ok ? "met" : "NOT met"})`,
  );
  return { ratio, ok };
}
