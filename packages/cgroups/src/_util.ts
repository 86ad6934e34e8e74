/**
 * Private helpers of @forge/cgroups.
 *
 * @module
 */

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (used only in bounded clean-up loops). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The errno name of a Node fs error or of a fake cgroupfs error ("ENOENT"), else "". */
export function errCode(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string"
    ? (e as { code: string }).code
    : "";
}

/** A short description of an error for one-line messages. */
export function errText(e: unknown): string {
  const code = errCode(e);
  if (code) return code;
  return e instanceof Error ? e.message : String(e);
}

/** Renders a byte count as "256 MiB" when it is a round binary multiple, else bytes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  let v = n;
  while (u < units.length - 1 && v >= 1024 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  return `${v} ${units[u]}`;
}

/** Parses "key value" lines (memory.events, cpu.stat, pids.events) into numbers. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Joins a mount directory and a cgroup path ("/a/b"), without a trailing slash. */
export function cgJoin(mount: string, cgPath: string): string {
  const rel = cgPath.replace(/^\/+/, "").replace(/\/+$/, "");
  return rel ? `${mount.replace(/\/+$/, "")}/${rel}` : mount.replace(/\/+$/, "") || "/";
}
