/**
 * The verbs of a plugin whose device lives in the pod's namespace (macvlan, ipvlan,
 * vlan, tap, dummy) that need nothing of the plugin but its config loader.
 */
import { getRandomValues } from "node:crypto";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import { type IpvlanSpec, type MacvlanSpec, type VlanSpec, linkAdd, linkDel, linkDelIfExists } from "../../netlink/link-add.ts";
import { linkSetName } from "../../netlink/link-set.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkByIndex, linkByName, linkFind } from "../../netlink/link.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { IPAMConfig } from "../../spec/types.ts";
import { delIpam } from "./del-conf.ts";
import { failure } from "./errors.ts";
import { ipamIfAny } from "./ipam-exec.ts";
import { type ContainerNS, openContainerNSIfAny } from "./netns-open.ts";
import type { Rollback } from "./rollback.ts";

/**
 * DEL: IPAM's DEL from the IPAM section alone (a bad field elsewhere must not keep a pod
 * stuck), then the device named CNI_IFNAME. A namespace or device already gone is fine:
 * the device dies with its namespace.
 */
export async function delPodDevice(args: CmdArgs): Promise<void> {
  await ipamIfAny("DEL", { ipam: delIpam(args.conf) }, args);
  using c = openContainerNSIfAny(args.netns);
  if (!c) return;
  const link = linkFind(c.h, args.ifName);
  if (!link) return;
  try {
    linkDelIfExists(c.h, link.index);
  } catch (e) {
    throw failure(`failed to delete "${args.ifName}"`, e);
  }
}

/** GC when IPAM's leases are all that outlives a container: the config read with `load`, then IPAM's GC. */
export function ipamGc(load: (args: CmdArgs) => { ipam?: IPAMConfig }): (args: CmdArgs) => Promise<void> {
  return (args) => ipamIfAny("GC", load(args), args);
}

/** Where a device on a master is made: the master's namespace (node or pod), the pod, its CNI_IFNAME and the ADD's undo record. */
export interface InPod {
  masterH: NetlinkHandle;
  c: ContainerNS;
  ifName: string;
  undo: Rollback;
}

/** A device on a master, as created in the pod: its name and namespace are createInPod's. */
export type OnMasterSpec = Omit<MacvlanSpec, "name" | "ns"> | Omit<IpvlanSpec, "name" | "ns"> | Omit<VlanSpec, "name" | "ns">;

/**
 * Creates the device of `spec` (a link on a master) straight into the pod's namespace
 * under a temporary name, then names it CNI_IFNAME there: creating under the final name
 * could collide with a link in the master's namespace. Its deletion goes on the undo record.
 */
export function createInPod(spec: OnMasterSpec, at: InPod): Link {
  const { masterH, c, ifName, undo } = at;
  const kind = spec.kind;
  const tmp = `${kind.slice(0, 3)}${Array.from(getRandomValues(new Uint8Array(4)), (x) => x.toString(16).padStart(2, "0")).join("")}`;
  try {
    linkAdd(masterH, { ...spec, name: tmp, ...(masterH === c.h ? {} : { ns: c.ns }) });
  } catch (e) {
    throw failure(`failed to create ${kind}`, e);
  }
  const created = linkByName(c.h, tmp);
  undo.add(`${kind} "${ifName}"`, () => linkDel(c.h, created.index));
  try {
    linkSetName(c.h, created.index, ifName);
  } catch (e) {
    throw failure(`failed to rename ${kind} to "${ifName}"`, e);
  }
  return linkByIndex(c.h, created.index);
}
