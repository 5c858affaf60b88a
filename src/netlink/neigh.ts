/**
 * Neighbours (ARP / NDP entries) and bridge FDB entries: both are RTM_*NEIGH messages,
 * told apart by family (AF_INET / AF_INET6 vs AF_BRIDGE). Every function acts in the
 * namespace of its handle.
 */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkIndexOf, linkLabel } from "./link.ts";
import { formatMAC, parseMAC } from "./mac.ts";
import { formatIP, parseAddr } from "../spec/ip.ts";
import { concat } from "./nl/_bytes.ts";
import { AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from "./nl/netlink-consts.ts";
import { NDA_DST, NDA_LLADDR, NDA_MASTER, NDA_PORT, NDA_VLAN, NDA_VNI, NUD_PERMANENT } from "./nl/neigh-consts.ts";
import { RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from "./nl/rtnetlink-consts.ts";
import { SIZEOF_NDMSG, decodeNdMsg, encodeNdMsg } from "./nl/ndmsg.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readBe16, readU16, readU32, rtaBe16, rtaBytes, rtaU16, rtaU32 } from "./nl/rtattr.ts";

/** A neighbour or FDB entry as the kernel reports it. */
export interface Neigh {
  /** ifindex of the link. */
  index: number;
  family: "inet" | "inet6" | "bridge";
  /** NDA_DST: the neighbour's address, or the remote VTEP of a VXLAN FDB entry. */
  ip?: string;
  /** NDA_LLADDR. */
  mac?: string;
  /** NUD_* */
  state: number;
  /** NTF_* */
  flags: number;
  type: number;
  vlan?: number;
  vni?: number;
  port?: number;
  /** NDA_MASTER: the bridge of an FDB entry. */
  master?: number;
}

/** An ARP / NDP entry to write. */
export interface NeighSpec {
  link: LinkRef;
  ip: string;
  mac?: string;
  /** NUD_*; default NUD_PERMANENT. */
  state?: number;
  /** NTF_* */
  flags?: number;
}

/** Adds a neighbour entry; NetlinkError EEXIST when there is one. Equivalent to: `ip neigh add IP lladdr MAC dev LINK`. */
export function neighAdd(h: NetlinkHandle, n: NeighSpec): void {
  writeNeigh(h, n, NLM_F_CREATE | NLM_F_EXCL, "add");
}

/** Adds or replaces a neighbour entry. Equivalent to: `ip neigh replace IP lladdr MAC dev LINK`. */
export function neighReplace(h: NetlinkHandle, n: NeighSpec): void {
  writeNeigh(h, n, NLM_F_CREATE | NLM_F_REPLACE, "replace");
}

/** Deletes a neighbour entry; NetlinkError ENOENT when absent. Equivalent to: `ip neigh del IP dev LINK`. */
export function neighDel(h: NetlinkHandle, n: Pick<NeighSpec, "link" | "ip">): void {
  const ip = parseAddr(n.ip, "neighbour address");
  const body = concat([encodeNdMsg({ family: ip.length === 4 ? AF_INET : AF_INET6, index: linkIndexOf(h, n.link) }), encodeAttrs([rtaBytes(NDA_DST, ip)])]);
  h.request(RTM_DELNEIGH, 0, body, `delete neighbour ${n.ip} on ${linkLabel(n.link)}`);
}

/** ARP / NDP entries, optionally of one link and family. Equivalent to: `ip neigh show [dev LINK]`. */
export function neighList(h: NetlinkHandle, opts: { link?: LinkRef; family?: 4 | 6 } = {}): Neigh[] {
  const family = opts.family === 4 ? AF_INET : opts.family === 6 ? AF_INET6 : AF_UNSPEC;
  return list(h, family, opts.link).filter((n) => n.family !== "bridge");
}

/** A bridge or VXLAN forwarding entry. */
export interface FdbSpec {
  link: LinkRef;
  mac: string;
  /** Remote VTEP address (VXLAN). */
  dst?: string;
  vlan?: number;
  vni?: number;
  /** Remote UDP port (VXLAN). */
  port?: number;
  /** NTF_* flags; VXLAN entries need NTF_SELF, entries of a bridge port NTF_MASTER. */
  flags?: number;
  /**
   * NUD_*; default NUD_PERMANENT, as `bridge fdb add` assumes (vxlan devices take
   * only NUD_PERMANENT or NUD_REACHABLE). On a bridge port NUD_PERMANENT marks a local
   * address, delivered to the host: pass NUD_NOARP for a "static" forwarding entry.
   */
  state?: number;
}

/** Adds an FDB entry; EEXIST when there is one. Equivalent to: `bridge fdb add MAC dev LINK [dst IP] [self|master]`. */
export function fdbAdd(h: NetlinkHandle, f: FdbSpec): void {
  writeFdb(h, f, NLM_F_CREATE | NLM_F_EXCL, "add");
}

/** Adds or replaces an FDB entry. Equivalent to: `bridge fdb replace MAC dev LINK [dst IP] ...`. */
export function fdbReplace(h: NetlinkHandle, f: FdbSpec): void {
  writeFdb(h, f, NLM_F_CREATE | NLM_F_REPLACE, "replace");
}

/** Adds another remote to a VXLAN FDB entry (e.g. the all-zero MAC for flooding). Equivalent to: `bridge fdb append MAC dev LINK dst IP`. */
export function fdbAppend(h: NetlinkHandle, f: FdbSpec): void {
  writeFdb(h, f, NLM_F_CREATE | NLM_F_APPEND, "append");
}

/** Deletes an FDB entry (with `dst`, only that remote). Equivalent to: `bridge fdb del MAC dev LINK [dst IP]`. */
export function fdbDel(h: NetlinkHandle, f: FdbSpec): void {
  h.request(RTM_DELNEIGH, 0, encodeFdb(h, f), `delete fdb entry ${f.mac} on ${linkLabel(f.link)}`);
}

/** FDB entries, optionally of one link. Equivalent to: `bridge fdb show [dev LINK]`. */
export function fdbList(h: NetlinkHandle, opts: { link?: LinkRef } = {}): Neigh[] {
  return list(h, AF_BRIDGE, opts.link);
}

/** Decodes the payload of an RTM_NEWNEIGH message. */
function decodeNeigh(payload: Uint8Array): Neigh {
  const nd = decodeNdMsg(payload);
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_NDMSG)));
  const n: Neigh = {
    index: nd.index,
    family: nd.family === AF_BRIDGE ? "bridge" : nd.family === AF_INET6 ? "inet6" : "inet",
    state: nd.state,
    flags: nd.flags,
    type: nd.type,
  };
  if (a.has(NDA_DST)) n.ip = formatIP(a.get(NDA_DST)!);
  if (a.has(NDA_LLADDR)) n.mac = formatMAC(a.get(NDA_LLADDR)!);
  if (a.has(NDA_VLAN)) n.vlan = readU16(a.get(NDA_VLAN)!);
  if (a.has(NDA_VNI)) n.vni = readU32(a.get(NDA_VNI)!);
  if (a.has(NDA_PORT)) n.port = readBe16(a.get(NDA_PORT)!);
  if (a.has(NDA_MASTER)) n.master = readU32(a.get(NDA_MASTER)!);
  return n;
}

function list(h: NetlinkHandle, family: number, link: LinkRef | undefined): Neigh[] {
  const index = link === undefined ? 0 : linkIndexOf(h, link);
  return h
    .dump(RTM_GETNEIGH, encodeNdMsg({ family }), family === AF_BRIDGE ? "list fdb entries" : "list neighbours")
    .filter((m) => m.header.type === RTM_NEWNEIGH)
    .map((m) => decodeNeigh(m.payload))
    .filter((n) => index === 0 || n.index === index);
}

function writeNeigh(h: NetlinkHandle, n: NeighSpec, flags: number, verb: string): void {
  const ip = parseAddr(n.ip, "neighbour address");
  const attrs: RtAttr[] = [rtaBytes(NDA_DST, ip)];
  if (n.mac !== undefined) attrs.push(rtaBytes(NDA_LLADDR, parseMAC(n.mac)));
  const nd = encodeNdMsg({ family: ip.length === 4 ? AF_INET : AF_INET6, index: linkIndexOf(h, n.link), state: n.state ?? NUD_PERMANENT, flags: n.flags ?? 0 });
  h.request(RTM_NEWNEIGH, flags, concat([nd, encodeAttrs(attrs)]), `${verb} neighbour ${n.ip} on ${linkLabel(n.link)}`);
}

function writeFdb(h: NetlinkHandle, f: FdbSpec, flags: number, verb: string): void {
  h.request(RTM_NEWNEIGH, flags, encodeFdb(h, f), `${verb} fdb entry ${f.mac} on ${linkLabel(f.link)}`);
}

function encodeFdb(h: NetlinkHandle, f: FdbSpec): Uint8Array {
  const attrs: RtAttr[] = [rtaBytes(NDA_LLADDR, parseMAC(f.mac))];
  if (f.dst !== undefined) attrs.push(rtaBytes(NDA_DST, parseAddr(f.dst, "fdb destination")));
  if (f.vlan !== undefined) attrs.push(rtaU16(NDA_VLAN, f.vlan));
  if (f.vni !== undefined) attrs.push(rtaU32(NDA_VNI, f.vni));
  if (f.port !== undefined) attrs.push(rtaBe16(NDA_PORT, f.port));
  const nd = encodeNdMsg({ family: AF_BRIDGE, index: linkIndexOf(h, f.link), state: f.state ?? NUD_PERMANENT, flags: f.flags ?? 0 });
  return concat([nd, encodeAttrs(attrs)]);
}
