/** Firewall rule sets applied as one batch per plugin call (iptables-save / iptables-restore). */
export * from "./iptables.ts";
export * from "./ipmasq.ts";
export { quoteToken, checkChainName } from "./rule-text.ts";
