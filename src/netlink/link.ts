/** Link lookups and up/down. Every function acts in the namespace of its handle. */
import type { NetlinkHandle } from "./handle.ts";
import { decodeLink } from "./_link-decode.ts";
export { ipv4Conf, ipv6AcceptRa, ipv6Conf } from "./_link-decode.ts";
export { DEVCONF_DISABLE_IPV6, IFF_UP, IPV4_DEVCONF_ARP_NOTIFY, IPV4_DEVCONF_ROUTE_LOCALNET } from "./nl/link-consts.ts";
import type { Link, LinkRef } from "./link-types.ts";
import { NetlinkError } from "./error.ts";
import { IFF_ALLMULTI, IFF_PROMISC, IFF_UP, IFLA_EXT_MASK, IFLA_IFNAME, IFNAMSIZ } from "./nl/link-consts.ts";
import { AF_UNSPEC } from "./nl/netlink-consts.ts";
import { RTEXT_FILTER_SKIP_STATS, RTEXT_FILTER_VF, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK } from "./nl/rtnetlink-consts.ts";
import { encodeIfInfomsg, type IfInfomsg } from "./nl/ifinfomsg.ts";
import { type RtAttr, encodeAttrs, rtaString, rtaU32 } from "./nl/rtattr.ts";
import { concat } from "./nl/_bytes.ts";

// Statistics are a large part of each RTM_NEWLINK and nothing here reads them.
const EXT_MASK = rtaU32(IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);

/** An ifinfomsg followed by attributes: the body of every RTM_*LINK request. */
export function linkBody(ifi: Partial<IfInfomsg>, attrs: RtAttr[] = []): Uint8Array {
  return concat([encodeIfInfomsg(ifi), encodeAttrs(attrs)]);
}

/** Throws RangeError unless `name` can be an interface name (1..15 bytes, no "/", ":" or white space). */
export function checkLinkName(name: string): void {
  const len = new TextEncoder().encode(name).length;
  if (len === 0 || len >= IFNAMSIZ || name === "." || name === ".." || /[\/:\s]/.test(name)) {
    throw new RangeError(`Invalid interface name ${JSON.stringify(name)}: needs 1-15 bytes without "/", ":" or white space`);
  }
}

/** "link \"eth0\"" or "link 3", for error messages. */
export function linkLabel(ref: LinkRef): string {
  if (typeof ref === "string") return `link ${JSON.stringify(ref)}`;
  if (typeof ref === "number") return `link ${ref}`;
  return "name" in ref && typeof ref.name === "string" ? `link ${JSON.stringify(ref.name)}` : `link ${ref.index}`;
}

/** The ifindex of a link reference; a name is looked up (NetlinkError ENODEV when absent). */
export function linkIndexOf(h: NetlinkHandle, ref: LinkRef): number {
  if (typeof ref === "number") return ref;
  if (typeof ref === "string") return linkByName(h, ref).index;
  return ref.index;
}

/** Looks a link up by name; NetlinkError with code ENODEV when there is none. Equivalent to: `ip link show dev NAME`. */
export function linkByName(h: NetlinkHandle, name: string): Link {
  checkLinkName(name);
  return getOne(h, linkBody({ family: AF_UNSPEC }, [rtaString(IFLA_IFNAME, name), EXT_MASK]), `find link ${JSON.stringify(name)}`);
}

/** Looks a link up by ifindex; NetlinkError ENODEV when there is none. Equivalent to: `ip link show` filtered by index. */
export function linkByIndex(h: NetlinkHandle, index: number): Link {
  return getOne(h, linkBody({ family: AF_UNSPEC, index }, [EXT_MASK]), `find link ${index}`);
}

/** Looks a link up by any reference, or returns undefined when it does not exist. */
export function linkFind(h: NetlinkHandle, ref: LinkRef): Link | undefined {
  try {
    return typeof ref === "string" ? linkByName(h, ref) : linkByIndex(h, linkIndexOf(h, ref));
  } catch (e) {
    if (e instanceof NetlinkError && e.code === "ENODEV") return undefined;
    throw e;
  }
}

/** Every link of the namespace. Equivalent to: `ip link show`. */
export function linkList(h: NetlinkHandle): Link[] {
  return h
    .dump(RTM_GETLINK, linkBody({ family: AF_UNSPEC }, [EXT_MASK]), "list links")
    .filter((m) => m.header.type === RTM_NEWLINK)
    .map((m) => decodeLink(m.payload));
}

/** Sets IFF_UP. Equivalent to: `ip link set dev NAME up`. */
export function linkSetUp(h: NetlinkHandle, link: LinkRef): void {
  setFlags(h, link, IFF_UP, IFF_UP, "up");
}

/** Clears IFF_UP. Equivalent to: `ip link set dev NAME down`. */
export function linkSetDown(h: NetlinkHandle, link: LinkRef): void {
  setFlags(h, link, 0, IFF_UP, "down");
}

/** True when the link is administratively up (IFF_UP). */
export function isUp(link: Link): boolean {
  return (link.flags & IFF_UP) !== 0;
}

/** Changes the `change` bits of ifi_flags to those of `flags`. */
export function setFlags(h: NetlinkHandle, link: LinkRef, flags: number, change: number, what: string): void {
  const index = linkIndexOf(h, link);
  h.request(RTM_SETLINK, 0, linkBody({ family: AF_UNSPEC, index, flags, change }), `set ${linkLabel(link)} ${what}`);
}

function getOne(h: NetlinkHandle, body: Uint8Array, what: string): Link {
  for (const m of h.request(RTM_GETLINK, 0, body, what)) if (m.header.type === RTM_NEWLINK) return decodeLink(m.payload);
  throw new NetlinkError(what, 19, "no RTM_NEWLINK in the reply");
}

/** True when the link is in promiscuous mode (IFF_PROMISC, `ip link set promisc on`). */
export function isPromisc(link: Link): boolean {
  return (link.flags & IFF_PROMISC) !== 0;
}

/** True when the link receives all multicast (IFF_ALLMULTI, `ip link set allmulticast on`). */
export function isAllmulti(link: Link): boolean {
  return (link.flags & IFF_ALLMULTI) !== 0;
}
