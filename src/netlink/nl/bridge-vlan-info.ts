/** struct bridge_vlan_info and the IFLA_AF_SPEC members of AF_BRIDGE link messages (linux/if_bridge.h). */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

// IFLA_AF_SPEC members for family AF_BRIDGE.
export const IFLA_BRIDGE_FLAGS = 0;
export const IFLA_BRIDGE_VLAN_INFO = 2;

// IFLA_BRIDGE_FLAGS values: whom a request is for.
export const BRIDGE_FLAGS_MASTER = 1;
export const BRIDGE_FLAGS_SELF = 2;

// bridge_vlan_info.flags.
export const BRIDGE_VLAN_INFO_PVID = 0x2;
export const BRIDGE_VLAN_INFO_UNTAGGED = 0x4;

/** sizeof(struct bridge_vlan_info). */
const SIZEOF_BRIDGE_VLAN_INFO = 4;

/** struct bridge_vlan_info: BRIDGE_VLAN_INFO_* flags and a VLAN id (1..4094). */
export interface BridgeVlanInfo {
  flags: number;
  vid: number;
}

/** Encodes a bridge_vlan_info. */
export function encodeBridgeVlanInfo(info: BridgeVlanInfo): Uint8Array {
  checkUint(info.flags, 0xffff, "bridge_vlan_info flags");
  checkUint(info.vid, 0xfff, "bridge_vlan_info vid");
  const out = new Uint8Array(SIZEOF_BRIDGE_VLAN_INFO);
  const v = view(out);
  v.setUint16(0, info.flags, NATIVE_LE);
  v.setUint16(2, info.vid, NATIVE_LE);
  return out;
}

/** Decodes the bridge_vlan_info at `offset`. */
export function decodeBridgeVlanInfo(buf: Uint8Array, offset = 0): BridgeVlanInfo {
  need(buf, offset, SIZEOF_BRIDGE_VLAN_INFO, "bridge_vlan_info");
  const v = view(buf);
  return { flags: v.getUint16(offset, NATIVE_LE), vid: v.getUint16(offset + 2, NATIVE_LE) };
}
