/**
 * Moving a device between the node and the pod. Renames happen in a temporary
 * namespace of their own (as the reference since v1.2): no clash with names on either
 * side and no race with udev or NetworkManager over a briefly renamed device. The
 * original name travels in the device's alias. Every step is undone when a later one fails.
 */
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkSetAlias, linkSetName, linkSetNs } from "../../netlink/link-set.ts";
import { isUp, linkByName, linkFind, linkSetUp } from "../../netlink/link.ts";
import { NetlinkHandle as Handle } from "../../netlink/handle.ts";
import type { NetNS } from "../../sys/netns.ts";
import { createTempNetNS } from "../../sys/temp-netns.ts";
import { failure } from "../../spec/error.ts";
import type { ContainerNS } from "../_shared/netns-open.ts";
import { Rollback } from "../_shared/rollback.ts";

/** A temporary namespace and a handle in it; close() when the device has left it. */
export interface TempNS {
  ns: NetNS;
  h: NetlinkHandle;
  close(): void;
  [Symbol.dispose](): void;
}

/** Opens a temporary namespace for renames. */
export function openTempNS(): TempNS {
  const ns = createTempNetNS();
  const h = Handle.at(ns);
  const close = () => {
    h.close();
    ns.close();
  };
  return { ns, h, close, [Symbol.dispose]: close };
}

/** The namespaces a device moves between: the node's, the pod's and a temporary one for renames. */
export interface MoveSpaces {
  hostH: NetlinkHandle;
  hostNs: NetNS;
  pod: ContainerNS;
  tmp: TempNS;
}

/**
 * Moves `dev` from the node into the pod as `ifName` with the alias set to its node
 * name, and sets it up. Undo steps go to `undo`; `at.tmp` must stay open until the
 * caller's rollback is no longer needed.
 */
export function moveLinkIn(at: MoveSpaces, dev: Link, ifName: string, undo: Rollback): Link {
  const { hostH, hostNs, pod: c, tmp } = at;
  const name = dev.name;
  // Moving between namespaces sets a link down: bring it back up if it was.
  if (isUp(dev)) undo.add(`up state of "${name}"`, () => linkFind(hostH, name) && linkSetUp(hostH, name));
  step(() => linkSetNs(hostH, dev.index, tmp.ns), `failed to move "${name}" to tempNS`);
  undo.add(`move of "${name}" back to the node`, () => linkSetNs(tmp.h, linkByName(tmp.h, name).index, hostNs));
  const t = linkByName(tmp.h, name);
  step(() => linkSetName(tmp.h, t.index, ifName), `failed to rename host device "${name}" to "${ifName}"`);
  // Indexes may change on a round trip through namespaces: undo steps look names up.
  undo.add(`rename of "${ifName}" back to "${name}"`, () => linkSetName(tmp.h, linkByName(tmp.h, ifName).index, name));
  step(() => linkSetAlias(tmp.h, t.index, name), `failed to set alias to "${name}"`);
  undo.add(`alias of "${name}"`, () => linkSetAlias(tmp.h, linkByName(tmp.h, ifName).index, ""));
  step(() => linkSetNs(tmp.h, t.index, c.ns), `failed to move "${ifName}" (host: "${name}") to container NS`);
  undo.add(`move of "${ifName}" out of the pod`, () => linkSetNs(c.h, linkByName(c.h, ifName).index, tmp.ns));
  const inPod = linkByName(c.h, ifName);
  step(() => linkSetUp(c.h, inPod.index), `failed to set "${ifName}" up`);
  return linkByName(c.h, ifName);
}

/**
 * Moves `ifName` from the pod back to the node under the name in its alias, clearing
 * the alias and leaving it down (its state before ADD is not known). All or nothing:
 * on failure the device is back in the pod as it was.
 */
export async function moveLinkOut(at: Omit<MoveSpaces, "hostH">, dev: Link): Promise<void> {
  const { hostNs, pod: c, tmp } = at;
  const ifName = dev.name;
  const name = dev.alias;
  if (!name) throw failure(`failed to find original ifname for "${ifName}" (alias is not set)`);
  const undo = new Rollback();
  await undo.guard(async () => {
    step(() => linkSetNs(c.h, dev.index, tmp.ns), `failed to move "${ifName}" to tempNS`);
    undo.add(`move of "${ifName}" back to the pod`, () => linkSetNs(tmp.h, linkByName(tmp.h, ifName).index, c.ns));
    const t = linkByName(tmp.h, ifName);
    step(() => linkSetName(tmp.h, t.index, name), `failed to rename device "${ifName}" to "${name}"`);
    undo.add(`rename of "${name}" back to "${ifName}"`, () => linkSetName(tmp.h, linkByName(tmp.h, name).index, ifName));
    step(() => linkSetAlias(tmp.h, t.index, ""), `failed to unset alias of "${name}"`);
    undo.add(`alias of "${name}"`, () => linkSetAlias(tmp.h, linkByName(tmp.h, name).index, name));
    step(() => linkSetNs(tmp.h, t.index, hostNs), `failed to move "${name}" to hostNS`);
  });
}

function step(fn: () => void, msg: string): void {
  try {
    fn();
  } catch (e) {
    throw failure(msg, e);
  }
}
