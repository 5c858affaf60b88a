/**
 * macvlan: a macvlan device on a master interface of the node (or, with
 * linkInContainer, of the pod), moved into the pod as CNI_IFNAME. Addresses from IPAM
 * when the config has one, else L2 only. Drop-in for the reference plugin of the same name.
 */
import type { Link, MacvlanMode } from "../../netlink/link-types.ts";
import { linkSetUp } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { errorMessage, failure, invalidConfig } from "../../spec/error.ts";
import type { IPAMConfig, NetConf, Result } from "../../spec/types.ts";
import { checkContainerLink, checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { boolField, checkDNS, ifNameField, intField, ipamOf, requestedMac, stringField } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { ipamAddFor, ipamValidate } from "../_shared/ipam-exec.ts";
import {
  announceMac,
  createInPod,
  defaultRouteInterface,
  delPodDevice,
  findMaster,
  type InPod,
  ipamGc,
  masterStatus,
  openOnMaster,
  podResult,
} from "../_shared/pod-device.ts";
import { Rollback } from "../_shared/rollback.ts";

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
  const master = ifNameField(conf, "master");
  const mode = stringField(conf, "mode") || "bridge";
  if (!(MODES as readonly string[]).includes(mode)) throw invalidConfig(`unknown macvlan mode: ${JSON.stringify(mode)}`);
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`invalid MTU ${mtu}: below 68`);
  const bc = conf.bcqueuelen === undefined || conf.bcqueuelen === null ? undefined : intField(conf, "bcqueuelen", { min: 0, max: 0xffffffff });
  // The reference's order: runtimeConfig beats CNI_ARGS, which beats the config.
  let mac = requestedMac(args);
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

/** The master link (given or the default route's) and its MTU bound. */
function resolveMaster(conf: MacvlanConf, masterH: NetlinkHandle): Link {
  return findMaster(masterH, conf.master || defaultRouteInterface(masterH), conf);
}

/** The macvlan on the master, made straight in the pod's namespace as CNI_IFNAME. */
function createMacvlan(conf: MacvlanConf, at: InPod & { master: Link }): Link {
  const spec = {
    kind: "macvlan",
    parent: at.master.index,
    mode: conf.mode,
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
    ...(conf.mac ? { mac: conf.mac } : {}),
    ...(conf.bcqueuelen !== undefined ? { bcQueueLen: conf.bcqueuelen } : {}),
  } as const;
  return createInPod(spec, at);
}

/** Creates the device, then addresses from IPAM or just the link up; undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using at = openOnMaster(args, (masterH) => resolveMaster(conf, masterH), conf);
  const { c } = at;
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const link = createMacvlan(conf, { ...at, ifName: args.ifName, undo });
    const iface = { name: args.ifName, mac: link.mac, sandbox: args.netns };
    if (!conf.ipam) {
      try {
        linkSetUp(c.h, link.index);
      } catch (e) {
        throw failure(`failed to set "${args.ifName}" UP`, e);
      }
      return podResult(conf, iface);
    }
    const result = podResult(conf, iface, await ipamAddFor(conf.ipam.type, args, undo, 0));
    announceMac(c, args.ifName);
    await configureIface(c.h, c.ns, args.ifName, result);
    return result;
  });
}

/** Checks IPAM, the master, and that the device still looks as the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf);
  const { conf, prev } = pod;
  const intf = containerIface(prev, args);
  using hostH = NetlinkHandle.at();
  resolveMaster(conf, conf.linkInContainer ? pod.h : hostH);
  const link = checkContainerLink(pod.h, intf, "macvlan");
  if (link.kind === "macvlan" && link.mode !== conf.mode) throw failure(`container macvlan mode ${link.mode} does not match expected value: ${conf.mode}`);
  checkPodL3(pod.h, args.ifName, prev);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "macvlan: a macvlan device on a node interface, moved into the pod (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: masterStatus(loadNetConf) } };
