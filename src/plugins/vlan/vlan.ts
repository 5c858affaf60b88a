/**
 * vlan: an 802.1Q VLAN device on a master interface of the node (or, with
 * linkInContainer, of the pod), moved into the pod as CNI_IFNAME and addressed from
 * IPAM. Drop-in for the reference plugin of the same name.
 */
import type { Link } from "../../netlink/link-types.ts";
import { linkFind } from "../../netlink/link.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, failure, invalidConfig } from "../../spec/error.ts";
import type { IPAMConfig, IPConfig, NetConf, Result } from "../../spec/types.ts";
import { checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { boolField, checkDNS, ifNameField, intField, ipamOf } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { ipamAddFor, ipamValidate } from "../_shared/ipam-exec.ts";
import { createInPod, delPodDevice, type InPod, ipamGc, masterStatus, openOnMaster, podResult } from "../_shared/pod-device.ts";
import { Rollback } from "../_shared/rollback.ts";

/** The vlan config: the standard fields plus these. */
export interface VlanConf extends NetConf {
  /** The lower device (required). */
  master: string;
  /** 0..4094. */
  vlanId: number;
  /** 0 = the master's MTU. */
  mtu: number;
  /** The master lives in the pod's namespace. */
  linkInContainer: boolean;
  ipam?: IPAMConfig;
}

/** Reads and checks the config (the MTU against the master's is checked by resolveMaster). */
export function loadNetConf(args: CmdArgs): VlanConf {
  const conf = args.conf;
  checkDNS(conf);
  const master = ifNameField(conf, "master");
  // Plain errors in the reference: code 999.
  if (!master) throw failure(`"master" field is required. It specifies the host interface name to create the VLAN for.`);
  const vlanId = intField(conf, "vlanId", { min: -(2 ** 31), max: 2 ** 31 - 1 });
  if (vlanId < 0 || vlanId > 4094) throw failure(`invalid VLAN ID ${vlanId} (must be between 0 and 4095 inclusive)`);
  const mtu = intField(conf, "mtu", { min: -(2 ** 31), max: 2 ** 31 - 1 });
  return { ...conf, master, vlanId, mtu, linkInContainer: boolField(conf, "linkInContainer"), ipam: ipamOf(conf) };
}

/** The master, with the MTU bound the reference checks: [0, master MTU]. */
function resolveMaster(conf: VlanConf, masterH: NetlinkHandle): Link {
  const link = linkFind(masterH, conf.master);
  // The reference reads the master's MTU first and returns that lookup's bare error.
  if (!link) throw failure("Link not found");
  if (conf.mtu < 0 || conf.mtu > link.mtu) throw failure(`invalid MTU ${conf.mtu}, must be [0, master MTU(${link.mtu})]`);
  return link;
}

/** The VLAN device on the master, made straight in the pod's namespace as CNI_IFNAME. */
function createVlan(conf: VlanConf, at: InPod & { master: Link }): Link {
  return createInPod({ kind: "vlan", parent: at.master.index, vlanId: conf.vlanId, ...(conf.mtu ? { mtu: conf.mtu } : {}) }, at);
}

/** IPAM's ADD, its error wrapped into a plain one (code 999) as the reference, its details after "; ". */
async function vlanIpamAdd(type: string, args: CmdArgs, undo: Rollback): Promise<Result & { ips: IPConfig[] }> {
  try {
    return await ipamAddFor(type, args, undo, 0);
  } catch (e) {
    if (e instanceof CniError && e.message === "IPAM plugin returned missing IP config") throw e;
    const details = e instanceof CniError && e.details ? `; ${e.details}` : "";
    throw new CniError(ErrorCode.Internal, `failed to execute IPAM delegate: ${(e as Error).message}${details}`, { cause: e });
  }
}

/** Creates the device and addresses it from IPAM; undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using at = openOnMaster(args, (masterH) => resolveMaster(conf, masterH), conf);
  const { c } = at;
  if (!conf.ipam) throw invalidConfig("vlan needs an IPAM section");
  const type = conf.ipam.type;
  await ipamValidate(type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const link = createVlan(conf, { ...at, ifName: args.ifName, undo });
    const result = podResult(conf, { name: args.ifName, mac: link.mac, sandbox: args.netns }, await vlanIpamAdd(type, args, undo));
    await configureIface(c.h, c.ns, args.ifName, result);
    return result;
  });
}

/** Checks IPAM, the master, and that the device is the VLAN (id, MTU, MAC) the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf, "vlan: ");
  const { conf, prev } = pod;
  const intf = containerIface(prev, args);
  using hostH = NetlinkHandle.at();
  if (!linkFind(conf.linkInContainer ? pod.h : hostH, conf.master)) throw failure(`failed to lookup master "${conf.master}": Link not found`);
  if (!intf.name) throw failure(`Container interface name missing in prevResult: ${intf.name}`);
  const link = linkFind(pod.h, intf.name);
  if (!link) throw failure(`vlan: Container Interface name in prevResult: ${intf.name} not found`);
  if (!intf.sandbox) throw failure(`vlan: Error: Container interface ${link.name} should not be in host namespace`);
  if (link.kind !== "vlan") throw failure(`Error: Container interface ${link.name} not of type vlan`);
  if (intf.mac && intf.mac.toLowerCase() !== link.mac.toLowerCase())
    throw failure(`vlan: Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`);
  // The reference's wording, tuning's words included.
  if (link.vlanId !== conf.vlanId) throw failure(`Error: Tuning link ${intf.name} configured promisc is ${conf.vlanId}, current value is ${link.vlanId}`);
  if (conf.mtu !== 0 && conf.mtu !== link.mtu) throw failure(`Error: Tuning configured MTU of ${intf.name} is ${conf.mtu}, current value is ${link.mtu}`);
  checkPodL3(pod.h, args.ifName, prev);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "vlan: an 802.1Q VLAN device on a node interface, moved into the pod (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: masterStatus(loadNetConf) } };
