/**
 * The node's external interface, as flanneld picks it: `--iface` (names or addresses,
 * first match), then `--iface-regex` (on names and addresses), else the interface of
 * the default route; its first global IPv4 (and IPv6) address is the public IP unless
 * `--public-ip` says otherwise.
 */
import type { NetlinkHandle } from "../netlink/handle.ts";
import { addrList } from "../netlink/addr.ts";
import { linkList } from "../netlink/link.ts";
import { routeList } from "../netlink/route.ts";
import type { Link } from "../netlink/link-types.ts";

/** The interface flanneld sends on. */
export interface ExtIface {
  name: string;
  index: number;
  mtu: number;
  /** The interface's own IPv4 address (the VXLAN source). */
  ifaceAddr?: string;
  ifaceAddr6?: string;
  /** What other nodes use to reach this one. */
  publicIP?: string;
  publicIPv6?: string;
  /** The interface's IPv4 prefixes ("10.250.0.11/24"), for DirectRouting. */
  prefixes: string[];
}

/** What selects the interface. */
export interface ExtIfaceOptions {
  iface: string[];
  ifaceRegex: string[];
  publicIP?: string;
  publicIPv6?: string;
}

const GLOBAL = 0;

function describe(h: NetlinkHandle, l: Link, o: ExtIfaceOptions): ExtIface {
  const addrs = addrList(h, { link: l.index }).filter((a) => a.scope === GLOBAL);
  const v4 = addrs.filter((a) => a.family === 4);
  const v6 = addrs.filter((a) => a.family === 6);
  return {
    name: l.name,
    index: l.index,
    mtu: l.mtu,
    ifaceAddr: v4[0]?.ip,
    ifaceAddr6: v6[0]?.ip,
    publicIP: o.publicIP || v4[0]?.ip,
    publicIPv6: o.publicIPv6 || v6[0]?.ip,
    prefixes: v4.map((a) => a.cidr),
  };
}

/** Finds the interface; throws with what was tried. */
export function findExtIface(h: NetlinkHandle, o: ExtIfaceOptions): ExtIface {
  const links = linkList(h);
  const addrs = addrList(h);
  const byAddr = (ip: string) => links.find((l) => addrs.some((a) => a.index === l.index && a.ip === ip));
  for (const want of o.iface) {
    const l = links.find((x) => x.name === want) ?? byAddr(want);
    if (l) return describe(h, l, o);
  }
  if (o.iface.length) throw new Error(`failed to find interface to use that matches the interfaces: [${o.iface.join(" ")}]`);
  for (const re of o.ifaceRegex) {
    const rx = new RegExp(re);
    const l = links.find((x) => rx.test(x.name) || addrs.some((a) => a.index === x.index && rx.test(a.ip)));
    if (l) return describe(h, l, o);
  }
  if (o.ifaceRegex.length) throw new Error(`failed to find interface to use that matches the interface regexes: [${o.ifaceRegex.join(" ")}]`);
  const dflt = routeList(h, { family: 4 }).find((r) => r.dst === undefined && r.linkIndex !== undefined);
  const l = dflt && links.find((x) => x.index === dflt.linkIndex);
  if (!l) throw new Error("failed to get default interface: no default route (use --iface)");
  return describe(h, l, o);
}
