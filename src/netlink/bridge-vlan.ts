/** VLANs of bridge ports (bridge VLAN filtering): add, delete, list. Equivalent to `bridge vlan ...`. */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkBody, linkIndexOf, linkLabel } from "./link.ts";
import {
  BRIDGE_FLAGS_MASTER,
  BRIDGE_FLAGS_SELF,
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA_BRIDGE_FLAGS,
  IFLA_BRIDGE_VLAN_INFO,
  decodeBridgeVlanInfo,
  encodeBridgeVlanInfo,
} from "./nl/bridge-vlan-info.ts";
import { decodeIfInfomsg, SIZEOF_IFINFOMSG } from "./nl/ifinfomsg.ts";
import { IFLA_AF_SPEC, IFLA_EXT_MASK } from "./nl/link-consts.ts";
import { AF_BRIDGE } from "./nl/netlink-consts.ts";
import { RTEXT_FILTER_BRVLAN, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK } from "./nl/rtnetlink-consts.ts";
import { decodeAttrs, rtaBytes, rtaNested, rtaU16, rtaU32 } from "./nl/rtattr.ts";

/** One VLAN of a port: its id, whether untagged frames get it (pvid) and whether it leaves untagged. */
export interface BridgeVlan {
  vid: number;
  pvid?: boolean;
  untagged?: boolean;
}

/** Who a change is for: the bridge the port belongs to (master, the default) and/or the device itself (self). */
export interface BridgeVlanTarget {
  master?: boolean;
  self?: boolean;
}

/** The body of an add or delete: an AF_BRIDGE ifinfomsg with IFLA_AF_SPEC { IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO }, as iproute2 sends it. */
export function bridgeVlanBody(index: number, vlan: BridgeVlan, target: BridgeVlanTarget = { master: true }): Uint8Array {
  const flags = (target.master ? BRIDGE_FLAGS_MASTER : 0) | (target.self ? BRIDGE_FLAGS_SELF : 0);
  const infoFlags = (vlan.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (vlan.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
  const spec = [
    ...(flags ? [rtaU16(IFLA_BRIDGE_FLAGS, flags)] : []),
    rtaBytes(IFLA_BRIDGE_VLAN_INFO, encodeBridgeVlanInfo({ flags: infoFlags, vid: vlan.vid })),
  ];
  return linkBody({ family: AF_BRIDGE, index }, [rtaNested(IFLA_AF_SPEC, spec)]);
}

/** Adds a VLAN to a bridge port. Equivalent to: `bridge vlan add dev LINK vid VID [pvid] [untagged] [master] [self]`. */
export function bridgeVlanAdd(h: NetlinkHandle, link: LinkRef, vlan: BridgeVlan, target?: BridgeVlanTarget): void {
  const what = `add vlan ${vlan.vid}${vlan.pvid ? " pvid" : ""}${vlan.untagged ? " untagged" : ""} to ${linkLabel(link)}`;
  h.request(RTM_SETLINK, 0, bridgeVlanBody(linkIndexOf(h, link), vlan, target), what);
}

/** Removes a VLAN from a bridge port. Equivalent to: `bridge vlan del dev LINK vid VID [master] [self]`. */
export function bridgeVlanDel(h: NetlinkHandle, link: LinkRef, vid: number, target?: BridgeVlanTarget): void {
  h.request(RTM_DELLINK, 0, bridgeVlanBody(linkIndexOf(h, link), { vid }, target), `delete vlan ${vid} from ${linkLabel(link)}`);
}

/** The VLANs of every bridge port (and bridge) by ifindex. Equivalent to: `bridge vlan show`. */
export function bridgeVlanList(h: NetlinkHandle): Map<number, BridgeVlan[]> {
  const body = linkBody({ family: AF_BRIDGE }, [rtaU32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN)]);
  const out = new Map<number, BridgeVlan[]>();
  for (const m of h.dump(RTM_GETLINK, body, "list bridge vlans")) {
    if (m.header.type !== RTM_NEWLINK) continue;
    const vlans = decodeVlans(m.payload);
    if (vlans.length) out.set(decodeIfInfomsg(m.payload).index, vlans);
  }
  return out;
}

/** The IFLA_BRIDGE_VLAN_INFO entries of one AF_BRIDGE RTM_NEWLINK payload. */
export function decodeVlans(payload: Uint8Array): BridgeVlan[] {
  const spec = decodeAttrs(payload.subarray(SIZEOF_IFINFOMSG)).find((a) => a.type === IFLA_AF_SPEC);
  if (!spec) return [];
  return decodeAttrs(spec.data)
    .filter((a) => a.type === IFLA_BRIDGE_VLAN_INFO)
    .map((a) => {
      const info = decodeBridgeVlanInfo(a.data);
      return { vid: info.vid, pvid: (info.flags & BRIDGE_VLAN_INFO_PVID) !== 0, untagged: (info.flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0 };
    });
}
