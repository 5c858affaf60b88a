/**
 * dummy: a dummy device in the pod, named CNI_IFNAME and addressed from IPAM (an
 * address the pod owns without any link to the outside). Drop-in for the reference
 * plugin of the same name.
 */
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import { linkByName } from "../../netlink/link.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { IPAMConfig, NetConf, Result } from "../../spec/types.ts";
import { checkContainerLink, checkInterfaceIPs, containerIface, openForCheck } from "../_shared/check-result.ts";
import { checkDNS, ipamOf } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { ipamAddFor, ipamIfAny, ipamValidate } from "../_shared/ipam-exec.ts";
import { checkIfNameFree, delPodDevice, ipamGc } from "../_shared/pod-device.ts";
import { openContainerNS } from "../_shared/netns-open.ts";
import { Rollback } from "../_shared/rollback.ts";

/** The dummy config: the standard fields, IPAM required. */
export interface DummyConf extends NetConf {
  ipam: IPAMConfig;
}

/** Reads and checks the config. */
export function loadNetConf(args: CmdArgs): DummyConf {
  const conf = args.conf;
  checkDNS(conf);
  const ipam = ipamOf(conf);
  if (!ipam) throw invalidConfig("dummy interface requires an IPAM configuration");
  return { ...conf, ipam };
}

/** Creates the device, addresses it from IPAM; undoes both when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  checkIfNameFree(c, args);
  const type = conf.ipam.type;
  await ipamValidate(type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    try {
      linkAdd(c.h, { kind: "dummy", name: args.ifName });
    } catch (e) {
      throw failure("failed to create dummy", e);
    }
    const link = linkByName(c.h, args.ifName);
    undo.add(`dummy "${args.ifName}"`, () => linkDel(c.h, link.index));
    const ipam = await ipamAddFor(type, args, undo, 0);
    // As the reference: IPAM's routes and DNS pass through; the config's DNS is not added.
    const result: Result = { ...ipam, cniVersion: conf.cniVersion, interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }] };
    await configureIface(c.h, c.ns, args.ifName, result);
    return result;
  });
}

/** Checks IPAM, and that the device and its addresses are what the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf, "dummy: ");
  checkContainerLink(pod.h, containerIface(pod.prev, args), "dummy");
  checkInterfaceIPs(pod.h, args.ifName, pod.prev.ips ?? []);
}

/** Ready when IPAM is. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  await ipamIfAny("STATUS", loadNetConf(args), args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "dummy: a dummy device in the pod, addressed from IPAM (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: cmdStatus } };
