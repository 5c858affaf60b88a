/**
 * ipMasq of the bridge and ptp through the netfilter layer's facade (the reference's
 * SetupIPMasqForNetworks and friends): iptables unless only nftables is installed or
 * `ipMasqBackend` says otherwise; DEL and GC clean both backends, since the backend may
 * have changed since the ADD. Errors become CNI errors with the reference's wording.
 * Plugins load it when a command has rules to make or remove (a dynamic import): with
 * the netfilter layer behind it, it is a fifth of a bridge process's code.
 */
import { gcIPMasqForNetwork, type MasqBackend, type MasqOwner, setupIPMasqForNetworks, teardownIPMasqForNetworks } from "../../netfilter/ipmasq-networks.ts";
import { withLateNetfilterCloses } from "../../netfilter/iptables-nft.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { failure } from "../../spec/error.ts";
import type { Attachment, IPConfig, NetConf } from "../../spec/types.ts";

const owner = (conf: NetConf, args: CmdArgs): MasqOwner => ({ network: conf.name, ifname: args.ifName, containerID: args.containerID });

/** Masquerades traffic from the addresses of `ips` leaving their subnets, on conf.ipMasqBackend or the reference's default. */
export function setupMasq(conf: NetConf & { ipMasqBackend?: MasqBackend }, args: CmdArgs, ips: readonly IPConfig[]): void {
  const nets: string[] = [];
  for (const ip of ips) nets.push(ip.address);
  try {
    setupIPMasqForNetworks(nets, owner(conf, args), conf.ipMasqBackend);
  } catch (e) {
    throw failure("failed to set up IP masquerade", e);
  }
}

/** Removes the attachment's masquerade rules from both backends, whatever addresses the pod has now; none there is fine. */
export function teardownMasq(conf: NetConf, args: CmdArgs): void {
  try {
    teardownIPMasqForNetworks(owner(conf, args));
  } catch (e) {
    throw failure("failed to tear down IP masquerade", e);
  }
}

/**
 * A DEL's masquerade teardown, then `rest` (the veth pair's removal). The
 * rules go first and their netfilter socket is closed last: closing it after a delete
 * waits for the kernel to free what was deleted (an RCU grace period), which this way
 * passes while `rest` runs instead of after it. Unlike the reference's order (pair, then
 * rules), a failure to remove the rules leaves the pair in place; the runtime's retried
 * DEL removes both.
 */
export function teardownMasqBefore(conf: NetConf, args: CmdArgs, rest: () => void): void {
  withLateNetfilterCloses(() => {
    teardownMasq(conf, args);
    rest();
  });
}

/** Removes the masquerade rules of this network's attachments that are not in `valid`, on both backends. */
export function gcMasq(conf: NetConf, valid: Attachment[]): void {
  try {
    gcIPMasqForNetwork(conf.name, valid);
  } catch (e) {
    throw failure("failed to collect IP masquerade rules", e);
  }
}
