/** Routes, v4 and v6: add, replace, delete, list. Every function acts in the namespace of its handle. */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkIndexOf } from "./link.ts";
import { formatIP, type IPPrefix, parseAddr, parsePrefix } from "../spec/ip.ts";
import { concat } from "./nl/_bytes.ts";
import { AF_INET, AF_INET6, AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, afOf } from "./nl/netlink-consts.ts";
import {
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_F_CLONED,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTN_ANYCAST,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from "./nl/rtnetlink-consts.ts";
import { SIZEOF_RTMSG, decodeRtMsg, encodeRtMsg } from "./nl/rtmsg.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readU32, rtaBytes, rtaNested, rtaU32 } from "./nl/rtattr.ts";

// The route scopes and table plugins name (kernel names, as iproute2's "scope link", "table main").
export { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from "./nl/rtnetlink-consts.ts";

/** A route as the kernel reports it. */
export interface RouteEntry {
  family: 4 | 6;
  /** "10.0.0.0/24"; undefined for a default route. */
  dst?: string;
  gw?: string;
  /** RTA_PREFSRC. */
  src?: string;
  /** RTA_OIF. */
  linkIndex?: number;
  table: number;
  scope: number;
  /** RTA_PRIORITY, the metric. */
  priority?: number;
  protocol: number;
  /** RTN_* */
  type: number;
  /** rtm_flags, e.g. RTNH_F_ONLINK. */
  flags: number;
  mtu?: number;
  advmss?: number;
  /** True for an ECMP route (RTA_MULTIPATH); its next hops are not decoded. */
  multipath?: boolean;
}

/** A route to add, replace or delete. */
export interface RouteSpec {
  /** Destination prefix; the default route of the family when absent. */
  dst?: string;
  gw?: string;
  /** Output device. */
  link?: LinkRef;
  /** Preferred source address. */
  src?: string;
  /** Needed only when neither dst nor gw tells it. */
  family?: 4 | 6;
  /** Default main (254). */
  table?: number;
  /** Default as iproute2: host for local routes, link for routes without gateway, else universe. */
  scope?: number;
  /** The metric. */
  priority?: number;
  /** Default RTPROT_BOOT, as iproute2. */
  protocol?: number;
  /** RTN_*; default unicast. */
  type?: number;
  /** The gateway is on the link even if no prefix says so. */
  onlink?: boolean;
  mtu?: number;
  advmss?: number;
}

/** Adds a route; NetlinkError EEXIST when there is one. Equivalent to: `ip route add DST [via GW] [dev LINK] ...`. */
export function routeAdd(h: NetlinkHandle, route: RouteSpec): void {
  h.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, encodeRoute(h, route, false), `add route ${label(route)}`);
}

/**
 * Adds a route; one of the same destination and metric already there (another device
 * or gateway) stays, and this becomes a second route (IPv4) or another next hop of it
 * (IPv6). EEXIST only for an identical route. NLM_F_CREATE without NLM_F_EXCL, as
 * vishvananda/netlink's RouteAddEcmp, which the reference's ipam.ConfigureIface uses.
 */
export function routeAddEcmp(h: NetlinkHandle, route: RouteSpec): void {
  h.request(RTM_NEWROUTE, NLM_F_CREATE, encodeRoute(h, route, false), `add route ${label(route)}`);
}

/** Adds a route or replaces the one with the same key. Equivalent to: `ip route replace DST ...`. */
export function routeReplace(h: NetlinkHandle, route: RouteSpec): void {
  h.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, encodeRoute(h, route, false), `replace route ${label(route)}`);
}

/**
 * Deletes the first route matching the given fields (unset ones match anything);
 * NetlinkError ESRCH when none does. Equivalent to: `ip route del DST ...`.
 */
export function routeDel(h: NetlinkHandle, route: RouteSpec): void {
  h.request(RTM_DELROUTE, 0, encodeRoute(h, route, true), `delete route ${label(route)}`);
}

/** Routes of a table (main by default; 0 for all tables). Equivalent to: `ip [-6] route show [table T] [dev LINK]`. */
export function routeList(h: NetlinkHandle, opts: { family?: 4 | 6; table?: number; link?: LinkRef } = {}): RouteEntry[] {
  const family = opts.family ? afOf(opts.family) : AF_UNSPEC;
  const table = opts.table ?? RT_TABLE_MAIN;
  const index = opts.link === undefined ? 0 : linkIndexOf(h, opts.link);
  const out: RouteEntry[] = [];
  for (const m of h.dump(RTM_GETROUTE, encodeRtMsg({ family }), "list routes")) {
    if (m.header.type !== RTM_NEWROUTE) continue;
    const r = decodeRoute(m.payload);
    if (r && (table === 0 || r.table === table) && (index === 0 || r.linkIndex === index) && (!opts.family || r.family === opts.family)) out.push(r);
  }
  return out;
}

/** Decodes the payload of an RTM_NEWROUTE message; undefined for cached clones and families other than v4/v6. */
export function decodeRoute(payload: Uint8Array): RouteEntry | undefined {
  const rt = decodeRtMsg(payload);
  if ((rt.family !== AF_INET && rt.family !== AF_INET6) || rt.flags & RTM_F_CLONED) return undefined;
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_RTMSG)));
  const r: RouteEntry = {
    family: rt.family === AF_INET ? 4 : 6,
    table: a.has(RTA_TABLE) ? readU32(a.get(RTA_TABLE)!) : rt.table,
    scope: rt.scope,
    protocol: rt.protocol,
    type: rt.type,
    flags: rt.flags,
  };
  if (a.has(RTA_DST)) r.dst = `${formatIP(a.get(RTA_DST)!)}/${rt.dstLen}`;
  if (a.has(RTA_GATEWAY)) r.gw = formatIP(a.get(RTA_GATEWAY)!);
  if (a.has(RTA_PREFSRC)) r.src = formatIP(a.get(RTA_PREFSRC)!);
  if (a.has(RTA_OIF)) r.linkIndex = readU32(a.get(RTA_OIF)!);
  if (a.has(RTA_PRIORITY)) r.priority = readU32(a.get(RTA_PRIORITY)!);
  if (a.has(RTA_MULTIPATH)) r.multipath = true;
  if (a.has(RTA_METRICS)) {
    const m = attrMap(decodeAttrs(a.get(RTA_METRICS)!));
    if (m.has(RTAX_MTU)) r.mtu = readU32(m.get(RTAX_MTU)!);
    if (m.has(RTAX_ADVMSS)) r.advmss = readU32(m.get(RTAX_ADVMSS)!);
  }
  return r;
}

function encodeRoute(h: NetlinkHandle, s: RouteSpec, del: boolean): Uint8Array {
  const gw = s.gw === undefined ? undefined : parseAddr(s.gw, "gateway");
  const src = s.src === undefined ? undefined : parseAddr(s.src, "source address");
  const dst: IPPrefix | undefined = s.dst === undefined ? undefined : parsePrefix(s.dst, "destination");
  const family = dst ? afOf(dst.family) : gw ? (gw.length === 4 ? AF_INET : AF_INET6) : s.family ? afOf(s.family) : undefined;
  if (family === undefined) throw new RangeError(`Invalid route ${label(s)}: give dst, gw or family`);
  for (const [what, ip] of [
    ["gateway", gw],
    ["source address", src],
  ] as const) {
    if (ip && (ip.length === 4 ? AF_INET : AF_INET6) !== family) throw new RangeError(`Invalid route ${label(s)}: ${what} of another family`);
  }
  const table = s.table ?? RT_TABLE_MAIN;
  const type = s.type ?? (del ? RTN_UNSPEC : RTN_UNICAST);
  const attrs: RtAttr[] = [rtaU32(RTA_TABLE, table)];
  if (dst && dst.prefix > 0) attrs.push(rtaBytes(RTA_DST, dst.bytes));
  if (gw) attrs.push(rtaBytes(RTA_GATEWAY, gw));
  if (src) attrs.push(rtaBytes(RTA_PREFSRC, src));
  if (s.link !== undefined) attrs.push(rtaU32(RTA_OIF, linkIndexOf(h, s.link)));
  if (s.priority !== undefined) attrs.push(rtaU32(RTA_PRIORITY, s.priority));
  const metrics: RtAttr[] = [];
  if (s.mtu !== undefined) metrics.push(rtaU32(RTAX_MTU, s.mtu));
  if (s.advmss !== undefined) metrics.push(rtaU32(RTAX_ADVMSS, s.advmss));
  if (metrics.length) attrs.push(rtaNested(RTA_METRICS, metrics));
  const rtm = encodeRtMsg({
    family,
    dstLen: dst?.prefix ?? 0,
    // Tables above 255 only fit in RTA_TABLE.
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    protocol: s.protocol ?? (del ? RTPROT_UNSPEC : RTPROT_BOOT),
    scope: s.scope ?? defaultScope(type, gw !== undefined, del),
    type,
    flags: s.onlink ? RTNH_F_ONLINK : 0,
  });
  return concat([rtm, encodeAttrs(attrs)]);
}

/** iproute2's choice of scope when none is given. */
function defaultScope(type: number, hasGw: boolean, del: boolean): number {
  if (type === RTN_LOCAL || type === RTN_NAT) return RT_SCOPE_HOST;
  if (type === RTN_BROADCAST || type === RTN_MULTICAST || type === RTN_ANYCAST) return RT_SCOPE_LINK;
  // On delete, "nowhere" tells the kernel to match any scope.
  if (del) return RT_SCOPE_NOWHERE;
  return hasGw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
}

function label(s: RouteSpec): string {
  const parts = [JSON.stringify(s.dst ?? "default")];
  if (s.gw) parts.push(`via ${s.gw}`);
  if (s.link !== undefined) parts.push(`dev ${typeof s.link === "object" ? s.link.index : s.link}`);
  if (s.table !== undefined) parts.push(`table ${s.table}`);
  return parts.join(" ");
}
