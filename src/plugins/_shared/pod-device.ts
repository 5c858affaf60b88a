/**
 * The verbs of a plugin whose device lives in the pod's namespace (macvlan, ipvlan,
 * vlan, tap, dummy) that need nothing of the plugin but its config loader.
 */
import { linkDelIfExists } from "../../netlink/link-add.ts";
import { linkFind } from "../../netlink/link.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { IPAMConfig } from "../../spec/types.ts";
import { delIpam } from "./del-conf.ts";
import { failure } from "./errors.ts";
import { ipamIfAny } from "./ipam-exec.ts";
import { openContainerNSIfAny } from "./netns-open.ts";

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
