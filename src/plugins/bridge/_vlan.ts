/**
 * VLANs of the bridge plugin, as the reference: `vlan` makes the host end an access
 * port (pvid, untagged), `vlanTrunk` lets tagged frames of those ids through, and both
 * turn VLAN filtering on for a bridge they create. Without `preserveDefaultVlan` (the
 * reference's default since v1.8.0) the port leaves VLAN 1, so pods of different VLANs
 * are isolated. A gateway on a VLAN lives on a veth `<bridge>.<vlan>` whose other end
 * is an access port of that VLAN.
 */
import { bridgeVlanAdd, bridgeVlanDel, bridgeVlanList } from "../../netlink/bridge-vlan.ts";
import { isExists } from "../../netlink/error.ts";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkAdd } from "../../netlink/link-add.ts";
import { linkSetMaster } from "../../netlink/link-set.ts";
import { checkLinkName, linkByName, linkFind, linkSetUp } from "../../netlink/link.ts";
import { CniError, ErrorCode, failure, invalidConfig } from "../../spec/error.ts";
import { boolField } from "../_shared/conf-fields.ts";
import { deleteQuietly, randomVethName } from "../_shared/veth.ts";

/** The VLAN fields, read and checked. */
export interface VlanConf {
  /** The access VLAN of the port; 0: none. */
  vlan: number;
  /** The trunk VLANs, sorted, without duplicates. */
  vlans: number[];
  /** `vlan` or `vlanTrunk` given (even an empty trunk, as the reference): the bridge is made VLAN-filtering. */
  filtering: boolean;
  preserveDefaultVlan: boolean;
}

const vlanId = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** The trunk's VLAN ids, with the reference's checks and messages (collectVlanTrunk). */
function trunkVlans(trunk: unknown): number[] {
  if (!Array.isArray(trunk)) throw invalidConfig(`Invalid "vlanTrunk": ${JSON.stringify(trunk)} is not a list`);
  const ids = new Set<number>();
  for (const item of trunk as Record<string, unknown>[]) {
    if (typeof item !== "object" || item === null) throw invalidConfig(`Invalid "vlanTrunk": ${JSON.stringify(item)} is not an object`);
    const { minID, maxID, id } = item;
    for (const [k, v] of Object.entries({ minID, maxID, id })) {
      if (v !== undefined && v !== null && !vlanId(v)) throw invalidConfig(`Invalid "vlanTrunk": ${k} ${JSON.stringify(v)} is not an integer`);
    }
    const has = (v: unknown): v is number => v !== undefined && v !== null;
    if (has(minID) && has(maxID)) {
      if (minID <= 0 || minID > 4094) throw invalidConfig("incorrect trunk minID parameter");
      if (maxID <= 0 || maxID > 4094) throw invalidConfig("incorrect trunk maxID parameter");
      if (maxID < minID) throw invalidConfig("minID is greater than maxID in trunk parameter");
      for (let v = minID; v <= maxID; v++) ids.add(v);
    } else if (has(maxID)) {
      throw invalidConfig("minID and maxID should be configured simultaneously, minID is missing");
    } else if (has(minID)) {
      throw invalidConfig("minID and maxID should be configured simultaneously, maxID is missing");
    }
    if (has(id)) {
      if (id <= 0 || id > 4094) throw invalidConfig("incorrect trunk id parameter");
      ids.add(id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** Reads vlan, vlanTrunk and preserveDefaultVlan; with a gateway on a VLAN, its interface name must fit. */
export function loadVlanConf(conf: Record<string, unknown>, bridge: string, isGateway: boolean): VlanConf {
  const raw = conf.vlan ?? 0;
  if (!vlanId(raw)) throw invalidConfig(`Invalid "vlan": ${JSON.stringify(raw)} is not an integer`);
  if (raw < 0 || raw > 4094) throw invalidConfig(`invalid VLAN ID ${raw} (must be between 0 and 4094)`);
  const trunk = conf.vlanTrunk;
  const hasTrunk = trunk !== undefined && trunk !== null;
  const out: VlanConf = {
    vlan: raw,
    vlans: hasTrunk ? trunkVlans(trunk) : [],
    filtering: raw !== 0 || hasTrunk,
    preserveDefaultVlan: boolField(conf, "preserveDefaultVlan"),
  };
  if (out.vlan && isGateway) {
    try {
      checkLinkName(vlanGatewayName(bridge, out.vlan));
    } catch {
      throw invalidConfig(`Invalid "vlan": the gateway interface "${vlanGatewayName(bridge, out.vlan)}" would be longer than 15 bytes`);
    }
  }
  return out;
}

/** The interface that carries a VLAN's gateway address, as the reference names it. */
function vlanGatewayName(bridge: string, vlan: number): string {
  return `${bridge}.${vlan}`;
}

/**
 * Refuses VLANs (code 2, before anything is made) on a kernel without bridge VLAN
 * filtering: the reference would create the pair and then fail, leaving it behind.
 * Such kernels do not report a bridge's VLAN protocol.
 */
export function requireVlanFiltering(br: Link, v: VlanConf): void {
  if (vlansNeeded(v) && br.kind === "bridge" && br.vlanProtocol === undefined) throw noVlanFiltering(v, "bridge VLAN filtering is not in this kernel");
}

/**
 * True when a port gets a VLAN. An empty `vlanTrunk` asks for a filtering bridge (as
 * the reference does) but needs nothing of it, so a kernel that cannot filter is fine.
 */
export function vlansNeeded(v: VlanConf): boolean {
  return v.vlan !== 0 || v.vlans.length > 0;
}

/** The code 2 error for VLANs asked of a kernel that cannot do them. */
export function noVlanFiltering(v: VlanConf, why: string): CniError {
  const field = v.vlan ? "vlan" : "vlanTrunk";
  return new CniError(ErrorCode.UnsupportedField, `"${field}" is not supported on this node: ${why}`);
}

/** Removes every VLAN of a port (its default VLAN 1 among them). */
function removeVlans(h: NetlinkHandle, port: Link): void {
  for (const v of bridgeVlanList(h).get(port.index) ?? []) bridgeVlanDel(h, port, v.vid);
}

/** The port's VLANs, in the reference's order and with its messages (setupVeth). */
export function setupPortVlans(h: NetlinkHandle, port: Link, v: VlanConf): void {
  if ((v.vlan || v.vlans.length) && !v.preserveDefaultVlan) {
    try {
      removeVlans(h, port);
    } catch (e) {
      throw failure(`failed to remove default vlan on interface "${port.name}"`, e);
    }
  }
  const add = (vid: number, access: boolean, what: string) => {
    try {
      bridgeVlanAdd(h, port, { vid, pvid: access, untagged: access });
    } catch (e) {
      throw failure(`failed to setup ${what} on interface "${port.name}"`, e);
    }
  };
  if (v.vlan) add(v.vlan, true, "vlan tag");
  for (const vid of v.vlans) add(vid, false, "vlan tag");
  // A trunk without an access VLAN keeps untagged frames on VLAN 1, as the reference.
  if (!v.vlan && v.vlans.length) add(1, true, "default native vlan tag");
}

/**
 * The veth `<bridge>.<vlan>` that carries the VLAN's gateway, its other end an access
 * port of the VLAN; made once and shared by every pod of the VLAN, like the bridge
 * (concurrent ADDs may race to make it: EEXIST means another won).
 */
export function ensureVlanGateway(h: NetlinkHandle, br: Link, v: VlanConf): Link {
  const name = vlanGatewayName(br.name, v.vlan);
  const found = linkFind(h, name);
  if (found) return found;
  const port = randomVethName();
  // The bridge's MTU, as the reference.
  const mtu = br.mtu;
  try {
    linkAdd(h, { kind: "veth", name: port, ...(mtu ? { mtu } : {}), peer: { name, ...(mtu ? { mtu } : {}) } });
  } catch (e) {
    if (isExists(e) && linkFind(h, name)) return linkByName(h, name);
    throw failure(`failed to create vlan gateway "${name}"`, e);
  }
  try {
    const portLink = linkByName(h, port);
    linkSetMaster(h, portLink, br);
    setupPortVlans(h, portLink, { ...v, vlans: [] });
    linkSetUp(h, portLink);
    linkSetUp(h, name);
    return linkByName(h, name);
  } catch (e) {
    deleteQuietly(h, port);
    throw failure(`failed to create vlan interface "${name}"`, e);
  }
}
