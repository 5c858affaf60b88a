/** Creating and deleting links: veth, bridge, macvlan, ipvlan, vlan, vrf, vxlan, ipip, dummy, ifb. */
import type { NetNS } from "../sys/netns.ts";
import type { NetlinkHandle } from "./handle.ts";
import type { IpvlanFlag, IpvlanMode, LinkRef, MacvlanMode } from "./link-types.ts";
import { IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES } from "./_link-decode.ts";
import { isNotFound } from "./error.ts";
import { checkLinkName, linkBody, linkFind, linkIndexOf, linkLabel } from "./link.ts";
import { parseMAC } from "./mac.ts";
import { parseAddr } from "../spec/ip.ts";
import { concat } from "./nl/_bytes.ts";
import { encodeIfInfomsg } from "./nl/ifinfomsg.ts";
import {
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BR_VLAN_FILTERING,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_IPTUN_LINK,
  IFLA_IPTUN_LOCAL,
  IFLA_IPTUN_REMOTE,
  IFLA_IPTUN_TTL,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MACVLAN_BC_QUEUE_LEN,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_TXQLEN,
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_L2MISS,
  IFLA_VXLAN_L3MISS,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  VETH_INFO_PEER,
  IFLA_IPVLAN_FLAGS,
  IFLA_IPVLAN_MODE,
  IFLA_VLAN_ID,
  IFLA_VLAN_PROTOCOL,
  IFLA_VRF_TABLE,
} from "./nl/link-consts.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import { RTM_DELLINK, RTM_NEWLINK } from "./nl/rtnetlink-consts.ts";
import { type RtAttr, encodeAttrs, rtaBe16, rtaBytes, rtaFlag, rtaNested, rtaString, rtaU16, rtaU32, rtaU8 } from "./nl/rtattr.ts";

/** What any new link may set (no alias: the kernel ignores IFLA_IFALIAS on creation; use linkSetAlias). */
export interface LinkSpecBase {
  name: string;
  mtu?: number;
  /** "02:42:ac:11:00:02"; the kernel picks a random one by default. */
  mac?: string;
  txqlen?: number;
  /** Port of this bridge from the start. */
  master?: LinkRef;
  /** Created administratively up. */
  up?: boolean;
  /** Created directly in this namespace (IFLA_NET_NS_FD) instead of the handle's. */
  ns?: NetNS;
}

/** The far end of a veth pair. */
export interface VethPeerSpec {
  name: string;
  mtu?: number;
  mac?: string;
  txqlen?: number;
  /** Created directly in this namespace; by default in the handle's, whatever `ns` the first end has. */
  ns?: NetNS;
}

/** A veth pair. */
export interface VethSpec extends LinkSpecBase {
  kind: "veth";
  peer: VethPeerSpec;
}

/** A Linux bridge. */
export interface BridgeSpec extends LinkSpecBase {
  kind: "bridge";
  /** Sent only when given: kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse the attribute even as false. */
  vlanFiltering?: boolean;
}

/** A macvlan on a lower device of the handle's namespace. */
export interface MacvlanSpec extends LinkSpecBase {
  kind: "macvlan";
  parent: LinkRef;
  /** The kernel default is "vepa" (as with iproute2); the macvlan plugin passes its own default. */
  mode?: MacvlanMode;
  /** IFLA_MACVLAN_BC_QUEUE_LEN; sent only when given (kernels before 5.11 do not know it). */
  bcQueueLen?: number;
}

/** A VXLAN device. */
export interface VxlanSpec extends LinkSpecBase {
  kind: "vxlan";
  vni: number;
  /** The device the tunnel sends on (IFLA_VXLAN_LINK). */
  vtepDev?: LinkRef;
  /** Source address of the tunnel. */
  local?: string;
  /** Multicast group or unicast remote. */
  group?: string;
  /** UDP destination port; the kernel default is 8472 (Linux) rather than IANA's 4789. */
  port?: number;
  /** Learn remote MACs from traffic; the kernel default is on. */
  learning?: boolean;
  /** Group Based Policy extension. */
  gbp?: boolean;
  ttl?: number;
  tos?: number;
  /** FDB ageing in seconds. */
  ageing?: number;
  l2miss?: boolean;
  l3miss?: boolean;
}

/** An IPv4-in-IPv4 tunnel (needs the ipip module). */
export interface IpipSpec extends LinkSpecBase {
  kind: "ipip";
  /** Source address; the remote stays any (0.0.0.0) when not given, so routes choose it. */
  local?: string;
  remote?: string;
  /** The device the tunnel is bound to. */
  link?: LinkRef;
  ttl?: number;
}

/** A WireGuard device (needs the wireguard module); keys and peers are set through wireguard.ts. */
export interface WireguardSpec extends LinkSpecBase {
  kind: "wireguard";
}

/** A dummy link (needs CONFIG_DUMMY in the kernel). */
export interface DummySpec extends LinkSpecBase {
  kind: "dummy";
}

/** An intermediate functional block device, the target of redirected traffic (tc mirred). */
export interface IfbSpec extends LinkSpecBase {
  kind: "ifb";
}

/** An ipvlan on a lower device of the handle's namespace. */
export interface IpvlanSpec extends LinkSpecBase {
  kind: "ipvlan";
  parent: LinkRef;
  /** The kernel default is "l3"; the ipvlan plugin passes "l2" by default, as the reference. */
  mode?: IpvlanMode;
  /** Sent only when given; "bridge" (no flag) is the kernel's default. */
  flag?: IpvlanFlag;
}

/** An 802.1Q VLAN on a lower device of the handle's namespace. */
export interface VlanSpec extends LinkSpecBase {
  kind: "vlan";
  parent: LinkRef;
  /** 0..4094. */
  vlanId: number;
  /** 0x8100 (802.1Q, the kernel default) or 0x88a8 (802.1ad); sent only when given. */
  protocol?: number;
}

/** A VRF device over routing table `table`. */
export interface VrfSpec extends LinkSpecBase {
  kind: "vrf";
  table: number;
}

/** A link to create. */
export type LinkSpec = VethSpec | BridgeSpec | MacvlanSpec | VxlanSpec | IpipSpec | WireguardSpec | DummySpec | IfbSpec | IpvlanSpec | VlanSpec | VrfSpec;

/**
 * Creates a link; NetlinkError EEXIST when the name is taken. Equivalent to:
 * `ip link add NAME [mtu M] [address MAC] [netns NS] type KIND ...`, e.g.
 * `ip link add veth0 type veth peer name eth0 netns NS`.
 */
export function linkAdd(h: NetlinkHandle, spec: LinkSpec): void {
  h.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkAddBody(h, spec), `add ${spec.kind} link ${JSON.stringify(spec.name)}`);
}

/** The RTM_NEWLINK body linkAdd sends (names of links resolved through `h`; numeric refs need none). */
export function linkAddBody(h: NetlinkHandle, spec: LinkSpec): Uint8Array {
  const attrs = [...commonAttrs(h, spec), rtaNested(IFLA_LINKINFO, linkInfo(h, spec))];
  if (spec.kind === "macvlan" || spec.kind === "ipvlan" || spec.kind === "vlan") attrs.push(rtaU32(IFLA_LINK, linkIndexOf(h, spec.parent)));
  const ifi = spec.up ? { flags: IFF_UP, change: IFF_UP } : {};
  return linkBody(ifi, attrs);
}

/** Deletes a link (a veth takes its peer with it); NetlinkError ENODEV when absent. Equivalent to: `ip link del NAME`. */
export function linkDel(h: NetlinkHandle, link: LinkRef): void {
  const index = linkIndexOf(h, link);
  h.request(RTM_DELLINK, 0, linkBody({ index }), `delete ${linkLabel(link)}`);
}

/** How long linkDelUnwaited looks for the link to go before it deletes the link itself. */
const UNWAITED_DEL_MS = 50;

/**
 * Deletes a link as linkDelIfExists does, but returns once the kernel has taken it out
 * rather than once it has freed it. The kernel answers an RTM_DELLINK only after
 * netdev_run_todo's rcu_barrier(), a whole RCU grace period (10-30 ms at HZ=250) after
 * the device and its peer were unlisted, their addresses, routes and bridge ports
 * removed and RTM_DELLINK sent to listeners (all within about 1 ms). A thread of its own
 * sends the request and waits for that answer; this waits until the link is gone, then
 * asks for the deletion once more, which serves as the fence (the kernel answers it,
 * ENODEV, under the RTNL lock the first deletion did all its visible work under) and
 * deletes the link itself when the thread did not (no threads here, or its request
 * failed: the real error is then thrown). A process that exits meanwhile still waits
 * for the thread; a daemon answers its caller sooner.
 */
export function linkDelUnwaited(h: NetlinkHandle, index: number): boolean {
  if (h.requestDetached(RTM_DELLINK, 0, linkBody({ index }))) {
    const until = performance.now() + UNWAITED_DEL_MS;
    do Bun.sleepSync(1);
    while (performance.now() < until && linkFind(h, index));
  }
  return linkDelIfExists(h, index);
}

/**
 * Deletes a link that may be gone already: one that vanished since it was looked up
 * (another DEL of the same attachment, or its peer's deletion took it) is what a DEL
 * wants, not an error. Returns false when it was not there.
 */
export function linkDelIfExists(h: NetlinkHandle, link: LinkRef): boolean {
  try {
    linkDel(h, link);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

function commonAttrs(h: NetlinkHandle, s: LinkSpecBase): RtAttr[] {
  checkLinkName(s.name);
  const attrs: RtAttr[] = [rtaString(IFLA_IFNAME, s.name)];
  if (s.mtu !== undefined) attrs.push(rtaU32(IFLA_MTU, s.mtu));
  if (s.mac !== undefined) attrs.push(rtaBytes(IFLA_ADDRESS, parseMAC(s.mac)));
  if (s.txqlen !== undefined) attrs.push(rtaU32(IFLA_TXQLEN, s.txqlen));
  if (s.master !== undefined) attrs.push(rtaU32(IFLA_MASTER, linkIndexOf(h, s.master)));
  if (s.ns !== undefined) attrs.push(rtaU32(IFLA_NET_NS_FD, s.ns.fd));
  return attrs;
}

function linkInfo(h: NetlinkHandle, spec: LinkSpec): RtAttr[] {
  const kind = rtaString(IFLA_INFO_KIND, spec.kind);
  const data = (attrs: RtAttr[]) => (attrs.length ? [kind, rtaNested(IFLA_INFO_DATA, attrs)] : [kind]);
  switch (spec.kind) {
    case "dummy":
    case "ifb":
    case "wireguard":
      return [kind];
    case "veth": {
      // VETH_INFO_PEER holds a whole ifinfomsg + attributes, as if a second RTM_NEWLINK.
      const p = spec.peer;
      const peerAttrs = commonAttrs(h, p);
      return data([rtaBytes(VETH_INFO_PEER, concat([encodeIfInfomsg({}), encodeAttrs(peerAttrs)]))]);
    }
    case "bridge":
      return data(spec.vlanFiltering === undefined ? [] : [rtaU8(IFLA_BR_VLAN_FILTERING, spec.vlanFiltering ? 1 : 0)]);
    case "macvlan": {
      const attrs = spec.mode === undefined ? [] : [rtaU32(IFLA_MACVLAN_MODE, MACVLAN_MODES[spec.mode])];
      if (spec.bcQueueLen !== undefined) attrs.push(rtaU32(IFLA_MACVLAN_BC_QUEUE_LEN, spec.bcQueueLen));
      return data(attrs);
    }
    case "vxlan":
      return data(vxlanData(h, spec));
    case "ipip": {
      const attrs: RtAttr[] = [];
      if (spec.link !== undefined) attrs.push(rtaU32(IFLA_IPTUN_LINK, linkIndexOf(h, spec.link)));
      if (spec.local !== undefined) attrs.push(rtaBytes(IFLA_IPTUN_LOCAL, parseAddr(spec.local, "ipip local address")));
      if (spec.remote !== undefined) attrs.push(rtaBytes(IFLA_IPTUN_REMOTE, parseAddr(spec.remote, "ipip remote address")));
      if (spec.ttl !== undefined) attrs.push(rtaU8(IFLA_IPTUN_TTL, spec.ttl));
      return data(attrs);
    }
    case "ipvlan": {
      const attrs = spec.mode === undefined ? [] : [rtaU16(IFLA_IPVLAN_MODE, IPVLAN_MODES[spec.mode])];
      if (spec.flag !== undefined) attrs.push(rtaU16(IFLA_IPVLAN_FLAGS, IPVLAN_FLAGS[spec.flag]));
      return data(attrs);
    }
    case "vlan": {
      if (!Number.isInteger(spec.vlanId) || spec.vlanId < 0 || spec.vlanId > 4094) throw new RangeError(`Invalid VLAN id ${spec.vlanId}: must be 0-4094`);
      const attrs = [rtaU16(IFLA_VLAN_ID, spec.vlanId)];
      if (spec.protocol !== undefined) attrs.push(rtaBe16(IFLA_VLAN_PROTOCOL, spec.protocol));
      return data(attrs);
    }
    case "vrf":
      return data([rtaU32(IFLA_VRF_TABLE, spec.table)]);
  }
}

function vxlanData(h: NetlinkHandle, s: VxlanSpec): RtAttr[] {
  const attrs: RtAttr[] = [rtaU32(IFLA_VXLAN_ID, s.vni)];
  if (s.vtepDev !== undefined) attrs.push(rtaU32(IFLA_VXLAN_LINK, linkIndexOf(h, s.vtepDev)));
  if (s.local !== undefined) {
    const ip = parseAddr(s.local, "vxlan local address");
    attrs.push(rtaBytes(ip.length === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, ip));
  }
  if (s.group !== undefined) {
    const ip = parseAddr(s.group, "vxlan group");
    attrs.push(rtaBytes(ip.length === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, ip));
  }
  if (s.port !== undefined) attrs.push(rtaBe16(IFLA_VXLAN_PORT, s.port));
  if (s.learning !== undefined) attrs.push(rtaU8(IFLA_VXLAN_LEARNING, s.learning ? 1 : 0));
  if (s.ttl !== undefined) attrs.push(rtaU8(IFLA_VXLAN_TTL, s.ttl));
  if (s.tos !== undefined) attrs.push(rtaU8(IFLA_VXLAN_TOS, s.tos));
  if (s.ageing !== undefined) attrs.push(rtaU32(IFLA_VXLAN_AGEING, s.ageing));
  if (s.l2miss !== undefined) attrs.push(rtaU8(IFLA_VXLAN_L2MISS, s.l2miss ? 1 : 0));
  if (s.l3miss !== undefined) attrs.push(rtaU8(IFLA_VXLAN_L3MISS, s.l3miss ? 1 : 0));
  if (s.gbp) attrs.push(rtaFlag(IFLA_VXLAN_GBP));
  return attrs;
}
