/**
 * The veth pair of an attachment (ptp, bridge): created from the node side with the
 * container end placed straight into the pod's namespace, and found again at DEL by the
 * alias its host end carries, also when the pod's namespace can no longer be opened.
 */
import { createHash, getRandomValues } from "node:crypto";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import { isExists } from "../../netlink/error.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import { linkSetAlias } from "../../netlink/link-set.ts";
import { linkByName, linkFind, linkList, linkSetUp } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import { RT_SCOPE_HOST } from "../../netlink/nl/rtnetlink-consts.ts";
import type { Result } from "../../spec/types.ts";
import type { NetNS } from "../../sys/netns.ts";
import { sysctlSet } from "../../sys/sysctl.ts";
import { failure } from "./errors.ts";
import { ipOfCIDR } from "./ip-util.ts";

/** IFALIASZ - 1. */
const MAX_ALIAS = 255;

/** "veth" and 8 random hex digits, as the reference names host ends (NetworkManager ignores veth*). */
export function randomVethName(): string {
  const b = getRandomValues(new Uint8Array(4));
  return `veth${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** The alias that ties a host end to its attachment; hashed when the ids are too long for an alias. */
export function hostVethAlias(type: string, network: string, containerID: string, ifName: string): string {
  const plain = `cni-ts/${type} ${network} ${containerID} ${ifName}`;
  if (new TextEncoder().encode(plain).length <= MAX_ALIAS) return plain;
  return `cni-ts/${type} ${createHash("sha256").update(`${network}\0${containerID}\0${ifName}`).digest("hex")}`;
}

/** Both ends as created: the host end in the node's namespace, the container end in the pod's. */
export interface VethPair {
  host: Link;
  container: Link;
}

/**
 * Creates the pair (retrying with a random host name when the name is taken), sets the host end up
 * with accept_ra off (we own its routes, as the reference) and tags it with `alias`.
 */
export function setupVeth(hostH: NetlinkHandle, contH: NetlinkHandle, contNs: NetNS, opts: { ifName: string; mtu: number; alias: string; mac?: string; name?: string }): VethPair {
  for (let attempt = 0; ; attempt++) {
    // opts.name first (a name DEL can find again); a random one when it is taken.
    const name = attempt === 0 && opts.name ? opts.name : randomVethName();
    try {
      linkAdd(hostH, {
        kind: "veth",
        name,
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        peer: { name: opts.ifName, ns: contNs, ...(opts.mtu ? { mtu: opts.mtu } : {}), ...(opts.mac ? { mac: opts.mac } : {}) },
      });
    } catch (e) {
      if (isExists(e) && attempt < 10 && linkFind(hostH, name)) continue;
      throw failure(`failed to make veth pair for "${opts.ifName}"`, e);
    }
    try {
      linkSetAlias(hostH, name, opts.alias);
      linkSetUp(hostH, name);
      try {
        sysctlSet(`net/ipv6/conf/${name}/accept_ra`, "0");
      } catch {
        // No IPv6 in this kernel: nothing to turn off.
      }
      return { host: linkByName(hostH, name), container: linkByName(contH, opts.ifName) };
    } catch (e) {
      deleteQuietly(hostH, name);
      throw failure(`failed to set up host veth "${name}"`, e);
    }
  }
}

/** Deletes a link, ignoring that it is gone already. */
export function deleteQuietly(h: NetlinkHandle, name: string | number): void {
  try {
    linkDel(h, name);
  } catch {
    // gone already (a veth takes its peer along)
  }
}

/** Container addresses (/32, /128) routed to the host end: what ADD put there, read back at DEL. */
export function hostRoutedIPs(hostH: NetlinkHandle, veth: Link): string[] {
  return routeList(hostH, { link: veth })
    .filter((r) => r.scope === RT_SCOPE_HOST && r.dst !== undefined && /\/(32|128)$/.test(r.dst))
    .map((r) => r.dst!);
}

/**
 * The host end of this attachment: the veth with our alias or, for pairs the reference
 * plugin made, the prevResult's host interface when it is a veth routing one of the
 * prevResult's addresses (so a recycled name is never taken for ours).
 */
export function findHostVeth(hostH: NetlinkHandle, alias: string, prev: Result | undefined): Link | undefined {
  const tagged = linkList(hostH).find((l) => l.kind === "veth" && l.alias === alias);
  if (tagged) return tagged;
  const hostIface = prev?.interfaces?.find((i) => !i.sandbox && i.name);
  if (!hostIface) return undefined;
  const link = linkFind(hostH, hostIface.name);
  if (!link || link.kind !== "veth") return undefined;
  const routed = new Set(hostRoutedIPs(hostH, link).map(ipOfCIDR));
  return (prev?.ips ?? []).some((ipc) => routed.has(ipOfCIDR(ipc.address))) ? link : undefined;
}
