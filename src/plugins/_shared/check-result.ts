/**
 * CHECK helpers shared by the interface plugins (the reference's
 * ip.ValidateExpectedInterfaceIPs / ValidateExpectedRoute and the prevResult lookups):
 * what a prevResult says must be what the container's namespace has.
 */
import { addrList } from "../../netlink/addr.ts";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkFind } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { familyOfText, networkOfCIDR, normalizeIP, sameCIDR } from "../../spec/ip.ts";
import type { IPAMConfig, IPConfig, Interface, Result, Route } from "../../spec/types.ts";
import { failure } from "../../spec/error.ts";
import { ipamIfAny } from "./ipam-exec.ts";
import { type ContainerNS, openContainerNS } from "./netns-open.ts";

/** What an interface plugin's CHECK looks at: the pod's namespace, the config, and the prevResult. */
export interface PodCheck<C> extends ContainerNS {
  conf: C;
  prev: Result;
}

/**
 * The start of an interface plugin's CHECK, in the reference's order: the config (read
 * with `load`), the pod's namespace (which must be there), IPAM's CHECK when there is
 * IPAM, then the prevResult, which must be there (its error after `prefix`).
 */
export async function openForCheck<C extends { ipam?: IPAMConfig }>(args: CmdArgs, load: (args: CmdArgs) => C, prefix = ""): Promise<PodCheck<C>> {
  const conf = load(args);
  const c = openContainerNS(args.netns);
  try {
    await ipamIfAny("CHECK", conf, args);
    if (!args.prevResult) throw failure(`${prefix}Required prevResult missing`);
    return { ...c, conf, prev: args.prevResult };
  } catch (e) {
    c.close();
    throw e;
  }
}

/** The prevResult's interface named CNI_IFNAME in CNI_NETNS; fails as the reference does when there is none. */
export function containerIface(result: Result, args: CmdArgs): Interface {
  const found = (result.interfaces ?? []).find((i) => i.name === args.ifName && i.sandbox === args.netns);
  if (!found) throw failure(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`);
  return found;
}

/** Looks the container's interface up and checks its MAC against the prevResult's; `kind` when given. */
export function checkContainerLink(h: NetlinkHandle, intf: Interface, kind?: Link["kind"]): Link {
  if (!intf.name) throw failure(`Container interface name missing in prevResult: ${intf.name}`);
  const link = linkFind(h, intf.name);
  if (!link) throw failure(`Container Interface name in prevResult: ${intf.name} not found`);
  if (!intf.sandbox) throw failure(`Error: Container interface ${link.name} should not be in host namespace`);
  if (kind && link.kind !== kind) throw failure(`Error: Container interface ${link.name} not of type ${kind === "veth" ? "veth/p2p" : kind}`);
  if (intf.mac && intf.mac.toLowerCase() !== link.mac.toLowerCase()) {
    throw failure(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`);
  }
  return link;
}

/** Every address of `ips` is on the link, and a route to its network exists. */
export function checkInterfaceIPs(h: NetlinkHandle, ifName: string, ips: IPConfig[]): void {
  const link = linkFind(h, ifName);
  if (!link) throw failure(`Cannot find container link ${ifName}`);
  const addrs = addrList(h, { link });
  for (const ipc of ips) {
    if (!addrs.some((a) => sameCIDR(a.cidr, ipc.address))) throw failure(`Failed to match addr ${ipc.address} on interface ${ifName}`);
    const net = networkOfCIDR(ipc.address);
    const routes = routeList(h, { family: familyOfText(ipc.address) });
    if (!routes.some((r) => r.dst !== undefined && sameCIDR(r.dst, net))) {
      throw failure(`Failed to find Gateway ${ipc.gateway ?? "<nil>"} for interface ${ifName}`);
    }
  }
}

/**
 * Every route of the prevResult is in its table (main by default), with its gateway when
 * it names one; a default route by destination alone, as the reference's
 * ValidateExpectedRoute (with a default route per network it may be one route with a
 * next hop per gateway, which lists no gateway of its own).
 */
export function checkRoutes(h: NetlinkHandle, routes: Route[]): void {
  for (const r of routes) {
    const family = familyOfText(r.dst);
    const dst = networkOfCIDR(r.dst);
    const isDefault = dst === "0.0.0.0/0" || dst === "::/0";
    const found = routeList(h, { family, table: r.table || undefined }).some((e) =>
      isDefault ? e.dst === undefined || sameCIDR(e.dst, dst) : e.dst !== undefined && sameCIDR(e.dst, dst) && (!r.gw || e.gw === normalizeIP(r.gw)),
    );
    if (!found) throw failure(`Expected Route {Dst:${r.dst} GW:${r.gw ?? "<nil>"}} not found in routing table`);
  }
}

/** CHECK of the pod's side of layer 3: the prevResult's addresses on `ifName` and its routes. */
export function checkPodL3(h: NetlinkHandle, ifName: string, prev: Result): void {
  checkInterfaceIPs(h, ifName, prev.ips ?? []);
  checkRoutes(h, prev.routes ?? []);
}
