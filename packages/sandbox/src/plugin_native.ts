import type { BindSpec } from "@forge/namespaces";
import type { CapabilitySet } from "@forge/policy";
import { loadProfile } from "./profile.ts";
import { Sandbox } from "./sandbox.ts";

/**
 * A running native plugin process.
 *
 * @example
 * ```ts
 * import type { NativeHandle } from "@forge/sandbox";
 * declare const h: NativeHandle;
 * h.kill("SIGSTOP");
 * ```
 */
export interface NativeHandle {
  readonly pid?: number;
  /** Resolves with the exit code (128+N for signal N) once the process has ended. */
  wait(): Promise<{ readonly exitCode: number }>;
  /** Sends a signal; false when the process has already ended. */
  kill(signal?: string): boolean;
}

/**
 * Starts native plugin commands in a process sandbox. The default is
 * {@link namespaceLauncher}; the facade's full launcher can be injected instead.
 *
 * @example
 * ```ts
 * import type { NativeLauncher } from "@forge/sandbox";
 * const fake: NativeLauncher = {
 *   launch: () => ({ wait: async () => ({ exitCode: 0 }), kill: () => false }),
 * };
 * ```
 */
export interface NativeLauncher {
  launch(command: string, args: readonly string[], caps: CapabilitySet): NativeHandle;
}

/**
 * What a native plugin's capabilities open in its process sandbox: resources
 * `fs:ro:/abs/path` and `fs:rw:/abs/path` become read-only and read-write binds at the
 * same path, and `custom.net = "host"` shares the host's network. Everything else
 * stays closed.
 *
 * @example
 * ```ts
 * import { pluginSandboxOptions } from "@forge/sandbox";
 * pluginSandboxOptions({ syscalls: [], resources: ["fs:ro:/srv/data"], apis: [], custom: {} });
 * // { binds: [{ src: "/srv/data", dst: "/srv/data", readonly: true }], net: "none" }
 * ```
 */
export function pluginSandboxOptions(caps: CapabilitySet): {
  binds: BindSpec[];
  net: "none" | "host";
} {
  const binds: BindSpec[] = [];
  for (const r of caps.resources) {
    const m = /^fs:(ro|rw):(\/.*)$/.exec(r);
    if (m) binds.push({ src: m[2]!, dst: m[2]!, readonly: m[1] === "ro" });
  }
  return { binds, net: caps.custom.net === "host" ? "host" : "none" };
}

/**
 * The default launcher: each native plugin runs in a full process sandbox (the
 * `default` profile, or the one named: new namespaces and root, no capabilities,
 * seccomp, Landlock), opened up only as far as {@link pluginSandboxOptions} says.
 *
 * @example
 * ```ts
 * import { namespaceLauncher } from "@forge/sandbox";
 * const h = namespaceLauncher().launch("/bin/sleep", ["1"], { syscalls: [], resources: [], apis: [], custom: {} });
 * await h.wait();
 * ```
 */
export function namespaceLauncher(
  opts: {
    stdio?: readonly [
      "ignore" | "inherit" | number,
      "ignore" | "inherit" | number,
      "ignore" | "inherit" | number,
    ];
    /** The sandbox profile (default "default"). */
    profile?: string;
  } = {},
): NativeLauncher {
  return {
    launch(command, args, caps) {
      const box = Sandbox.start({
        argv: [command, ...args],
        profile: loadProfile(opts.profile ?? "default"),
        ...pluginSandboxOptions(caps),
        stdio: opts.stdio ?? ["ignore", "inherit", "inherit"],
      });
      return {
        pid: box.pid,
        wait: async () => ({ exitCode: (await box.wait()).status.exitCode }),
        kill: (signal = "SIGTERM") => box.kill(signal),
      };
    },
  };
}
