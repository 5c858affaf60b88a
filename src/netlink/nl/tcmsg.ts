/**
 * struct tcmsg (linux/rtnetlink.h): the fixed header of the traffic control messages
 * (RTM_*QDISC, RTM_*TFILTER), the tc handle arithmetic and the top-level TCA_* attributes.
 */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_GETTFILTER = 46;

/** enum TCA_*: attributes of a qdisc or filter message. */
export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;

/** TC_H_ROOT: the parent of a root qdisc. */
export const TC_H_ROOT = 0xffffffff;
/** TC_H_INGRESS: the parent of the ingress qdisc. */
export const TC_H_INGRESS = 0xfffffff1;
/** ETH_P_ALL (linux/if_ether.h): a filter for every protocol. */
export const ETH_P_ALL = 0x0003;

/** sizeof(struct tcmsg). */
export const SIZEOF_TCMSG = 20;

/** TC_H_MAKE(major << 16, minor): "1:" is makeHandle(1, 0), "ffff:" makeHandle(0xffff, 0). */
export function makeHandle(major: number, minor: number): number {
  checkUint(major, 0xffff, "tc handle major");
  checkUint(minor, 0xffff, "tc handle minor");
  return ((major << 16) | minor) >>> 0;
}

/** A filter's tcm_info: TC_H_MAKE(priority << 16, htons(protocol)), as tc and the kernel read it. */
export function filterInfo(priority: number, protocol: number): number {
  checkUint(priority, 0xffff, "filter priority");
  checkUint(protocol, 0xffff, "filter protocol");
  const be = ((protocol & 0xff) << 8) | (protocol >> 8);
  return ((priority << 16) | (NATIVE_LE ? be : protocol)) >>> 0;
}

/** struct tcmsg (tcm_family, 3 pad bytes, tcm_ifindex, tcm_handle, tcm_parent, tcm_info). */
export interface TcMsg {
  family: number;
  ifindex: number;
  handle: number;
  parent: number;
  /** Filters: priority and protocol (filterInfo); qdiscs: 0. */
  info: number;
}

/** Encodes a tcmsg (missing fields are 0). */
export function encodeTcMsg(m: Partial<TcMsg>): Uint8Array {
  const out = new Uint8Array(SIZEOF_TCMSG);
  const v = view(out);
  checkUint(m.family ?? 0, 0xff, "tcm_family");
  checkUint(m.ifindex ?? 0, 0x7fffffff, "tcm_ifindex");
  for (const k of ["handle", "parent", "info"] as const) checkUint(m[k] ?? 0, 0xffffffff, `tcm_${k}`);
  v.setUint8(0, m.family ?? 0);
  v.setInt32(4, m.ifindex ?? 0, NATIVE_LE);
  v.setUint32(8, m.handle ?? 0, NATIVE_LE);
  v.setUint32(12, m.parent ?? 0, NATIVE_LE);
  v.setUint32(16, m.info ?? 0, NATIVE_LE);
  return out;
}

/** Decodes a tcmsg at `offset`; RangeError when short. */
export function decodeTcMsg(buf: Uint8Array, offset = 0): TcMsg {
  need(buf, offset, SIZEOF_TCMSG, "tcmsg");
  const v = view(buf);
  return {
    family: v.getUint8(offset),
    ifindex: v.getInt32(offset + 4, NATIVE_LE),
    handle: v.getUint32(offset + 8, NATIVE_LE),
    parent: v.getUint32(offset + 12, NATIVE_LE),
    info: v.getUint32(offset + 16, NATIVE_LE),
  };
}
