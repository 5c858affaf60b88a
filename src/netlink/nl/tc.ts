/**
 * Traffic control messages (linux/rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_mirred.h):
 * tcmsg, the TBF parameters, the u32 selector and the mirred action parameters.
 * Pure encode/decode, native byte order as the kernel reads them.
 */
import { NATIVE_LE, need, view } from "./_bytes.ts";

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RATE64 = 4;
export const TCA_TBF_BURST = 6;
export const TCA_U32_CLASSID = 1;
export const TCA_U32_SEL = 5;
export const TCA_U32_ACT = 7;
export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_MIRRED_PARMS = 2;

export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_U32_TERMINAL = 1;
export const TC_ACT_STOLEN = 4;
export const TCA_EGRESS_REDIR = 1;
export const ETH_P_ALL = 0x0003;

/** TC_H_MAKE(major, minor): "1:0" is makeHandle(1, 0). */
export function makeHandle(major: number, minor: number): number {
  return ((major << 16) | (minor & 0xffff)) >>> 0;
}

/** struct tcmsg. */
export interface TcMsg {
  family: number;
  ifindex: number;
  handle: number;
  parent: number;
  /** For filters: priority << 16 | htons(protocol). */
  info: number;
}

export const TCMSG_LEN = 20;

/** Encodes struct tcmsg (20 bytes). */
export function encodeTcMsg(m: Partial<TcMsg>): Uint8Array {
  const b = new Uint8Array(TCMSG_LEN);
  const v = view(b);
  v.setUint8(0, m.family ?? 0);
  v.setInt32(4, m.ifindex ?? 0, NATIVE_LE);
  v.setUint32(8, m.handle ?? 0, NATIVE_LE);
  v.setUint32(12, m.parent ?? 0, NATIVE_LE);
  v.setUint32(16, m.info ?? 0, NATIVE_LE);
  return b;
}

/** Decodes struct tcmsg; RangeError when short. */
export function decodeTcMsg(b: Uint8Array): TcMsg {
  need(b, 0, TCMSG_LEN, "tcmsg");
  const v = view(b);
  return { family: v.getUint8(0), ifindex: v.getInt32(4, NATIVE_LE), handle: v.getUint32(8, NATIVE_LE), parent: v.getUint32(12, NATIVE_LE), info: v.getUint32(16, NATIVE_LE) };
}

/** The part of struct tc_tbf_qopt that TBF uses: rate (bytes/s, 32 bits), limit, buffer (ticks). */
export interface TbfQopt {
  rate: number;
  limit: number;
  buffer: number;
  peakrate?: number;
  mtu?: number;
}

export const TBF_QOPT_LEN = 36;

/** Encodes struct tc_tbf_qopt: two tc_ratespec (12 bytes each: rate at offset 8), limit, buffer, mtu. */
export function encodeTbfQopt(q: TbfQopt): Uint8Array {
  const b = new Uint8Array(TBF_QOPT_LEN);
  const v = view(b);
  v.setUint32(8, Math.min(q.rate, 0xffffffff), NATIVE_LE);
  v.setUint32(20, Math.min(q.peakrate ?? 0, 0xffffffff), NATIVE_LE);
  v.setUint32(24, q.limit, NATIVE_LE);
  v.setUint32(28, q.buffer, NATIVE_LE);
  v.setUint32(32, q.mtu ?? 0, NATIVE_LE);
  return b;
}

/** Decodes struct tc_tbf_qopt. */
export function decodeTbfQopt(b: Uint8Array): TbfQopt {
  need(b, 0, TBF_QOPT_LEN, "tc_tbf_qopt");
  const v = view(b);
  return { rate: v.getUint32(8, NATIVE_LE), peakrate: v.getUint32(20, NATIVE_LE), limit: v.getUint32(24, NATIVE_LE), buffer: v.getUint32(28, NATIVE_LE), mtu: v.getUint32(32, NATIVE_LE) };
}

/** struct tc_u32_sel with one all-zero key: match every packet, terminal (16 + 16 bytes). */
export function encodeU32MatchAll(): Uint8Array {
  const b = new Uint8Array(32);
  b[0] = TC_U32_TERMINAL;
  b[2] = 1;
  return b;
}

/** struct tc_mirred (tc_gen + eaction + ifindex, 28 bytes): redirect to `ifindex` on egress, packet stolen. */
export function encodeMirredRedirect(ifindex: number): Uint8Array {
  const b = new Uint8Array(28);
  const v = view(b);
  v.setInt32(8, TC_ACT_STOLEN, NATIVE_LE);
  v.setInt32(20, TCA_EGRESS_REDIR, NATIVE_LE);
  v.setUint32(24, ifindex, NATIVE_LE);
  return b;
}
