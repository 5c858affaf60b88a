/** struct ifinfomsg: the fixed header of RTM_*LINK messages. */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** sizeof(struct ifinfomsg). */
export const SIZEOF_IFINFOMSG = 16;

/** struct ifinfomsg (ifi_family, ifi_type, ifi_index, ifi_flags, ifi_change). */
export interface IfInfomsg {
  family: number;
  /** ARPHRD_* of the device. */
  type: number;
  index: number;
  flags: number;
  /** Which bits of `flags` a request changes. */
  change: number;
}

/** Encodes an ifinfomsg (missing fields are 0). */
export function encodeIfInfomsg(m: Partial<IfInfomsg>): Uint8Array {
  const out = new Uint8Array(SIZEOF_IFINFOMSG);
  const v = view(out);
  checkUint(m.family ?? 0, 0xff, "ifi_family");
  checkUint(m.type ?? 0, 0xffff, "ifi_type");
  checkUint(m.index ?? 0, 0x7fffffff, "ifi_index");
  checkUint(m.flags ?? 0, 0xffffffff, "ifi_flags");
  checkUint(m.change ?? 0, 0xffffffff, "ifi_change");
  v.setUint8(0, m.family ?? 0);
  v.setUint16(2, m.type ?? 0, NATIVE_LE);
  v.setInt32(4, m.index ?? 0, NATIVE_LE);
  v.setUint32(8, m.flags ?? 0, NATIVE_LE);
  v.setUint32(12, m.change ?? 0, NATIVE_LE);
  return out;
}

/** Decodes the ifinfomsg at `offset`. */
export function decodeIfInfomsg(buf: Uint8Array, offset = 0): IfInfomsg {
  need(buf, offset, SIZEOF_IFINFOMSG, "ifinfomsg");
  const v = view(buf);
  return {
    family: v.getUint8(offset),
    type: v.getUint16(offset + 2, NATIVE_LE),
    index: v.getInt32(offset + 4, NATIVE_LE),
    flags: v.getUint32(offset + 8, NATIVE_LE),
    change: v.getUint32(offset + 12, NATIVE_LE),
  };
}
