/**
 * ptp's ipMasq: masquerade what leaves the node from the container's addresses, with
 * the reference's chain names and comments (src/netfilter/ipmasq.ts).
 */
import { masqChainName, masqComment, setupIPMasq as setup, teardownIPMasq as teardown } from "../../netfilter/ipmasq.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import type { NetConf } from "../../spec/types.ts";
import { failure } from "../_shared/errors.ts";

/** Only the iptables backend exists here; "nftables" is refused before anything is made. */
export function assertIPMasqAvailable(backend?: string): void {
  if (backend === "nftables") throw new CniError(ErrorCode.UnsupportedField, `"ipMasqBackend": "nftables" is not supported yet; use "iptables"`);
}

/** Adds the masquerade rules for `nets` (the container's "ip/prefix" addresses). */
export async function setupIPMasq(conf: NetConf, args: CmdArgs, nets: string[]): Promise<void> {
  try {
    setup(nets, masqChainName(conf.name, args.containerID), masqComment(conf.name, args.containerID));
  } catch (e) {
    throw failure("failed to set up IP masquerade", e);
  }
}

/** Removes the attachment's masquerade chain and every jump to it. */
export async function teardownIPMasq(conf: NetConf, args: CmdArgs, _nets: string[]): Promise<void> {
  try {
    teardown(masqChainName(conf.name, args.containerID));
  } catch (e) {
    throw failure("failed to tear down IP masquerade", e);
  }
}
