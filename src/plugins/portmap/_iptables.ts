/**
 * portmap's iptables backend: one iptables-restore batch per family for ADD, DEL and
 * GC, built against one iptables-save of the nat table.
 */
import { type Family, TableBatch, iptablesAvailable, ruleExists } from "../../netfilter/iptables.ts";
import { type NftIptablesTable, type NftRule, commitBatch, withNftIptables } from "../../netfilter/iptables-nft.ts";
import { commentOf } from "../../netfilter/rule-text.ts";
import { type NftExpr, includesBytes } from "../../netlink/nftables.ts";
import { cidrOf, formatCIDR, networkOf } from "../../spec/ip.ts";
import type { PortMapBackend } from "./_backend.ts";
import type { PortMapConf } from "./_conf.ts";
import { MASQ, OLD_TOP_SNAT, SETMARK, TOP_DNAT, dnatChainName, dnatRules, masqRules, oldSnatChainName, setMarkRule, topLevelJumps } from "./_chains.ts";
import { errorMessage } from "../../spec/error.ts";

/** The container's rule set in one family. */
function rulesFor(conf: PortMapConf, containerID: string, family: Family, addr: string) {
  return dnatRules({
    net: conf.name,
    containerID,
    containerAddr: addr,
    containerNet: formatCIDR(networkOf(cidrOf(addr))),
    family,
    mappings: conf.mappings,
    snat: conf.snat,
    masqAll: conf.masqAll,
    setMarkChain: conf.externalSetMarkChain ?? SETMARK,
    conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
  });
}

/** True when an expression of the rule satisfies `pred` (a loop: `some` would cost a plugin process its first-call compile). */
function someExpr(r: NftRule, pred: (e: NftExpr) => boolean): boolean {
  for (const e of r.exprs) if (pred(e)) return true;
  return false;
}

/** True when one of the rules satisfies `pred`. */
function someRule(rules: readonly NftRule[], pred: (r: NftRule) => boolean): boolean {
  for (const r of rules) if (pred(r)) return true;
  return false;
}

/**
 * True when the node-wide part of the port maps is in place (read over netlink, chain by
 * chain): CNI-HOSTPORT-DNAT with the PREROUTING and OUTPUT jumps to it, and, for snat,
 * the mark chain holding this mark and comment, the masquerade chain holding this mark,
 * and POSTROUTING's jump to it with its comment. Read loosely, by what the rules name, since
 * each iptables version encodes matches its own way: when in doubt the caller reads the
 * whole table and compares rule texts.
 */
function sharedChainsInPlace(t: NftIptablesTable, conf: PortMapConf): boolean {
  if (!t.hasChain(TOP_DNAT)) return false;
  const local = (r: NftRule) => someExpr(r, (e) => e.xtName === "addrtype" || e.name === "fib");
  for (const j of topLevelJumps()) if (!t.hasJump(j.chain, TOP_DNAT, local)) return false;
  if (!conf.snat || conf.externalSetMarkChain) return true;
  const mark = new Uint8Array(new Uint32Array([2 ** conf.markMasqBit]).buffer);
  const holds = (r: NftRule, bytes: Uint8Array) => someExpr(r, (e) => e.name !== "counter" && includesBytes(e.data, bytes));
  const comment = new TextEncoder().encode(setMarkRule(conf.markMasqBit).tokens[3]!);
  const masqJumpComment = new TextEncoder().encode(masqRules(conf.markMasqBit).jump.tokens[3]!);
  if (!someRule(t.rules(SETMARK), (r) => holds(r, mark) && holds(r, comment))) return false;
  const masquerades = (r: NftRule) => someExpr(r, (e) => e.xtName === "MASQUERADE" || e.name === "masq");
  const masq = t.rules(MASQ);
  if (!someRule(masq, (r) => holds(r, mark) && masquerades(r))) return false;
  // The kernel counts a chain's own rules and the rules that jump to it: more than its own
  // means a jump, and only POSTROUTING's jumps there. Otherwise look (POSTROUTING is long).
  if ((t.chainUse(MASQ) ?? 0) > masq.length) return true;
  return t.hasJump("POSTROUTING", MASQ, (r) => holds(r, masqJumpComment));
}

/** Forwards the mapped ports of one family to `addr` ("ip/prefix"), replacing the container's chain as a whole. */
function forwardPorts(conf: PortMapConf, containerID: string, family: Family, addr: string): void {
  const d = rulesFor(conf, containerID, family, addr);
  // A new container on a node already set up: only its chain and entry rules to add,
  // nothing to read but a few chains (a missing chain has no jumps to it).
  const fresh = withNftIptables(family, "nat", (t) => !t.hasChain(d.chain) && sharedChainsInPlace(t, conf));
  if (fresh) {
    const b = new TableBatch(family, "nat", `:${TOP_DNAT} - [0:0]\n`).resetChain(d.chain);
    for (const r of d.rules) b.append(r);
    for (const e of d.entries) b.append(e);
    commitBatch(b);
    return;
  }
  const b = new TableBatch(family, "nat");
  // The marking chains first: the container's chain jumps to them.
  if (conf.snat && !conf.externalSetMarkChain) {
    const masq = masqRules(conf.markMasqBit);
    b.ensureChain(SETMARK).appendUnique(setMarkRule(conf.markMasqBit));
    b.ensureChain(MASQ).appendUnique(masq.rule).insertUnique(masq.jump);
  }
  b.ensureChain(TOP_DNAT);
  for (const j of topLevelJumps()) b.appendUnique(j);
  // A fresh chain every ADD: whatever an earlier, interrupted ADD left is replaced.
  b.deleteMatching(TOP_DNAT, ` -j ${d.chain}`).resetChain(d.chain);
  for (const r of d.rules) b.append(r);
  for (const e of d.entries) b.append(e);
  b.commit();
}

/** Fails (with what is missing) unless the container's chain and entry rules are there. */
function checkPorts(conf: PortMapConf, containerID: string, family: Family, addr: string): string | undefined {
  const d = rulesFor(conf, containerID, family, addr);
  const b = new TableBatch(family, "nat");
  if (!b.hasChain(d.chain)) return `chain ${d.chain} not found`;
  for (const r of [...d.rules, ...d.entries]) {
    // Conditions are free-form: when the text differs, ask iptables, which compares what it parsed.
    if (!b.hasRule(r) && !ruleExists(family, "nat", r)) return `${r.chain} rule ${JSON.stringify(r.tokens.join(" "))} not found`;
  }
  return undefined;
}

/** Removes one container's chain and its entry rules from a batch (and an old reference's SNAT chain). */
function dropContainer(b: TableBatch, net: string, containerID: string): void {
  const dn = dnatChainName(net, containerID);
  const sn = oldSnatChainName(net, containerID);
  b.deleteMatching(TOP_DNAT, ` -j ${dn}`).deleteChain(dn);
  b.deleteMatching(OLD_TOP_SNAT, ` -j ${sn}`).deleteChain(sn);
}

/**
 * Removes the container's port maps in both families, by chain name. A family without
 * iptables tools had no rules; one whose nat table cannot be read is skipped, as in
 * the reference: only when every installed family fails so is it an error (a DEL cannot know
 * which families the ADD used).
 */
function unforwardPorts(net: string, containerID: string): void {
  const families: Family[] = [];
  for (const f of [4, 6] as const) if (iptablesAvailable(f)) families.push(f);
  const errors: unknown[] = [];
  for (const family of families) {
    try {
      const done = withNftIptables(family, "nat", (t) => {
        t.removeChain(dnatChainName(net, containerID), [TOP_DNAT]);
        t.removeChain(oldSnatChainName(net, containerID), [OLD_TOP_SNAT]);
        return true;
      });
      if (done !== undefined) continue;
    } catch (e) {
      errors.push(e);
      continue;
    }
    let b: TableBatch;
    try {
      b = new TableBatch(family, "nat");
    } catch (e) {
      // The nat table cannot be read (no kernel support, say): nothing of ours there.
      errors.push(e);
      continue;
    }
    dropContainer(b, net, containerID);
    b.commit();
  }
  if (families.length > 0 && errors.length === families.length) {
    throw new Error(`iptables is not usable: ${errors.map((e) => errorMessage(e)).join("; ")}`);
  }
}

/** Removes the chains of this network's containers that are not in `keep` (container ids). */
function gcPorts(net: string, keep: Set<string>): void {
  const prefix = `dnat name: "${net}" id: "`;
  const kept = new Set([...keep].map((id) => dnatChainName(net, id)));
  for (const family of [4, 6] as const) {
    if (!iptablesAvailable(family)) continue;
    const b = new TableBatch(family, "nat");
    // The chain a container's entry rules jump to is named by network and id, so it
    // tells stale from kept also when a long comment was cut short.
    const stale = new Map<string, string | undefined>();
    for (const line of b.rulesOf(TOP_DNAT)) {
      const c = commentOf(line);
      const target = line.split(" -j ").pop()!;
      if (!c?.startsWith(prefix) || kept.has(target)) continue;
      const id = c.endsWith('"') ? c.slice(prefix.length, -1) : undefined;
      stale.set(target, id !== undefined && dnatChainName(net, id) === target ? id : undefined);
    }
    for (const [chain, id] of stale) {
      if (id !== undefined) dropContainer(b, net, id);
      else b.deleteMatching(TOP_DNAT, ` -j ${chain}`).deleteChain(chain);
    }
    b.commit();
  }
}

/** The iptables backend: a chain per container (named by network and id) in the nat table. */
export const iptablesBackend: PortMapBackend = {
  forward(conf, containerID, addrs) {
    for (const [family, addr] of addrs) forwardPorts(conf, containerID, family, addr);
  },
  check(conf, containerID, addrs) {
    for (const [family, addr] of addrs) {
      const missing = checkPorts(conf, containerID, family, addr);
      if (missing) return `could not check ipv${family} dnat: ${missing}`;
    }
    return undefined;
  },
  unforward: unforwardPorts,
  gc: gcPorts,
};
