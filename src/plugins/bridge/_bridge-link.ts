/** The bridge device itself: created once, shared by every attachment, gateway addresses on it. */
import { addrAdd, addrDel, addrList } from "../../netlink/addr.ts";
import { isExists, isNetlinkError } from "../../netlink/error.ts";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkAdd } from "../../netlink/link-add.ts";
import { linkSetMac, linkSetPromisc } from "../../netlink/link-set.ts";
import { ipv6AcceptRa, isPromisc, isUp, linkFind, linkSetUp } from "../../netlink/link.ts";
import { cidrOf, familyOfText, netContains } from "../../spec/ip.ts";
import { sysctlWrite } from "../../sys/sysctl.ts";
import { errorMessage, failure } from "../../spec/error.ts";
import { noVlanFiltering, requireVlanFiltering, type VlanConf, vlansNeeded } from "./_vlan.ts";

const ZERO_MAC = "00:00:00:00:00:00";

/**
 * Creates the bridge or reuses it (idempotent, and safe when many ADDs race to create
 * it: EEXIST means another one won, and the bridge is read again), then sets it up.
 * VLANs make a new bridge VLAN-filtering (an existing one is taken as it is, as the
 * reference does); a kernel that cannot filter is refused before anything is made.
 */
export function ensureBridge(h: NetlinkHandle, name: string, opts: { mtu: number; promisc: boolean; vlan: VlanConf }): Link {
  let br = linkFind(h, name);
  if (!br) {
    const add = (filtering: boolean) =>
      linkAdd(h, { kind: "bridge", name, ...(opts.mtu ? { mtu: opts.mtu } : {}), ...(filtering ? { vlanFiltering: true } : {}) });
    try {
      try {
        add(opts.vlan.filtering);
      } catch (e) {
        // An empty trunk asked for filtering but needs none: without it, a plain bridge.
        if (!opts.vlan.filtering || vlansNeeded(opts.vlan) || !isNetlinkError(e, "EOPNOTSUPP")) throw e;
        add(false);
      }
    } catch (e) {
      if (opts.vlan.filtering && isNetlinkError(e, "EOPNOTSUPP"))
        throw noVlanFiltering(opts.vlan, `could not add "${name}" with VLAN filtering: ${errorMessage(e)}`);
      if (!isExists(e)) throw failure(`could not add "${name}"`, e);
    }
    br = linkFind(h, name);
    if (!br) throw failure(`bridge "${name}" vanished while being set up`);
  }
  if (br.kind !== "bridge") throw failure(`"${name}" already exists but is not a bridge`);
  requireVlanFiltering(br, opts.vlan);
  try {
    // We own the bridge's routes, as the reference (which also ignores a failure: no IPv6).
    // Written once: the lookup just made says what it is, and every /proc/sys open walks
    // a dentry per network namespace on the machine (about 1 ms with a thousand pods).
    if (ipv6AcceptRa(br) !== 0) sysctlWrite(`net/ipv6/conf/${name}/accept_ra`, "0");
  } catch {
    // no IPv6 in this kernel
  }
  try {
    // Each request costs a round trip on every ADD: only the changes.
    if (opts.promisc && !isPromisc(br)) linkSetPromisc(h, br, true);
    if (!isUp(br)) linkSetUp(h, br);
  } catch (e) {
    throw failure(`failed to set up bridge "${name}"`, e);
  }
  return br;
}

/**
 * Puts the gateway address `cidr` on the bridge, as the reference's ensureAddr: an
 * equal address is fine; another IPv4 address, or an IPv6 one of an overlapping
 * subnet, is an error unless forceAddress, which replaces it. The bridge's MAC is then
 * pinned to itself, or it would follow the lowest port MAC as pods come and go.
 */
export function ensureGatewayAddr(h: NetlinkHandle, br: Link, cidr: string, forceAddress: boolean): void {
  const family = familyOfText(cidr);
  const want = cidrOf(cidr);
  for (const a of addrList(h, { link: br, family })) {
    if (a.cidr === cidr) return;
    const have = cidrOf(a.cidr);
    const overlaps = netContains(have, want.ip) || netContains(want, have.ip);
    if (family === 6 && (!overlaps || a.scope !== 0)) continue;
    if (!forceAddress) throw failure(`"${br.name}" already has an IP address different from ${cidr}`);
    try {
      addrDel(h, br, a.cidr);
    } catch (e) {
      throw failure(`could not remove IP address ${a.cidr} from "${br.name}"`, e);
    }
  }
  try {
    addrAdd(h, br, cidr);
  } catch (e) {
    if (!isExists(e)) throw failure(`could not add IP address ${cidr} to "${br.name}"`, e);
  }
  // A bridge whose ports all left has the zero MAC (the reference then fails): take the one it has now its new port joined.
  const mac = br.mac && br.mac !== ZERO_MAC ? br.mac : linkFind(h, br.index)?.mac;
  try {
    if (mac && mac !== ZERO_MAC) linkSetMac(h, br, mac);
  } catch (e) {
    throw failure(`could not set bridge's mac`, e);
  }
}
