/**
 * Actions (linux/pkt_cls.h) and the mirred action (linux/tc_act/tc_mirred.h):
 * TCA_ACT_* attributes of one action, and struct tc_mirred in TCA_MIRRED_PARMS.
 */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** enum TCA_ACT_*: attributes of one action in an action list. */
export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;

export const TCA_MIRRED_PARMS = 2;

export const TC_ACT_STOLEN = 4;

/** tc_mirred.eaction. */
export const TCA_EGRESS_REDIR = 1;

/** sizeof(struct tc_mirred): tc_gen (index, capab, action, refcnt, bindcnt) + eaction + ifindex. */
const SIZEOF_TC_MIRRED = 28;

/** struct tc_mirred, the fields that are configured. */
export interface TcMirred {
  index: number;
  action: number;
  eaction: number;
  ifindex: number;
}

/** Encodes struct tc_mirred (capab, refcnt, bindcnt are the kernel's: 0). */
export function encodeTcMirred(m: TcMirred): Uint8Array {
  const out = new Uint8Array(SIZEOF_TC_MIRRED);
  const v = view(out);
  checkUint(m.index, 0xffffffff, "tc_mirred.index");
  checkUint(m.ifindex, 0xffffffff, "tc_mirred.ifindex");
  v.setUint32(0, m.index, NATIVE_LE);
  v.setInt32(8, m.action, NATIVE_LE);
  v.setInt32(20, m.eaction, NATIVE_LE);
  v.setUint32(24, m.ifindex, NATIVE_LE);
  return out;
}

/** Decodes struct tc_mirred; RangeError when short. */
export function decodeTcMirred(buf: Uint8Array): TcMirred {
  need(buf, 0, SIZEOF_TC_MIRRED, "tc_mirred");
  const v = view(buf);
  return { index: v.getUint32(0, NATIVE_LE), action: v.getInt32(8, NATIVE_LE), eaction: v.getInt32(20, NATIVE_LE), ifindex: v.getUint32(24, NATIVE_LE) };
}
