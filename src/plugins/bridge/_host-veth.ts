/**
 * Naming and finding the node end of an attachment's veth pair, so that DEL can remove
 * it without the pod's namespace. The reference names host ends at random and finds
 * them only through the pod's end, so a pair whose namespace path is gone (while
 * something still holds the namespace) stays behind. We name the host end after the
 * attachment and tag it with an alias; either finds it, whatever point an ADD was
 * killed at (the kernel takes no alias in the message that creates a link, so a pair
 * can exist untagged for a moment: its name still tells).
 */
import { createHash } from "node:crypto";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkFind, linkList } from "../../netlink/link.ts";
import type { Result } from "../../spec/types.ts";
import { findHostVeth } from "../_shared/veth.ts";

/** "veth" and 8 hex digits of a hash of the attachment: the same shape as the reference's random names. */
export function hostVethName(network: string, containerID: string, ifName: string): string {
  const digest = createHash("sha256").update(`cni-ts/bridge\0${network}\0${containerID}\0${ifName}`).digest("hex");
  return `veth${digest.slice(0, 8)}`;
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
export function strayHostVeths(h: NetlinkHandle, name: string, alias: string, prev: Result | undefined, podEnd: Link | undefined): Link[] {
  if (podEnd) {
    const named = linkFind(h, name);
    if (named && peers(named, podEnd)) return [];
  }
  return findHostVeths(h, name, alias, prev).filter((l) => !peers(l, podEnd));
}

/**
 * Every host end of the attachment: veths tagged with `alias`, the veth named by
 * hostVethName when it carries no alias yet (an ADD killed between creating and
 * tagging it), and for a pair the Go plugin made, the prevResult's host interface.
 */
export function findHostVeths(h: NetlinkHandle, name: string, alias: string, prev: Result | undefined): Link[] {
  const veths = linkList(h).filter((l) => l.kind === "veth");
  const ours = veths.filter((l) => l.alias === alias || (l.name === name && !l.alias));
  if (ours.length) return ours;
  const theirs = findHostVeth(h, alias, prev);
  return theirs ? [theirs] : [];
}
