/**
 * flannel's masquerade and forward rules (pkg/trafficmngr): on iptables the nat chain
 * FLANNEL-POSTRTG (jumped to from POSTROUTING) and the filter chain FLANNEL-FWD (from
 * FORWARD), comments "flanneld masq" / "flanneld forward", in flannel's order; on
 * nftables (EnableNFTables) the tables `ip flannel-ipv4` / `ip6 flannel-ipv6` with
 * chains postrtg and forward. Each ensure is one batch per table; a chain that differs
 * from what it should be (missing rules, an old subnet's rules) is rewritten whole.
 */
import { TableBatch, type Family, type Rule, iptablesAvailable, saveTable } from "../netfilter/iptables.ts";
import { nftApply } from "../netfilter/nft.ts";
import { nftAvailable } from "../netfilter/nft-available.ts";
import { ruleLine } from "../netfilter/rule-text.ts";

const KUBE_PROXY_MARK = "0x4000/0x4000";
const MASQ = "flanneld masq";
const FWD = "flanneld forward";

/** What the rules are about: the cluster network and this node's subnet, per family. */
export interface TrafficNets {
  network: string;
  subnet: string;
  family: Family;
}

/** flannel's FLANNEL-POSTRTG rules in its order, and the POSTROUTING jump first. */
export function masqRules(n: TrafficNets, randomFully: boolean): Rule[] {
  const c = ["-m", "comment", "--comment", MASQ];
  const masq = randomFully ? ["-j", "MASQUERADE", "--random-fully"] : ["-j", "MASQUERADE"];
  const mcast = n.family === 4 ? "224.0.0.0/4" : "ff00::/8";
  return [
    { chain: "POSTROUTING", tokens: [...c, "-j", "FLANNEL-POSTRTG"] },
    { chain: "FLANNEL-POSTRTG", tokens: ["-m", "mark", "--mark", KUBE_PROXY_MARK, ...c, "-j", "RETURN"] },
    { chain: "FLANNEL-POSTRTG", tokens: ["-s", n.subnet, "-d", n.network, ...c, "-j", "RETURN"] },
    { chain: "FLANNEL-POSTRTG", tokens: ["-s", n.network, "-d", n.subnet, ...c, "-j", "RETURN"] },
    { chain: "FLANNEL-POSTRTG", tokens: ["!", "-s", n.network, "-d", n.subnet, ...c, "-j", "RETURN"] },
    { chain: "FLANNEL-POSTRTG", tokens: ["-s", n.network, "!", "-d", mcast, ...c, ...masq] },
    { chain: "FLANNEL-POSTRTG", tokens: ["!", "-s", n.network, "-d", n.network, ...c, ...masq] },
  ];
}

/** flannel's FLANNEL-FWD rules and the FORWARD jump. */
export function forwardRules(network: string): Rule[] {
  const c = ["-m", "comment", "--comment", FWD];
  return [
    { chain: "FORWARD", tokens: [...c, "-j", "FLANNEL-FWD"] },
    { chain: "FLANNEL-FWD", tokens: ["-s", network, ...c, "-j", "ACCEPT"] },
    { chain: "FLANNEL-FWD", tokens: ["-d", network, ...c, "-j", "ACCEPT"] },
  ];
}

/**
 * Makes `chain` hold exactly `rules` (in order) and `parent` jump to it; one
 * iptables-restore when anything differs, nothing otherwise. True when it changed something.
 */
function ensureChain(family: Family, table: string, chain: string, rules: Rule[]): boolean {
  const b = new TableBatch(family, table, saveTable(family, table));
  const own = rules.filter((r) => r.chain === chain);
  const jumps = rules.filter((r) => r.chain !== chain);
  const want = own.map((r) => ruleLine("-A", r.chain, r.tokens));
  const same = b.hasChain(chain) && JSON.stringify(b.rulesOf(chain)) === JSON.stringify(want);
  if (!same) {
    b.resetChain(chain);
    for (const r of own) b.append(r);
  }
  for (const j of jumps) b.appendUnique(j);
  const changed = b.dirty;
  b.commit();
  return changed;
}

/** Removes a chain and the jumps to it. */
function removeChain(family: Family, table: string, parent: string, chain: string): void {
  const b = new TableBatch(family, table, saveTable(family, table));
  b.deleteMatching(parent, `-j ${chain}`);
  b.deleteChain(chain);
  b.commit();
}

/** The rules flanneld keeps in place; ensure() is called at start and every --iptables-resync seconds. */
export interface TrafficManager {
  readonly kind: "iptables" | "nftables";
  /** Puts the rules in place; true when something was missing or different. */
  ensure(): boolean;
  /** Removes every rule of this kind (at start, for the kind not in use). */
  cleanUp(): void;
}

/** Options of the traffic manager. */
export interface TrafficOptions {
  nets: TrafficNets[];
  ipMasq: boolean;
  forward: boolean;
  randomFully: boolean;
}

/** flannel's iptables rules. */
export function iptablesManager(o: TrafficOptions): TrafficManager {
  return {
    kind: "iptables",
    ensure() {
      let changed = false;
      for (const n of o.nets) {
        if (!iptablesAvailable(n.family)) continue;
        if (o.ipMasq) changed = ensureChain(n.family, "nat", "FLANNEL-POSTRTG", masqRules(n, o.randomFully)) || changed;
        if (o.forward) changed = ensureChain(n.family, "filter", "FLANNEL-FWD", forwardRules(n.network)) || changed;
      }
      return changed;
    },
    cleanUp() {
      for (const f of [4, 6] as const) {
        if (!iptablesAvailable(f)) continue;
        removeChain(f, "nat", "POSTROUTING", "FLANNEL-POSTRTG");
        removeChain(f, "filter", "FORWARD", "FLANNEL-FWD");
      }
    },
  };
}

const NFT_TABLE = { 4: ["ip", "flannel-ipv4"], 6: ["ip6", "flannel-ipv6"] } as const;

/** flannel's nftables script for one family: the table, its chains flushed and filled. */
export function nftScript(n: TrafficNets, o: Pick<TrafficOptions, "ipMasq" | "forward" | "randomFully">): string[] {
  const [fam, table] = NFT_TABLE[n.family];
  const masq = o.randomFully ? "masquerade fully-random" : "masquerade";
  const mcast = n.family === 4 ? "224.0.0.0/4" : "ff00::/8";
  const lines = [`add table ${fam} ${table} { comment "rules for ${table}" ; }`];
  if (o.forward) {
    lines.push(
      `add chain ${fam} ${table} forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }`,
      `flush chain ${fam} ${table} forward`,
      `add rule ${fam} ${table} forward ${fam} saddr ${n.network} accept`,
      `add rule ${fam} ${table} forward ${fam} daddr ${n.network} accept`,
    );
  }
  if (o.ipMasq) {
    lines.push(
      `add chain ${fam} ${table} postrtg { type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ; }`,
      `flush chain ${fam} ${table} postrtg`,
      `add rule ${fam} ${table} postrtg meta mark 0x4000 return`,
      `add rule ${fam} ${table} postrtg ${fam} saddr ${n.subnet} ${fam} daddr ${n.network} return`,
      `add rule ${fam} ${table} postrtg ${fam} saddr ${n.network} ${fam} daddr ${n.subnet} return`,
      `add rule ${fam} ${table} postrtg ${fam} saddr != ${n.subnet} ${fam} daddr ${n.network} return`,
      `add rule ${fam} ${table} postrtg ${fam} saddr ${n.network} ${fam} daddr != ${mcast} ${masq}`,
      `add rule ${fam} ${table} postrtg ${fam} saddr != ${n.network} ${fam} daddr ${n.network} ${masq}`,
    );
  }
  return lines;
}

/** flannel's nftables tables; each ensure rewrites them in one transaction when their text differs. */
export function nftablesManager(o: TrafficOptions): TrafficManager {
  let applied = "";
  return {
    kind: "nftables",
    ensure() {
      const lines = o.nets.flatMap((n) => nftScript(n, o));
      const present = o.nets.every((n) => Bun.spawnSync(["nft", "list", "table", ...NFT_TABLE[n.family]], { stdout: "ignore", stderr: "ignore" }).success);
      if (present && applied === lines.join("\n")) return false;
      nftApply(lines);
      applied = lines.join("\n");
      return true;
    },
    cleanUp() {
      if (!nftAvailable()) return;
      for (const f of [4, 6] as const) {
        Bun.spawnSync(["nft", "delete", "table", ...NFT_TABLE[f]], { stdout: "ignore", stderr: "ignore" });
      }
    },
  };
}
