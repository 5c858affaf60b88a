/** struct ifaddrmsg: the fixed header of RTM_*ADDR messages. */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** sizeof(struct ifaddrmsg). */
export const SIZEOF_IFADDRMSG = 8;

/** struct ifaddrmsg (ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index). */
export interface IfAddrmsg {
  family: number;
  prefixlen: number;
  /** The low 8 bits of the flags; IFA_FLAGS carries all of them. */
  flags: number;
  scope: number;
  index: number;
}

/** Encodes an ifaddrmsg (missing fields are 0). */
export function encodeIfAddrmsg(m: Partial<IfAddrmsg>): Uint8Array {
  const out = new Uint8Array(SIZEOF_IFADDRMSG);
  const fields = [m.family ?? 0, m.prefixlen ?? 0, m.flags ?? 0, m.scope ?? 0];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    checkUint(f, 0xff, ["ifa_family", "ifa_prefixlen", "ifa_flags", "ifa_scope"][i]!);
    out[i] = f;
  }
  checkUint(m.index ?? 0, 0xffffffff, "ifa_index");
  view(out).setUint32(4, m.index ?? 0, NATIVE_LE);
  return out;
}

/** Decodes the ifaddrmsg at `offset`. */
export function decodeIfAddrmsg(buf: Uint8Array, offset = 0): IfAddrmsg {
  need(buf, offset, SIZEOF_IFADDRMSG, "ifaddrmsg");
  return {
    family: buf[offset]!,
    prefixlen: buf[offset + 1]!,
    flags: buf[offset + 2]!,
    scope: buf[offset + 3]!,
    index: view(buf).getUint32(offset + 4, NATIVE_LE),
  };
}
