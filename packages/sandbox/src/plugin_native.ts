import { CLONE, spawn } from "@forge/libc";
import type { CapabilitySet } from "@forge/policy";

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

/** The namespaces a native plugin gets from {@link namespaceLauncher}. */
export const PLUGIN_CLONE_FLAGS =
  CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNET;

/**
 * The default native launcher: @forge/libc `spawn` with new user, pid, mount, ipc, uts
 * and net namespaces and a PID-1 reaper step, stdio inherited (stdin ignored), a clean
 * environment. Capabilities are not mapped to seccomp/Landlock here; the facade's
 * launcher does that when injected.
 *
 * @example
 * ```ts
 * import { namespaceLauncher } from "@forge/sandbox";
 * const h = namespaceLauncher().launch("/bin/true", [], { syscalls: [], resources: [], apis: [], custom: {} });
 * console.log((await h.wait()).exitCode); // 0
 * ```
 */
export function namespaceLauncher(
  opts: {
    stdio?: readonly [
      "ignore" | "inherit" | number,
      "ignore" | "inherit" | number,
      "ignore" | "inherit" | number,
    ];
  } = {},
): NativeLauncher {
  return {
    launch(command, args) {
      const child = spawn({
        argv: [command, ...args],
        env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
        cloneFlags: PLUGIN_CLONE_FLAGS,
        steps: [{ kind: "reaper", label: "become the plugin's PID 1 reaper" }],
        stdio: opts.stdio ?? ["ignore", "inherit", "inherit"],
      });
      return {
        pid: child.pid,
        wait: async () => ({ exitCode: (await child.wait()).exitCode }),
        kill: (signal = "SIGTERM") => child.kill(signal),
      };
    },
  };
}
