/**
 * Applies an IPAM result to an interface inside the container's namespace, as the
 * reference's ipam.ConfigureIface does: every address whose `interface` names it, IPv6
 * enabled first when needed, the link up, duplicate address detection waited for when
 * there is an IPv6 gateway, then the result's routes (via the family's gateway unless
 * the route names one). Shared by ptp, macvlan, host-device and the bridge.
 */
import { addrAdd, waitForDad } from "../../netlink/addr.ts";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkByName, linkSetUp } from "../../netlink/link.ts";
import { routeAddEcmp, type RouteSpec } from "../../netlink/route.ts";
import type { Result } from "../../spec/types.ts";
import type { NetNS } from "../../sys/netns.ts";
import { sysctlGet, sysctlSet } from "../../sys/sysctl.ts";
import { failure } from "../../spec/error.ts";
import { familyOfText, networkOfCIDR } from "../../spec/ip.ts";

/** The reference's settle timeout for IPv6 DAD. */
const DAD_TIMEOUT_MS = 5_000;

/** Sets disable_ipv6=0 on lo and the link, and keep_addr_on_down=1 on the link, so IPv6 addresses can be added and survive a down. */
function enableIPv6(ns: NetNS, ifName: string): void {
  for (const dev of ["lo", ifName]) {
    // Slash form: interface names may hold dots (VLANs).
    const name = `net/ipv6/conf/${dev}/disable_ipv6`;
    let value: string;
    try {
      value = sysctlGet(name, ns);
    } catch {
      // No IPv6 in this kernel: adding the address fails below with a clearer error.
      continue;
    }
    if (value === "0") continue;
    try {
      sysctlSet(name, "0", ns);
    } catch (e) {
      throw failure(`failed to enable IPv6 for interface "${dev}" (${name}=${value})`, e);
    }
  }
  try {
    sysctlSet(`net/ipv6/conf/${ifName}/keep_addr_on_down`, "1", ns);
  } catch (e) {
    throw failure(`failed to enable keep_addr_on_down for interface "${ifName}"`, e);
  }
}

/**
 * Configures `ifName` (reached through `h`, a handle in `ns`) from `result`: addresses,
 * link up, DAD, routes. Throws code 999 naming the step that failed; the caller undoes.
 */
export async function configureIface(h: NetlinkHandle, ns: NetNS, ifName: string, result: Result, opts: { link?: Link } = {}): Promise<void> {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw failure("no interfaces to configure");
  // The caller's lookup of `ifName` when it has one (only its index is used here).
  let link = opts.link;
  try {
    link ??= linkByName(h, ifName);
  } catch (e) {
    throw failure(`failed to lookup "${ifName}"`, e);
  }
  const gw: { 4?: string; 6?: string } = {};
  let ipv6Enabled = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    if (ipc.interface < 0 || ipc.interface >= interfaces.length || interfaces[ipc.interface]!.name !== ifName) {
      throw failure(`failed to add IP addr ${ipc.address} to "${ifName}": invalid interface index`);
    }
    const family = familyOfText(ipc.address);
    if (family === 6 && !ipv6Enabled) {
      enableIPv6(ns, ifName);
      ipv6Enabled = true;
    }
    try {
      addrAdd(h, link, ipc.address);
    } catch (e) {
      throw failure(`failed to add IP addr ${ipc.address} to "${ifName}"`, e);
    }
    if (ipc.gateway) gw[familyOfText(ipc.gateway)] ??= ipc.gateway;
  }
  try {
    linkSetUp(h, link);
  } catch (e) {
    throw failure(`failed to set "${ifName}" UP`, e);
  }
  if (gw[6]) {
    try {
      await waitForDad(h, link, { timeoutMs: DAD_TIMEOUT_MS });
    } catch (e) {
      throw failure(`failed to settle addresses for "${ifName}"`, e);
    }
  }
  for (const r of result.routes ?? []) {
    const spec: RouteSpec = {
      dst: networkOfCIDR(r.dst),
      link,
      // The reference adds routes without a scope, which the kernel takes as universe.
      scope: r.scope ?? 0,
    };
    const via = r.gw ?? gw[familyOfText(r.dst)];
    if (via) spec.gw = via;
    if (r.priority) spec.priority = r.priority;
    if (r.table) spec.table = r.table;
    if (r.mtu) spec.mtu = r.mtu;
    if (r.advmss) spec.advmss = r.advmss;
    try {
      // Another attachment of the pod may have this route already (a default route per
      // network): the reference adds it beside that one rather than failing.
      routeAddEcmp(h, spec);
    } catch (e) {
      throw failure(`failed to add route '${r.dst} via ${via ?? "<nil>"} dev ${ifName}'`, e);
    }
  }
}
