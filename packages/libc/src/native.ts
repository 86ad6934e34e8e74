import fs from "node:fs";
import path from "node:path";
import koffi from "koffi";
import { packageFile } from "./package_file.ts";

/** A compiled program as the trampoline takes it: ops, count, data, length, relocations, count. */
export type ProgramArgs = [
  ops: Uint8Array,
  nops: number,
  data: Uint8Array,
  dataLen: number,
  relocs: BigUint64Array,
  nrelocs: number,
];

/** forge_prestart's arguments: flags, capacity, out, handle, state buffer, its size. */
export type PrestartArgs = [
  flags: bigint,
  capacity: bigint,
  out: Int32Array,
  handle: BigUint64Array,
  state: Uint8Array,
  stateCap: number,
];

/** The trampoline's C entry points, loaded once. */
export interface Trampoline {
  spawn(
    ...args: [...ProgramArgs, flags: bigint, mode: number, cgroupFd: number, out: Int32Array]
  ): number;
  /**
   * Clones a parked spare (see spare_pool.ts): out = [pid, pidfd, state length, changed],
   * handle[0] = its region, `state` = what it inherited.
   */
  prestart(...args: PrestartArgs): number;
  /** prestart on a libuv thread; `done` gets its result on this thread. */
  prestartAsync(...args: [...PrestartArgs, done: (err: unknown, r: number) => void]): void;
  /** Gives a spare its program and lets it go, without waiting: out[0] = the error pipe's read end. */
  release(...args: [handle: bigint, pidfd: number, ...ProgramArgs, out: Int32Array]): number;
  /** Waits until a released spare has its own fd table (call before closing fds it uses). */
  releaseWait(handle: bigint, pidfd: number): number;
  /**
   * Opens this isolate's exit channel: out = [read end, write end]. flags 1
   * (WATCH_SIGNAL): the read end is non-blocking, drained on SIGCHLD.
   */
  watchOpen(out: Int32Array, flags: number): number;
  /** Reports the exit of pidfd's process on chan; flags 1 (WATCH_SIGNAL): then raises SIGCHLD. */
  watchAdd(pidfd: number, token: number, chan: number, flags: number): number;
  /** Reaps the process behind pidfd when it ends and closes the pidfd; reports nothing. */
  watchDiscard(pidfd: number): number;
  /** Stops a FORGE_WATCH_NOWAIT watch without a report (the caller keeps the pidfd). */
  watchRemove(pidfd: number): number;
  abiVersion(): number;
  /** Children whose private region is still mapped (0 once all are reaped). */
  liveRegions(): number;
}

const ABI = 7;
/** How to get a trampoline that loads, for the errors below. */
function rebuildHint(): string {
  const script = packageFile(import.meta.url, "@forge/libc", "scripts/install.mjs");
  return `build one for this machine with "node ${script}" (it uses the system C compiler: Debian/Ubuntu "apt-get install gcc libc6-dev", Alpine "apk add gcc musl-dev linux-headers"), or set FORGE_TRAMPOLINE to a built libforge_spawn.so`;
}
let loaded: Trampoline | undefined;

let soPath: string | undefined;

/** Where the trampoline library is looked for: FORGE_TRAMPOLINE, else the package's prebuilds. */
export function trampolinePath(): string {
  if (process.env.FORGE_TRAMPOLINE) return process.env.FORGE_TRAMPOLINE;
  soPath ??= packageFile(
    import.meta.url,
    "@forge/libc",
    `prebuilds/linux-${process.arch}/libforge_spawn.so`,
  );
  return soPath;
}

/** Where forge-init, the sandbox's PID 1, is: FORGE_INIT, else beside the trampoline. */
export function forgeInitPath(): string {
  return process.env.FORGE_INIT ?? path.join(path.dirname(trampolinePath()), "forge-init");
}

/**
 * Loads the spawn trampoline: `prebuilds/linux-<arch>/libforge_spawn.so`, shipped for
 * x64 and arm64 (glibc >= 2.17). Where it does not load, `scripts/install.mjs` (the
 * package's install script, also run by hand) builds it with the system C compiler; in
 * the Forge repository `npm run build:native -w @forge/libc` does.
 *
 * @example
 * ```ts
 * import { loadTrampoline } from "@forge/libc";
 * console.log(loadTrampoline().abiVersion()); // 1
 * ```
 */
export function loadTrampoline(): Trampoline {
  if (loaded) return loaded;
  const file = trampolinePath();
  if (!fs.existsSync(file)) {
    throw new Error(
      `@forge/libc: the spawn trampoline for linux-${process.arch} is missing (${file}); ${rebuildHint()}`,
    );
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(file);
  } catch (e) {
    throw new Error(
      `@forge/libc: cannot load the spawn trampoline ${file} (${(e as Error).message}); ${rebuildHint()}`,
    );
  }
  // Each function is declared (its prototype parsed by koffi) on first use: a plain
  // spawn needs four of the ten, and a cold start pays for every declaration.
  type Fn = ReturnType<typeof lib.func>;
  const fns = new Map<string, Fn>();
  const fn = (proto: string): Fn => {
    let f = fns.get(proto);
    if (!f) {
      f = lib.func(proto);
      fns.set(proto, f);
    }
    return f;
  };
  const PRESTART =
    "int forge_prestart(uint64_t flags, uint64_t capacity, int32_t *out, uint64_t *handle, uint8_t *state, uint32_t state_cap)";
  const t: Trampoline = {
    spawn: (...args) =>
      fn(
        "int forge_spawn(const uint8_t *ops, uint32_t nops, uint8_t *data, uint64_t data_len, const uint64_t *relocs, uint32_t nrelocs, uint64_t flags, int32_t mode, int32_t cgroup_fd, int32_t *out)",
      )(...args),
    prestart: (...args) => fn(PRESTART)(...args),
    prestartAsync: (...args) => fn(PRESTART).async(...args),
    release: (...args) =>
      fn(
        "int forge_release(uint64_t handle, int32_t pidfd, const uint8_t *ops, uint32_t nops, const uint8_t *data, uint64_t data_len, const uint64_t *relocs, uint32_t nrelocs, int32_t *out)",
      )(...args),
    releaseWait: (...args) => fn("int forge_release_wait(uint64_t handle, int32_t pidfd)")(...args),
    watchOpen: (...args) => fn("int forge_watch_open(int32_t *out, int32_t flags)")(...args),
    watchAdd: (...args) =>
      fn("int forge_watch_add(int32_t pidfd, int32_t token, int32_t chan, int32_t flags)")(...args),
    watchDiscard: (...args) => fn("int forge_watch_discard(int32_t pidfd)")(...args),
    watchRemove: (...args) => fn("int forge_watch_remove(int32_t pidfd)")(...args),
    abiVersion: () => fn("int forge_abi_version(void)")(),
    liveRegions: () => fn("int forge_live_regions(void)")(),
  };
  const abi = t.abiVersion();
  if (abi !== ABI)
    throw new Error(`@forge/libc: ${file} has ABI ${abi}, expected ${ABI}; ${rebuildHint()}`);
  loaded = t;
  return t;
}
