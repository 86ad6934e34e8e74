/**
 * Test helper (private): starts a sandbox with piped stdout and stderr and resolves once
 * it has ended and both pipes are read to their end (the exit may be reported before
 * the output has been read).
 *
 * @module
 */
import { Sandbox, type SandboxOptions } from "./sandbox.ts";

/** What {@link runSandbox} collected. */
export interface SandboxRun {
  /** stdout. */
  readonly out: string;
  /** stderr. */
  readonly err: string;
  /** stdout and stderr in the order they were read. */
  readonly all: string;
  readonly r: Awaited<ReturnType<Sandbox["wait"]>>;
  readonly box: Sandbox;
}

/**
 * Runs `o` in a sandbox and collects its output.
 *
 * @example
 * ```ts
 * import { runSandbox } from "./_run_sandbox.ts";
 * const { out, r } = await runSandbox({ argv: ["/bin/echo", "hi"] });
 * ```
 */
export async function runSandbox(o: SandboxOptions): Promise<SandboxRun> {
  const box = Sandbox.start({ stdio: ["ignore", "pipe", "pipe"], ...o });
  let out = "";
  let err = "";
  let all = "";
  const { stdout, stderr } = box.process.child;
  stdout!.on("data", (d) => {
    out += d;
    all += d;
  });
  stderr!.on("data", (d) => {
    err += d;
    all += d;
  });
  const closed = [stdout!, stderr!].map((s) => new Promise((res) => s.once("close", res)));
  const r = await box.wait();
  await Promise.all(closed);
  return { out, err, all, r, box };
}
