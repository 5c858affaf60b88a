/**
 * The steps a plugin whose device lives in the pod's namespace (macvlan, ipvlan, vlan,
 * tap, dummy, host-device) shares with the others: the verbs that need nothing of the
 * plugin but its config loader, where the device is made, and how its result is built.
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import { type IpvlanSpec, type MacvlanSpec, type VlanSpec, linkAdd, linkDel, linkDelIfExists } from "../../netlink/link-add.ts";
import { linkSetName } from "../../netlink/link-set.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkByIndex, linkByName, linkFind } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, failure, invalidConfig } from "../../spec/error.ts";
import type { IPAMConfig, IPConfig, Interface, NetConf, Result, Route } from "../../spec/types.ts";
import { sysctlSet } from "../../sys/sysctl.ts";
import { delIpam } from "./del-conf.ts";
import { ipamIfAny } from "./ipam-exec.ts";
import { type ContainerNS, openContainerNS, openContainerNSIfAny } from "./netns-open.ts";
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

/** STATUS of a device on a master: ready when IPAM is and a master named in the node's namespace exists (code 50 otherwise). */
export function masterStatus(load: (args: CmdArgs) => { ipam?: IPAMConfig; master: string; linkInContainer: boolean }): (args: CmdArgs) => Promise<void> {
  return async (args) => {
    const conf = load(args);
    await ipamIfAny("STATUS", conf, args);
    if (conf.master && !conf.linkInContainer) {
      using h = NetlinkHandle.at();
      if (!linkFind(h, conf.master)) throw new CniError(ErrorCode.PluginNotAvailable, `master "${conf.master}" not found`);
    }
  };
}

/** Fails when the pod already has a link named CNI_IFNAME: nothing is made over it. */
export function checkIfNameFree(c: ContainerNS, args: CmdArgs): void {
  if (linkFind(c.h, args.ifName)) throw failure(`interface "${args.ifName}" already exists in netns "${args.netns}"`);
}

/** The interface of the first default route of the main table (v4 first): the master when none is named, as the reference picks it. */
export function defaultRouteInterface(h: NetlinkHandle): string {
  for (const r of routeList(h)) {
    if (r.dst === undefined && r.linkIndex) return linkByIndex(h, r.linkIndex).name;
  }
  throw failure("no default route interface found");
}

/** The master named `name` in the namespace of `masterH`; code 7 when the device's MTU (`limits.mtu`) would be above the master's. */
export function findMaster(masterH: NetlinkHandle, name: string, limits: { mtu: number }): Link {
  const link = linkFind(masterH, name);
  if (!link) throw failure(`failed to lookup master "${name}": Link not found`);
  if (limits.mtu > link.mtu) throw invalidConfig(`invalid MTU ${limits.mtu}, must be [0, master MTU(${link.mtu})]`);
  return link;
}

/** The namespaces a device on a master is made between, and the master; close with the `using` it is held in. */
export interface OnMaster extends Disposable {
  /** The pod's namespace. */
  c: ContainerNS;
  /** The master's namespace: the pod's with linkInContainer, else the node's. */
  masterH: NetlinkHandle;
  master: Link;
}

/**
 * The start of an ADD on a master: opens the pod's namespace and the master's (the
 * pod's with `linkInContainer`, else the node's), finds the master there with `find`,
 * then checks that CNI_IFNAME is free in the pod.
 */
export function openOnMaster(args: CmdArgs, find: (masterH: NetlinkHandle) => Link, opts: { linkInContainer?: boolean }): OnMaster {
  const c = openContainerNS(args.netns);
  let hostH: NetlinkHandle | undefined;
  try {
    hostH = opts.linkInContainer ? undefined : NetlinkHandle.at();
    const masterH = hostH ?? c.h;
    const master = find(masterH);
    checkIfNameFree(c, args);
    const close = () => {
      hostH?.close();
      c.close();
    };
    return { c, masterH, master, [Symbol.dispose]: close };
  } catch (e) {
    hostH?.close();
    c.close();
    throw e;
  }
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
  const tmp = `${kind.slice(0, 3)}${Array.from(crypto.getRandomValues(new Uint8Array(4)), (x) => x.toString(16).padStart(2, "0")).join("")}`;
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

/**
 * The result of an in-pod ADD: the pod's interface, IPAM's addresses and routes (when
 * there are any) and the config's DNS; IPAM's DNS is dropped, as the reference's.
 */
export function podResult(conf: NetConf, iface: Interface, ipam?: { ips: IPConfig[]; routes?: Route[] }): Result {
  const result: Result = { cniVersion: conf.cniVersion, interfaces: [iface] };
  if (ipam) {
    result.ips = ipam.ips;
    if (ipam.routes) result.routes = ipam.routes;
  }
  if (conf.dns) result.dns = conf.dns;
  return result;
}

/**
 * Has the kernel announce the device's MAC as soon as it gets an address (gratuitous
 * ARP; unsolicited neighbour advertisements too unless `v4Only`). Best effort, as the reference.
 */
export function announceMac(c: ContainerNS, ifName: string, opts: { v4Only?: boolean } = {}): void {
  const keys = [`net/ipv4/conf/${ifName}/arp_notify`];
  if (!opts.v4Only) keys.push(`net/ipv6/conf/${ifName}/ndisc_notify`);
  for (const k of keys) {
    try {
      sysctlSet(k, "1", c.ns);
    } catch {
      // best effort, as the reference
    }
  }
}
