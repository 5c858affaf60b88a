/**
 * IP masquerade of one attachment on either backend, as the reference's
 * SetupIPMasqForNetworks / TeardownIPMasqForNetworks / GCIPMasqForNetwork: what the
 * bridge and ptp plugins call for `ipMasq`. iptables by default (the reference's
 * choice while iptables is there), nftables when asked or when it is all there is;
 * teardown and GC clean both backends, since the backend may have changed since ADD.
 */
import type { Attachment } from "../spec/types.ts";
import { iptablesAvailable } from "./iptables.ts";
import { gcIPMasq, masqChainName, masqComment, setupIPMasq, teardownIPMasq } from "./ipmasq.ts";
import { gcIPMasqNft, setupIPMasqNft, teardownIPMasqNft } from "./ipmasq-nft.ts";
import { nftAvailable } from "./nft-available.ts";

export type MasqBackend = "iptables" | "nftables";

/** Whose masquerade rules: the network name, the container's interface and the container id. */
export interface MasqOwner {
  network: string;
  ifname: string;
  containerID: string;
}

/** iptables, unless only nftables is installed (the reference's default). */
function defaultMasqBackend(): MasqBackend {
  return !iptablesAvailable() && nftAvailable() ? "nftables" : "iptables";
}

/** Masquerades traffic from `ipns` ("ip/prefix") leaving their subnets; idempotent. */
export function setupIPMasqForNetworks(ipns: readonly string[], owner: MasqOwner, backend: MasqBackend = defaultMasqBackend()): void {
  if (backend === "nftables") setupIPMasqNft(ipns, owner.network, owner.ifname, owner.containerID);
  // The iptables rules ignore ifname, for compatibility with every older reference.
  else setupIPMasq(ipns, masqChainName(owner.network, owner.containerID), masqComment(owner.network, owner.containerID));
}

/** Removes the attachment's masquerade rules from both backends; nothing there is fine. */
export function teardownIPMasqForNetworks(owner: MasqOwner): void {
  if (iptablesAvailable()) teardownIPMasq(masqChainName(owner.network, owner.containerID));
  if (nftAvailable()) teardownIPMasqNft(owner.network, owner.ifname, owner.containerID);
}

/** Removes the masquerade rules of this network's attachments not in `valid`, on both backends. */
export function gcIPMasqForNetwork(network: string, valid: readonly Attachment[]): void {
  gcIPMasq(network, new Set(valid.map((a) => a.containerID)));
  if (nftAvailable()) gcIPMasqNft(network, valid);
}
