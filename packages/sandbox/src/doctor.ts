/**
 * What the running kernel offers a sandbox: user namespaces (and what limits them),
 * seccomp actions, Landlock, cgroups, pidfd, clone3 and io_uring. Every check is a
 * real probe or a read of the kernel's own files.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import * as cgroups from "@forge/cgroups";
import { CLONE, type Libc, openLibc, SyscallError, spawn } from "@forge/libc";

/** One finding: ok or not, what was seen, and the one-line fix when there is one. */
export interface Finding {
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** The whole report of {@link probeKernel}. */
export interface DoctorReport {
  readonly kernel: string;
  readonly arch: string;
  readonly uid: number;
  readonly userNamespaces: Finding & {
    readonly unprivileged: boolean;
    readonly maxUserNamespaces: number | null;
  };
  readonly seccomp: Finding & { readonly actions: readonly string[] };
  readonly landlock: Finding & { readonly abi: number };
  readonly pidfd: Finding;
  readonly clone3: Finding;
  readonly ioUring: Finding & { readonly disabled: number | null };
  /** The cgroup layout (v2, v1, hybrid) and whether this user can set limits. */
  readonly cgroups: Finding & { readonly kind: string; readonly lines: readonly string[] };
  /** Whether each sandbox gets the default pids limit (a cgroup pids.max), and how to get it. */
  readonly defaultPids: Finding & { readonly limit: number };
}

function readSysctl(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
}

function errnoOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

/** Can an unprivileged user (uid 65534) create a user namespace here? Probed for real when we are root. */
function unprivilegedUserns(uid: number): boolean {
  if (uid !== 0) {
    try {
      const c = spawn({
        argv: ["/bin/true"],
        cloneFlags: CLONE.NEWUSER,
        stdio: ["ignore", "ignore", "ignore"],
      });
      void c.wait();
      return true;
    } catch {
      return false;
    }
  }
  try {
    execFileSync(
      "setpriv",
      ["--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "--user", "true"],
      {
        stdio: "ignore",
        timeout: 5000,
      },
    );
    return true;
  } catch {
    return false;
  }
}

function userNamespaces(uid: number): DoctorReport["userNamespaces"] {
  const max = readSysctl("/proc/sys/user/max_user_namespaces");
  const debian = readSysctl("/proc/sys/kernel/unprivileged_userns_clone");
  const apparmor = readSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  const maxN = max === null ? null : Number(max);
  if (maxN === 0) {
    return {
      ok: false,
      unprivileged: false,
      maxUserNamespaces: 0,
      detail: "user namespaces are disabled (user.max_user_namespaces = 0)",
      fix: "sysctl -w user.max_user_namespaces=15000",
    };
  }
  const unpriv = unprivilegedUserns(uid);
  if (unpriv) {
    return {
      ok: true,
      unprivileged: true,
      maxUserNamespaces: maxN,
      detail: `available, also to unprivileged users (user.max_user_namespaces = ${max})`,
    };
  }
  let why = "unprivileged users cannot create user namespaces";
  let fix: string | undefined;
  if (debian === "0") {
    why += " (kernel.unprivileged_userns_clone = 0)";
    fix = "sysctl -w kernel.unprivileged_userns_clone=1";
  } else if (apparmor === "1") {
    why += " (AppArmor: kernel.apparmor_restrict_unprivileged_userns = 1)";
    fix =
      "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   # or give forge an AppArmor profile with 'userns,'";
  }
  return {
    ok: uid === 0,
    unprivileged: false,
    maxUserNamespaces: maxN,
    detail: why,
    ...(fix ? { fix } : {}),
  };
}

function landlock(libc: Libc): DoctorReport["landlock"] {
  try {
    const abi = libc.landlockCreateRuleset(null, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    return { ok: true, abi, detail: `ABI ${abi}` };
  } catch (e) {
    const code = e instanceof SyscallError ? e.code : String(e);
    const detail =
      code === "EOPNOTSUPP"
        ? "built in but disabled at boot"
        : code === "ENOSYS"
          ? "not built into this kernel"
          : `unavailable (${code})`;
    return {
      ok: false,
      abi: 0,
      detail,
      fix:
        code === "EOPNOTSUPP"
          ? 'add "landlock" to the kernel\'s lsm= boot parameter'
          : "use a kernel built with CONFIG_SECURITY_LANDLOCK=y",
    };
  }
}

function defaultPidsFinding(): DoctorReport["defaultPids"] {
  try {
    const s = cgroups.defaultPidsStatus();
    return { ok: s.inForce, limit: s.limit, detail: s.detail, ...(s.fix ? { fix: s.fix } : {}) };
  } catch (e) {
    return {
      ok: false,
      limit: cgroups.DEFAULT_PIDS_LIMIT,
      detail: `could not tell: ${(e as Error).message}`,
    };
  }
}

function cgroupFinding(): DoctorReport["cgroups"] {
  try {
    const layout = cgroups.detectCgroupLayout();
    const lines = cgroups.describeCgroupLayout(layout);
    const ok = layout.kind !== "none" && layout.delegation.available;
    return {
      ok,
      kind: layout.kind,
      lines,
      detail: lines.map((l) => l.trim()).join("; "),
      ...(ok
        ? {}
        : layout.kind === "none"
          ? { fix: "mount cgroup2 at /sys/fs/cgroup (or enable cgroups in the kernel)" }
          : {
              fix: "run forge in a delegated cgroup: systemd-run --user --scope -p Delegate=yes forge run ...",
            }),
    };
  } catch (e) {
    return {
      ok: false,
      kind: "unknown",
      lines: [],
      detail: `could not read the cgroup layout: ${(e as Error).message}`,
    };
  }
}

/**
 * Probes the running kernel.
 *
 * @example
 * ```ts
 * import { probeKernel } from "@forge/sandbox";
 * const report = probeKernel();
 * console.log(report.userNamespaces.detail, report.landlock.abi);
 * ```
 */
export function probeKernel(libc: Libc = openLibc()): DoctorReport {
  const uid = libc.geteuid();
  const actions = (readSysctl("/proc/sys/kernel/seccomp/actions_avail") ?? "")
    .split(/\s+/)
    .filter(Boolean);
  const wanted = [
    "kill_process",
    "kill_thread",
    "trap",
    "errno",
    "user_notif",
    "trace",
    "log",
    "allow",
  ];
  const missing = wanted.filter((a) => !actions.includes(a));

  const pidfdErr = errnoOf(() => libc.close(libc.pidfdOpen(libc.getpid(), 0)));
  const pidfd: Finding =
    pidfdErr === null
      ? { ok: true, detail: "pidfd_open works" }
      : { ok: false, detail: `pidfd_open fails with ${pidfdErr}`, fix: "use Linux 5.3 or newer" };

  // clone3 with a NULL argument: EFAULT/EINVAL when it exists, ENOSYS when it does not.
  const c3 = errnoOf(() => libc.syscall("clone3", null, 0));
  const clone3: Finding =
    c3 === "ENOSYS"
      ? {
          ok: false,
          detail: "clone3 is missing (CLONE_INTO_CGROUP unavailable)",
          fix: "use Linux 5.7 or newer",
        }
      : { ok: true, detail: "clone3 is available" };

  const disabledText = readSysctl("/proc/sys/kernel/io_uring_disabled");
  const disabled = disabledText === null ? null : Number(disabledText);
  const iou = errnoOf(() => libc.syscall("io_uring_setup", 0, null));
  const ioDetail =
    iou === "ENOSYS"
      ? "not available in this kernel"
      : disabled === 2
        ? "disabled for everyone (kernel.io_uring_disabled = 2)"
        : disabled === 1
          ? "limited to the io_uring_group (kernel.io_uring_disabled = 1)"
          : "enabled; Forge's default seccomp profile denies it inside sandboxes";

  return {
    kernel: os.release(),
    arch: libc.arch,
    uid,
    userNamespaces: userNamespaces(uid),
    seccomp: {
      ok: missing.length === 0,
      actions,
      detail: missing.length
        ? `missing actions: ${missing.join(", ")}`
        : `all actions available (${actions.join(", ")})`,
    },
    landlock: landlock(libc),
    pidfd,
    clone3,
    ioUring: { ok: true, disabled, detail: ioDetail },
    cgroups: cgroupFinding(),
    defaultPids: defaultPidsFinding(),
  };
}
