/**
 * Connection tracking entries through ctnetlink (NETLINK_NETFILTER): list them and
 * delete them. portmap uses it to drop UDP flows that were tracked before a port was
 * mapped, which would otherwise keep bypassing the new DNAT until they time out.
 */
import { NetlinkHandle } from "./handle.ts";
import type { NetNS } from "../sys/netns.ts";
import { attrMap, be16, decodeAttrs, encodeAttrs, readBe16, readU8, rtaBytes, rtaNested, type RtAttr } from "./nl/rtattr.ts";
import { formatIP, parseAddr } from "../spec/ip.ts";
import { NETLINK_NETFILTER } from "./nl/netlink-consts.ts";

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_IP_V6_SRC = 3;
const CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
const AF_INET = 2;
const AF_INET6 = 10;

export const IPPROTO_UDP = 17;

/** The original direction of a tracked flow. */
export interface ConntrackTuple {
  family: 4 | 6;
  proto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

/** A handle on the conntrack table of a namespace (the current one without `ns`). */
export function conntrackHandle(ns?: NetNS): NetlinkHandle {
  return NetlinkHandle.at(ns, { protocol: NETLINK_NETFILTER });
}

/** struct nfgenmsg: family, version 0, resource id 0. */
function nfgenmsg(family: number): Uint8Array {
  return new Uint8Array([family, 0, 0, 0]);
}

function decodeTuple(family: 4 | 6, data: Uint8Array): ConntrackTuple | undefined {
  const t = attrMap(decodeAttrs(data));
  const ip = t.get(CTA_TUPLE_IP);
  const proto = t.get(CTA_TUPLE_PROTO);
  if (!ip || !proto) return undefined;
  const a = attrMap(decodeAttrs(ip));
  const p = attrMap(decodeAttrs(proto));
  const src = a.get(family === 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC);
  const dst = a.get(family === 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST);
  const num = p.get(CTA_PROTO_NUM);
  if (!src || !dst || !num) return undefined;
  const port = (b?: Uint8Array) => (b && b.length >= 2 ? readBe16(b) : 0);
  return {
    family,
    proto: readU8(num),
    src: formatIP(src),
    dst: formatIP(dst),
    srcPort: port(p.get(CTA_PROTO_SRC_PORT)),
    dstPort: port(p.get(CTA_PROTO_DST_PORT)),
  };
}

/** The tracked flows of one family, by their original tuple. Equivalent to: `conntrack -L -f ipv4|ipv6`. */
export function conntrackList(h: NetlinkHandle, family: 4 | 6): ConntrackTuple[] {
  const af = family === 4 ? AF_INET : AF_INET6;
  return h.dump((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, nfgenmsg(af), "list conntrack entries").flatMap((m) => {
    const orig = attrMap(decodeAttrs(m.payload.subarray(4))).get(CTA_TUPLE_ORIG);
    const t = orig ? decodeTuple(family, orig) : undefined;
    return t ? [t] : [];
  });
}

/** Deletes the flow with this original tuple. Equivalent to: `conntrack -D -s SRC -d DST -p PROTO --sport S --dport D`. */
export function conntrackDelete(h: NetlinkHandle, t: ConntrackTuple): void {
  const v4 = t.family === 4;
  const ip: RtAttr[] = [rtaBytes(v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, parseAddr(t.src)), rtaBytes(v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, parseAddr(t.dst))];
  const proto: RtAttr[] = [
    rtaBytes(CTA_PROTO_NUM, new Uint8Array([t.proto])),
    rtaBytes(CTA_PROTO_SRC_PORT, be16(t.srcPort)),
    rtaBytes(CTA_PROTO_DST_PORT, be16(t.dstPort)),
  ];
  const attrs = encodeAttrs([rtaNested(CTA_TUPLE_ORIG, [rtaNested(CTA_TUPLE_IP, ip, true), rtaNested(CTA_TUPLE_PROTO, proto, true)], true)]);
  const body = new Uint8Array(4 + attrs.length);
  body.set(nfgenmsg(v4 ? AF_INET : AF_INET6));
  body.set(attrs, 4);
  h.request((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, 0, body, `delete conntrack entry ${t.src}:${t.srcPort} -> ${t.dst}:${t.dstPort}`);
}
