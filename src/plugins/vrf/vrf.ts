/**
 * vrf: a chained plugin that puts the pod's interface into a VRF of the pod's
 * namespace, made on first use (one per name, over the config's table or the first
 * free one) and removed with its last interface. The interface's routes move to the
 * VRF's table. Drop-in for the reference meta plugin of the same name.
 */
import { addrAdd, addrList, type Addr } from "../../netlink/addr.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import type { Link, Vrf } from "../../netlink/link-types.ts";
import { linkSetMaster, linkSetNoMaster } from "../../netlink/link-set.ts";
import { linkFind, linkList, linkSetUp } from "../../netlink/link.ts";
import { type RouteEntry, routeList, routeReplace } from "../../netlink/route.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { NetConf, Result } from "../../spec/types.ts";
import { intField, stringField } from "../_shared/conf-fields.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { openContainerNS, openContainerNSIfAny } from "../_shared/netns-open.ts";

/** The vrf config: the standard fields plus these. */
export interface VrfConf extends NetConf {
  vrfname: string;
  /** 0 = the first table no VRF of the namespace uses. */
  table: number;
}

const RT_SCOPE_UNIVERSE = 0;
const RTNH_F_ONLINK = 4;

/** Reads and checks the config. */
export function loadNetConf(args: CmdArgs): VrfConf {
  const conf = args.conf;
  const vrfname = stringField(conf, "vrfname");
  // A plain error in the reference: code 999.
  if (!vrfname) throw failure("configuration is expected to have a valid vrf name");
  if (new TextEncoder().encode(vrfname).length > 15 || /[\/:\s]/.test(vrfname))
    throw invalidConfig(`Invalid "vrfname" ${JSON.stringify(vrfname)}: not an interface name`);
  const table = intField(conf, "table", { min: 0, max: 0xffffffff });
  return { ...conf, vrfname, table };
}

/** The VRF of that name, undefined when there is no link of that name; fails when the link is not a VRF. */
function findVRF(h: NetlinkHandle, name: string): Vrf | undefined {
  const link = linkFind(h, name);
  if (!link) return undefined;
  if (link.kind !== "vrf") throw failure(`Netlink ${name} is not a VRF`);
  return link;
}

/** The lowest table (from 1) no VRF of the namespace uses. */
function freeTable(links: Link[]): number {
  const taken = new Set(links.flatMap((l) => (l.kind === "vrf" ? [l.table] : [])));
  let t = 1;
  while (taken.has(t)) t++;
  return t;
}

/** The VRF `name`, made and set up when missing; refused when it exists over another table than a configured one. */
function ensureVRF(h: NetlinkHandle, conf: VrfConf): Vrf {
  const found = findVRF(h, conf.vrfname);
  if (found) {
    if (conf.table !== 0 && found.table !== conf.table) throw failure(`VRF ${conf.vrfname} already exist with different routing table ${found.table}`);
    return found;
  }
  const table = conf.table || freeTable(linkList(h));
  try {
    linkAdd(h, { kind: "vrf", name: conf.vrfname, table });
  } catch (e) {
    throw failure(`could not add VRF ${conf.vrfname}`, e);
  }
  const vrf = findVRF(h, conf.vrfname)!;
  try {
    linkSetUp(h, vrf.index);
  } catch (e) {
    throw failure(`could not set link up for VRF ${conf.vrfname}`, e);
  }
  return vrf;
}

const globalV6 = (h: NetlinkHandle, link: Link): Addr[] => addrList(h, { link, family: 6 }).filter((a) => a.scope === RT_SCOPE_UNIVERSE);

/** The same route in another table. */
function inTable(r: RouteEntry, table: number) {
  return {
    dst: r.dst,
    gw: r.gw,
    src: r.src,
    link: r.linkIndex,
    family: r.family,
    table,
    scope: r.scope,
    priority: r.priority,
    protocol: r.protocol,
    type: r.type,
    onlink: (r.flags & RTNH_F_ONLINK) !== 0,
    mtu: r.mtu,
    advmss: r.advmss,
  };
}

/**
 * Enslaves the interface to the VRF. The kernel drops an interface's global IPv6
 * addresses when its master changes: they are put back, and their local routes awaited
 * in the VRF's table, before the interface's global routes are copied there.
 */
async function addInterface(h: NetlinkHandle, vrf: Vrf, ifName: string): Promise<void> {
  const link = linkFind(h, ifName);
  if (!link) throw failure(`could not get link by name ${ifName}`);
  if (link.master) {
    const master = linkFind(h, link.master);
    throw failure(`interface ${ifName} has already a master set: ${master?.name ?? link.master}`);
  }
  const before = globalV6(h, link);
  const routes = routeList(h, { link: link.index }).filter((r) => r.scope === RT_SCOPE_UNIVERSE);
  try {
    linkSetMaster(h, link.index, vrf.index);
  } catch (e) {
    throw failure(`could not set vrf ${vrf.name} as master of ${ifName}`, e);
  }
  const after = globalV6(h, link);
  for (const a of before) {
    if (after.some((x) => x.cidr === a.cidr)) continue;
    try {
      addrAdd(h, link.index, a.cidr);
    } catch (e) {
      throw failure(`could not restore address ${a.cidr} to ${ifName} @ ${vrf.name}`, e);
    }
    for (let i = 0; ; i++) {
      if (routeList(h, { family: 6, table: vrf.table, link: link.index }).some((r) => r.dst === `${a.ip}/128`)) break;
      if (i === 8) throw failure(`failed getting local/host addresses for ${ifName} in table ${vrf.table} with dst ${a.cidr}`);
      await Bun.sleep(10 * 2 ** i);
    }
  }
  for (const r of routes) {
    try {
      routeReplace(h, inTable(r, vrf.table));
    } catch (e) {
      throw failure(`could not add route '${r.dst ?? "default"}'`, e);
    }
  }
}

/** Makes the VRF when needed and puts the interface in it; the prevResult is the result. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("missing prevResult from earlier plugin");
  using c = openContainerNS(args.netns);
  try {
    const vrf = ensureVRF(c.h, conf);
    await addInterface(c.h, vrf, args.ifName);
  } catch (e) {
    throw failure(`cmdAdd failed`, e);
  }
  return { ...args.prevResult, cniVersion: conf.cniVersion };
}

/** The interface is a port of the VRF. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("missing prevResult from earlier plugin");
  using c = openContainerNS(args.netns);
  const vrf = findVRF(c.h, conf.vrfname);
  if (!vrf) throw failure(`Link not found: ${conf.vrfname}`);
  if (!linkList(c.h).some((l) => l.master === vrf.index && l.name === args.ifName)) {
    throw failure(`failed to find ${args.ifName} associated to vrf ${conf.vrfname}`);
  }
}

/** Takes the interface out of the VRF and removes the VRF when no port is left; succeeds when any of it is gone. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  using c = openContainerNSIfAny(args.netns);
  if (!c) return;
  const vrf = findVRF(c.h, conf.vrfname);
  if (!vrf) return;
  const link = linkFind(c.h, args.ifName);
  if (link?.master === vrf.index) {
    try {
      linkSetNoMaster(c.h, link.index);
    } catch (e) {
      throw failure(`resetMaster: could reset master to ${args.ifName}`, e);
    }
  }
  if (!linkList(c.h).some((l) => l.master === vrf.index)) {
    try {
      linkDel(c.h, vrf.index);
    } catch (e) {
      throw failure(`failed to delete VRF ${conf.vrfname}`, e);
    }
  }
}

/** Nothing outlives a pod but what its namespace holds. */
async function cmdGc(args: CmdArgs): Promise<void> {
  loadNetConf(args);
}

/** Always ready: the VRF lives in the pods' namespaces. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  loadNetConf(args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = {
  about: "vrf: puts the pod's interface into a VRF of its namespace (cni-ts)",
  // As the reference: a chained plugin needs a prevResult, which 0.3.1 first carries.
  supportedVersions: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"],
};

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
