// Private to the package: an fd that a module opened from a path carries the grant of
// that path. WasiHost asks the policy about reads, writes, seeks... of an opened file
// as "fd:N"; a capability set that grants "/data/**" but not "fd:*" would then deny the
// read of the very file it let the module open (and quarantine the module for it).
// WasmHost (in-thread and in its workers) puts this between the bridge and the policy
// until WasiHost names an opened fd by its path itself.
import { type Decision, Policy, type PolicyDocument, type PolicyRequest } from "@forge/policy";
import type { WasiHost } from "./wasi.ts";

const FD_RESOURCE = /^fd:(\d+)$/;

type Imports = ReturnType<WasiHost["imports"]>;
type WasiFn = (...a: any[]) => number;

/** The document with every quarantine threshold off: a copy that only answers. */
function answering(doc: PolicyDocument): PolicyDocument {
  return {
    ...doc,
    quarantineAfter: 0,
    identities: (doc.identities ?? []).map((i) => ({ ...i, quarantineAfter: 0 })),
  };
}

/**
 * Tracks which guest path each fd a module opened with `path_open` came from, and
 * shows the bridge a view of the policy in which a request on such an fd that no rule
 * and no capability decides (`rule: "default"`: nothing grants "fd:N") is asked about
 * the path instead. An explicit decision on the fd (a rule that denies "fd:*", a
 * quarantine) stands, and rules on the path apply to the fd too. The view is installed
 * only while such fds are open, so that the hot path (stdout writes) pays nothing.
 *
 * @example
 * ```ts
 * // inside WasmHost: const grants = new FdGrants(wasi); imports = grants.wrap(wasi.imports());
 * // after instantiation: grants.setMemory(memory); a newer policy: grants.policy = p;
 * ```
 */
export class FdGrants {
  readonly #wasi: WasiHost;
  #target: Policy;
  readonly #view: Policy;
  /** fd → the guest path it was opened from (as the policy was asked about it). */
  readonly #paths = new Map<number, string>();
  #memory: WebAssembly.Memory | undefined;
  #gen = 0;
  #seenTarget: Policy | undefined;
  #seenGen = -1;
  #opening = false;
  #opened: string | undefined;
  #scratch: { target: Policy; gen: number; policy: Policy } | undefined;

  constructor(wasi: WasiHost) {
    this.#wasi = wasi;
    this.#target = wasi.policy;
    const evaluate = (req: PolicyRequest) => this.#evaluate(req);
    this.#view = new Proxy(Object.create(Policy.prototype) as Policy, {
      get: (_, key) => {
        if (key === "evaluate") return evaluate;
        if (key === "generation") return this.#generation();
        const t = this.#target;
        const v = Reflect.get(t, key, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  }

  /** The policy asked (replace it with a newer copy here, not on the WasiHost). */
  get policy(): Policy {
    return this.#target;
  }

  set policy(p: Policy) {
    this.#target = p;
    this.#wasi.policy = this.#paths.size > 0 ? this.#view : p;
  }

  /** The module's memory, where `path_open` writes the new fd. */
  setMemory(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /** The bridge's imports with the calls that open, close and move fds tracked. */
  wrap(imports: Imports): Imports {
    const w = imports.wasi_snapshot_preview1;
    const pathOpen = w.path_open as WasiFn;
    const fdClose = w.fd_close as WasiFn;
    const fdRenumber = w.fd_renumber as WasiFn;
    return {
      ...imports,
      wasi_snapshot_preview1: {
        ...w,
        path_open: (...a: any[]) => {
          // The view sees the path the bridge authorizes (after resolving it); a fresh
          // generation makes sure the bridge asks rather than answer from its cache.
          this.#wasi.policy = this.#view;
          this.#gen++;
          this.#opening = true;
          this.#opened = undefined;
          let r: number;
          try {
            r = pathOpen(...a);
          } finally {
            this.#opening = false;
          }
          if (r === 0 && this.#opened !== undefined && this.#memory) {
            const fd = new DataView(this.#memory.buffer).getUint32(a[8] >>> 0, true);
            this.#paths.set(fd, this.#opened);
          }
          this.#settle();
          return r;
        },
        fd_close: (fd: number) => {
          const r = fdClose(fd);
          if (r === 0 && this.#paths.delete(fd)) this.#settle();
          return r;
        },
        fd_renumber: (from: number, to: number) => {
          const r = fdRenumber(from, to);
          if (r === 0) {
            const p = this.#paths.get(from);
            this.#paths.delete(from);
            this.#paths.delete(to);
            if (p !== undefined) this.#paths.set(to, p);
            this.#settle();
          }
          return r;
        },
      },
    };
  }

  /** Shows the bridge the view while tracked fds are open, the policy itself otherwise. */
  #settle(): void {
    this.#gen++;
    this.#wasi.policy = this.#paths.size > 0 ? this.#view : this.#target;
  }

  #generation(): number {
    const t = this.#target;
    if (t !== this.#seenTarget || t.generation !== this.#seenGen) {
      this.#seenTarget = t;
      this.#seenGen = t.generation;
      this.#gen++;
    }
    return this.#gen;
  }

  #evaluate(req: PolicyRequest): Decision {
    const t = this.#target;
    const m = req.resource !== undefined ? FD_RESOURCE.exec(req.resource) : null;
    const path = m ? this.#paths.get(Number(m[1])) : undefined;
    if (path !== undefined && this.#ungranted(req)) {
      const args =
        req.args === undefined || !Array.isArray(req.args)
          ? { ...(req.args as Record<string, unknown> | undefined), fd: Number(m![1]) }
          : req.args;
      return t.evaluate({ ...req, resource: path, args });
    }
    const d = t.evaluate(req);
    if (this.#opening && req.action === "path_open" && d.effect === "allow")
      this.#opened = req.resource;
    return d;
  }

  /**
   * Whether nothing decides `req` but the default deny, asked of a copy of the policy
   * that records nothing and counts nothing (the real one counts each denial).
   */
  #ungranted(req: PolicyRequest): boolean {
    const t = this.#target;
    let s = this.#scratch;
    if (!s || s.target !== t || s.gen !== t.generation) {
      s = { target: t, gen: t.generation, policy: new Policy(answering(t.toDocument())) };
      this.#scratch = s;
    }
    const d = s.policy.evaluate(req);
    return d.effect === "deny" && d.rule === "default";
  }
}
