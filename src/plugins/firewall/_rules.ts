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

/**
 * The comment of the rules every bridge policy shares (the FORWARD jump, stage 2's
 * DROP, the RETURNs). The Go plugin of Debian (v1.1.1, which has only same-bridge)
 * writes the first; upstream, since it has "isolated", the second. We write what the
 * reference of the policy writes and take either as present, so a node that ran
 * either Go plugin first never gets these rules twice.
 */
const SHARED_COMMENTS = ["CNI firewall plugin rules (ingressPolicy: same-bridge)", "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"] as const;

/** A rule and the equivalent rules of the other reference version (any of them present is enough). */
export interface RuleVariants {
  rule: Rule;
  alternatives: Rule[];
}

/** The bridge isolation rules of ingressPolicy same-bridge / isolated (Docker's two-stage scheme). */
export function isolationRules(bridge: string, isolated: boolean) {
  const policy = c(`CNI firewall plugin rules (ingressPolicy: ${isolated ? "isolated" : "same-bridge"})`);
  const shared = (chain: string, tokens: string[], tail: string[]): RuleVariants => {
    const [mine, other] = isolated ? [SHARED_COMMENTS[1], SHARED_COMMENTS[0]] : [SHARED_COMMENTS[0], SHARED_COMMENTS[1]];
    return { rule: { chain, tokens: [...tokens, ...c(mine), ...tail] }, alternatives: [{ chain, tokens: [...tokens, ...c(other), ...tail] }] };
  };
  return {
    /** Inserted first in FORWARD, so it runs before CNI-FORWARD accepts anything. */
    jump: shared("FORWARD", [], ["-j", STAGE1]),
    /** Inserted first in stage 1 (before its RETURN). */
    stage1: [
      { chain: STAGE1, tokens: ["-i", bridge, "!", "-o", bridge, ...policy, "-j", STAGE2] },
      ...(isolated ? [{ chain: STAGE1, tokens: ["-i", bridge, "-o", bridge, ...policy, "-j", "DROP"] }] : []),
    ] as Rule[],
    stage2: shared(STAGE2, ["-o", bridge], ["-j", "DROP"]),
    returns: [STAGE1, STAGE2].map((chain) => shared(chain, [], ["-j", "RETURN"])),
  };
}
