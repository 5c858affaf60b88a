/** IP forwarding in the node's namespace, as the reference's ip.EnableForward. */
import type { NetlinkHandle } from "../../netlink/handle.ts";
import { netconfForwarding } from "../../netlink/netconf.ts";
import type { IPConfig } from "../../spec/types.ts";
import { sysctlGet, sysctlSet } from "../../sys/sysctl.ts";
import { failure } from "../../spec/error.ts";
import { familyOfText } from "../../spec/ip.ts";

/** Whether the family forwards: asked by netlink (`h`, the node's), /proc/sys when the kernel does not say. */
function forwarding(h: NetlinkHandle, family: 4 | 6, knob: string): boolean {
  let on: boolean | undefined;
  try {
    on = netconfForwarding(h, family);
  } catch {
    // a kernel without RTM_GETNETCONF for the family: the sysctl tells
  }
  return on ?? sysctlGet(knob) === "1";
}

/**
 * Turns on forwarding for every family in use in the namespace of `h` (never turned
 * off again: others may rely on it). Read through netlink: every /proc/sys open walks
 * a dentry per network namespace on the machine, about 1 ms with a thousand pods.
 */
export function enableForward(ips: IPConfig[], h: NetlinkHandle): void {
  const families = new Set<4 | 6>();
  for (const i of ips) families.add(familyOfText(i.address));
  const knobs = { 4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding" } as const;
  for (const f of families) {
    try {
      if (!forwarding(h, f, knobs[f])) sysctlSet(knobs[f], "1");
    } catch (e) {
      throw failure("Could not enable IP forwarding", e);
    }
  }
}
