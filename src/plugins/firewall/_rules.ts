/**
 * The firewall plugin's iptables rules, as the reference builds them, in the order
 * iptables-save prints their tokens (see src/netfilter/rule-text.ts).
 */
import type { Rule } from "../../netfilter/iptables.ts";

export const FORWARD_CHAIN = "CNI-FORWARD";
export const STAGE1 = "CNI-ISOLATION-STAGE-1";
export const STAGE2 = "CNI-ISOLATION-STAGE-2";

const c = (comment: string) => ["-m", "comment", "--comment", comment];

/** FORWARD -> CNI-FORWARD, first in FORWARD. */
export function forwardJump(): Rule {
  return { chain: "FORWARD", tokens: [...c("CNI firewall plugin rules"), "-j", FORWARD_CHAIN] };
}

/** CNI-FORWARD -> the admin chain, first in CNI-FORWARD, so an administrator's rules win. */
export function adminJump(adminChain: string): Rule {
  return { chain: FORWARD_CHAIN, tokens: [...c("CNI firewall plugin admin overrides"), "-j", adminChain] };
}

/** Replies to the container and everything from it are accepted. `host` is "ip/32" or "ip/128". */
export function addressRules(host: string): Rule[] {
  return [
    { chain: FORWARD_CHAIN, tokens: ["-d", host, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"] },
    { chain: FORWARD_CHAIN, tokens: ["-s", host, "-j", "ACCEPT"] },
  ];
}

const DEFAULT_POLICY_COMMENT = "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)";

/** The bridge isolation rules of ingressPolicy same-bridge / isolated (Docker's two-stage scheme). */
export function isolationRules(bridge: string, isolated: boolean) {
  const policy = c(`CNI firewall plugin rules (ingressPolicy: ${isolated ? "isolated" : "same-bridge"})`);
  return {
    /** Inserted first in FORWARD, so it runs before CNI-FORWARD accepts anything. */
    jump: { chain: "FORWARD", tokens: [...c(DEFAULT_POLICY_COMMENT), "-j", STAGE1] } as Rule,
    /** Inserted first in stage 1 (before its RETURN). */
    stage1: [
      { chain: STAGE1, tokens: ["-i", bridge, "!", "-o", bridge, ...policy, "-j", STAGE2] },
      ...(isolated ? [{ chain: STAGE1, tokens: ["-i", bridge, "-o", bridge, ...policy, "-j", "DROP"] }] : []),
    ] as Rule[],
    stage2: { chain: STAGE2, tokens: ["-o", bridge, ...c(DEFAULT_POLICY_COMMENT), "-j", "DROP"] } as Rule,
    returns: [STAGE1, STAGE2].map((chain) => ({ chain, tokens: [...c(DEFAULT_POLICY_COMMENT), "-j", "RETURN"] })) as Rule[],
  };
}
