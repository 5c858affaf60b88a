/**
 * CHECK of a bridge attachment, as the reference's validateCni*Interface: the
 * prevResult's bridge, container end and host end must be there and still be one
 * pair on that bridge. Messages are the reference's.
 */
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { isPromisc, linkFind } from "../../netlink/link.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { Interface, Result } from "../../spec/types.ts";
import { failure } from "../../spec/error.ts";
import type { BridgeConf } from "./_conf.ts";

const sameMac = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The prevResult's interface named `name` in the node's namespace: there, and not claimed by a sandbox. */
function hostLink(h: NetlinkHandle, intf: Interface | undefined): Link {
  if (!intf?.name) throw failure("Interface name missing ");
  const link = linkFind(h, intf.name);
  if (!link) throw failure(`Interface name ${intf.name} not found`);
  if (intf.sandbox) throw failure(`Interface ${intf.name} should not be in sandbox`);
  return link;
}

/**
 * The bridge of the prevResult: a bridge, promiscuous as configured and, when the
 * plugin pinned its MAC (isGateway), with the MAC reported. Without a gateway the
 * kernel gives a bridge the lowest MAC of its ports, so it changes as pods come and go
 * and the reference's CHECK then fails healthy pods: we do not compare it.
 */
export function checkBridge(h: NetlinkHandle, prev: Result, conf: BridgeConf): Link {
  const intf = prev.interfaces?.find((i) => i.name === conf.bridge);
  const br = hostLink(h, intf);
  if (br.kind !== "bridge") throw failure(`Interface ${br.name} does not have link type of bridge`);
  if (conf.isGateway && intf!.mac && !sameMac(intf!.mac, br.mac)) throw failure(`Bridge interface ${br.name} Mac doesn't match: ${intf!.mac}`);
  const promisc = isPromisc(br);
  if (promisc !== conf.promiscMode) {
    throw failure(`Bridge interface ${br.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${promisc} `);
  }
  return br;
}

/** The container end of the prevResult: in CNI_NETNS, a veth, with the MAC reported. */
export function checkContainerEnd(contH: NetlinkHandle, prev: Result, args: CmdArgs): Link {
  const intf = prev.interfaces?.find((i) => i.name === args.ifName && i.sandbox === args.netns);
  if (!intf) throw failure(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`);
  const link = linkFind(contH, intf.name);
  if (!link) throw failure(`Interface name ${intf.name} not found`);
  if (link.kind !== "veth") throw failure(`Error: Container interface ${link.name} not of type veth`);
  if (intf.mac && !sameMac(intf.mac, link.mac)) throw failure(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`);
  return link;
}

/** The host end among the prevResult's other interfaces: the container end's peer, a port of the bridge. */
export function checkHostEnd(h: NetlinkHandle, prev: Result, br: Link, cont: Link, args: CmdArgs): Link {
  let why = "";
  for (const intf of prev.interfaces ?? []) {
    if (intf.name === br.name || (intf.name === args.ifName && intf.sandbox)) continue;
    const link = hostLink(h, intf);
    // Not a veth: not ours (another plugin's in a chain), skip it as the reference does.
    if (link.kind !== "veth") continue;
    if (link.parentIndex !== cont.index || cont.parentIndex !== link.index) {
      why ||= `host veth "${link.name}" is not the peer of "${args.ifName}"`;
      continue;
    }
    if (link.master !== br.index) {
      why ||= `host veth "${link.name}" is not a port of "${br.name}"`;
      continue;
    }
    if (intf.mac && !sameMac(intf.mac, link.mac)) throw failure(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
    return link;
  }
  // The reference's message, and what was wrong with the candidate we saw.
  throw failure(`CNI veth created for bridge ${br.name} was not found${why ? `: ${why}` : ""}`);
}
