/** `_LINUX_CAPABILITY_VERSION_3`. */
export const CAP_V3 = 0x20080522;

/** A `cap_user_header_t` for capget/capset v3. */
export function capHeader(pid = 0): Uint8Array {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint32(0, CAP_V3, true);
  v.setInt32(4, pid, true);
  return h;
}

/** Two `cap_user_data_t` entries (low and high 32 bits) for capset v3. */
export function capData(effective: bigint, permitted: bigint, inheritable: bigint): Uint8Array {
  const d = new Uint8Array(24);
  const v = new DataView(d.buffer);
  for (let k = 0; k < 2; k++) {
    const shift = BigInt(32 * k);
    v.setUint32(k * 12, Number((effective >> shift) & 0xffffffffn), true);
    v.setUint32(k * 12 + 4, Number((permitted >> shift) & 0xffffffffn), true);
    v.setUint32(k * 12 + 8, Number((inheritable >> shift) & 0xffffffffn), true);
  }
  return d;
}

/** Reads the three sets back from capget v3 data. */
export function readCapData(d: Uint8Array): {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
} {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const get = (off: number) =>
    BigInt(v.getUint32(off, true)) | (BigInt(v.getUint32(off + 12, true)) << 32n);
  return { effective: get(0), permitted: get(4), inheritable: get(8) };
}
