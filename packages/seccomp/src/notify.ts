/**
 * The user-notification listener: receive a notification from a listener fd
 * (SECCOMP_IOCTL_NOTIF_RECV), answer it (SECCOMP_IOCTL_NOTIF_SEND) with a return value,
 * an errno or "continue", and check that it is still valid (NOTIF_ID_VALID).
 * Struct layouts follow include/uapi/linux/seccomp.h.
 *
 * @module
 */
import { type Libc, openLibc } from "@forge/libc";

/** ioctl request numbers on a listener fd. */
export const NOTIF_IOCTL = {
  /** _IOWR('!', 0, struct seccomp_notif) */
  RECV: 0xc0502100,
  /** _IOWR('!', 1, struct seccomp_notif_resp) */
  SEND: 0xc0182101,
  /** _IOW('!', 2, __u64) */
  ID_VALID: 0x40082102,
} as const;

/** SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the syscall run as if allowed. */
export const USER_NOTIF_FLAG_CONTINUE = 1;

/** Size of struct seccomp_notif (u64 id, u32 pid, u32 flags, 64-byte seccomp_data). */
export const NOTIF_SIZE = 80;
/** Size of struct seccomp_notif_resp (u64 id, s64 val, s32 error, u32 flags). */
export const NOTIF_RESP_SIZE = 24;

/** A syscall waiting for the supervisor's answer. */
export interface Notification {
  /** Cookie to answer with. */
  readonly id: bigint;
  /** The caller's pid (in the listener's pid namespace). */
  readonly pid: number;
  readonly flags: number;
  readonly nr: number;
  readonly arch: number;
  readonly ip: bigint;
  readonly args: readonly bigint[];
}

/** The answer to a notification. */
export type NotificationResponse =
  | { readonly id: bigint; readonly value: number | bigint }
  | { readonly id: bigint; readonly errno: number }
  | { readonly id: bigint; readonly continue: true };

/**
 * Decodes a `struct seccomp_notif`.
 *
 * @example
 * ```ts
 * import { decodeNotification, NOTIF_SIZE } from "@forge/seccomp";
 * decodeNotification(new Uint8Array(NOTIF_SIZE)).nr; // 0
 * ```
 */
export function decodeNotification(b: Uint8Array): Notification {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(v.getBigUint64(32 + 8 * i, true));
  return {
    id: v.getBigUint64(0, true),
    pid: v.getUint32(8, true),
    flags: v.getUint32(12, true),
    nr: v.getInt32(16, true),
    arch: v.getUint32(20, true),
    ip: v.getBigUint64(24, true),
    args,
  };
}

/**
 * Encodes a `struct seccomp_notif_resp`. An errno becomes `error = -errno`.
 *
 * @example
 * ```ts
 * import { encodeResponse } from "@forge/seccomp";
 * encodeResponse({ id: 7n, errno: 1 }).length; // 24
 * ```
 */
export function encodeResponse(r: NotificationResponse): Uint8Array {
  const b = new Uint8Array(NOTIF_RESP_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, r.id, true);
  if ("value" in r) v.setBigInt64(8, BigInt(r.value), true);
  if ("errno" in r) v.setInt32(16, -Math.abs(r.errno), true);
  if ("continue" in r) v.setUint32(20, USER_NOTIF_FLAG_CONTINUE, true);
  return b;
}

/**
 * Blocks until a notification arrives on `fd`, then returns it. Call it where blocking
 * is acceptable (a worker thread, or after poll says the fd is readable).
 *
 * @example
 * ```ts
 * import { receiveNotification, respondNotification } from "@forge/seccomp";
 * declare const listenerFd: number;
 * const n = receiveNotification(listenerFd);
 * respondNotification(listenerFd, { id: n.id, errno: 1 });
 * ```
 */
export function receiveNotification(fd: number, libc: Libc = openLibc()): Notification {
  const b = new Uint8Array(NOTIF_SIZE);
  libc.ioctl(fd, NOTIF_IOCTL.RECV, b);
  return decodeNotification(b);
}

/**
 * Answers a notification. Throws a SyscallError ENOENT when the caller is gone
 * (killed, or the syscall was interrupted).
 *
 * @example
 * ```ts
 * import { respondNotification } from "@forge/seccomp";
 * declare const listenerFd: number;
 * respondNotification(listenerFd, { id: 1n, continue: true });
 * ```
 */
export function respondNotification(
  fd: number,
  r: NotificationResponse,
  libc: Libc = openLibc(),
): void {
  libc.ioctl(fd, NOTIF_IOCTL.SEND, encodeResponse(r));
}

/**
 * Whether a notification is still pending (its caller still waits). Check it after
 * reading the caller's memory and before acting on what was read (TOCTOU).
 *
 * @example
 * ```ts
 * import { notificationValid } from "@forge/seccomp";
 * declare const listenerFd: number;
 * notificationValid(listenerFd, 1n);
 * ```
 */
export function notificationValid(fd: number, id: bigint, libc: Libc = openLibc()): boolean {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, id, true);
  try {
    libc.ioctl(fd, NOTIF_IOCTL.ID_VALID, b);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return false;
    throw e;
  }
}
