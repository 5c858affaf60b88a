/** struct rtmsg: the fixed header of RTM_*ROUTE messages. */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** sizeof(struct rtmsg). */
export const SIZEOF_RTMSG = 12;

/** struct rtmsg (rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type, rtm_flags). */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** The table when it is below 256; RTA_TABLE holds the full value. */
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

const BYTE_FIELDS = ["family", "dstLen", "srcLen", "tos", "table", "protocol", "scope", "type"] as const;

/** Encodes an rtmsg (missing fields are 0). */
export function encodeRtMsg(m: Partial<RtMsg>): Uint8Array {
  const out = new Uint8Array(SIZEOF_RTMSG);
  for (let i = 0; i < BYTE_FIELDS.length; i++) {
    const k = BYTE_FIELDS[i]!;
    checkUint(m[k] ?? 0, 0xff, `rtm_${k}`);
    out[i] = m[k] ?? 0;
  }
  checkUint(m.flags ?? 0, 0xffffffff, "rtm_flags");
  view(out).setUint32(8, m.flags ?? 0, NATIVE_LE);
  return out;
}

/** Decodes the rtmsg at `offset`. */
export function decodeRtMsg(buf: Uint8Array, offset = 0): RtMsg {
  need(buf, offset, SIZEOF_RTMSG, "rtmsg");
  const m = { flags: view(buf).getUint32(offset + 8, NATIVE_LE) } as RtMsg;
  for (let i = 0; i < BYTE_FIELDS.length; i++) m[BYTE_FIELDS[i]!] = buf[offset + i]!;
  return m;
}
