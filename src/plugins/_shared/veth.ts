/**
 * The veth pair of an attachment (ptp, bridge): created from the node side with the
 * container end placed straight into the pod's namespace, and found again at DEL without
 * the pod's namespace. The reference names host ends at random and finds them only
 * through the pod's end, so a pair whose namespace path is gone (while something still
 * holds the namespace) stays behind. We name the host end after the attachment and tag
 * it with an alias; either finds it, whatever point an ADD was killed at (the kernel
 * takes no alias in the message that creates a link, so a pair can exist untagged for a
 * moment: its name still tells).
 */
import type { NetlinkHandle } from "../../netlink/handle.ts";
import { isExists } from "../../netlink/error.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkAdd, linkDel, linkDelIfExists, linkDelUnwaited } from "../../netlink/link-add.ts";
import { linkSetAlias } from "../../netlink/link-set.ts";
import { DEVCONF_DISABLE_IPV6, IFF_UP, ipv6AcceptRa, ipv6Conf, linkByName, linkFind, linkList } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import { RT_SCOPE_HOST } from "../../netlink/route.ts";
import type { Result } from "../../spec/types.ts";
import type { NetNS } from "../../sys/netns.ts";
import { sysctlWriteIn } from "../../sys/sysctl.ts";
import { failure } from "../../spec/error.ts";
import type { ContainerNS } from "./netns-open.ts";
import { ipOfCIDR } from "../../spec/ip.ts";

/** IFALIASZ - 1. */
const MAX_ALIAS = 255;

/** "veth" and 8 random hex digits, as the reference names host ends (NetworkManager ignores veth*). */
export function randomVethName(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return `veth${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** Whose host end it is: the plugin type, the network and the attachment's ids. */
export interface VethOwner {
  type: string;
  network: string;
  containerID: string;
  ifName: string;
}

/** The alias that ties a host end to its attachment; hashed when the ids are too long for an alias. */
function hostVethAlias(o: VethOwner): string {
  const plain = `cni-ts/${o.type} ${o.network} ${o.containerID} ${o.ifName}`;
  if (new TextEncoder().encode(plain).length <= MAX_ALIAS) return plain;
  return `cni-ts/${o.type} ${new Bun.CryptoHasher("sha256").update(`${o.network}\0${o.containerID}\0${o.ifName}`).digest("hex")}`;
}

/** "veth" and 8 hex digits of a hash of the attachment: the same shape as the reference's random names. */
export function hostVethName(o: VethOwner): string {
  const digest = new Bun.CryptoHasher("sha256").update(`cni-ts/${o.type}\0${o.network}\0${o.containerID}\0${o.ifName}`).digest("hex");
  return `veth${digest.slice(0, 8)}`;
}

/** Both ends as created: the host end in the node's namespace, the container end in the pod's. */
export interface VethPair {
  host: Link;
  container: Link;
}

/**
 * The host end's IPv6 settings, made before it is up: accept_ra off (we own its routes,
 * as the reference), and on a bridge port IPv6 off altogether. A port carries the pods'
 * frames, never IP of its own; with IPv6 on it takes a link-local address and three
 * routes in the node's table (fe80::/64, its address, ff00::/8), and the kernel walks
 * that whole table at each event of each port (its carrier, its alias, its deletion):
 * O(pods) per pod on a full node. Its link-local address also sends its own DAD, MLD
 * and router solicitations into the pod. (The reference leaves IPv6 on; LXD turns it
 * off on bridged host ends, as here.) Without IPv6 in the kernel there is nothing to set.
 */
function hostEndIPv6(name: string, host: Link, bridgePort: boolean): void {
  const knobs: [string, string][] = [];
  if (bridgePort && ipv6Conf(host, DEVCONF_DISABLE_IPV6) !== 1) knobs.push(["disable_ipv6", "1"]);
  // Unless the node's default has it off already (its value came with the lookup).
  if (ipv6AcceptRa(host) !== 0) knobs.push(["accept_ra", "0"]);
  if (!knobs.length) return;
  try {
    sysctlWriteIn(`net/ipv6/conf/${name}`, knobs);
  } catch {
    // No IPv6 in this kernel: nothing to turn off.
  }
}

/**
 * Creates the pair (retrying with a random host name when the name is taken), makes the
 * host end's IPv6 settings (hostEndIPv6; `bridgePort`: it is to be a bridge's port), sets
 * it up and tags it with `alias`.
 */
export function setupVeth(
  hostH: NetlinkHandle,
  contH: NetlinkHandle,
  contNs: NetNS,
  opts: { owner: VethOwner; mtu: number; mac?: string; bridgePort?: boolean },
): VethPair {
  const ifName = opts.owner.ifName;
  const alias = hostVethAlias(opts.owner);
  for (let attempt = 0; ; attempt++) {
    // The attachment's name first (DEL can find it again); a random one when it is taken.
    const name = attempt === 0 ? hostVethName(opts.owner) : randomVethName();
    try {
      linkAdd(hostH, {
        kind: "veth",
        name,
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        peer: { name: ifName, ns: contNs, ...(opts.mtu ? { mtu: opts.mtu } : {}), ...(opts.mac ? { mac: opts.mac } : {}) },
      });
    } catch (e) {
      if (isExists(e) && attempt < 10 && linkFind(hostH, name)) continue;
      throw failure(`failed to make veth pair for "${ifName}"`, e);
    }
    try {
      // One lookup, then the alias and up in one request (each by name would look it up again).
      // An alias is a NETDEV_CHANGE, for which IPv6 walks the namespace's routes (O(pods) on
      // a full node) unless IPv6 is off on the link, so the IPv6 settings come first.
      const host = linkByName(hostH, name);
      hostEndIPv6(name, host, opts.bridgePort === true);
      linkSetAlias(hostH, host, alias, { up: true });
      host.alias = alias;
      host.flags |= IFF_UP;
      return { host, container: linkByName(contH, ifName) };
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

/** Deletes a link; one already gone (deleting the pod's end takes its peer along) is fine, other failures throw. */
export function deleteUnlessGone(h: NetlinkHandle, index: number): void {
  linkDelIfExists(h, index);
}

/** Container addresses (/32, /128) routed to the host end: what ADD put there, read back at DEL. */
function hostRoutedIPs(hostH: NetlinkHandle, veth: Link): string[] {
  return routeList(hostH, { link: veth })
    .filter((r) => r.scope === RT_SCOPE_HOST && r.dst !== undefined && /\/(32|128)$/.test(r.dst))
    .map((r) => r.dst!);
}

/** True when `l` (in the node) and `podEnd` (in the pod) are the two ends of one pair. */
function peers(l: Link, podEnd: Link | undefined): boolean {
  return podEnd !== undefined && l.index === podEnd.parentIndex && l.parentIndex === podEnd.index;
}

/**
 * The host ends of the attachment that deleting `podEnd` (when the pod still has it)
 * does not take along. Usually the pod end's peer carries our name: ADD names a host
 * end otherwise only when the name is taken, so no other end can be ours and one
 * lookup tells (listing every link costs milliseconds per hundred pods).
 */
export function strayHostVeths(h: NetlinkHandle, owner: VethOwner, prev: Result | undefined, podEnd: Link | undefined): Link[] {
  if (podEnd) {
    const named = linkFind(h, hostVethName(owner));
    if (named && peers(named, podEnd)) return [];
  }
  return findHostVeths(h, owner, prev).filter((l) => !peers(l, podEnd));
}

/**
 * Every host end of the attachment: veths tagged with its alias, the veth named by
 * hostVethName when it carries no alias yet (an ADD killed between creating and
 * tagging it), and for a pair the Go plugin made, the prevResult's host interface.
 */
function findHostVeths(h: NetlinkHandle, owner: VethOwner, prev: Result | undefined): Link[] {
  const name = hostVethName(owner);
  const alias = hostVethAlias(owner);
  const ours = linkList(h).filter((l) => l.kind === "veth" && (l.alias === alias || (l.name === name && !l.alias)));
  if (ours.length) return ours;
  const theirs = referenceHostVeth(h, prev);
  return theirs ? [theirs] : [];
}

/**
 * For pairs the reference plugin made: the prevResult's host interface when it is a
 * veth routing one of the prevResult's addresses (so a recycled name is never taken for ours).
 */
function referenceHostVeth(hostH: NetlinkHandle, prev: Result | undefined): Link | undefined {
  const hostIface = prev?.interfaces?.find((i) => !i.sandbox && i.name);
  if (!hostIface) return undefined;
  const link = linkFind(hostH, hostIface.name);
  if (!link || link.kind !== "veth") return undefined;
  const routed = new Set(hostRoutedIPs(hostH, link).map(ipOfCIDR));
  return (prev?.ips ?? []).some((ipc) => routed.has(ipOfCIDR(ipc.address))) ? link : undefined;
}

/** An attachment's pair as DEL finds it: the pod end (while the pod's namespace is there) and the host ends deleting it leaves. */
export interface FoundPair {
  podEnd?: Link;
  strays: Link[];
}

/** Finds the attachment's pair for DEL, from the pod's side when `pod` is open, else by the host end's name or alias. */
export function findPair(hostH: NetlinkHandle, pod: ContainerNS | undefined, owner: VethOwner, prev: Result | undefined): FoundPair {
  const podEnd = pod ? linkFind(pod.h, owner.ifName) : undefined;
  return { podEnd, strays: strayHostVeths(hostH, owner, prev, podEnd) };
}

/** Deletes what findPair found; a link already gone is fine. */
export function deletePair(hostH: NetlinkHandle, pod: ContainerNS | undefined, found: FoundPair, ifName: string): void {
  try {
    // The pod end's peer goes with it; the kernel's freeing of both is not waited for.
    if (pod && found.podEnd) linkDelUnwaited(pod.h, found.podEnd.index);
    for (const v of found.strays) deleteUnlessGone(hostH, v.index);
  } catch (e) {
    throw failure(`failed to delete "${ifName}"`, e);
  }
}
