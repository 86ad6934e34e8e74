/**
 * Capabilities that let a sandbox undo its own walls, and the warning each one earns
 * when a profile or `--cap-add` keeps it. Keeping one is allowed (some jobs need it),
 * never silent.
 *
 * @module
 */
import { capName, capNumber } from "@forge/capabilities";

/**
 * The capabilities that open a wall from inside, with what each one opens (short:
 * `forge run` prints each as one line of at most 160 characters). In a user
 * namespace (every built-in profile has one) several only reach what the namespace
 * owns; with `namespaces.user: false` they are the host's.
 *
 * Not listed, as in Docker's default set: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL,
 * SETUID, SETGID, SETPCAP, SETFCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
 * AUDIT_WRITE; and the ones that only reach the caller's own limits or scheduling
 * (SYS_NICE, IPC_LOCK, LEASE, WAKE_ALARM, BLOCK_SUSPEND...).
 *
 * @example
 * ```ts
 * import { WALL_BREAKING_CAPABILITIES } from "@forge/sandbox";
 * console.log(WALL_BREAKING_CAPABILITIES.CAP_SYS_ADMIN);
 * ```
 */
export const WALL_BREAKING_CAPABILITIES: Readonly<Record<string, string>> = {
  CAP_SYS_ADMIN:
    "mount, umount and remount: read-only binds become writable, masked paths uncovered",
  CAP_SYS_PTRACE: "ptrace and process_vm_* on every process of the sandbox, forge-init included",
  CAP_SYS_MODULE: "loading kernel modules (with namespaces.user off: the host's kernel)",
  CAP_SYS_RAWIO: "raw I/O ports and device memory (with namespaces.user off)",
  CAP_DAC_READ_SEARCH:
    "open_by_handle_at reaches files outside its root (shocker; namespaces.user off)",
  CAP_NET_ADMIN: "its network's interfaces, routes and firewall (with --net host: the host's)",
  CAP_SYS_RESOURCE: "raising its own resource limits past the profile's rlimits",
  CAP_SYS_BOOT: "reboot and kexec (with namespaces.user off: the host's)",
  CAP_SYS_TIME: "setting the host's clock (with namespaces.user off)",
  CAP_SYSLOG: "reading the kernel log and kernel addresses (with namespaces.user off)",
  CAP_MAC_ADMIN: "changing the LSM policy (AppArmor, SELinux, Smack)",
  CAP_MAC_OVERRIDE: "bypassing the LSM policy",
  CAP_BPF: "loading BPF programs and maps",
  CAP_PERFMON: "perf events that read kernel memory and other processes",
  CAP_AUDIT_CONTROL: "changing the audit rules that watch the sandbox",
};

/**
 * One line per kept capability that lets the sandbox undo its own walls (see
 * {@link WALL_BREAKING_CAPABILITIES}); unknown names are left for the launch to report.
 *
 * @example
 * ```ts
 * import { capabilityWarnings } from "@forge/sandbox";
 * capabilityWarnings(["NET_BIND_SERVICE", "sys_admin"]);
 * // ["keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: mount, umount and remount ..."]
 * ```
 */
export function capabilityWarnings(caps: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of caps) {
    let name: string;
    try {
      name = capName(capNumber(c));
    } catch {
      continue;
    }
    const what = WALL_BREAKING_CAPABILITIES[name];
    if (!what || seen.has(name)) continue;
    seen.add(name);
    out.push(`keeping ${name} lets the sandbox undo its own walls: ${what}`);
  }
  return out;
}
