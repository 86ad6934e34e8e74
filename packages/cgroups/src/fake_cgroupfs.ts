/**
 * A faithful fake of a cgroup v2 filesystem for unit tests: a temp directory with
 * the v2 interface files in their kernel formats, and a {@link CgroupFs} layer that
 * answers writes the way the kernel does, errors included (EINVAL for "abc" in
 * memory.max, ERANGE for cpu.weight 0, ENOENT for a disabled controller's files
 * or for enabling a controller the parent does not offer, EBUSY for the
 * no-internal-processes rule and for rmdir of a populated cgroup, EOPNOTSUPP for
 * a "domain invalid" cgroup, ENODEV for an unknown io.max device).
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CgroupFs } from "./cgroup_fs.ts";
import type { CgroupLayout } from "./layout.ts";

const ERRNO: Record<string, [number, string]> = {
  EINVAL: [22, "invalid argument"],
  ENOENT: [2, "no such file or directory"],
  EBUSY: [16, "resource busy or locked"],
  EOPNOTSUPP: [95, "operation not supported on socket"],
  ERANGE: [34, "result too large"],
  ENODEV: [19, "no such device"],
  EEXIST: [17, "file already exists"],
  EACCES: [13, "permission denied"],
  ESRCH: [3, "no such process"],
  ENOTDIR: [20, "not a directory"],
};

/** An error shaped like Node's fs errors (`code`, `errno`, `syscall`, `path`). */
function fsError(code: string, syscall: string, p: string): NodeJS.ErrnoException {
  const [errno, text] = ERRNO[code] ?? [0, code];
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${p}'`), {
    code,
    errno: -errno,
    syscall,
    path: p,
  });
}

const PAGE = 4096;
const KNOWN = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];
const U64_MAX = 2n ** 64n - 1n;

/**
 * Options of {@link FakeCgroupFs.create}.
 *
 * @example
 * ```ts
 * import { FakeCgroupFs } from "@forge/cgroups";
 * const fake = FakeCgroupFs.create({ controllers: ["memory", "pids"], swapAccounting: false });
 * ```
 */
export interface FakeCgroupFsOptions {
  /** Controllers the root offers (default: cpuset cpu io memory hugetlb pids rdma misc). */
  readonly controllers?: readonly string[];
  /** Block devices io.max accepts, as "MAJ:MIN" (default 8:0, 253:0, 254:0, 259:0). */
  readonly devices?: readonly string[];
  /** Whether memory.swap.* exist (swap accounting on). Default true. */
  readonly swapAccounting?: boolean;
}

/** Per-controller interface files of a non-root cgroup, with their initial contents. */
function controllerFiles(c: string, swap: boolean): Record<string, string> {
  switch (c) {
    case "memory":
      return {
        "memory.current": "0\n",
        "memory.peak": "0\n",
        "memory.min": "0\n",
        "memory.low": "0\n",
        "memory.high": "max\n",
        "memory.max": "max\n",
        "memory.oom.group": "0\n",
        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        "memory.events.local": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        "memory.stat": "anon 0\nfile 0\nkernel 0\n",
        ...(swap
          ? {
              "memory.swap.current": "0\n",
              "memory.swap.max": "max\n",
              "memory.swap.peak": "0\n",
              "memory.swap.events": "high 0\nmax 0\nfail 0\n",
            }
          : {}),
      };
    case "cpu":
      return { "cpu.max": "max 100000\n", "cpu.weight": "100\n", "cpu.weight.nice": "0\n" };
    case "pids":
      return {
        "pids.max": "max\n",
        "pids.current": "0\n",
        "pids.peak": "0\n",
        "pids.events": "max 0\n",
      };
    case "io":
      return { "io.max": "", "io.stat": "", "io.weight": "default 100\n" };
    default:
      return {};
  }
}

/** Files every cgroup has (core). */
const CORE_NONROOT: Record<string, string> = {
  "cgroup.controllers": "\n",
  "cgroup.subtree_control": "\n",
  "cgroup.procs": "",
  "cgroup.threads": "",
  "cgroup.events": "populated 0\nfrozen 0\n",
  "cgroup.freeze": "0\n",
  "cgroup.kill": "",
  "cgroup.type": "domain\n",
  "cgroup.max.depth": "max\n",
  "cgroup.max.descendants": "max\n",
  "cgroup.stat": "nr_descendants 0\nnr_dying_descendants 0\n",
  "cpu.stat":
    "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
};

const READ_ONLY = new Set([
  "cgroup.controllers",
  "cgroup.events",
  "cgroup.stat",
  "cpu.stat",
  "memory.current",
  "memory.peak",
  "memory.events",
  "memory.events.local",
  "memory.stat",
  "memory.swap.current",
  "memory.swap.peak",
  "memory.swap.events",
  "pids.current",
  "pids.peak",
  "pids.events",
  "io.stat",
]);

/**
 * A fake cgroup v2 tree in a temp directory. Give it to `createCgroup` as `fs`
 * with {@link FakeCgroupFs.layout} as `layout`; read its files to see what the
 * writer did; call {@link FakeCgroupFs.cleanup} when done.
 *
 * @example
 * ```ts
 * import { createCgroup, FakeCgroupFs } from "@forge/cgroups";
 * const fake = FakeCgroupFs.create();
 * try {
 *   const cg = createCgroup({ pids: 32 }, { fs: fake, layout: fake.layout() });
 *   console.log(fake.read(`${cg.v2Path}/pids.max`)); // "32\n"
 *   await cg.dispose();
 * } finally {
 *   fake.cleanup();
 * }
 * ```
 */
export class FakeCgroupFs implements CgroupFs {
  /** The temp directory that plays the cgroup2 mount. */
  readonly root: string;
  readonly #devices: Set<string>;
  readonly #swap: boolean;
  /** pid → cgroup directory. */
  readonly #procs = new Map<number, string>();
  /** Every write made, in order, as [path, data] (for assertions). */
  readonly writes: Array<[string, string]> = [];
  /** Paths whose writes fail with EACCES (to play an undelegated tree). */
  readonly denied = new Set<string>();
  /** pids "killed" through cgroup.kill. */
  readonly killed: number[] = [];

  private constructor(root: string, opts: FakeCgroupFsOptions) {
    this.root = root;
    this.#devices = new Set(opts.devices ?? ["8:0", "253:0", "254:0", "259:0"]);
    this.#swap = opts.swapAccounting ?? true;
  }

  /** Makes a fresh fake root (a temp dir). */
  static create(opts: FakeCgroupFsOptions = {}): FakeCgroupFs {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "forge-fake-cgroup2-"));
    const f = new FakeCgroupFs(root, opts);
    const ctrls = opts.controllers ?? KNOWN;
    const files: Record<string, string> = {
      "cgroup.controllers": `${ctrls.join(" ")}\n`,
      "cgroup.subtree_control": "\n",
      "cgroup.procs": "",
      "cgroup.threads": "",
      "cgroup.max.depth": "max\n",
      "cgroup.max.descendants": "max\n",
      "cgroup.stat": "nr_descendants 0\nnr_dying_descendants 0\n",
      "cpu.stat": CORE_NONROOT["cpu.stat"]!,
      ...(ctrls.includes("memory") ? { "memory.stat": "anon 0\n" } : {}),
      ...(ctrls.includes("io") ? { "io.stat": "" } : {}),
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name), text);
    return f;
  }

  /**
   * A layout that describes this fake as a pure v2 host whose process sits in
   * `ownPath`, for `uid` (default 0).
   */
  layout(ownPath = "/", uid = 0): CgroupLayout {
    const ownDir = path.join(this.root, ownPath);
    const ctrl = (d: string) =>
      this.read(`${d}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean);
    const parent = uid === 0 ? this.root : ownDir;
    const ok = [parent, `${parent}/cgroup.procs`, `${parent}/cgroup.subtree_control`].every((p) =>
      this.writable(p),
    );
    return {
      kind: "v2",
      v2: {
        mount: this.root,
        mountRoot: "/",
        controllers: ctrl(this.root),
        ownPath,
        ownControllers: fs.existsSync(ownDir) ? ctrl(ownDir) : [],
      },
      v1: {},
      self: [{ id: 0, controllers: [], path: ownPath }],
      uid,
      delegation: ok
        ? { available: true, reason: uid === 0 ? "running as root" : "delegated" }
        : { available: false, reason: `not writable by uid ${uid}: ${parent}` },
    };
  }

  /** Puts a (fake) process into a cgroup directory, like the kernel would at fork. */
  addProcess(pid: number, dir: string): void {
    this.#moveProc(pid, dir);
  }

  /** Overwrites a kernel-maintained file (memory.events, pids.peak...) to simulate activity. */
  setFile(p: string, text: string): void {
    fs.writeFileSync(p, text);
  }

  /** Removes the temp directory. */
  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  // --- CgroupFs ---

  read(p: string): string {
    this.#inside(p);
    try {
      return fs.readFileSync(p, "utf8");
    } catch (e) {
      throw fsError((e as NodeJS.ErrnoException).code ?? "EIO", "open", p);
    }
  }

  exists(p: string): boolean {
    return fs.existsSync(p);
  }

  listDirs(p: string): string[] {
    return fs
      .readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  }

  writable(p: string): boolean {
    return !this.denied.has(p) && fs.existsSync(p);
  }

  openDir(p: string): number {
    if (!fs.existsSync(p)) throw fsError("ENOENT", "open", p);
    return fs.openSync(p, 0o10000000 | fs.constants.O_DIRECTORY);
  }

  close(fd: number): void {
    fs.closeSync(fd);
  }

  mkdir(p: string): void {
    this.#inside(p);
    const parent = path.dirname(p);
    if (this.denied.has(parent)) throw fsError("EACCES", "mkdir", p);
    if (!fs.existsSync(parent)) throw fsError("ENOENT", "mkdir", p);
    if (fs.existsSync(p)) throw fsError("EEXIST", "mkdir", p);
    fs.mkdirSync(p);
    const enabled = this.#list(`${parent}/cgroup.subtree_control`);
    const files = { ...CORE_NONROOT, "cgroup.controllers": `${enabled.join(" ")}\n` };
    for (const c of enabled) Object.assign(files, controllerFiles(c, this.#swap));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(p, name), text);
  }

  rmdir(p: string): void {
    this.#inside(p);
    if (p === this.root) throw fsError("EBUSY", "rmdir", p);
    if (!fs.existsSync(p)) throw fsError("ENOENT", "rmdir", p);
    if (this.listDirs(p).length > 0) throw fsError("EBUSY", "rmdir", p);
    if ([...this.#procs.values()].includes(p)) throw fsError("EBUSY", "rmdir", p);
    fs.rmSync(p, { recursive: true });
  }

  write(p: string, data: string): void {
    this.#inside(p);
    this.writes.push([p, data]);
    const dir = path.dirname(p);
    const name = path.basename(p);
    if (this.denied.has(p) || this.denied.has(dir)) throw fsError("EACCES", "open", p);
    if (!fs.existsSync(p)) throw fsError("ENOENT", "open", p);
    if (READ_ONLY.has(name)) throw fsError("EACCES", "open", p);
    const isRoot = dir === this.root;
    const v = data.trim();
    const bad = (code = "EINVAL") => fsError(code, "write", p);
    switch (name) {
      case "memory.max":
      case "memory.high":
      case "memory.low":
      case "memory.min":
      case "memory.swap.max": {
        const n = memparse(v);
        if (n === undefined) throw bad();
        this.#set(p, n === "max" ? "max" : String((n / BigInt(PAGE)) * BigInt(PAGE)));
        return;
      }
      case "memory.oom.group": {
        if (!/^-?\d+$/.test(v)) throw bad();
        if (Number(v) < 0 || Number(v) > 1) throw bad();
        this.#set(p, String(Number(v)));
        return;
      }
      case "cpu.max": {
        const m = /^(max|\d+)(?:\s+(\d+))?$/.exec(v);
        if (!m) throw bad();
        const cur = this.read(p).trim().split(/\s+/);
        const period = m[2] !== undefined ? Number(m[2]) : Number(cur[1]);
        if (period < 1000 || period > 1_000_000) throw bad();
        if (m[1] !== "max" && Number(m[1]) < 1000) throw bad();
        this.#set(p, `${m[1]} ${period}`);
        return;
      }
      case "cpu.weight": {
        if (!/^\d+$/.test(v)) throw bad();
        if (Number(v) < 1 || Number(v) > 10000) throw bad("ERANGE");
        this.#set(p, v);
        return;
      }
      case "pids.max": {
        if (v === "max") {
          this.#set(p, "max");
          return;
        }
        if (!/^-?\d+$/.test(v) || Number(v) < 0 || Number(v) >= 4194304) throw bad();
        this.#set(p, v);
        return;
      }
      case "io.max":
        this.#writeIoMax(p, v);
        return;
      case "cgroup.subtree_control":
        this.#writeSubtree(dir, p, v, isRoot);
        return;
      case "cgroup.procs": {
        if (!/^\d+$/.test(v)) throw bad();
        const pid = Number(v);
        if (!this.#procs.has(pid)) throw bad("ESRCH");
        if (!isRoot && this.#list(`${dir}/cgroup.subtree_control`).length > 0) throw bad("EBUSY");
        this.#moveProc(pid, dir);
        return;
      }
      case "cgroup.kill": {
        if (v !== "1") throw bad();
        for (const [pid, d] of [...this.#procs])
          if (d === dir || d.startsWith(`${dir}/`)) {
            this.#procs.delete(pid);
            this.killed.push(pid);
            this.#syncProcs(d);
          }
        return;
      }
      case "cgroup.freeze": {
        if (v !== "0" && v !== "1") throw bad();
        this.#set(p, v);
        this.#set(`${dir}/cgroup.events`, `populated ${this.#populated(dir) ? 1 : 0}\nfrozen ${v}`);
        return;
      }
      case "cgroup.type": {
        if (v !== "threaded") throw bad();
        this.#set(p, "threaded");
        return;
      }
      default:
        // Writable files the fake does not model keep the value as written.
        this.#set(p, v);
    }
  }

  // --- internals ---

  #inside(p: string): void {
    if (p !== this.root && !p.startsWith(`${this.root}/`))
      throw new Error(`FakeCgroupFs: ${p} is outside the fake root ${this.root}`);
  }

  #set(p: string, text: string): void {
    fs.writeFileSync(p, text.endsWith("\n") || text === "" ? text : `${text}\n`);
  }

  #list(p: string): string[] {
    try {
      return fs.readFileSync(p, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  }

  #populated(dir: string): boolean {
    return [...this.#procs.values()].some((d) => d === dir || d.startsWith(`${dir}/`));
  }

  #syncProcs(dir: string): void {
    const pids = [...this.#procs].filter(([, d]) => d === dir).map(([pid]) => pid);
    fs.writeFileSync(`${dir}/cgroup.procs`, pids.map((x) => `${x}\n`).join(""));
    if (dir !== this.root) {
      const frozen = this.#list(`${dir}/cgroup.freeze`)[0] ?? "0";
      fs.writeFileSync(
        `${dir}/cgroup.events`,
        `populated ${this.#populated(dir) ? 1 : 0}\nfrozen ${frozen}\n`,
      );
    }
  }

  #moveProc(pid: number, dir: string): void {
    const old = this.#procs.get(pid);
    this.#procs.set(pid, dir);
    if (old) this.#syncProcs(old);
    this.#syncProcs(dir);
  }

  #writeSubtree(dir: string, p: string, v: string, isRoot: boolean): void {
    const available = this.#list(`${dir}/cgroup.controllers`);
    const current = new Set(this.#list(p));
    const tokens = v.split(/\s+/).filter(Boolean);
    const plan: Array<["+" | "-", string]> = [];
    for (const t of tokens) {
      const m = /^([+-])(\w+)$/.exec(t);
      if (!m || !KNOWN.includes(m[2]!)) throw fsError("EINVAL", "write", p);
      plan.push([m[1] as "+" | "-", m[2]!]);
    }
    const children = this.listDirs(dir).map((c) => path.join(dir, c));
    for (const [op, c] of plan) {
      if (op === "+") {
        if (!available.includes(c)) throw fsError("ENOENT", "write", p);
        if (current.has(c)) continue;
        if (!isRoot && this.read(`${dir}/cgroup.type`).trim() === "domain invalid")
          throw fsError("EOPNOTSUPP", "write", p);
        if (!isRoot && [...this.#procs.values()].includes(dir)) throw fsError("EBUSY", "write", p);
      } else if (current.has(c)) {
        if (children.some((ch) => this.#list(`${ch}/cgroup.subtree_control`).includes(c)))
          throw fsError("EBUSY", "write", p);
      }
    }
    for (const [op, c] of plan) {
      if (op === "+" && !current.has(c)) {
        current.add(c);
        for (const ch of children)
          for (const [name, text] of Object.entries(controllerFiles(c, this.#swap)))
            fs.writeFileSync(path.join(ch, name), text);
      } else if (op === "-" && current.has(c)) {
        current.delete(c);
        for (const ch of children)
          for (const name of Object.keys(controllerFiles(c, this.#swap)))
            fs.rmSync(path.join(ch, name), { force: true });
      }
    }
    const order = KNOWN.filter((c) => current.has(c));
    this.#set(p, order.join(" "));
    for (const ch of children) this.#set(`${ch}/cgroup.controllers`, order.join(" "));
  }

  #writeIoMax(p: string, v: string): void {
    const [dev, ...pairs] = v.split(/\s+/);
    if (!dev || !/^\d+:\d+$/.test(dev)) throw fsError("EINVAL", "write", p);
    if (!this.#devices.has(dev)) throw fsError("ENODEV", "write", p);
    const lines = new Map<string, Record<string, string>>();
    for (const line of this.read(p).split("\n").filter(Boolean)) {
      const [d, ...kv] = line.split(" ");
      lines.set(d!, Object.fromEntries(kv.map((x) => x.split("=") as [string, string])));
    }
    const entry = lines.get(dev) ?? { rbps: "max", wbps: "max", riops: "max", wiops: "max" };
    for (const pair of pairs) {
      const m = /^(rbps|wbps|riops|wiops)=(max|\d+)$/.exec(pair);
      if (!m) throw fsError("EINVAL", "write", p);
      if (m[2] !== "max" && (BigInt(m[2]!) === 0n || BigInt(m[2]!) > U64_MAX))
        throw fsError("EINVAL", "write", p);
      entry[m[1]!] = m[2]!;
    }
    if (Object.values(entry).every((x) => x === "max")) lines.delete(dev);
    else lines.set(dev, entry);
    const text = [...lines]
      .map(([d, e]) => `${d} rbps=${e.rbps} wbps=${e.wbps} riops=${e.riops} wiops=${e.wiops}\n`)
      .join("");
    fs.writeFileSync(p, text);
  }
}

/** The kernel's memparse for memory.* files: "max", or a number with an optional K/M/G/T/P/E suffix. */
function memparse(v: string): bigint | "max" | undefined {
  if (v === "max") return "max";
  const m = /^(\d+)([kKmMgGtTpPeE]?)$/.exec(v);
  if (!m) return undefined;
  const shift = { "": 0n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n }[m[2]!.toLowerCase()]!;
  const n = BigInt(m[1]!) << shift;
  return n > U64_MAX ? undefined : n;
}
