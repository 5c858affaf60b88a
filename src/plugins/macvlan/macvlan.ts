/**
 * macvlan: a macvlan device on a master interface of the node (or, with
 * linkInContainer, of the pod), moved into the pod as CNI_IFNAME. Addresses from IPAM
 * when the config has one, else L2 only. Drop-in for the reference plugin of the same name.
 */
import type { Link, MacvlanMode } from "../../netlink/link-types.ts";
import { linkByIndex, linkFind, linkSetUp } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { routeList } from "../../netlink/route.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { CniError, ErrorCode, errorMessage } from "../../spec/error.ts";
import type { IPAMConfig, NetConf, Result } from "../../spec/types.ts";
import { sysctlSet } from "../../sys/sysctl.ts";
import { checkContainerLink, checkPodL3, containerIface } from "../_shared/check-result.ts";
import { boolField, checkDNS, intField, ipamOf, stringField } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure, invalidConfig } from "../_shared/errors.ts";
import { checkIpamThenPrev, ipamAddFor, ipamIfAny, ipamValidate } from "../_shared/ipam-exec.ts";
import { createInPod, delPodDevice, ipamGc } from "../_shared/pod-device.ts";
import { type ContainerNS, openContainerNS } from "../_shared/netns-open.ts";
import { Rollback } from "../_shared/rollback.ts";
import { validateInterfaceName } from "../../spec/validate.ts";

/** The macvlan config: the standard fields plus these. */
export interface MacvlanConf extends NetConf {
  /** The lower device; "" = the interface of the default route. */
  master: string;
  /** The reference's modes; "bridge" by default. */
  mode: Exclude<MacvlanMode, "source">;
  /** 0 = the kernel's choice (the master's MTU). */
  mtu: number;
  /** From runtimeConfig.mac, else CNI_ARGS MAC, else the config's `mac`; "" = random. */
  mac: string;
  /** The master lives in the pod's namespace. */
  linkInContainer: boolean;
  /** Broadcast queue length; undefined = kernel default. */
  bcqueuelen?: number;
  /** Present when the config names an IPAM type (L3); absent = L2 only. */
  ipam?: IPAMConfig;
}

const MODES = ["bridge", "private", "vepa", "passthru"] as const;

/** Checks a MAC the kernel would take for a macvlan: 6 bytes, unicast, not all zero. */
function checkMac(mac: string): string {
  let b: Uint8Array;
  try {
    b = parseMAC(mac);
  } catch (e) {
    throw invalidConfig(`invalid args ${mac} for MAC addr: ${errorMessage(e)}`);
  }
  if (b.length !== 6 || b[0]! & 1 || b.every((x) => x === 0)) throw invalidConfig(`invalid args ${mac} for MAC addr: not a unicast Ethernet address`);
  return mac.toLowerCase();
}

/** Reads and checks the config; the master and its MTU are checked by resolveMaster. */
export function loadNetConf(args: CmdArgs): MacvlanConf {
  const conf = args.conf;
  checkDNS(conf);
  const master = stringField(conf, "master");
  if (master) {
    try {
      validateInterfaceName(master);
    } catch (e) {
      throw invalidConfig(`Invalid "master" ${JSON.stringify(master)}: ${errorMessage(e)}`);
    }
  }
  const mode = stringField(conf, "mode") || "bridge";
  if (!(MODES as readonly string[]).includes(mode)) throw invalidConfig(`unknown macvlan mode: ${JSON.stringify(mode)}`);
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`invalid MTU ${mtu}: below 68`);
  const bc = conf.bcqueuelen === undefined || conf.bcqueuelen === null ? undefined : intField(conf, "bcqueuelen", { min: 0, max: 0xffffffff });
  // The reference's order: runtimeConfig beats CNI_ARGS, which beats the config.
  let mac = stringField(conf, "mac");
  const envMac = loadArgs(args.args, ["MAC"]).MAC;
  if (envMac) mac = envMac;
  const rc = conf.runtimeConfig?.mac;
  if (rc !== undefined && rc !== null && typeof rc !== "string") throw invalidConfig(`Invalid "runtimeConfig": "mac" must be a string`);
  if (rc) mac = rc;
  if (mac) mac = checkMac(mac);
  const ipam = ipamOf(conf);
  return {
    ...conf,
    master,
    mode: mode as MacvlanConf["mode"],
    mtu,
    mac,
    linkInContainer: boolField(conf, "linkInContainer"),
    ...(bc !== undefined && bc !== 0 ? { bcqueuelen: bc } : {}),
    ipam,
  };
}

/** The interface of the first default route of the main table (v4 first), as the reference picks it. */
function defaultRouteInterface(h: NetlinkHandle): string {
  for (const r of routeList(h)) {
    if (r.dst === undefined && r.linkIndex) return linkByIndex(h, r.linkIndex).name;
  }
  throw failure("no default route interface found");
}

/** The master link (given or the default route's) and its MTU bound; code 7 when the MTU is above it. */
function resolveMaster(conf: MacvlanConf, masterH: NetlinkHandle): Link {
  const name = conf.master || defaultRouteInterface(masterH);
  const link = linkFind(masterH, name);
  if (!link) throw failure(`failed to lookup master "${name}": Link not found`);
  if (conf.mtu > link.mtu) throw invalidConfig(`invalid MTU ${conf.mtu}, must be [0, master MTU(${link.mtu})]`);
  return link;
}

/** The macvlan on `master` (a link of the namespace of `master.h`), made straight in the pod's namespace as CNI_IFNAME. */
function createMacvlan(a: { conf: MacvlanConf; c: ContainerNS; ifName: string; undo: Rollback }, master: { h: NetlinkHandle; link: Link }): Link {
  const { conf } = a;
  const spec = {
    kind: "macvlan",
    parent: master.link.index,
    mode: conf.mode,
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
    ...(conf.mac ? { mac: conf.mac } : {}),
    ...(conf.bcqueuelen !== undefined ? { bcQueueLen: conf.bcqueuelen } : {}),
  } as const;
  return createInPod(spec, { ...a, masterH: master.h });
}

/** Creates the device, then addresses from IPAM or just the link up; undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  using hostH = NetlinkHandle.at();
  const masterH = conf.linkInContainer ? c.h : hostH;
  const master = resolveMaster(conf, masterH);
  if (linkFind(c.h, args.ifName)) throw failure(`interface "${args.ifName}" already exists in netns "${args.netns}"`);
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const link = createMacvlan({ conf, c, ifName: args.ifName, undo }, { h: masterH, link: master });
    const result: Result = { cniVersion: conf.cniVersion, interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }] };
    if (conf.ipam) {
      const ipamResult = await ipamAddFor(conf.ipam.type, args, undo, 0);
      result.ips = ipamResult.ips;
      if (ipamResult.routes) result.routes = ipamResult.routes;
      // Announce the new MAC at once (gratuitous ARP / unsolicited NA), as the reference.
      for (const k of [`net/ipv4/conf/${args.ifName}/arp_notify`, `net/ipv6/conf/${args.ifName}/ndisc_notify`]) {
        try {
          sysctlSet(k, "1", c.ns);
        } catch {
          // best effort, as the reference
        }
      }
      await configureIface(c.h, c.ns, args.ifName, result);
    } else {
      try {
        linkSetUp(c.h, link.index);
      } catch (e) {
        throw failure(`failed to set "${args.ifName}" UP`, e);
      }
    }
    if (conf.dns) result.dns = conf.dns;
    return result;
  });
}

/** Checks IPAM, the master, and that the device still looks as the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  const prev = await checkIpamThenPrev(conf, args);
  const intf = containerIface(prev, args);
  using hostH = NetlinkHandle.at();
  resolveMaster(conf, conf.linkInContainer ? c.h : hostH);
  const link = checkContainerLink(c.h, intf, "macvlan");
  if (link.kind === "macvlan" && link.mode !== conf.mode) throw failure(`container macvlan mode ${link.mode} does not match expected value: ${conf.mode}`);
  checkPodL3(c.h, args.ifName, prev);
}

/** Ready when IPAM is and a master named in the node's namespace exists (code 50 otherwise). */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("STATUS", conf, args);
  if (conf.master && !conf.linkInContainer) {
    using h = NetlinkHandle.at();
    if (!linkFind(h, conf.master)) throw new CniError(ErrorCode.PluginNotAvailable, `master "${conf.master}" not found`);
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "macvlan: a macvlan device on a node interface, moved into the pod (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: cmdStatus } };
