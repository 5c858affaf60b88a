/**
 * ipMasq of the bridge and ptp through the netfilter layer's facade (the reference's
 * SetupIPMasqForNetworks and friends): iptables unless only nftables is installed or
 * `ipMasqBackend` says otherwise; DEL and GC clean both backends, since the backend may
 * have changed since the ADD. Errors become CNI errors with the reference's wording.
 */
import { gcIPMasqForNetwork, type MasqOwner, setupIPMasqForNetworks, teardownIPMasqForNetworks } from "../../netfilter/ipmasq-networks.ts";
import { withLateNetfilterCloses } from "../../netfilter/iptables-nft.ts";
import { nftAvailable } from "../../netfilter/nft.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, failure, invalidConfig } from "../../spec/error.ts";
import type { Attachment, NetConf } from "../../spec/types.ts";
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

const owner = (conf: NetConf, args: CmdArgs): MasqOwner => ({ network: conf.name, ifname: args.ifName, containerID: args.containerID });

/** Masquerades traffic from `nets` ("ip/prefix") leaving their subnets, on conf.ipMasqBackend or the reference's default. */
export function setupMasq(conf: NetConf & { ipMasqBackend?: MasqBackend }, args: CmdArgs, nets: string[]): void {
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
 * A DEL's masquerade teardown (when `ipMasq`), then `rest` (the veth pair's removal). The
 * rules go first and their netfilter socket is closed last: closing it after a delete
 * waits for the kernel to free what was deleted (an RCU grace period), which this way
 * passes while `rest` runs instead of after it. Unlike the reference's order (pair, then
 * rules), a failure to remove the rules leaves the pair in place; the runtime's retried
 * DEL removes both.
 */
export function teardownMasqBefore(ipMasq: boolean, conf: NetConf, args: CmdArgs, rest: () => void): void {
  withLateNetfilterCloses(() => {
    if (ipMasq) teardownMasq(conf, args);
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
