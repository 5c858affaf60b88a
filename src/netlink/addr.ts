/** Interface addresses, v4 and v6. Every function acts in the namespace of its handle. */
import type { NetlinkHandle } from "./handle.ts";
import { isNetlinkError } from "./error.ts";
import { type LinkRef } from "./link-types.ts";
import { linkIndexOf, linkLabel } from "./link.ts";
import { formatIP, type IPPrefix, parseAddr, parsePrefix } from "../spec/ip.ts";
import { concat, view, NATIVE_LE } from "./nl/_bytes.ts";
import {
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFA_RT_PRIORITY,
} from "./nl/addr-consts.ts";
import { AF_INET, AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, afOf } from "./nl/netlink-consts.ts";
import { RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE } from "./nl/rtnetlink-consts.ts";
import { SIZEOF_IFADDRMSG, decodeIfAddrmsg, encodeIfAddrmsg } from "./nl/ifaddrmsg.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readString, readU32, rtaBytes, rtaString, rtaU32 } from "./nl/rtattr.ts";

/** An address as the kernel reports it. */
export interface Addr {
  /** ifindex of the link. */
  index: number;
  family: 4 | 6;
  /** The local address ("10.0.0.2"). */
  ip: string;
  prefix: number;
  /** ip/prefix ("10.0.0.2/24"). */
  cidr: string;
  /** The peer of a point-to-point address (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
  broadcast?: string;
  label?: string;
  /** IFA_F_* (all 32 bits, from IFA_FLAGS when present). */
  flags: number;
  scope: number;
  /** Seconds; 0xffffffff is forever. */
  validLft?: number;
  preferredLft?: number;
}

/** What addrAdd / addrReplace may set beside the address. */
export interface AddrOptions {
  /** Point-to-point peer ("10.0.0.1" or "10.0.0.1/32"). */
  peer?: string;
  /**
   * IPv4 broadcast. By default it is computed for prefixes up to /30 as the Go
   * reference plugins' netlink library does, so kernel state matches theirs; null for none.
   */
  broadcast?: string | null;
  label?: string;
  /** IFA_F_* such as IFA_F_NODAD or IFA_F_NOPREFIXROUTE. */
  flags?: number;
  /** Default: host for 127.0.0.0/8, else universe (what iproute2 picks). */
  scope?: number;
  /** Seconds; both default to forever. */
  validLft?: number;
  preferredLft?: number;
  /** IFA_RT_PRIORITY: metric of the prefix route. */
  metric?: number;
}

/** Adds an address; NetlinkError EEXIST when it is there. Equivalent to: `ip addr add CIDR dev LINK`. */
export function addrAdd(h: NetlinkHandle, link: LinkRef, cidr: string, opts: AddrOptions = {}): void {
  change(h, link, cidr, opts, NLM_F_CREATE | NLM_F_EXCL, "add");
}

/** Adds an address or updates its flags and lifetimes. Equivalent to: `ip addr replace CIDR dev LINK`. */
export function addrReplace(h: NetlinkHandle, link: LinkRef, cidr: string, opts: AddrOptions = {}): void {
  change(h, link, cidr, opts, NLM_F_CREATE | NLM_F_REPLACE, "replace");
}

/** Removes an address; NetlinkError EADDRNOTAVAIL when it is not there. Equivalent to: `ip addr del CIDR dev LINK`. */
export function addrDel(h: NetlinkHandle, link: LinkRef, cidr: string, opts: Pick<AddrOptions, "peer"> = {}): void {
  const index = linkIndexOf(h, link);
  const p = parsePrefix(cidr);
  const attrs: RtAttr[] = [rtaBytes(IFA_LOCAL, p.bytes)];
  if (opts.peer) attrs.push(rtaBytes(IFA_ADDRESS, parsePrefix(opts.peer, "peer").bytes));
  const body = concat([encodeIfAddrmsg({ family: afOf(p.family), prefixlen: p.prefix, index }), encodeAttrs(attrs)]);
  h.request(RTM_DELADDR, 0, body, `delete address ${JSON.stringify(cidr)} from ${linkLabel(link)}`);
}

/** Addresses of the namespace, optionally of one link and one family. Equivalent to: `ip addr show [dev LINK]`. */
export function addrList(h: NetlinkHandle, opts: { link?: LinkRef; family?: 4 | 6 } = {}): Addr[] {
  const index = opts.link === undefined ? 0 : linkIndexOf(h, opts.link);
  const family = opts.family ? afOf(opts.family) : AF_UNSPEC;
  // A loop, not filter/map: a plugin process pays for an array builtin's first use.
  const out: Addr[] = [];
  for (const m of addrMessages(h, family, index)) {
    if (m.header.type !== RTM_NEWADDR) continue;
    const a = decodeAddr(m.payload);
    if ((index === 0 || a.index === index) && (family === AF_UNSPEC || afOf(a.family) === family)) out.push(a);
  }
  return out;
}

/**
 * The RTM_GETADDR dump of one link (`index`) or all: one link's is read from that link
 * alone when the kernel can (dumpFiltered); a link gone meanwhile has none, as in the
 * whole namespace's dump (the filtered one says ENODEV).
 */
function addrMessages(h: NetlinkHandle, family: number, index: number) {
  const body = encodeIfAddrmsg({ family, index });
  if (!index) return h.dump(RTM_GETADDR, body, "list addresses");
  try {
    return h.dumpFiltered(RTM_GETADDR, body, "list addresses");
  } catch (e) {
    if (isNetlinkError(e, "ENODEV")) return [];
    throw e;
  }
}

/**
 * Waits until no IPv6 address of the link is tentative (duplicate address detection
 * done), polling every 50 ms. Throws when DAD failed or after `timeoutMs` (default 10 s).
 * Nothing to wait for when the link has no IPv6 addresses.
 */
export async function waitForDad(h: NetlinkHandle, link: LinkRef, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const index = linkIndexOf(h, link);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v6 = addrList(h, { link: index, family: 6 });
    const failed = v6.find((a) => a.flags & IFA_F_DADFAILED);
    if (failed) throw new Error(`Cannot use address ${JSON.stringify(failed.cidr)} on ${linkLabel(link)}: duplicate address detection failed`);
    const tentative = v6.filter((a) => a.flags & IFA_F_TENTATIVE);
    if (tentative.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`Cannot settle addresses of ${linkLabel(link)}: ${tentative.map((a) => a.cidr).join(", ")} still tentative after ${timeoutMs} ms`);
    }
    await Bun.sleep(50);
  }
}

/** Decodes the payload of an RTM_NEWADDR message. */
function decodeAddr(payload: Uint8Array): Addr {
  const ifa = decodeIfAddrmsg(payload);
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_IFADDRMSG)));
  const local = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  const ip = local ? formatIP(local) : "";
  const out: Addr = {
    index: ifa.index,
    family: ifa.family === AF_INET ? 4 : 6,
    ip,
    prefix: ifa.prefixlen,
    cidr: `${ip}/${ifa.prefixlen}`,
    flags: a.has(IFA_FLAGS) ? readU32(a.get(IFA_FLAGS)!) : ifa.flags,
    scope: ifa.scope,
  };
  const address = a.get(IFA_ADDRESS);
  if (a.has(IFA_LOCAL) && address && formatIP(address) !== ip) out.peer = formatIP(address);
  if (a.has(IFA_BROADCAST)) out.broadcast = formatIP(a.get(IFA_BROADCAST)!);
  if (a.has(IFA_LABEL)) out.label = readString(a.get(IFA_LABEL)!);
  const ci = a.get(IFA_CACHEINFO);
  if (ci && ci.length >= 8) {
    out.preferredLft = view(ci).getUint32(0, NATIVE_LE);
    out.validLft = view(ci).getUint32(4, NATIVE_LE);
  }
  return out;
}

function change(h: NetlinkHandle, link: LinkRef, cidr: string, opts: AddrOptions, flags: number, verb: string): void {
  const index = linkIndexOf(h, link);
  const p = parsePrefix(cidr);
  const attrs: RtAttr[] = [rtaBytes(IFA_LOCAL, p.bytes), rtaBytes(IFA_ADDRESS, opts.peer ? parsePrefix(opts.peer, "peer").bytes : p.bytes)];
  const brd = broadcastOf(p, opts);
  if (brd) attrs.push(rtaBytes(IFA_BROADCAST, brd));
  if (opts.label !== undefined) attrs.push(rtaString(IFA_LABEL, opts.label));
  const ifaFlags = opts.flags ?? 0;
  // ifa_flags has 8 bits; IFA_FLAGS carries the rest (IFA_F_NOPREFIXROUTE and up).
  if (ifaFlags > 0xff) attrs.push(rtaU32(IFA_FLAGS, ifaFlags));
  if (opts.validLft !== undefined || opts.preferredLft !== undefined) {
    const ci = new Uint8Array(16);
    view(ci).setUint32(0, opts.preferredLft ?? 0xffffffff, NATIVE_LE);
    view(ci).setUint32(4, opts.validLft ?? 0xffffffff, NATIVE_LE);
    attrs.push(rtaBytes(IFA_CACHEINFO, ci));
  }
  if (opts.metric !== undefined) attrs.push(rtaU32(IFA_RT_PRIORITY, opts.metric));
  const scope = opts.scope ?? (p.family === 4 && p.bytes[0] === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE);
  const msg = encodeIfAddrmsg({ family: afOf(p.family), prefixlen: p.prefix, flags: ifaFlags & 0xff, scope, index });
  h.request(RTM_NEWADDR, flags, concat([msg, encodeAttrs(attrs)]), `${verb} address ${JSON.stringify(cidr)} on ${linkLabel(link)}`);
}

function broadcastOf(p: IPPrefix, opts: AddrOptions): Uint8Array | undefined {
  if (p.family !== 4 || opts.broadcast === null) return undefined;
  if (opts.broadcast !== undefined) return parseAddr(opts.broadcast, "broadcast");
  if (p.prefix >= 31) return undefined;
  const b = p.bytes.slice();
  for (let bit = p.prefix; bit < 32; bit++) b[bit >> 3]! |= 0x80 >> (bit & 7);
  return b;
}
