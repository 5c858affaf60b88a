/**
 * ipvlan: an ipvlan device on a master interface of the node (or, with linkInContainer,
 * of the pod), moved into the pod as CNI_IFNAME. Addresses from IPAM, or, chained
 * without IPAM, from the previous result (whose single interface is then the default
 * master). Drop-in for the reference plugin of the same name.
 */
import type { IpvlanFlag, IpvlanMode, Link } from "../../netlink/link-types.ts";
import { linkFind } from "../../netlink/link.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { IPAMConfig, NetConf, Result } from "../../spec/types.ts";
import { checkContainerLink, checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { boolField, checkDNS, ifNameField, intField, ipamOf, stringField } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
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

/** The ipvlan config: the standard fields plus these. */
export interface IpvlanConf extends NetConf {
  /** The lower device; "" = the prevResult's single interface, else the interface of the default route. */
  master: string;
  /** "l2" by default, as the reference. */
  mode: IpvlanMode;
  /** cni-ts only: "bridge" (the reference's, always), "private" or "vepa". */
  flag: IpvlanFlag;
  /** 0 = the kernel's choice (the master's MTU). */
  mtu: number;
  /** The master lives in the pod's namespace. */
  linkInContainer: boolean;
  ipam?: IPAMConfig;
}

const MODES: Record<string, IpvlanMode> = { "": "l2", l2: "l2", l3: "l3", l3s: "l3s" };
const FLAGS: readonly IpvlanFlag[] = ["bridge", "private", "vepa"];

/** Reads and checks the config; the master (which may come from the prevResult) is resolved by masterName. */
export function loadNetConf(args: CmdArgs): IpvlanConf {
  const conf = args.conf;
  checkDNS(conf);
  const master = ifNameField(conf, "master");
  const modeText = stringField(conf, "mode");
  const mode = MODES[modeText];
  // A plain error in the reference: code 999.
  if (!mode) throw failure(`unknown ipvlan mode: ${JSON.stringify(modeText)}`);
  const flag = (stringField(conf, "flag") || "bridge") as IpvlanFlag;
  if (!FLAGS.includes(flag)) throw failure(`unknown ipvlan flag: ${JSON.stringify(flag)}`);
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`invalid MTU ${mtu}: below 68`);
  return { ...conf, master, mode, flag, mtu, linkInContainer: boolField(conf, "linkInContainer"), ipam: ipamOf(conf) };
}

/** The master's name: the config's, else the prevResult's only interface, else the default route's. */
function masterName(conf: IpvlanConf, args: CmdArgs, masterH: NetlinkHandle): string {
  if (conf.master) return conf.master;
  const prev = args.prevResult;
  if (!prev) return defaultRouteInterface(masterH);
  const ifs = prev.interfaces ?? [];
  if (ifs.length === 1 && ifs[0]!.name) return ifs[0]!.name;
  throw failure("chained master failure. PrevResult lacks a single named interface");
}

/** The ipvlan on the master, made straight in the pod's namespace as CNI_IFNAME. */
function createIpvlan(conf: IpvlanConf, at: InPod & { master: Link }): Link {
  const spec = {
    kind: "ipvlan",
    parent: at.master.index,
    mode: conf.mode,
    ...(conf.flag !== "bridge" ? { flag: conf.flag } : {}),
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
  } as const;
  return createInPod(spec, at);
}

/** Creates the device, addresses it from IPAM (or the prevResult), undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using at = openOnMaster(args, (masterH) => findMaster(masterH, masterName(conf, args, masterH), conf), conf);
  const { c } = at;
  // Chained without IPAM: the previous plugin's addresses go on the new device.
  const fromPrev = !conf.ipam && (args.prevResult?.ips?.length ?? 0) > 0;
  if (!conf.ipam && !fromPrev) throw invalidConfig("ipvlan needs an IPAM section, or a prevResult with IPs when chained");
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const link = createIpvlan(conf, { ...at, ifName: args.ifName, undo });
    const prev = args.prevResult!;
    const ipam = conf.ipam ? await ipamAddFor(conf.ipam.type, args, undo, 0) : { ips: prev.ips!.map((ipc) => ({ ...ipc, interface: 0 })), routes: prev.routes };
    const result = podResult(conf, { name: args.ifName, mac: link.mac, sandbox: args.netns }, ipam);
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
  const masterH = conf.linkInContainer ? pod.h : hostH;
  if (conf.master && !linkFind(masterH, conf.master)) throw failure(`failed to lookup master "${conf.master}": Link not found`);
  const link = checkContainerLink(pod.h, intf, "ipvlan");
  if (link.kind === "ipvlan" && link.mode !== conf.mode) throw failure(`Container IPVlan mode ${link.mode} does not match expected value: ${conf.mode}`);
  checkPodL3(pod.h, args.ifName, prev);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "ipvlan: an ipvlan device on a node interface, moved into the pod (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: delPodDevice, gc: ipamGc(loadNetConf), status: masterStatus(loadNetConf) } };
