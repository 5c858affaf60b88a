/**
 * Netfilter rule sets applied as one batch per plugin call: iptables through
 * iptables-save / iptables-restore (with the xtables lock), nftables through `nft -f -`
 * transactions. See README.md for the API and what each piece promises.
 */
export * from "./iptables.ts";
export * from "./ipmasq.ts";
export * from "./ipmasq-nft.ts";
export * from "./ipmasq-networks.ts";
export { NftError, type NftRule, nftAvailable, nftApply, nftListRules, nftListTable, nftTables, nftDeleteRule, nftString, checkNftName } from "./nft.ts";
export { quoteToken, checkChainName, canonicalAddress, commentOf, ruleLine } from "./rule-text.ts";
