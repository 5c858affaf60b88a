/** Changing existing links: mtu, mac, master, name, alias, namespace, promiscuity, bridge port flags. */
import type { NetNS } from "../sys/netns.ts";
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { checkLinkName, linkBody, linkIndexOf, linkLabel, setFlags } from "./link.ts";
import { parseMAC } from "./mac.ts";
import {
  IFF_ALLMULTI,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_TXQLEN,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE,
  IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_AF_SPEC,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INET_CONF,
  IPV4_DEVCONF_ARP_NOTIFY,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_PROTINFO,
} from "./nl/link-consts.ts";
import { AF_BRIDGE, AF_INET, AF_UNSPEC } from "./nl/netlink-consts.ts";
import { RTM_SETLINK } from "./nl/rtnetlink-consts.ts";
import { type RtAttr, rtaBytes, rtaNested, rtaString, rtaU32, rtaU8 } from "./nl/rtattr.ts";

/** Sets the MTU. Equivalent to: `ip link set dev LINK mtu MTU`. */
export function linkSetMtu(h: NetlinkHandle, link: LinkRef, mtu: number): void {
  set(h, link, [rtaU32(IFLA_MTU, mtu)], `mtu ${mtu}`);
}

/** Sets the hardware address. Equivalent to: `ip link set dev LINK address MAC`. */
export function linkSetMac(h: NetlinkHandle, link: LinkRef, mac: string): void {
  set(h, link, [rtaBytes(IFLA_ADDRESS, parseMAC(mac))], `address ${mac}`);
}

/** Makes the link a port of a bridge (or another master). Equivalent to: `ip link set dev LINK master MASTER`. */
export function linkSetMaster(h: NetlinkHandle, link: LinkRef, master: LinkRef): void {
  set(h, link, [rtaU32(IFLA_MASTER, linkIndexOf(h, master))], `master ${linkLabel(master)}`);
}

/** Releases the link from its master. Equivalent to: `ip link set dev LINK nomaster`. */
export function linkSetNoMaster(h: NetlinkHandle, link: LinkRef): void {
  set(h, link, [rtaU32(IFLA_MASTER, 0)], "nomaster");
}

/** Renames the link (it must be down). Equivalent to: `ip link set dev LINK name NAME`. */
export function linkSetName(h: NetlinkHandle, link: LinkRef, name: string): void {
  checkLinkName(name);
  set(h, link, [rtaString(IFLA_IFNAME, name)], `name ${JSON.stringify(name)}`);
}

/**
 * Sets the alias ("" clears it), and with `up` sets the link up in the same request.
 * Equivalent to: `ip link set dev LINK alias ALIAS [up]`.
 */
export function linkSetAlias(h: NetlinkHandle, link: LinkRef, alias: string, opts: { up?: boolean } = {}): void {
  // An empty IFLA_IFALIAS (no NUL) is how the kernel is told to drop the alias.
  const attr = alias === "" ? rtaBytes(IFLA_IFALIAS, new Uint8Array(0)) : rtaString(IFLA_IFALIAS, alias);
  if (opts.up) set(h, link, [attr], `alias ${JSON.stringify(alias)} up`, IFF_UP, IFF_UP);
  else set(h, link, [attr], `alias ${JSON.stringify(alias)}`);
}

/**
 * Moves the link into another namespace; it keeps its name there and loses its
 * addresses and routes. Equivalent to: `ip link set dev LINK netns NS`.
 */
export function linkSetNs(h: NetlinkHandle, link: LinkRef, ns: NetNS): void {
  set(h, link, [rtaU32(IFLA_NET_NS_FD, ns.fd)], `netns ${JSON.stringify(ns.path)}`);
}

/** Turns promiscuous mode on or off. Equivalent to: `ip link set dev LINK promisc on|off`. */
export function linkSetPromisc(h: NetlinkHandle, link: LinkRef, on: boolean): void {
  setFlags(h, link, on ? IFF_PROMISC : 0, IFF_PROMISC, `promisc ${on ? "on" : "off"}`);
}

/** Turns all-multicast mode on or off. Equivalent to: `ip link set dev LINK allmulticast on|off`. */
export function linkSetAllmulti(h: NetlinkHandle, link: LinkRef, on: boolean): void {
  setFlags(h, link, on ? IFF_ALLMULTI : 0, IFF_ALLMULTI, `allmulticast ${on ? "on" : "off"}`);
}

/** Sets the transmit queue length. Equivalent to: `ip link set dev LINK txqueuelen N`. */
export function linkSetTxQLen(h: NetlinkHandle, link: LinkRef, qlen: number): void {
  set(h, link, [rtaU32(IFLA_TXQLEN, qlen)], `txqueuelen ${qlen}`);
}

/** IPv4 settings of a link (net.ipv4.conf.<link>.*) that can be set by netlink; only the given ones change. */
export interface InetConf {
  arpNotify?: 0 | 1;
}

/**
 * Sets IPv4 settings of the link through IFLA_AF_SPEC rather than /proc/sys, whose
 * every open walks a dentry per network namespace on the machine (about 1 ms with a
 * thousand of them). The kernel keeps the value as a sysctl write would, marked as set
 * on the link. Equivalent to: `sysctl -w net.ipv4.conf.LINK.arp_notify=1` (in the link's namespace).
 */
export function linkSetInetConf(h: NetlinkHandle, link: LinkRef, conf: InetConf): void {
  const attrs: RtAttr[] = [];
  if (conf.arpNotify !== undefined) attrs.push(rtaU32(IPV4_DEVCONF_ARP_NOTIFY, conf.arpNotify));
  if (attrs.length === 0) return;
  set(h, link, [rtaNested(IFLA_AF_SPEC, [rtaNested(AF_INET, [rtaNested(IFLA_INET_CONF, attrs)])])], `ipv4 conf ${JSON.stringify(conf)}`);
}

/** Bridge port flags (IFLA_BRPORT_*); only the given ones change. */
export interface BridgePortOptions {
  /** Reflect frames back out of the port they came in on. */
  hairpin?: boolean;
  learning?: boolean;
  unicastFlood?: boolean;
  isolated?: boolean;
}

/**
 * Sets bridge port flags of a link enslaved to a bridge. Equivalent to:
 * `bridge link set dev LINK hairpin on|off learning on|off flood on|off isolated on|off`.
 */
export function linkSetBridgePort(h: NetlinkHandle, link: LinkRef, opts: BridgePortOptions): void {
  const attrs: RtAttr[] = [];
  const flag = (type: number, v: boolean | undefined) => v !== undefined && attrs.push(rtaU8(type, v ? 1 : 0));
  flag(IFLA_BRPORT_MODE, opts.hairpin);
  flag(IFLA_BRPORT_LEARNING, opts.learning);
  flag(IFLA_BRPORT_UNICAST_FLOOD, opts.unicastFlood);
  flag(IFLA_BRPORT_ISOLATED, opts.isolated);
  if (attrs.length === 0) return;
  const index = linkIndexOf(h, link);
  // Port settings go to the bridge's handler: family AF_BRIDGE, nested IFLA_PROTINFO.
  const body = linkBody({ family: AF_BRIDGE, index }, [rtaNested(IFLA_PROTINFO, attrs, true)]);
  h.request(RTM_SETLINK, 0, body, `set bridge port ${linkLabel(link)} ${JSON.stringify(opts)}`);
}

/** Turns hairpin mode of a bridge port on or off. Equivalent to: `bridge link set dev LINK hairpin on|off`. */
export function linkSetHairpin(h: NetlinkHandle, link: LinkRef, on: boolean): void {
  linkSetBridgePort(h, link, { hairpin: on });
}

/** One RTM_SETLINK with `attrs`, and the `change` bits of the link's flags set to `flags`. */
function set(h: NetlinkHandle, link: LinkRef, attrs: RtAttr[], what: string, flags = 0, change = 0): void {
  const index = linkIndexOf(h, link);
  h.request(RTM_SETLINK, 0, linkBody({ family: AF_UNSPEC, index, flags, change }, attrs), `set ${linkLabel(link)} ${what}`);
}
