/**
 * Exports for fleets: the Security Profiles Operator's `SeccompProfile` resource, the
 * plain JSON kubelet loads from its seccomp directory, and an OCI `linux.seccomp`
 * fragment.
 *
 * Docker's extensions (archMap, includes/excludes by architecture, capabilities and
 * kernel version) exist in neither format, so they are resolved the way moby's
 * profile loader resolves them, for one native architecture, a capability set and a
 * kernel version. 64-bit values stay exact: values above 2^53 are bigints, which
 * {@link exportJson} writes as plain JSON integers (runc and the Kubernetes API read
 * `value` as uint64; a quoted number is refused).
 *
 * @module
 */
import os from "node:os";
import { type Arch, hostArch } from "@forge/libc";
import { parseAction } from "./action.ts";
import { type SeccompProfile, u64 } from "./profile.ts";
import { archFromProfileName, ruleApplies } from "./resolve.ts";

/** For whom an export is resolved. */
export interface ExportOptions {
  /** The native architecture (default: this host's); archMap and includes/excludes.arches are resolved for it. */
  readonly arch?: Arch;
  /** Capabilities the container will have, for includes/excludes.caps (default: none). */
  readonly caps?: readonly string[];
  /** Kernel version for includes/excludes.minKernel (default: this host's). */
  readonly kernel?: string;
}

/** A 64-bit value as exported: a number when exact, else a bigint. */
export type ExportValue = number | bigint;

/** One `linux.seccomp.syscalls[]` entry of the OCI runtime spec. */
export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: ExportValue; valueTwo?: ExportValue; op: string }[];
}

/** The OCI runtime spec's `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls: OciSeccompSyscall[];
}

const SCMP_NAMES: Record<Arch, string> = {
  x86_64: "SCMP_ARCH_X86_64",
  i386: "SCMP_ARCH_X86",
  x32: "SCMP_ARCH_X32",
  aarch64: "SCMP_ARCH_AARCH64",
  arm: "SCMP_ARCH_ARM",
};

/** SCMP_ARCH_* name of an architecture in any spelling ("amd64" → "SCMP_ARCH_X86_64"). */
function scmpArch(name: string): string {
  const a = archFromProfileName(name);
  return a ? SCMP_NAMES[a] : name;
}

function exportValue(v: Parameters<typeof u64>[0]): ExportValue {
  const b = u64(v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/**
 * The profile as the OCI runtime spec's `linux.seccomp` object, with Docker's
 * extensions resolved for `opts` (rules that do not apply are left out, the archMap
 * entry of the native architecture becomes `architectures`).
 *
 * @example
 * ```ts
 * import { builtinProfile, toOciSeccomp } from "@forge/seccomp";
 * const s = toOciSeccomp(builtinProfile("docker-default"), { arch: "x86_64" });
 * s.architectures; // ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
 * ```
 */
export function toOciSeccomp(p: SeccompProfile, opts: ExportOptions = {}): OciSeccomp {
  const arch = opts.arch ?? hostArch();
  const cond = { arch, caps: opts.caps ?? [], kernel: opts.kernel ?? os.release() };
  let arches: string[] = [];
  if (p.architectures && p.architectures.length > 0) arches = p.architectures.map(scmpArch);
  else if (p.archMap) {
    const entry = p.archMap.find((m) => archFromProfileName(m.architecture) === arch);
    if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])].map(scmpArch);
  }
  const syscalls = (p.syscalls ?? [])
    .filter((r) => ruleApplies(r.includes, r.excludes, cond))
    .map((r) => {
      const out: OciSeccompSyscall = {
        names: [...(r.names ?? []), ...(r.name ? [r.name] : [])],
        action: r.action,
      };
      if (r.errnoRet !== undefined && r.errnoRet !== null) out.errnoRet = r.errnoRet;
      if (r.args && r.args.length > 0) {
        out.args = r.args.map((a) => {
          const valueTwo = a.valueTwo === undefined ? 0 : exportValue(a.valueTwo);
          return {
            index: a.index,
            value: exportValue(a.value),
            ...(valueTwo !== 0 ? { valueTwo } : {}),
            op: a.op,
          };
        });
      }
      return out;
    });
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined && p.defaultErrnoRet !== null
      ? { defaultErrnoRet: p.defaultErrnoRet }
      : {}),
    ...(arches.length > 0 ? { architectures: [...new Set(arches)] } : {}),
    ...(p.flags && p.flags.length > 0 ? { flags: [...p.flags] } : {}),
    ...(p.listenerPath ? { listenerPath: p.listenerPath } : {}),
    syscalls,
  };
}

/**
 * The profile as an OCI runtime-spec fragment, `{ "linux": { "seccomp": {...} } }`, to
 * merge into a bundle's config.json (see {@link toOciSeccomp}).
 *
 * @example
 * ```ts
 * import { builtinProfile, exportJson, toOciFragment } from "@forge/seccomp";
 * const frag = toOciFragment(builtinProfile("minimal"), { arch: "x86_64" });
 * frag.linux.seccomp.defaultAction; // "SCMP_ACT_ERRNO"
 * console.log(exportJson(frag));
 * ```
 */
export function toOciFragment(
  p: SeccompProfile,
  opts: ExportOptions = {},
): { linux: { seccomp: OciSeccomp } } {
  return { linux: { seccomp: toOciSeccomp(p, opts) } };
}

/**
 * JSON text for an export, 2-space indented, with bigints written as exact integers.
 *
 * @example
 * ```ts
 * import { exportJson } from "@forge/seccomp";
 * exportJson({ value: 18446744073709551615n }); // '{\n  "value": 18446744073709551615\n}\n'
 * ```
 */
export function exportJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === "bigint" ? `\u0000u64:${v.toString()}` : v),
    2,
  );
  return `${text.replace(/"\\u0000u64:([0-9]+)"/g, "$1")}\n`;
}

/**
 * The JSON kubelet reads from `<kubelet root>/seccomp/` for
 * `securityContext.seccompProfile: { type: Localhost, localhostProfile: ... }`: the
 * OCI `linux.seccomp` object (see {@link toOciSeccomp}), which containerd and CRI-O
 * hand to the runtime.
 *
 * @example
 * ```ts
 * import { builtinProfile, toKubeletJson } from "@forge/seccomp";
 * const text = toKubeletJson(builtinProfile("default"), { arch: "x86_64" });
 * ```
 */
export function toKubeletJson(p: SeccompProfile, opts: ExportOptions = {}): string {
  return exportJson(toOciSeccomp(p, opts));
}

/** The architectures the Security Profiles Operator's CRD accepts. */
export const SPO_ARCHITECTURES: readonly string[] = [
  "SCMP_ARCH_NATIVE",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
];

/** The filter flags the Security Profiles Operator's CRD accepts. */
export const SPO_FLAGS: readonly string[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/** A Security Profiles Operator `SeccompProfile` resource. */
export interface SpoSeccompProfile {
  apiVersion: "security-profiles-operator.x-k8s.io/v1beta1";
  kind: "SeccompProfile";
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
  spec: {
    defaultAction: string;
    architectures?: string[];
    listenerPath?: string;
    flags?: string[];
    syscalls: (Omit<OciSeccompSyscall, "errnoRet"> & { errnoRet?: string })[];
  };
}

/**
 * A Security Profiles Operator `SeccompProfile` resource
 * (security-profiles-operator.x-k8s.io/v1beta1), as a JSON object (YAML is a superset),
 * shaped to its CRD: `spec.defaultAction`, `spec.architectures` (SCMP_ARCH_* names),
 * `spec.flags`, `spec.syscalls[].names/action/errnoRet/args` with `errnoRet` a string
 * and at most six args. The CRD has no `defaultErrnoRet` (the default errno is EPERM);
 * a profile that needs another one, or a flag or architecture the CRD lacks, is
 * refused with a RangeError rather than changed silently.
 *
 * @example
 * ```ts
 * import { builtinProfile, toSpoSeccompProfile } from "@forge/seccomp";
 * const res = toSpoSeccompProfile(builtinProfile("minimal"), "forge-minimal", "default");
 * res.kind; // "SeccompProfile"
 * ```
 */
export function toSpoSeccompProfile(
  p: SeccompProfile,
  name: string,
  namespace?: string,
  opts: ExportOptions = {},
): SpoSeccompProfile {
  const s = toOciSeccomp(p, opts);
  const def = parseAction(s.defaultAction, s.defaultErrnoRet);
  if (def.kind === "errno" && def.data !== 1) {
    throw new RangeError(
      `defaultErrnoRet ${def.data}: the SeccompProfile CRD has no defaultErrnoRet (its ERRNO default is EPERM); use defaultErrnoRet 1 or a rule per syscall`,
    );
  }
  for (const a of s.architectures ?? []) {
    if (!SPO_ARCHITECTURES.includes(a))
      throw new RangeError(
        `architecture ${a}: not one the SeccompProfile CRD accepts (${SPO_ARCHITECTURES.join(", ")})`,
      );
  }
  for (const f of s.flags ?? []) {
    if (!SPO_FLAGS.includes(f))
      throw new RangeError(
        `flag ${f}: not one the SeccompProfile CRD accepts (${SPO_FLAGS.join(", ")})`,
      );
  }
  const syscalls = s.syscalls.map((r, i) => {
    if ((r.args?.length ?? 0) > 6)
      throw new RangeError(
        `syscalls ${i} (${r.names.join(", ")}): ${r.args!.length} args; the SeccompProfile CRD allows at most 6`,
      );
    const { errnoRet, ...rest } = r;
    return errnoRet === undefined ? rest : { ...rest, errnoRet: String(errnoRet) };
  });
  return {
    apiVersion: "security-profiles-operator.x-k8s.io/v1beta1",
    kind: "SeccompProfile",
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      annotations: { "forge.dev/generated-by": "@forge/seccomp" },
    },
    spec: {
      defaultAction: s.defaultAction,
      ...(s.architectures ? { architectures: s.architectures } : {}),
      ...(s.listenerPath ? { listenerPath: s.listenerPath } : {}),
      ...(s.flags ? { flags: s.flags } : {}),
      syscalls,
    },
  };
}
