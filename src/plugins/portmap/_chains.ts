/**
 * The port map rule sets of the reference portmap plugin (iptables backend), with its
 * chain names and comments, tokens in the order iptables-save prints them:
 *
 *   PREROUTING/OUTPUT -m addrtype --dst-type LOCAL -> CNI-HOSTPORT-DNAT
 *   CNI-HOSTPORT-DNAT -p P -m comment "dnat name: ... id: ..." -m multiport --dports .. -> CNI-DN-<hash>
 *   CNI-DN-<hash>: hairpin and localhost marks (snat), then DNAT to the container
 *   CNI-HOSTPORT-SETMARK: MARK --set-xmark 1<<bit; POSTROUTING -> CNI-HOSTPORT-MASQ: MASQUERADE marked
 */
import type { Rule } from "../../netfilter/iptables.ts";
import { chainNameFor } from "../../netfilter/ipmasq.ts";
import type { PortMapping } from "../../spec/capabilities.ts";
import { familyOf, formatIP, ipOf, to4 } from "../../spec/ip.ts";

export const TOP_DNAT = "CNI-HOSTPORT-DNAT";
export const SETMARK = "CNI-HOSTPORT-SETMARK";
export const MASQ = "CNI-HOSTPORT-MASQ";
/** The reference's top SNAT chain before v0.8; its per-container chains may still be around at DEL. */
export const OLD_TOP_SNAT = "CNI-HOSTPORT-SNAT";

/** The per-container chain: "CNI-DN-" + hash of network name and container id. */
export function dnatChainName(net: string, containerID: string): string {
  return chainNameFor("CNI-DN-", net, containerID);
}

/** The per-container SNAT chain of old reference versions: "CNI-SN-" + the same hash. */
export function oldSnatChainName(net: string, containerID: string): string {
  return chainNameFor("CNI-SN-", net, containerID);
}

/** The comment of a container's entry rules, cut as the reference cuts it (iptables takes 255 bytes at most). */
export function dnatComment(net: string, containerID: string): string {
  const c = `dnat name: "${net}" id: "${containerID}"`;
  return c.length <= 255 ? c : `${c.slice(0, 253)}...`;
}

/** "0x2000/0x2000" for bit 13, as Go's %#x prints it. */
export function markDef(bit: number): string {
  const v = `0x${(2 ** bit).toString(16)}`;
  return `${v}/${v}`;
}

const comment = (c: string) => ["-m", "comment", "--comment", c];

/** The jumps into CNI-HOSTPORT-DNAT for traffic to the node's own addresses. */
export function topLevelJumps(): Rule[] {
  const jump = (chain: string): Rule => ({ chain, tokens: ["-m", "addrtype", "--dst-type", "LOCAL", "-j", TOP_DNAT] });
  return [jump("PREROUTING"), jump("OUTPUT")];
}

/** The mark rule of CNI-HOSTPORT-SETMARK. */
export function setMarkRule(bit: number): Rule {
  return { chain: SETMARK, tokens: [...comment("CNI portfwd masquerade mark"), "-j", "MARK", "--set-xmark", markDef(bit)] };
}

/** CNI-HOSTPORT-MASQ's rule and the POSTROUTING jump to it (inserted first: ptp's and bridge's masquerade would take the packets before). */
export function masqRules(bit: number): { rule: Rule; jump: Rule } {
  return {
    rule: { chain: MASQ, tokens: ["-m", "mark", "--mark", markDef(bit), "-j", "MASQUERADE"] },
    jump: { chain: "POSTROUTING", tokens: [...comment("CNI portfwd requiring masquerade"), "-j", MASQ] },
  };
}

export interface DnatInput {
  net: string;
  containerID: string;
  /** The container's address with its prefix ("10.88.0.2/24"). */
  containerAddr: string;
  /** The subnet of containerAddr ("10.88.0.0/24"): the source of hairpin traffic. */
  containerNet: string;
  family: 4 | 6;
  mappings: PortMapping[];
  snat: boolean;
  masqAll: boolean;
  setMarkChain: string;
  conditions: string[];
}

/** multiport takes at most 15 ports per rule. */
function chunks<T>(v: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < v.length; i += n) out.push(v.slice(i, i + n));
  return out;
}

/**
 * The host address a mapping is bound to in this family: undefined when the mapping
 * belongs to the other family (skipped), "" when it is unbound (any local address).
 */
export function hostIPIn(m: PortMapping, family: 4 | 6): string | undefined {
  if (!m.hostIP) return "";
  const ip = ipOf(m.hostIP);
  if (familyOf(ip) !== family) return undefined;
  // Go's IsUnspecified: 0.0.0.0 (also v4-mapped) or ::.
  return (to4(ip) ?? ip).every((b) => b === 0) ? "" : formatIP(ip);
}

/** The per-container chain's entry rules (in CNI-HOSTPORT-DNAT) and rules. */
export function dnatRules(d: DnatInput): { chain: string; entries: Rule[]; rules: Rule[] } {
  const chain = dnatChainName(d.net, d.containerID);
  const c = dnatComment(d.net, d.containerID);
  // The entry rules list every mapping's port, also those bound to an address of the
  // other family (the reference groups before it filters); only the DNAT rules skip them.
  const byProto = new Map<string, number[]>();
  // The protocols in a list of their own: spreading a Map's keys costs a plugin process
  // about 0.2 ms at its first use (a compiled probe, JIT off).
  const protos: string[] = [];
  for (const m of d.mappings) {
    const ports = byProto.get(m.protocol);
    if (ports) ports.push(m.hostPort);
    else {
      byProto.set(m.protocol, [m.hostPort]);
      protos.push(m.protocol);
    }
  }
  const entries: Rule[] = [];
  for (const proto of protos.sort()) {
    for (const ports of chunks(byProto.get(proto)!, 15)) {
      entries.push({ chain: TOP_DNAT, tokens: ["-p", proto, ...comment(c), "-m", "multiport", "--dports", ports.join(","), ...d.conditions, "-j", chain] });
    }
  }
  const rules: Rule[] = [];
  const seen = new Set<string>();
  // The reference adds each rule unless the chain has it already: a mapping listed twice gives one set.
  const add = (tokens: string[]) => {
    const key = tokens.join("\0");
    if (!seen.has(key)) rules.push({ chain, tokens }), seen.add(key);
  };
  const host = d.family === 4 ? "/32" : "/128";
  const ip = d.containerAddr.split("/")[0]!;
  for (const m of d.mappings) {
    const hostIP = hostIPIn(m, d.family);
    if (hostIP === undefined) continue;
    const dst = hostIP ? ["-d", `${hostIP}${host}`] : [];
    const port = ["-p", m.protocol, "-m", m.protocol, "--dport", String(m.hostPort)];
    if (d.snat) {
      // masqAll marks every source (-s 0.0.0.0/0, which iptables-save leaves out), and so needs no localhost rule.
      add([...(d.masqAll ? [] : ["-s", d.containerNet]), ...dst, ...port, "-j", d.setMarkChain]);
      if (d.family === 4 && !d.masqAll) add(["-s", "127.0.0.1/32", ...dst, ...port, "-j", d.setMarkChain]);
    }
    const to = d.family === 4 ? `${ip}:${m.containerPort}` : `[${ip}]:${m.containerPort}`;
    add([...dst, ...port, "-j", "DNAT", "--to-destination", to]);
  }
  return { chain, entries, rules };
}
