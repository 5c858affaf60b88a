/**
 * ipMasq of the bridge and ptp plugins on either backend, as the reference's
 * SetupIPMasqForNetworks / TeardownIPMasqForNetworks / GCIPMasqForNetwork: iptables by
 * default (the reference's choice while iptables is there), nftables when asked; DEL and
 * GC clean up both, since the backend may have changed since the ADD.
 */
import { gcIPMasqNft, setupIPMasqNft, teardownIPMasqNft } from "../../netfilter/ipmasq-nft.ts";
import { masqChainName, masqComment, setupIPMasq, teardownIPMasq } from "../../netfilter/ipmasq.ts";
import { nftAvailable } from "../../netfilter/nft.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import type { Attachment, NetConf } from "../../spec/types.ts";
import { failure, invalidConfig } from "./errors.ts";
import { stringField } from "./conf-fields.ts";

export type MasqBackend = "iptables" | "nftables";

/** Reads `ipMasqBackend`; nftables without an `nft` command is refused before anything is made. */
export function masqBackendOf(conf: NetConf): MasqBackend | undefined {
  const b = stringField(conf, "ipMasqBackend");
  if (b === "") return undefined;
  if (b !== "iptables" && b !== "nftables") throw invalidConfig(`Invalid "ipMasqBackend": ${JSON.stringify(b)}, must be "iptables" or "nftables"`);
  if (b === "nftables" && !nftAvailable()) throw new CniError(ErrorCode.UnsupportedField, `"ipMasqBackend": "nftables" needs the nft command on the node`);
  return b;
}

/** Masquerades traffic from `nets` ("ip/prefix") leaving their subnets. */
export function setupMasq(conf: NetConf, args: CmdArgs, nets: string[], backend: MasqBackend = "iptables"): void {
  try {
    if (backend === "nftables") setupIPMasqNft(nets, conf.name, args.ifName, args.containerID);
    else setupIPMasq(nets, masqChainName(conf.name, args.containerID), masqComment(conf.name, args.containerID));
  } catch (e) {
    throw failure("failed to set up IP masquerade", e);
  }
}

/** Removes the attachment's masquerade rules from both backends; nothing there is fine. */
export function teardownMasq(conf: NetConf, args: CmdArgs): void {
  try {
    teardownIPMasq(masqChainName(conf.name, args.containerID));
    if (nftAvailable()) teardownIPMasqNft(conf.name, args.ifName, args.containerID);
  } catch (e) {
    throw failure("failed to tear down IP masquerade", e);
  }
}

/** Removes the nftables masquerade rules of attachments not in `valid` (iptables rules carry no interface name to tell). */
export function gcMasq(conf: NetConf, valid: Attachment[]): void {
  if (!nftAvailable()) return;
  try {
    gcIPMasqNft(conf.name, valid);
  } catch (e) {
    throw failure("failed to collect IP masquerade rules", e);
  }
}
