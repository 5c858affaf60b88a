/**
 * WireGuard devices configured through the kernel's "wireguard" generic netlink family
 * (linux/wireguard.h), as `wg set` does: private key, listen port, and peers with their
 * public key, preshared key, endpoint, keepalive and allowed IPs. The handle must be
 * opened with protocol NETLINK_GENERIC in the device's namespace.
 */
import type { NetlinkHandle } from "./handle.ts";
import { parseAddr } from "../spec/ip.ts";
import { concat } from "./nl/_bytes.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readU16, rtaBytes, rtaNested, rtaString, rtaU16, rtaU32, rtaU8 } from "./nl/rtattr.ts";

/** The generic netlink protocol number (socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)). */
export const NETLINK_GENERIC = 16;
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const WG_CMD_SET_DEVICE = 1;
const WG_GENL_VERSION = 1;
const WGDEVICE_A_IFINDEX = 1;
const WGDEVICE_A_PRIVATE_KEY = 3;
const WGDEVICE_A_FLAGS = 5;
const WGDEVICE_A_LISTEN_PORT = 6;
const WGDEVICE_A_PEERS = 8;
const WGDEVICE_F_REPLACE_PEERS = 1;
const WGPEER_A_PUBLIC_KEY = 1;
const WGPEER_A_PRESHARED_KEY = 2;
const WGPEER_A_FLAGS = 3;
const WGPEER_A_ENDPOINT = 4;
const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
const WGPEER_A_ALLOWEDIPS = 9;
const WGPEER_F_REMOVE_ME = 1;
const WGPEER_F_REPLACE_ALLOWEDIPS = 2;
const WGALLOWEDIP_A_FAMILY = 1;
const WGALLOWEDIP_A_IPADDR = 2;
const WGALLOWEDIP_A_CIDR_MASK = 3;
const AF_INET = 2;
const AF_INET6 = 10;

/** struct genlmsghdr. */
function genlHeader(cmd: number, version: number): Uint8Array {
  return new Uint8Array([cmd, version, 0, 0]);
}

const families = new WeakMap<NetlinkHandle, number>();

/** The id of the "wireguard" family (the module must be loaded). Equivalent to: `genl ctrl get name wireguard`. */
export function wireguardFamily(h: NetlinkHandle): number {
  const known = families.get(h);
  if (known !== undefined) return known;
  const body = concat([genlHeader(CTRL_CMD_GETFAMILY, 1), encodeAttrs([rtaString(CTRL_ATTR_FAMILY_NAME, "wireguard")])]);
  const [reply] = h.request(GENL_ID_CTRL, 0, body, 'resolve the generic netlink family "wireguard"');
  const id = reply && attrMap(decodeAttrs(reply.payload.subarray(4))).get(CTRL_ATTR_FAMILY_ID);
  if (!id) throw new Error('Cannot resolve the generic netlink family "wireguard": no id in the answer');
  families.set(h, readU16(id));
  return readU16(id);
}

/** A peer to set. */
export interface WgPeer {
  /** 32 bytes. */
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  /** "10.0.0.1:51820" or "[fd00::1]:51820". */
  endpoint?: string;
  keepaliveSeconds?: number;
  allowedIPs?: string[];
  /** Removes the peer instead. */
  remove?: boolean;
}

function sockaddr(endpoint: string): Uint8Array {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  if (!m) throw new RangeError(`Invalid endpoint ${JSON.stringify(endpoint)}`);
  const ip = parseAddr(m[1]!, "endpoint address");
  const port = Number(m[2]);
  const b = new Uint8Array(ip.length === 4 ? 16 : 28);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, ip.length === 4 ? AF_INET : AF_INET6, true);
  dv.setUint16(2, port, false);
  b.set(ip, ip.length === 4 ? 4 : 8);
  return b;
}

function peerAttrs(p: WgPeer): RtAttr[] {
  const attrs: RtAttr[] = [rtaBytes(WGPEER_A_PUBLIC_KEY, p.publicKey)];
  if (p.remove) return [...attrs, rtaU32(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME)];
  attrs.push(rtaU32(WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS));
  if (p.presharedKey) attrs.push(rtaBytes(WGPEER_A_PRESHARED_KEY, p.presharedKey));
  if (p.endpoint) attrs.push(rtaBytes(WGPEER_A_ENDPOINT, sockaddr(p.endpoint)));
  if (p.keepaliveSeconds !== undefined) attrs.push(rtaU16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.keepaliveSeconds));
  const allowed = (p.allowedIPs ?? []).map((cidr) => {
    const [addr, len] = cidr.split("/");
    const ip = parseAddr(addr!, "allowed IP");
    return rtaNested(
      0,
      [rtaU16(WGALLOWEDIP_A_FAMILY, ip.length === 4 ? AF_INET : AF_INET6), rtaBytes(WGALLOWEDIP_A_IPADDR, ip), rtaU8(WGALLOWEDIP_A_CIDR_MASK, Number(len))],
      true,
    );
  });
  attrs.push(rtaNested(WGPEER_A_ALLOWEDIPS, allowed, true));
  return attrs;
}

/**
 * Sets the private key, listen port and peers of the device with ifindex `link` (the
 * generic socket cannot look names up; only the peers given change, unless
 * replacePeers). Equivalent to: `wg set DEV private-key F listen-port P peer K endpoint E allowed-ips A ...`.
 */
export function wgSetDevice(
  h: NetlinkHandle,
  link: number,
  d: { privateKey?: Uint8Array; listenPort?: number; peers?: WgPeer[]; replacePeers?: boolean },
): void {
  const family = wireguardFamily(h);
  const attrs: RtAttr[] = [rtaU32(WGDEVICE_A_IFINDEX, link)];
  if (d.privateKey) attrs.push(rtaBytes(WGDEVICE_A_PRIVATE_KEY, d.privateKey));
  if (d.listenPort !== undefined) attrs.push(rtaU16(WGDEVICE_A_LISTEN_PORT, d.listenPort));
  if (d.replacePeers) attrs.push(rtaU32(WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS));
  if (d.peers?.length)
    attrs.push(
      rtaNested(
        WGDEVICE_A_PEERS,
        d.peers.map((p) => rtaNested(0, peerAttrs(p), true)),
        true,
      ),
    );
  h.request(family, 0, concat([genlHeader(WG_CMD_SET_DEVICE, WG_GENL_VERSION), encodeAttrs(attrs)]), `configure wireguard device ${link}`);
}
