/**
 * Finds a command inside a sandbox's new root before the sandbox exists, by mapping
 * each PATH directory back through the binds to the host.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";

/** A bind as the resolver needs it: host `src` appears at `dst` inside. */
export interface RootBind {
  readonly src: string;
  readonly dst: string;
}

/** Maps a path inside the sandbox to the host path that backs it, or undefined. */
export function hostPathOf(inside: string, binds: readonly RootBind[]): string | undefined {
  let best: RootBind | undefined;
  for (const b of binds) {
    const d = b.dst.replace(/\/+$/, "") || "/";
    if (
      (inside === d || inside.startsWith(d === "/" ? "/" : `${d}/`)) &&
      (!best || d.length > best.dst.length)
    )
      best = { src: b.src, dst: d };
  }
  return best ? path.join(best.src, path.relative(best.dst, inside)) : undefined;
}

/**
 * The inside paths to try for `cmd`, in PATH order; a command with a "/" is taken as
 * it is. When nothing matches, the last candidate is still returned so that the exec
 * fails with ENOENT and the error says where it looked.
 *
 * @example
 * ```ts
 * import { commandCandidates } from "@forge/sandbox";
 * commandCandidates("ls", "/usr/bin:/bin", [{ src: "/usr", dst: "/usr" }]); // ["/usr/bin/ls"]
 * ```
 */
export function commandCandidates(
  cmd: string,
  pathVar: string,
  binds: readonly RootBind[],
): string[] {
  if (cmd.includes("/")) return [cmd];
  const dirs = pathVar.split(":").filter((d) => d.startsWith("/"));
  const found: string[] = [];
  for (const dir of dirs) {
    const inside = path.posix.join(dir, cmd);
    const host = hostPathOf(inside, binds);
    if (!host) continue;
    try {
      const st = fs.statSync(host);
      if (st.isFile()) found.push(inside);
    } catch {
      // not there
    }
  }
  return found.length ? found : [path.posix.join(dirs[0] ?? "/usr/bin", cmd)];
}
