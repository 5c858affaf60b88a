/** Per-family network settings of a namespace read through RTM_GETNETCONF (linux/netconf.h). */
import type { NetlinkHandle } from "./handle.ts";
import { afOf } from "./nl/netlink-consts.ts";
import { attrMap, decodeAttrs, encodeAttrs, readS32, rtaS32 } from "./nl/rtattr.ts";
import { NETCONFA_FORWARDING, NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL, RTM_GETNETCONF, RTM_NEWNETCONF } from "./nl/rtnetlink-consts.ts";

/** struct netconfmsg { __u8 ncm_family; }, padded to NLMSG_ALIGNTO. */
const SIZEOF_NETCONFMSG = 4;

/**
 * Whether the family forwards in the handle's namespace: net.ipv4.ip_forward (the "all"
 * devconf's forwarding, which that sysctl is) or net.ipv6.conf.all.forwarding; undefined
 * when the kernel does not say. Read by netlink rather than /proc/sys, whose every open
 * walks a dentry per network namespace on the machine. Equivalent to: `ip -4|-6 netconf show dev all`.
 */
export function netconfForwarding(h: NetlinkHandle, family: 4 | 6): boolean | undefined {
  const body = new Uint8Array(SIZEOF_NETCONFMSG + 8);
  body[0] = afOf(family);
  body.set(encodeAttrs([rtaS32(NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL)]), SIZEOF_NETCONFMSG);
  for (const m of h.request(RTM_GETNETCONF, 0, body, `get ipv${family} netconf of all`)) {
    if (m.header.type !== RTM_NEWNETCONF) continue;
    const a = attrMap(decodeAttrs(m.payload.subarray(SIZEOF_NETCONFMSG)));
    const fwd = a.get(NETCONFA_FORWARDING);
    return fwd ? readS32(fwd) !== 0 : undefined;
  }
  return undefined;
}
