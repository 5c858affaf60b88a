/**
 * The token bucket filter's options (linux/pkt_sched.h): struct tc_tbf_qopt in
 * TCA_TBF_PARMS, and TCA_TBF_RATE64 for rates that do not fit its 32-bit field.
 */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";
import { type RtAttr, attrMap, decodeAttrs, rtaBytes } from "./rtattr.ts";

/** enum TCA_TBF_*. */
const TCA_TBF_PARMS = 1;
export const TCA_TBF_RATE64 = 4;
const TCA_TBF_PRATE64 = 5;

/** sizeof(struct tc_tbf_qopt): two 12-byte tc_ratespec, then limit, buffer, mtu. */
const SIZEOF_TC_TBF_QOPT = 36;

/** What TBF is configured with: rates in bytes/s, limit in bytes, buffer and mtu in scheduler ticks / bytes. */
export interface TbfParams {
  rate: number;
  limit: number;
  buffer: number;
  peakrate?: number;
  mtu?: number;
}

const U32_SPAN = 2 ** 32;

/**
 * Encodes struct tc_tbf_qopt. The rate fields are u32: a larger rate keeps its low
 * 32 bits here (what the reference's library writes) and goes whole in TCA_TBF_RATE64.
 */
export function encodeTbfQopt(q: TbfParams): Uint8Array {
  const out = new Uint8Array(SIZEOF_TC_TBF_QOPT);
  const v = view(out);
  for (const k of ["rate", "peakrate"] as const) checkUint(q[k] ?? 0, Number.MAX_SAFE_INTEGER, `tbf ${k}`);
  for (const k of ["limit", "buffer", "mtu"] as const) checkUint(q[k] ?? 0, 0xffffffff, `tbf ${k}`);
  // tc_ratespec: cell_log, linklayer (u8), overhead (u16), cell_align (s16), mpu (u16), rate (u32).
  v.setUint32(8, q.rate % U32_SPAN, NATIVE_LE);
  v.setUint32(20, (q.peakrate ?? 0) % U32_SPAN, NATIVE_LE);
  v.setUint32(24, q.limit, NATIVE_LE);
  v.setUint32(28, q.buffer, NATIVE_LE);
  v.setUint32(32, q.mtu ?? 0, NATIVE_LE);
  return out;
}

/** Decodes struct tc_tbf_qopt; RangeError when short. */
export function decodeTbfQopt(buf: Uint8Array): TbfParams {
  need(buf, 0, SIZEOF_TC_TBF_QOPT, "tc_tbf_qopt");
  const v = view(buf);
  return {
    rate: v.getUint32(8, NATIVE_LE),
    peakrate: v.getUint32(20, NATIVE_LE),
    limit: v.getUint32(24, NATIVE_LE),
    buffer: v.getUint32(28, NATIVE_LE),
    mtu: v.getUint32(32, NATIVE_LE),
  };
}

function u64(type: number, x: number): RtAttr {
  const data = new Uint8Array(8);
  view(data).setBigUint64(0, BigInt(x), NATIVE_LE);
  return rtaBytes(type, data);
}

/** The attributes inside TCA_OPTIONS of a TBF qdisc, as the reference's library sends them. */
export function tbfOptions(q: TbfParams): RtAttr[] {
  const attrs = [rtaBytes(TCA_TBF_PARMS, encodeTbfQopt(q))];
  if (q.rate >= U32_SPAN) attrs.push(u64(TCA_TBF_RATE64, q.rate));
  if ((q.peakrate ?? 0) >= U32_SPAN) attrs.push(u64(TCA_TBF_PRATE64, q.peakrate!));
  return attrs;
}

/** Decodes the value of a TBF qdisc's TCA_OPTIONS; the 64-bit rates win over the 32-bit fields. */
export function decodeTbfOptions(buf: Uint8Array): TbfParams | undefined {
  const a = attrMap(decodeAttrs(buf));
  const parms = a.get(TCA_TBF_PARMS);
  if (!parms) return undefined;
  const q = decodeTbfQopt(parms);
  const big = (t: number) => {
    const d = a.get(t);
    if (!d) return undefined;
    need(d, 0, 8, "u64 attribute");
    return Number(view(d).getBigUint64(0, NATIVE_LE));
  };
  q.rate = big(TCA_TBF_RATE64) ?? q.rate;
  q.peakrate = big(TCA_TBF_PRATE64) ?? q.peakrate;
  return q;
}
