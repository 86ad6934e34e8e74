/**
 * The checks of a sandbox profile beyond its JSON Schema: everything a launch plan
 * would refuse in the document itself, each found by the function the plan calls for
 * it (the hostname step, the mount spec check, capability names, the seccomp filter,
 * limit and duration parsers), so that a profile that validates is one that plans.
 * What depends on the host (does a bind source exist, can the cgroups hold the
 * limits) is left to the plan: see `checkSandbox`.
 *
 * @module
 */
import { capNumber } from "@forge/capabilities";
import { parseCpus, parsePids, parseSize } from "@forge/cgroups";
import { checkMountSpec, hostnameStep, MountPlanError } from "@forge/namespaces";
import { parseDuration } from "./duration.ts";
import { checkCwd, checkEnvironment, namespaceProblems } from "./launch.ts";
import { oneLine } from "./one_line.ts";
import type { ProfileProblem, SandboxProfile } from "./profile.ts";
import { rlimitsFromRecord } from "./rlimits.ts";
import { filterSteps } from "./seccomp_filter.ts";

/** A JSON pointer token (RFC 6901: "~" is "~0", "/" is "~1"). */
function token(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * The problems of a profile that passed its schema, each with its JSON pointer; an
 * empty list when a plan can be made of it (on a host where its bind sources exist).
 *
 * @example
 * ```ts
 * import { profileProblems } from "@forge/sandbox";
 * profileProblems({ name: "x", hostname: "a b" });
 * // [{ pointer: "/hostname", message: 'invalid hostname "a b": 1 to 64 letters, ...' }]
 * ```
 */
export function profileProblems(p: SandboxProfile): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  const check = (pointer: string, f: () => unknown, strip?: string) => {
    try {
      f();
      return true;
    } catch (e) {
      let message = oneLine(String((e as Error)?.message ?? e));
      if (strip && message.startsWith(strip)) message = message.slice(strip.length);
      out.push({ pointer, message });
      return false;
    }
  };
  const ns = namespaceProblems({
    ...(p.namespaces ? { namespaces: p.namespaces } : {}),
    ...(p.root ? { root: {} } : {}),
    ...(p.hostname !== undefined ? { hostname: p.hostname } : {}),
  });
  if (p.hostname !== undefined) {
    check("/hostname", () => hostnameStep(p.hostname!));
    for (const n of ns.filter((x) => x.field === "hostname"))
      out.push({ pointer: "/hostname", message: n.message });
  }
  if (p.root) {
    for (const n of ns.filter((x) => x.field === "root"))
      out.push({ pointer: "/root", message: n.message });
    const root = p.root;
    try {
      // The spec the launch builds from the profile (optional binds included: a clash
      // with one is a clash wherever its source exists).
      checkMountSpec({
        binds: (root.binds ?? []).map((b) => ({ src: b.src, dst: b.dst ?? b.src })),
        tmpfs: (root.tmpfs ?? []).map((t) => ({
          dst: t.dst,
          ...(t.size !== undefined ? { size: t.size } : {}),
          ...(t.inodes !== undefined ? { inodes: t.inodes } : {}),
        })),
        proc: root.proc ?? true,
        dev: root.dev ?? true,
      });
    } catch (e) {
      const item = e instanceof MountPlanError ? e.item : undefined;
      // A bind without dst has it from src: the source is the field at fault.
      const field =
        item?.list === "binds" &&
        item.field === "dst" &&
        root.binds?.[item.index ?? -1]?.dst === undefined
          ? "src"
          : item?.field;
      out.push({
        pointer: !item
          ? "/root"
          : item.list
            ? `/root/${item.list}/${item.index}/${field}`
            : `/root/${field}`,
        message: oneLine((e as Error).message),
      });
    }
  }
  if (p.cwd !== undefined) check("/cwd", () => checkCwd(p.cwd));
  for (const [k, v] of Object.entries(p.env?.set ?? {}))
    check(`/env/set/${token(k)}`, () => checkEnvironment({ [k]: v }));
  const caps = (p.capabilities?.add ?? []).filter((c, i) =>
    check(`/capabilities/add/${i}`, () => capNumber(c)),
  );
  // A built-in name is checked by the code that installs it (a file: by the plan).
  if (p.seccomp && p.seccomp !== "unconfined" && !p.seccomp.includes("/"))
    check("/seccomp", () => filterSteps(p.seccomp!, caps));
  if (p.rlimits) check("/rlimits", () => rlimitsFromRecord(p.rlimits));
  const l = p.limits;
  if (l?.memory !== undefined) check("/limits/memory", () => parseSize(l.memory!, "memory"));
  if (l?.swap !== undefined) check("/limits/swap", () => parseSize(l.swap!, "swap"));
  if (l?.cpus !== undefined) check("/limits/cpus", () => parseCpus(String(l.cpus)));
  if (l?.pids !== undefined) check("/limits/pids", () => parsePids(l.pids!));
  if (p.timeout !== undefined)
    check("/timeout", () => parseDuration(p.timeout!, "timeout"), "timeout: ");
  return out;
}
