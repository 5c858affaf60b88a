/**
 * The u32 classifier's options (linux/pkt_cls.h): struct tc_u32_sel with its keys,
 * the flow id and the action list.
 */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** enum TCA_U32_*. */
export const TCA_U32_CLASSID = 1;
export const TCA_U32_SEL = 5;
export const TCA_U32_ACT = 7;

/** tc_u32_sel.flags: stop at this match (it is a leaf). */
export const TC_U32_TERMINAL = 1;

/** sizeof(struct tc_u32_sel) without keys; each struct tc_u32_key is 16 more. */
const SIZEOF_TC_U32_SEL = 16;
const SIZEOF_TC_U32_KEY = 16;

/** One struct tc_u32_key: (packet word at off) & mask == val; mask and val in network order. */
export interface U32Key {
  mask: number;
  val: number;
  off: number;
  offmask: number;
}

/** struct tc_u32_sel, the fields a simple match uses. */
export interface U32Sel {
  flags: number;
  keys: U32Key[];
}

/** A selector that matches every packet: one all-zero key, terminal ("match u32 0 0"). */
export const U32_MATCH_ALL: U32Sel = { flags: TC_U32_TERMINAL, keys: [{ mask: 0, val: 0, off: 0, offmask: 0 }] };

/** Encodes struct tc_u32_sel followed by its keys. */
export function encodeU32Sel(sel: U32Sel): Uint8Array {
  checkUint(sel.flags, 0xff, "tc_u32_sel.flags");
  checkUint(sel.keys.length, 0xff, "tc_u32_sel.nkeys");
  const out = new Uint8Array(SIZEOF_TC_U32_SEL + SIZEOF_TC_U32_KEY * sel.keys.length);
  const v = view(out);
  v.setUint8(0, sel.flags);
  v.setUint8(2, sel.keys.length);
  sel.keys.forEach((k, i) => {
    const o = SIZEOF_TC_U32_SEL + i * SIZEOF_TC_U32_KEY;
    v.setUint32(o, k.mask, false);
    v.setUint32(o + 4, k.val, false);
    v.setInt32(o + 8, k.off, NATIVE_LE);
    v.setInt32(o + 12, k.offmask, NATIVE_LE);
  });
  return out;
}

/** Decodes struct tc_u32_sel and its keys; RangeError when short. */
export function decodeU32Sel(buf: Uint8Array): U32Sel {
  need(buf, 0, SIZEOF_TC_U32_SEL, "tc_u32_sel");
  const v = view(buf);
  const n = v.getUint8(2);
  need(buf, SIZEOF_TC_U32_SEL, n * SIZEOF_TC_U32_KEY, "tc_u32_key");
  const keys: U32Key[] = [];
  for (let i = 0; i < n; i++) {
    const o = SIZEOF_TC_U32_SEL + i * SIZEOF_TC_U32_KEY;
    keys.push({ mask: v.getUint32(o, false), val: v.getUint32(o + 4, false), off: v.getInt32(o + 8, NATIVE_LE), offmask: v.getInt32(o + 12, NATIVE_LE) });
  }
  return { flags: v.getUint8(0), keys };
}
