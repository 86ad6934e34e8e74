/**
 * Shared plumbing of the v1 and v2 writers: write a value, read it back, and report
 * a failure as a strict error or a best-effort warning.
 *
 * @module
 */
import { errCode, errText } from "./_util.ts";
import { CgroupError } from "./cgroup_error.ts";
import type { CgroupFs } from "./cgroup_fs.ts";

/** Collects problems: strict mode throws the first, best-effort keeps them as warnings. */
export class Problems {
  readonly warnings: string[] = [];
  constructor(readonly mode: "strict" | "best-effort") {}

  /** Reports a limit that cannot be applied. */
  fail(message: string, code: string, path?: string, cause?: unknown): void {
    if (this.mode === "strict") throw new CgroupError(message, code, path, { cause });
    this.warnings.push(`${message} (best-effort: continuing without it)`);
  }
}

/**
 * Writes `value` to `file`, reads it back and checks it with `ok`. Returns false
 * (after reporting) when the write failed or did not hold.
 */
export function writeVerified(
  cfs: CgroupFs,
  file: string,
  value: string,
  what: string,
  problems: Problems,
  ok: (readBack: string) => boolean = (r) => r.trim() === value.trim(),
): boolean {
  try {
    cfs.write(file, value);
  } catch (e) {
    const code = errCode(e) || "EIO";
    problems.fail(
      `cannot set ${what}: writing "${value}" to ${file} failed with ${errText(e)}${hint(code)}`,
      code,
      file,
      e,
    );
    return false;
  }
  let back: string;
  try {
    back = cfs.read(file);
  } catch (e) {
    problems.fail(
      `cannot verify ${what}: reading ${file} back failed with ${errText(e)}`,
      errCode(e) || "EIO",
      file,
      e,
    );
    return false;
  }
  if (!ok(back)) {
    problems.fail(
      `${what} did not hold: wrote "${value}" to ${file} but it reads "${back.trim()}"`,
      "VERIFY",
      file,
    );
    return false;
  }
  return true;
}

function hint(code: string): string {
  switch (code) {
    case "ENOENT":
      return " (the controller is not enabled for this cgroup, or the kernel lacks the file)";
    case "EACCES":
    case "EPERM":
      return " (no permission: run as root or in a delegated cgroup, e.g. systemd-run --user --scope -p Delegate=yes)";
    case "EINVAL":
    case "ERANGE":
      return " (the kernel rejected the value)";
    default:
      return "";
  }
}

/** Compares a memory file read back (bytes rounded down to a page, or "max") with the request. */
export function memoryHolds(want: number | "max", back: string, maxish?: bigint): boolean {
  const b = back.trim();
  if (want === "max")
    return b === "max" || (maxish !== undefined && /^\d+$/.test(b) && BigInt(b) >= maxish);
  if (!/^\d+$/.test(b)) return false;
  const got = BigInt(b);
  const w = BigInt(want);
  return got <= w && w - got < 65536n;
}
