/**
 * host-device: moves an existing device of the node into the pod as CNI_IFNAME (its
 * node name kept in its alias) and back on DEL. Addresses from IPAM when the config has
 * one. Devices bound to a user-space (DPDK) driver are not moved, only reported.
 * Drop-in for the reference plugin of the same name.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { linkFind } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { IPAMConfig, Interface, NetConf, Result } from "../../spec/types.ts";
import { validateInterfaceName } from "../../spec/validate.ts";
import { NetNS } from "../../sys/netns.ts";
import { checkContainerLink, checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { checkDNS, ipamOf, stringField } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { ipamAddFor, ipamIfAny, ipamValidate } from "../_shared/ipam-exec.ts";
import { checkIfNameFree, podResult } from "../_shared/pod-device.ts";
import { openContainerNS, openContainerNSIfAny } from "../_shared/netns-open.ts";
import { Rollback } from "../_shared/rollback.ts";
import { bestEffort, delIpam } from "../_shared/del-conf.ts";
import { AUX_NAME, type DeviceRef, findHostDevice, hasDpdkDriver, PCI_ADDRESS, SYS_BUS_AUXILIARY, SYS_BUS_PCI } from "./_find.ts";
import { moveLinkIn, moveLinkOut, openTempNS } from "./_move.ts";
import { errorMessage, invalidConfig } from "../../spec/error.ts";

/** The host-device config: the standard fields plus where the device is. */
export interface HostDeviceConf extends NetConf, DeviceRef {
  /** The PCI device is bound to a user-space driver: nothing to move. */
  dpdkMode: boolean;
  ipam?: IPAMConfig;
}

/** runtimeConfig.deviceID (a PCI or auxiliary device, as a device plugin hands it over) overrides the config. */
function applyDeviceID(conf: NetConf, ref: DeviceRef): void {
  const id = conf.runtimeConfig?.deviceID;
  if (id === undefined || id === null || id === "") return;
  if (typeof id !== "string" || !AUX_NAME.test(id)) throw invalidConfig(`Invalid "runtimeConfig": "deviceID" ${JSON.stringify(id)}`);
  if (PCI_ADDRESS.test(id) && existsSync(join(SYS_BUS_PCI, id))) {
    ref.pciBusID = id;
  } else if (existsSync(join(SYS_BUS_AUXILIARY, id))) {
    ref.pciBusID = "";
    ref.auxDevice = id;
  } else {
    throw invalidConfig(`runtime config DeviceID ${id} not found or unsupported`);
  }
}

/** Reads and checks the config: one way to find the device, each checked before it reaches the kernel or the disk. */
export function loadNetConf(args: CmdArgs): HostDeviceConf {
  const conf = args.conf;
  checkDNS(conf);
  const ref: DeviceRef = {
    device: stringField(conf, "device"),
    hwaddr: stringField(conf, "hwaddr"),
    kernelpath: stringField(conf, "kernelpath"),
    pciBusID: stringField(conf, "pciBusID"),
    auxDevice: "",
  };
  applyDeviceID(conf, ref);
  if (!ref.device && !ref.hwaddr && !ref.kernelpath && !ref.pciBusID && !ref.auxDevice) {
    throw invalidConfig(`specify either "device", "hwaddr", "kernelpath" or "pciBusID"`);
  }
  if (ref.device) {
    try {
      validateInterfaceName(ref.device);
    } catch (e) {
      throw invalidConfig(`Invalid "device" ${JSON.stringify(ref.device)}: ${errorMessage(e)}`);
    }
  }
  if (ref.hwaddr) {
    try {
      parseMAC(ref.hwaddr);
    } catch (e) {
      throw invalidConfig(`failed to parse MAC address ${JSON.stringify(ref.hwaddr)}: ${errorMessage(e)}`);
    }
  }
  if (ref.kernelpath && (!isAbsolute(ref.kernelpath) || !normalize(ref.kernelpath).startsWith("/sys/devices/") || ref.kernelpath.split("/").includes(".."))) {
    throw invalidConfig(`kernel device path ${JSON.stringify(ref.kernelpath)} must be absolute and begin with /sys/devices/`);
  }
  if (ref.pciBusID && !PCI_ADDRESS.test(ref.pciBusID))
    throw invalidConfig(`Invalid "pciBusID" ${JSON.stringify(ref.pciBusID)}: not a PCI address like 0000:00:1f.6`);
  const dpdkMode = ref.pciBusID ? hasDpdkDriver(ref.pciBusID) : false;
  return { ...conf, ...ref, dpdkMode, ipam: ipamOf(conf) };
}

/** Moves the device in (unless DPDK), then applies IPAM; undoes both when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  using hostH = NetlinkHandle.at();
  using hostNs = NetNS.current();
  const iface: Interface = { name: args.ifName, sandbox: args.netns };
  const dev = conf.dpdkMode ? undefined : findHostDevice(hostH, conf);
  if (dev) checkIfNameFree(c, args);
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  using tmp = openTempNS();
  const undo = new Rollback();
  return await undo.guard(async () => {
    if (dev) {
      const moved = moveLinkIn({ hostH, hostNs, pod: c, tmp }, dev, args.ifName, undo);
      if (moved.mac) iface.mac = moved.mac;
    }
    // Without IPAM the reference prints the link alone, no DNS.
    if (!conf.ipam) return { cniVersion: conf.cniVersion, interfaces: [iface] };
    const result = podResult(conf, iface, await ipamAddFor(conf.ipam.type, args, undo, 0));
    if (dev) await configureIface(c.h, c.ns, args.ifName, result);
    return result;
  });
}

/** Checks IPAM and that the device in the pod looks as the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf);
  if (pod.conf.dpdkMode) return;
  checkContainerLink(pod.h, containerIface(pod.prev, args));
  checkPodL3(pod.h, args.ifName, pod.prev);
}

/**
 * Releases the addresses and moves the device back under its node name. Succeeds when
 * the namespace or the device is gone (a virtual device dies with its namespace, a
 * physical one goes back to the initial namespace by itself).
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Only what teardown needs: the device to give back is the pod's CNI_IFNAME.
  await ipamIfAny("DEL", { ipam: delIpam(args.conf) }, args);
  if (bestEffort(() => loadNetConf(args).dpdkMode, false)) return;
  using c = openContainerNSIfAny(args.netns);
  if (!c) return;
  const dev = linkFind(c.h, args.ifName);
  if (!dev) return;
  using hostNs = NetNS.current();
  using tmp = openTempNS();
  await moveLinkOut({ hostNs, pod: c, tmp }, dev);
}

/** IPAM's leases are what outlives a container. */
async function cmdGc(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("GC", conf, args);
}

/** Ready when IPAM is. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("STATUS", conf, args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "host-device: moves a device of the node into the pod and back (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
