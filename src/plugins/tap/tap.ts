/**
 * tap: a persistent tap device in the pod, named CNI_IFNAME, for a VM monitor inside
 * the pod to attach to; optionally owned by a user and group, multi-queue, a port of a
 * bridge of the pod, and addressed from IPAM. Drop-in for the reference plugin of the
 * same name.
 */
import { existsSync } from "node:fs";
import { linkDel } from "../../netlink/link-add.ts";
import { linkSetMac, linkSetMaster, linkSetMtu, linkSetName } from "../../netlink/link-set.ts";
import { linkByIndex, linkByName, linkFind, linkSetUp } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { IPAMConfig, NetConf, Result } from "../../spec/types.ts";
import { tuntapAdd } from "../../sys/tun.ts";
import { checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { boolField, checkDNS, ifNameField, intField, ipamOf, requestedMac, stringField } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { ipamAddFor, ipamIfAny, ipamValidate } from "../_shared/ipam-exec.ts";
import { announceMac, checkIfNameFree, delPodDevice, ipamGc, podResult } from "../_shared/pod-device.ts";
import { type ContainerNS, openContainerNS } from "../_shared/netns-open.ts";
import { Rollback } from "../_shared/rollback.ts";

/** The tap config: the standard fields plus these. */
export interface TapConf extends NetConf {
  multiQueue: boolean;
  /** 0 = the kernel's (1500). */
  mtu: number;
  /** From runtimeConfig.mac, else CNI_ARGS MAC, else the config's `mac`; "" = random. */
  mac: string;
  owner?: number;
  group?: number;
  selinuxContext: string;
  /** A bridge in the pod's namespace the tap becomes a port of. */
  bridge: string;
  ipam?: IPAMConfig;
}

const optionalId = (conf: Record<string, unknown>, field: string) =>
  conf[field] === undefined || conf[field] === null ? undefined : intField(conf, field, { min: 0, max: 0xffffffff });

/** Reads and checks the config. */
export function loadNetConf(args: CmdArgs): TapConf {
  const conf = args.conf;
  checkDNS(conf);
  const mac = requestedMac(args);
  if (mac) {
    try {
      if (parseMAC(mac).length !== 6) throw new RangeError("not 6 bytes");
    } catch (e) {
      throw invalidConfig(`invalid args ${mac} for MAC addr: ${(e as Error).message}`);
    }
  }
  const bridge = ifNameField(conf, "bridge");
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`invalid MTU ${mtu}: below 68`);
  return {
    ...conf,
    multiQueue: boolField(conf, "multiQueue"),
    mtu,
    mac: mac.toLowerCase(),
    owner: optionalId(conf, "owner"),
    group: optionalId(conf, "group"),
    selinuxContext: stringField(conf, "selinuxContext"),
    bridge,
    ipam: ipamOf(conf),
  };
}

const selinuxEnabled = () => existsSync("/sys/fs/selinux/enforce");

function tempName(): string {
  return `tap${Array.from(crypto.getRandomValues(new Uint8Array(4)), (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** Makes the tap under a temporary name, sets MTU and MAC, names it CNI_IFNAME, joins the bridge, sets it up. */
function createTap(conf: TapConf, c: ContainerNS, ifName: string, undo: Rollback) {
  const tmp = tempName();
  // The reference's two ways: with owner and group through netlink (vnet_hdr on), else as `ip tuntap add`.
  const vnetHdr = conf.owner !== undefined && conf.group !== undefined && !conf.selinuxContext;
  try {
    tuntapAdd(tmp, { mode: "tap", multiQueue: conf.multiQueue, vnetHdr, owner: conf.owner, group: conf.group, ns: c.ns });
  } catch (e) {
    throw failure("failed to create tap", e);
  }
  const made = linkByName(c.h, tmp);
  undo.add(`tap "${ifName}"`, () => linkDel(c.h, made.index));
  try {
    if (conf.mtu) linkSetMtu(c.h, made.index, conf.mtu);
    if (conf.mac) linkSetMac(c.h, made.index, conf.mac);
  } catch (e) {
    throw failure("failed to set up tap", e);
  }
  try {
    linkSetName(c.h, made.index, ifName);
  } catch (e) {
    throw failure(`failed to rename tap to "${ifName}"`, e);
  }
  if (conf.bridge) {
    const br = linkFind(c.h, conf.bridge);
    if (!br) throw failure(`failed to get bridge ${conf.bridge}: Link not found`);
    try {
      linkSetMaster(c.h, made.index, br.index);
    } catch (e) {
      throw failure(`failed to set tap ${ifName} as a port of bridge ${conf.bridge}`, e);
    }
  }
  try {
    linkSetUp(c.h, made.index);
  } catch (e) {
    throw failure("failed to set tap interface up", e);
  }
  return linkByIndex(c.h, made.index);
}

/** Creates the tap, addresses from IPAM when configured; undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  // Labelling the device needs the creating task's SELinux exec label (the reference runs `ip` under it).
  if (conf.selinuxContext && selinuxEnabled())
    throw failure(`failed set socket label: selinuxContext ${JSON.stringify(conf.selinuxContext)} is not supported by cni-ts on SELinux hosts`);
  using c = openContainerNS(args.netns);
  checkIfNameFree(c, args);
  if (conf.bridge && !linkFind(c.h, conf.bridge)) throw failure(`failed to get bridge ${conf.bridge}: Link not found`);
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const link = createTap(conf, c, args.ifName, undo);
    const iface = { name: args.ifName, mac: link.mac, sandbox: args.netns };
    if (!conf.ipam) return podResult(conf, iface);
    const result = podResult(conf, iface, await ipamAddFor(conf.ipam.type, args, undo, 0));
    announceMac(c, args.ifName, { v4Only: true });
    await configureIface(c.h, c.ns, args.ifName, result);
    return result;
  });
}

/** Checks IPAM, and that the prevResult's addresses and routes are in the pod. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf);
  containerIface(pod.prev, args);
  checkPodL3(pod.h, args.ifName, pod.prev);
}

/** Ready when IPAM is. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("STATUS", conf, args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "tap: a tap device in the pod, for a VM monitor to attach to (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: cmdStatus } };
