/**
 * struct nlmsgerr (the payload of NLMSG_ERROR: an ack when error is 0) and the extended
 * ack TLVs that follow it when NETLINK_EXT_ACK is on. Also the NLMSG_DONE payload, which
 * carries a dump's final error the same way.
 */
import { NATIVE_LE, concat, need, view } from "./_bytes.ts";
import { NLMSG_HDRLEN, type Nlmsghdr, decodeNlmsghdr, nlmsgAlign, writeNlmsghdr } from "./nlmsghdr.ts";
import {
  NLMSGERR_ATTR_COOKIE,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from "./netlink-consts.ts";
import { type RtAttr, decodeAttrs, readString, readU32, rtaBytes, rtaString, rtaU32, encodeAttrs } from "./rtattr.ts";

/** What the kernel said beyond the errno (NLMSGERR_ATTR_*). */
export interface ExtAck {
  /** NLMSGERR_ATTR_MSG: a human-readable reason. */
  msg?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request. */
  offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: a required attribute that was missing. */
  missType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset of the nest it was missing from. */
  missNest?: number;
  cookie?: Uint8Array;
}

/** struct nlmsgerr with the request it answers. */
export interface NlMsgErr {
  /** 0 for an ack, else a negative errno. */
  error: number;
  /** The header of the request being answered. */
  request: Nlmsghdr;
  /** The request's payload, empty when the kernel capped it (NLM_F_CAPPED). */
  requestPayload: Uint8Array;
  extack: ExtAck;
}

/** Decodes an NLMSG_ERROR payload; `flags` are the NLMSG_ERROR message's own header flags. */
export function decodeNlmsgerr(payload: Uint8Array, flags: number): NlMsgErr {
  need(payload, 0, 4 + NLMSG_HDRLEN, "nlmsgerr");
  const error = view(payload).getInt32(0, NATIVE_LE);
  const request = decodeNlmsghdr(payload, 4);
  let end = 4 + NLMSG_HDRLEN;
  let requestPayload: Uint8Array = new Uint8Array(0);
  if (!(flags & NLM_F_CAPPED)) {
    const body = Math.max(0, request.len - NLMSG_HDRLEN);
    need(payload, end, body, "nlmsgerr request payload");
    requestPayload = payload.subarray(end, end + body);
    end = 4 + nlmsgAlign(request.len);
  }
  const extack = flags & NLM_F_ACK_TLVS ? decodeExtAck(payload.subarray(Math.min(end, payload.length))) : {};
  return { error, request, requestPayload, extack };
}

/** Encodes an NLMSG_ERROR payload; pass the flags its header will carry (NLM_F_CAPPED, NLM_F_ACK_TLVS). */
export function encodeNlmsgerr(e: NlMsgErr, flags: number): Uint8Array {
  const head = new Uint8Array(4 + NLMSG_HDRLEN);
  view(head).setInt32(0, e.error, NATIVE_LE);
  writeNlmsghdr(head.subarray(4), e.request);
  const parts: Uint8Array[] = [head];
  if (!(flags & NLM_F_CAPPED)) {
    const body = new Uint8Array(nlmsgAlign(e.requestPayload.length));
    body.set(e.requestPayload);
    parts.push(body);
  }
  if (flags & NLM_F_ACK_TLVS) parts.push(encodeExtAck(e.extack));
  return concat(parts);
}

/** Decodes an NLMSG_DONE payload: the dump's final error (0 or a negative errno) and any extack. */
export function decodeDone(payload: Uint8Array, flags: number): { error: number; extack: ExtAck } {
  // Old kernels and some families send NLMSG_DONE without the int.
  if (payload.length < 4) return { error: 0, extack: {} };
  const error = view(payload).getInt32(0, NATIVE_LE);
  return { error, extack: flags & NLM_F_ACK_TLVS ? decodeExtAck(payload.subarray(4)) : {} };
}

/** Decodes the NLMSGERR_ATTR_* TLVs. */
export function decodeExtAck(buf: Uint8Array): ExtAck {
  const out: ExtAck = {};
  for (const a of decodeAttrs(buf)) {
    if (a.type === NLMSGERR_ATTR_MSG) out.msg = readString(a.data);
    else if (a.type === NLMSGERR_ATTR_OFFS) out.offset = readU32(a.data);
    else if (a.type === NLMSGERR_ATTR_MISS_TYPE) out.missType = readU32(a.data);
    else if (a.type === NLMSGERR_ATTR_MISS_NEST) out.missNest = readU32(a.data);
    else if (a.type === NLMSGERR_ATTR_COOKIE) out.cookie = a.data.slice();
  }
  return out;
}

/** Encodes extack TLVs in the order the kernel writes them (msg, offs, cookie, miss type, miss nest). */
export function encodeExtAck(x: ExtAck): Uint8Array {
  const attrs: RtAttr[] = [];
  if (x.msg !== undefined) attrs.push(rtaString(NLMSGERR_ATTR_MSG, x.msg));
  if (x.offset !== undefined) attrs.push(rtaU32(NLMSGERR_ATTR_OFFS, x.offset));
  if (x.cookie !== undefined) attrs.push(rtaBytes(NLMSGERR_ATTR_COOKIE, x.cookie));
  if (x.missType !== undefined) attrs.push(rtaU32(NLMSGERR_ATTR_MISS_TYPE, x.missType));
  if (x.missNest !== undefined) attrs.push(rtaU32(NLMSGERR_ATTR_MISS_NEST, x.missNest));
  return encodeAttrs(attrs);
}
