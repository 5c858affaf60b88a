/**
 * The ipMasqBackend field of bridge and ptp, read with the config: the masquerade work
 * itself (masq.ts, the netfilter layer) loads only when a command has rules to make or
 * remove.
 */
import { nftAvailable } from "../../netfilter/nft-available.ts";
import { CniError, ErrorCode, invalidConfig } from "../../spec/error.ts";
import type { NetConf } from "../../spec/types.ts";
import type { MasqBackend } from "../../netfilter/ipmasq-networks.ts";
import { stringField } from "./conf-fields.ts";

export type { MasqBackend };

/** Reads `ipMasqBackend`; nftables without an `nft` command is refused before anything is made. */
export function masqBackendOf(conf: NetConf): MasqBackend | undefined {
  const b = stringField(conf, "ipMasqBackend");
  if (b === "") return undefined;
  if (b !== "iptables" && b !== "nftables") throw invalidConfig(`Invalid "ipMasqBackend": ${JSON.stringify(b)}, must be "iptables" or "nftables"`);
  if (b === "nftables" && !nftAvailable()) throw new CniError(ErrorCode.UnsupportedField, `"ipMasqBackend": "nftables" needs the nft command on the node`);
  return b;
}
