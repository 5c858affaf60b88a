/**
 * How host-device finds the node's device, as the reference does: by name, by MAC (the
 * first link with it), by kernel path (the first entry of <path>/net) or by PCI address
 * (<pci>/net or <pci>/virtio*\/net). Paths are checked before they reach the disk.
 */
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { basename, join, normalize } from "node:path";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkByName, linkList } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import { failure } from "../../spec/error.ts";

export const SYS_BUS_PCI = "/sys/bus/pci/devices";
export const SYS_BUS_AUXILIARY = "/sys/bus/auxiliary/devices";

/** Drivers that hand the device to user space (DPDK): it has no netdev to move. */
const USERSPACE_DRIVERS = ["vfio-pci", "uio_pci_generic", "igb_uio"];

/** "0000:00:1f.6" (domain:bus:device.function). */
export const PCI_ADDRESS = /^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

/** An auxiliary device name ("mlx5_core.sf.4"): one path component. */
export const AUX_NAME = /^[A-Za-z0-9_.:\-]+$/;

/** True when the PCI device is bound to a user-space driver; fails when it has no driver, as the reference. */
export function hasDpdkDriver(pci: string): boolean {
  let driver: string;
  try {
    driver = realpathSync(join(SYS_BUS_PCI, pci, "driver"));
  } catch (e) {
    throw failure("error with host device", e);
  }
  return USERSPACE_DRIVERS.includes(basename(driver));
}

/** The first network device listed under a sysfs `net` directory. */
function linkFromPath(h: NetlinkHandle, dir: string): Link {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (e) {
    throw failure(`failed to read directory ${dir}`, e);
  }
  if (entries.length === 0) throw failure(`failed to find network device in path ${dir}`);
  return linkByName(h, entries[0]!);
}

/** Where the device is named in a config. */
export interface DeviceRef {
  device: string;
  hwaddr: string;
  kernelpath: string;
  pciBusID: string;
  auxDevice: string;
}

/** Finds the device in the node's namespace, in the reference's order of precedence. */
export function findHostDevice(h: NetlinkHandle, ref: DeviceRef): Link {
  try {
    if (ref.device) return linkByName(h, ref.device);
    if (ref.hwaddr) {
      const mac = parseMAC(ref.hwaddr).join(",");
      const found = linkList(h).find((l) => l.mac !== "" && parseMAC(l.mac).join(",") === mac);
      if (found) return found;
      throw failure(`no link with hardware address ${ref.hwaddr}`);
    }
    if (ref.kernelpath) return linkFromPath(h, join(normalize(ref.kernelpath), "net"));
    if (ref.pciBusID) {
      let dir = join(SYS_BUS_PCI, ref.pciBusID, "net");
      if (!existsSync(dir)) {
        const virtio = readdirSafe(join(SYS_BUS_PCI, ref.pciBusID)).find(
          (e) => e.startsWith("virtio") && existsSync(join(SYS_BUS_PCI, ref.pciBusID, e, "net")),
        );
        if (!virtio) throw failure(`no net directory under pci device ${ref.pciBusID}`);
        dir = join(SYS_BUS_PCI, ref.pciBusID, virtio, "net");
      }
      return linkFromPath(h, dir);
    }
    if (ref.auxDevice) return linkFromPath(h, join(SYS_BUS_AUXILIARY, ref.auxDevice, "net"));
  } catch (e) {
    throw failure("failed to find host device", e);
  }
  throw failure("failed to find host device: failed to find physical interface");
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
