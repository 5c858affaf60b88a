/** Shared byte helpers of the codec: netlink structs are in host byte order. */

/** True on little-endian hosts (x86, arm64): the order of every netlink integer except ports and addresses. */
export const NATIVE_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A DataView over exactly the bytes of `buf`. */
export function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Throws RangeError unless `buf` holds `need` bytes from `offset`. */
export function need(buf: Uint8Array, offset: number, need: number, what: string): void {
  if (offset < 0 || offset + need > buf.length) {
    throw new RangeError(`Cannot decode ${what}: needs ${need} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
}

/** Throws RangeError unless `v` is an integer in [0, max]. */
export function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`Cannot encode ${what}: ${v} is not an integer in 0..${max}`);
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
