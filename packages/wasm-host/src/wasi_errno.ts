/**
 * WASI preview1 errno values by name (without the leading "E" in WASI's own spelling;
 * here with it, as POSIX names them). `ENOTCAPABLE` (76) is WASI's "insufficient
 * capabilities".
 *
 * @example
 * ```ts
 * import { WASI_ERRNO } from "@forge/wasm-host";
 * console.log(WASI_ERRNO.ENOENT); // 44
 * ```
 */
export const WASI_ERRNO: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    (
      "SUCCESS 2BIG ACCES ADDRINUSE ADDRNOTAVAIL AFNOSUPPORT AGAIN ALREADY BADF BADMSG BUSY CANCELED CHILD " +
      "CONNABORTED CONNREFUSED CONNRESET DEADLK DESTADDRREQ DOM DQUOT EXIST FAULT FBIG HOSTUNREACH IDRM ILSEQ " +
      "INPROGRESS INTR INVAL IO ISCONN ISDIR LOOP MFILE MLINK MSGSIZE MULTIHOP NAMETOOLONG NETDOWN NETRESET " +
      "NETUNREACH NFILE NOBUFS NODEV NOENT NOEXEC NOLCK NOLINK NOMEM NOMSG NOPROTOOPT NOSPC NOSYS NOTCONN NOTDIR " +
      "NOTEMPTY NOTRECOVERABLE NOTSOCK NOTSUP NOTTY NXIO OVERFLOW OWNERDEAD PERM PIPE PROTO PROTONOSUPPORT " +
      "PROTOTYPE RANGE ROFS SPIPE SRCH STALE TIMEDOUT TXTBSY XDEV NOTCAPABLE"
    )
      .split(" ")
      .map((n, i) => [i === 0 ? "SUCCESS" : `E${n}`, i]),
  ),
);

const ALIASES: Record<string, string> = {
  EWOULDBLOCK: "EAGAIN",
  EOPNOTSUPP: "ENOTSUP",
  EDEADLOCK: "EDEADLK",
  ENOTEMPTY: "ENOTEMPTY",
  ETIMEDOUT: "ETIMEDOUT",
};

/**
 * The WASI errno for an error name ("ENOENT") or a Node.js error with a `code`;
 * unknown codes map to EIO.
 *
 * @example
 * ```ts
 * import { wasiErrno } from "@forge/wasm-host";
 * wasiErrno("EACCES"); // 2
 * ```
 */
export function wasiErrno(e: unknown): number {
  const code = typeof e === "string" ? e : (e as { code?: unknown })?.code;
  if (typeof code !== "string") return WASI_ERRNO.EIO!;
  return WASI_ERRNO[ALIASES[code] ?? code] ?? WASI_ERRNO.EIO!;
}

/**
 * The error codes of the Forge host interface (module "forge"), the seeds' table: 0-8
 * general, 100-105 WebAssembly-specific.
 *
 * @example
 * ```ts
 * import { HOST_ERROR } from "@forge/wasm-host";
 * console.log(HOST_ERROR.EPERM); // 4
 * ```
 */
export const HOST_ERROR = Object.freeze({
  SUCCESS: 0,
  EAGAIN: 1,
  EIO: 2,
  ENOENT: 3,
  EPERM: 4,
  EPROTO: 5,
  ETIMEOUT: 6,
  EINTERNAL: 7,
  EPANIC: 8,
  /** A pointer/length pair lies outside the module's memory. */
  EWASM_BOUNDS: 100,
  /** A string argument is not valid UTF-8. */
  EWASM_UTF8: 101,
  /** The output buffer is too small (the needed size is still written). */
  EWASM_BUFFER: 102,
  /** A resource limit of the instance was reached. */
  EWASM_LIMIT: 103,
  /** An argument is out of range (bad level, bad clock). */
  EWASM_INVALID: 104,
  /** The host interface is not available to this module. */
  EWASM_UNAVAILABLE: 105,
});
