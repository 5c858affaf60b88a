/** RTM_NEWLINK payload -> Link. */
import { formatIP } from "../spec/ip.ts";
import { formatMAC } from "./mac.ts";
import {
  DEVCONF_ACCEPT_RA,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_INET6_CONF,
  IFLA_INET_CONF,
  IFLA_BR_STP_STATE,
  IFLA_BR_VLAN_FILTERING,
  IFLA_BR_VLAN_PROTOCOL,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PROMISCUITY,
  IFLA_TXQLEN,
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
  IFLA_IPVLAN_MODE,
  IFLA_IPVLAN_FLAGS,
  IPVLAN_MODE_L2,
  IPVLAN_MODE_L3,
  IPVLAN_MODE_L3S,
  IPVLAN_F_PRIVATE,
  IPVLAN_F_VEPA,
  IFLA_VLAN_ID,
  IFLA_VLAN_PROTOCOL,
  ETH_P_8021Q,
  IFLA_VRF_TABLE,
  IFLA_TUN_OWNER,
  IFLA_TUN_GROUP,
  IFLA_TUN_TYPE,
  IFLA_TUN_PI,
  IFLA_TUN_VNET_HDR,
  IFLA_TUN_PERSIST,
  IFLA_TUN_MULTI_QUEUE,
} from "./nl/link-consts.ts";
import { SIZEOF_IFINFOMSG, decodeIfInfomsg } from "./nl/ifinfomsg.ts";
import { AF_INET, AF_INET6 } from "./nl/netlink-consts.ts";
import { attrMap, decodeAttrs, readBe16, readS32, readString, readU16, readU32, readU8 } from "./nl/rtattr.ts";
import type { IpvlanFlag, IpvlanMode, Link, LinkAttrs, MacvlanMode, OperState } from "./link-types.ts";

const OPERSTATES: OperState[] = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

/** Macvlan mode numbers by name. */
export const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
  source: MACVLAN_MODE_SOURCE,
};

/** ipvlan mode and flag numbers by name ("bridge" is no flag). */
export const IPVLAN_MODES: Record<IpvlanMode, number> = { l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S };
export const IPVLAN_FLAGS: Record<IpvlanFlag, number> = { bridge: 0, private: IPVLAN_F_PRIVATE, vepa: IPVLAN_F_VEPA };

/**
 * The link's net.ipv6.conf.<name>.accept_ra, read from the GETLINK answer it came in
 * (IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_CONF: s32[DEVCONF_MAX] } }) instead of /proc/sys;
 * undefined without IPv6 on the link.
 */
export function ipv6AcceptRa(link: LinkAttrs): number | undefined {
  return ipv6Conf(link, DEVCONF_ACCEPT_RA);
}

/** One of the link's net.ipv6.conf.<name>.* values (`id`: a DEVCONF_* number), as ipv6AcceptRa reads its own. */
export function ipv6Conf(link: LinkAttrs, id: number): number | undefined {
  if (!link.afSpec) return undefined;
  const inet6 = attrMap(decodeAttrs(link.afSpec)).get(AF_INET6);
  const conf = inet6 && attrMap(decodeAttrs(inet6)).get(IFLA_INET6_CONF);
  if (!conf || id < 0 || conf.length < (id + 1) * 4) return undefined;
  return readS32(conf.subarray(id * 4));
}

/**
 * One of the link's net.ipv4.conf.<name>.* values (`id`: an IPV4_DEVCONF_* number), read
 * from the GETLINK answer it came in (IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF: u32[id - 1] } })
 * instead of /proc/sys; undefined without IPv4 on the link.
 */
export function ipv4Conf(link: LinkAttrs, id: number): number | undefined {
  if (!link.afSpec) return undefined;
  const inet = attrMap(decodeAttrs(link.afSpec)).get(AF_INET);
  const conf = inet && attrMap(decodeAttrs(inet)).get(IFLA_INET_CONF);
  if (!conf || id < 1 || conf.length < id * 4) return undefined;
  return readU32(conf.subarray((id - 1) * 4));
}

/** Decodes the payload of an RTM_NEWLINK message. */
export function decodeLink(payload: Uint8Array): Link {
  const ifi = decodeIfInfomsg(payload);
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_IFINFOMSG)));
  const u32 = (t: number) => (a.has(t) ? readU32(a.get(t)!) : undefined);
  const base: LinkAttrs = {
    index: ifi.index,
    name: a.has(IFLA_IFNAME) ? readString(a.get(IFLA_IFNAME)!) : "",
    flags: ifi.flags,
    mtu: u32(IFLA_MTU) ?? 0,
    mac: a.has(IFLA_ADDRESS) ? formatMAC(a.get(IFLA_ADDRESS)!) : "",
    operstate: OPERSTATES[a.has(IFLA_OPERSTATE) ? readU8(a.get(IFLA_OPERSTATE)!) : 0] ?? "unknown",
    txqlen: u32(IFLA_TXQLEN) ?? 0,
    encapType: ifi.type,
    promiscuity: u32(IFLA_PROMISCUITY) ?? 0,
  };
  const master = u32(IFLA_MASTER);
  if (master) base.master = master;
  if (a.has(IFLA_IFALIAS)) base.alias = readString(a.get(IFLA_IFALIAS)!);
  const parent = u32(IFLA_LINK);
  // The kernel leaves IFLA_LINK out when it would name the link itself; with
  // IFLA_LINK_NETNSID it is an index in another namespace and may equal ours.
  if (parent) base.parentIndex = parent;
  if (a.has(IFLA_LINK_NETNSID)) base.netnsid = readS32(a.get(IFLA_LINK_NETNSID)!);
  // Not decoded here: a dump of every link would pay for it.
  if (a.has(IFLA_AF_SPEC)) base.afSpec = a.get(IFLA_AF_SPEC)!;

  const info = a.has(IFLA_LINKINFO) ? attrMap(decodeAttrs(a.get(IFLA_LINKINFO)!)) : new Map<number, Uint8Array>();
  if (info.has(IFLA_INFO_SLAVE_KIND)) base.slaveKind = readString(info.get(IFLA_INFO_SLAVE_KIND)!);
  const kind = info.has(IFLA_INFO_KIND) ? readString(info.get(IFLA_INFO_KIND)!) : "";
  const data = info.has(IFLA_INFO_DATA) ? attrMap(decodeAttrs(info.get(IFLA_INFO_DATA)!)) : new Map<number, Uint8Array>();
  switch (kind) {
    case "":
      return { ...base, kind: "device" };
    case "dummy":
    case "veth":
      return { ...base, kind };
    case "bridge": {
      const link: Link = { ...base, kind: "bridge" };
      if (data.has(IFLA_BR_VLAN_FILTERING)) link.vlanFiltering = readU8(data.get(IFLA_BR_VLAN_FILTERING)!) !== 0;
      if (data.has(IFLA_BR_STP_STATE)) link.stp = readU32(data.get(IFLA_BR_STP_STATE)!) !== 0;
      if (data.has(IFLA_BR_VLAN_PROTOCOL)) link.vlanProtocol = readBe16(data.get(IFLA_BR_VLAN_PROTOCOL)!);
      return link;
    }
    case "macvlan": {
      const mode = data.has(IFLA_MACVLAN_MODE) ? readU32(data.get(IFLA_MACVLAN_MODE)!) : MACVLAN_MODE_VEPA;
      const name = (Object.keys(MACVLAN_MODES) as MacvlanMode[]).find((k) => MACVLAN_MODES[k] === mode) ?? "vepa";
      return { ...base, kind: "macvlan", mode: name };
    }
    case "vxlan":
      return decodeVxlan(base, data);
    case "ipvlan": {
      const mode = data.has(IFLA_IPVLAN_MODE) ? readU16(data.get(IFLA_IPVLAN_MODE)!) : IPVLAN_MODE_L3;
      const flags = data.has(IFLA_IPVLAN_FLAGS) ? readU16(data.get(IFLA_IPVLAN_FLAGS)!) : 0;
      const modeName = (Object.keys(IPVLAN_MODES) as IpvlanMode[]).find((k) => IPVLAN_MODES[k] === mode) ?? "l3";
      const flag: IpvlanFlag = flags & IPVLAN_F_PRIVATE ? "private" : flags & IPVLAN_F_VEPA ? "vepa" : "bridge";
      return { ...base, kind: "ipvlan", mode: modeName, flag };
    }
    case "vlan":
      return {
        ...base,
        kind: "vlan",
        vlanId: data.has(IFLA_VLAN_ID) ? readU16(data.get(IFLA_VLAN_ID)!) : 0,
        protocol: data.has(IFLA_VLAN_PROTOCOL) ? readBe16(data.get(IFLA_VLAN_PROTOCOL)!) : ETH_P_8021Q,
      };
    case "vrf":
      return { ...base, kind: "vrf", table: data.has(IFLA_VRF_TABLE) ? readU32(data.get(IFLA_VRF_TABLE)!) : 0 };
    case "tun":
      return decodeTun(base, data);
  }
  return { ...base, kind: "generic", infoKind: kind };
}

function decodeVxlan(base: LinkAttrs, d: Map<number, Uint8Array>): Link {
  const link: Link = {
    ...base,
    kind: "vxlan",
    vni: d.has(IFLA_VXLAN_ID) ? readU32(d.get(IFLA_VXLAN_ID)!) : 0,
    learning: d.has(IFLA_VXLAN_LEARNING) ? readU8(d.get(IFLA_VXLAN_LEARNING)!) !== 0 : false,
    gbp: d.has(IFLA_VXLAN_GBP),
  };
  const vtep = d.has(IFLA_VXLAN_LINK) ? readU32(d.get(IFLA_VXLAN_LINK)!) : 0;
  if (vtep) link.vtepIndex = vtep;
  const local = d.get(IFLA_VXLAN_LOCAL) ?? d.get(IFLA_VXLAN_LOCAL6);
  if (local && local.some((b) => b !== 0)) link.local = formatIP(local);
  const group = d.get(IFLA_VXLAN_GROUP) ?? d.get(IFLA_VXLAN_GROUP6);
  if (group && group.some((b) => b !== 0)) link.group = formatIP(group);
  if (d.has(IFLA_VXLAN_PORT)) link.port = readBe16(d.get(IFLA_VXLAN_PORT)!);
  if (d.has(IFLA_VXLAN_TTL)) link.ttl = readU8(d.get(IFLA_VXLAN_TTL)!);
  if (d.has(IFLA_VXLAN_TOS)) link.tos = readU8(d.get(IFLA_VXLAN_TOS)!);
  if (d.has(IFLA_VXLAN_AGEING)) link.ageing = readU32(d.get(IFLA_VXLAN_AGEING)!);
  return link;
}

function decodeTun(base: LinkAttrs, d: Map<number, Uint8Array>): Link {
  const flag = (t: number) => (d.has(t) ? readU8(d.get(t)!) !== 0 : false);
  // IFLA_TUN_TYPE holds IFF_TUN (1) or IFF_TAP (2).
  const link: Link = {
    ...base,
    kind: "tun",
    mode: d.has(IFLA_TUN_TYPE) && readU8(d.get(IFLA_TUN_TYPE)!) === 2 ? "tap" : "tun",
    multiQueue: flag(IFLA_TUN_MULTI_QUEUE),
    vnetHdr: flag(IFLA_TUN_VNET_HDR),
    persist: flag(IFLA_TUN_PERSIST),
    pi: flag(IFLA_TUN_PI),
  };
  if (d.has(IFLA_TUN_OWNER)) link.owner = readU32(d.get(IFLA_TUN_OWNER)!);
  if (d.has(IFLA_TUN_GROUP)) link.group = readU32(d.get(IFLA_TUN_GROUP)!);
  return link;
}
