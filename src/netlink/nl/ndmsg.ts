/** struct ndmsg: the fixed header of RTM_*NEIGH messages (neighbours and FDB entries). */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** sizeof(struct ndmsg). */
export const SIZEOF_NDMSG = 12;

/** struct ndmsg (ndm_family, ndm_ifindex, ndm_state, ndm_flags, ndm_type). */
export interface NdMsg {
  family: number;
  index: number;
  /** NUD_* */
  state: number;
  /** NTF_* */
  flags: number;
  type: number;
}

/** Encodes an ndmsg (missing fields are 0). */
export function encodeNdMsg(m: Partial<NdMsg>): Uint8Array {
  const out = new Uint8Array(SIZEOF_NDMSG);
  const v = view(out);
  checkUint(m.family ?? 0, 0xff, "ndm_family");
  checkUint(m.index ?? 0, 0x7fffffff, "ndm_ifindex");
  checkUint(m.state ?? 0, 0xffff, "ndm_state");
  checkUint(m.flags ?? 0, 0xff, "ndm_flags");
  checkUint(m.type ?? 0, 0xff, "ndm_type");
  v.setUint8(0, m.family ?? 0);
  v.setInt32(4, m.index ?? 0, NATIVE_LE);
  v.setUint16(8, m.state ?? 0, NATIVE_LE);
  v.setUint8(10, m.flags ?? 0);
  v.setUint8(11, m.type ?? 0);
  return out;
}

/** Decodes the ndmsg at `offset`. */
export function decodeNdMsg(buf: Uint8Array, offset = 0): NdMsg {
  need(buf, offset, SIZEOF_NDMSG, "ndmsg");
  const v = view(buf);
  return {
    family: v.getUint8(offset),
    index: v.getInt32(offset + 4, NATIVE_LE),
    state: v.getUint16(offset + 8, NATIVE_LE),
    flags: v.getUint8(offset + 10),
    type: v.getUint8(offset + 11),
  };
}
