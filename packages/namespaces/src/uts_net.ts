/**
 * Steps for the UTS namespace (hostname) and a fresh network namespace (lo up).
 *
 * @module
 */
import type { Step } from "@forge/libc";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_RUNNING = 0x40;
const IFREQ_SIZE = 40;

/**
 * The step that sets the hostname (spawn with CLONE_NEWUTS so the host's is untouched).
 *
 * @example
 * ```ts
 * import { hostnameStep } from "@forge/namespaces";
 * import { CLONE, spawn } from "@forge/libc";
 * spawn({ argv: ["/bin/hostname"], cloneFlags: CLONE.NEWUSER | CLONE.NEWUTS, steps: [hostnameStep("sandbox")] });
 * ```
 */
export function hostnameStep(name: string): Step {
  const len = Buffer.byteLength(name);
  if (
    len === 0 ||
    len > 64 ||
    name.includes("\0") ||
    !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)
  ) {
    throw new TypeError(
      `invalid hostname ${JSON.stringify(name)}: 1 to 64 letters, digits, "." and "-", not starting or ending with "." or "-"`,
    );
  }
  return {
    label: `set the hostname to ${name}`,
    syscall: "sethostname",
    args: [{ cstring: name }, len],
  };
}

/**
 * Steps that bring `lo` up in a new network namespace (which starts with only `lo`,
 * down): socket(AF_INET, SOCK_DGRAM) and ioctl(SIOCSIFFLAGS, IFF_UP | IFF_RUNNING).
 * Omit them (and CLONE_NEWNET) for `--net host`.
 *
 * @example
 * ```ts
 * import { loopbackUpSteps } from "@forge/namespaces";
 * import { CLONE, spawn } from "@forge/libc";
 * spawn({ argv: ["/bin/true"], cloneFlags: CLONE.NEWUSER | CLONE.NEWNET, steps: loopbackUpSteps() });
 * ```
 */
export function loopbackUpSteps(): Step[] {
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(Buffer.from("lo"), 0);
  new DataView(ifr.buffer).setInt16(16, IFF_UP | IFF_LOOPBACK | IFF_RUNNING, true);
  return [
    {
      label: "open a socket to configure lo",
      syscall: "socket",
      args: [AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0],
      id: "net.sock",
    },
    {
      label: "bring lo up",
      syscall: "ioctl",
      args: [{ result: "net.sock" }, SIOCSIFFLAGS, { bytes: ifr }],
    },
    { label: "close the lo socket", syscall: "close", args: [{ result: "net.sock" }] },
  ];
}
