/** struct nlmsghdr and the framing of netlink messages in a buffer. */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** NLMSG_ALIGNTO: messages start on 4-byte boundaries. */
const NLMSG_ALIGNTO = 4;
/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;

/** NLMSG_ALIGN(len). */
export function nlmsgAlign(len: number): number {
  return (len + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/** struct nlmsghdr. */
export interface Nlmsghdr {
  /** nlmsg_len: header plus payload, without trailing padding. */
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** A message: its header and the payload bytes after it (exactly len - 16 of them). */
export interface NlMsg {
  header: Nlmsghdr;
  payload: Uint8Array;
}

/** Writes a header into the first 16 bytes of `out`. */
export function writeNlmsghdr(out: Uint8Array, h: Nlmsghdr): void {
  need(out, 0, NLMSG_HDRLEN, "nlmsghdr");
  checkUint(h.len, 0xffffffff, "nlmsg_len");
  checkUint(h.type, 0xffff, "nlmsg_type");
  checkUint(h.flags, 0xffff, "nlmsg_flags");
  checkUint(h.seq, 0xffffffff, "nlmsg_seq");
  checkUint(h.pid, 0xffffffff, "nlmsg_pid");
  const v = view(out);
  v.setUint32(0, h.len, NATIVE_LE);
  v.setUint16(4, h.type, NATIVE_LE);
  v.setUint16(6, h.flags, NATIVE_LE);
  v.setUint32(8, h.seq, NATIVE_LE);
  v.setUint32(12, h.pid, NATIVE_LE);
}

/** Reads the header at `offset`. */
export function decodeNlmsghdr(buf: Uint8Array, offset = 0): Nlmsghdr {
  need(buf, offset, NLMSG_HDRLEN, "nlmsghdr");
  const v = view(buf);
  return {
    len: v.getUint32(offset, NATIVE_LE),
    type: v.getUint16(offset + 4, NATIVE_LE),
    flags: v.getUint16(offset + 6, NATIVE_LE),
    seq: v.getUint32(offset + 8, NATIVE_LE),
    pid: v.getUint32(offset + 12, NATIVE_LE),
  };
}

/** One message: header (len computed) + payload, padded to NLMSG_ALIGN. */
export function encodeNlmsg(h: Omit<Nlmsghdr, "len">, payload: Uint8Array): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(nlmsgAlign(len));
  writeNlmsghdr(out, { ...h, len });
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/** Splits a received buffer into messages; RangeError when one runs past the end. */
export function decodeNlmsgs(buf: Uint8Array): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const header = decodeNlmsghdr(buf, off);
    if (header.len < NLMSG_HDRLEN || off + header.len > buf.length) {
      throw new RangeError(`Cannot decode netlink message at offset ${off}: nlmsg_len ${header.len} does not fit in ${buf.length - off} bytes`);
    }
    out.push({ header, payload: buf.subarray(off + NLMSG_HDRLEN, off + header.len) });
    off += nlmsgAlign(header.len);
  }
  if (off < buf.length) throw new RangeError(`Cannot decode netlink message at offset ${off}: ${buf.length - off} trailing bytes`);
  return out;
}
