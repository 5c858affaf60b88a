/**
 * ipMasq of the bridge through the netfilter layer's facade (the reference's
 * SetupIPMasqForNetworks and friends): iptables unless only nftables is installed or
 * `ipMasqBackend` says otherwise; DEL and GC clean both backends, since the backend may
 * have changed since the ADD. Errors become CNI errors with the reference's wording.
 */
import { gcIPMasqForNetwork, type MasqOwner, setupIPMasqForNetworks, teardownIPMasqForNetworks } from "../../netfilter/ipmasq-networks.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { Attachment } from "../../spec/types.ts";
import { failure } from "../_shared/errors.ts";
import type { BridgeConf } from "./_conf.ts";

const owner = (conf: BridgeConf, args: CmdArgs): MasqOwner => ({ network: conf.name, ifname: args.ifName, containerID: args.containerID });

/** Masquerades traffic from the pod's addresses ("ip/prefix") leaving their subnets. */
export function setupBridgeMasq(conf: BridgeConf, args: CmdArgs, nets: string[]): void {
  try {
    setupIPMasqForNetworks(nets, owner(conf, args), conf.ipMasqBackend);
  } catch (e) {
    throw failure("failed to set up IP masquerade", e);
  }
}

/** Removes the attachment's masquerade rules, whatever addresses the pod has now; none there is fine. */
export function teardownBridgeMasq(conf: BridgeConf, args: CmdArgs): void {
  try {
    teardownIPMasqForNetworks(owner(conf, args));
  } catch (e) {
    throw failure("failed to tear down IP masquerade", e);
  }
}

/** Removes the masquerade rules of this network's attachments that are not in `valid` (both backends). */
export function gcBridgeMasq(conf: BridgeConf, valid: Attachment[]): void {
  try {
    gcIPMasqForNetwork(conf.name, valid);
  } catch (e) {
    throw failure("failed to collect IP masquerade rules", e);
  }
}
