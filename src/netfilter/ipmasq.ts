/**
 * IP masquerade for a container address, as the reference plugins' ip.SetupIPMasq
 * does it, with the same chain names, rules and comments so rules made by the Go
 * bridge or ptp are found and removed by ours and the other way round:
 *
 *   -A CNI-<hash> -d <subnet> -m comment --comment "name: \"N\" id: \"ID\"" -j ACCEPT
 *   -A CNI-<hash> ! -d 224.0.0.0/4 -m comment --comment ... -j MASQUERADE
 *   -A POSTROUTING -s <ip>/32 -m comment --comment ... -j CNI-<hash>
 */
import { familyOf, formatIP, networkOf, parseCIDR } from "../spec/ip.ts";
import { type Family, type Rule, TableBatch, iptablesAvailable } from "./iptables.ts";
import { commitBatch, withNftIptables } from "./iptables-nft.ts";
import { commentOf } from "./rule-text.ts";

const MAX_CHAIN = 28;
const MULTICAST = { 4: "224.0.0.0/4", 6: "ff00::/8" } as const;

/** `prefix` + hex sha512(name + id), cut to 28 characters (the reference's FormatChainName). */
export function chainNameFor(prefix: string, name: string, id: string): string {
  const hash = new Bun.CryptoHasher("sha512").update(name + id).digest("hex");
  return (prefix + hash).slice(0, MAX_CHAIN);
}

/** The masquerade chain of one attachment: "CNI-" + hash. */
export function masqChainName(net: string, containerID: string): string {
  return chainNameFor("CNI-", net, containerID);
}

/** The reference's rule comment: Go's %q of both values. */
export function masqComment(net: string, containerID: string): string {
  return `name: ${JSON.stringify(net)} id: ${JSON.stringify(containerID)}`;
}

function parse(ipn: string): { family: Family; host: string; subnet: string } {
  const n = parseCIDR(ipn);
  if (!n) throw new RangeError(`Invalid address ${JSON.stringify(ipn)}: expected address/prefix`);
  const family = familyOf(n.ip);
  const net = networkOf(n);
  return { family, host: `${formatIP(n.ip)}/${family === 4 ? 32 : 128}`, subnet: `${formatIP(net.ip)}/${net.prefix}` };
}

/** One address's masquerade rules. */
interface MasqRules {
  family: Family;
  accept: Rule;
  masq: Rule;
  jump: Rule;
}

function rules(ipn: string, chain: string, comment: string): MasqRules {
  const { family, host, subnet } = parse(ipn);
  const c = ["-m", "comment", "--comment", comment];
  const accept: Rule = { chain, tokens: ["-d", subnet, ...c, "-j", "ACCEPT"] };
  const masq: Rule = { chain, tokens: ["!", "-d", MULTICAST[family], ...c, "-j", "MASQUERADE"] };
  const jump: Rule = { chain: "POSTROUTING", tokens: ["-s", host, ...c, "-j", chain] };
  return { family, accept, masq, jump };
}

/** Masquerades traffic from the addresses in `ipns` (each "ip/prefix") leaving their subnets; idempotent. */
export function setupIPMasq(ipns: readonly string[], chain: string, comment: string): void {
  for (const family of [4, 6] as const) {
    const mine: MasqRules[] = [];
    for (const i of ipns) {
      const r = rules(i, chain, comment);
      if (r.family === family) mine.push(r);
    }
    if (mine.length === 0) continue;
    // A chain that does not exist yet has no rules and no jump to it: nothing to read.
    const fresh = withNftIptables(family, "nat", (t) => !t.hasChain(chain));
    const b = new TableBatch(family, "nat", fresh ? "" : undefined).ensureChain(chain);
    for (const r of mine) b.appendUnique(r.accept).appendUnique(r.masq).appendUnique(r.jump);
    commitBatch(b);
  }
}

/** True when a saved POSTROUTING rule jumps to `chain`. */
function jumpedTo(b: TableBatch, chain: string): boolean {
  for (const l of b.rulesOf("POSTROUTING")) if (l.endsWith(` -j ${chain}`)) return true;
  return false;
}

/**
 * Removes the masquerade rules of one attachment: every POSTROUTING jump to its chain
 * (whatever address it names, so a DEL without the address still cleans up), then
 * the chain. Missing rules and chains are not errors.
 */
export function teardownIPMasq(chain: string, families: readonly Family[] = [4, 6]): void {
  for (const family of families) {
    // A DEL cannot know which families the ADD used: a family without its tools had none.
    if (!iptablesAvailable(family)) continue;
    if (withNftIptables(family, "nat", (t) => t.removeChain(chain, ["POSTROUTING"])) !== undefined) continue;
    const b = new TableBatch(family, "nat");
    if (!b.hasChain(chain) && !jumpedTo(b, chain)) continue;
    b.deleteMatching("POSTROUTING", ` -j ${chain}`).deleteChain(chain).commit();
  }
}

/**
 * Removes the masquerade chains of this network's attachments whose container is not
 * in `keep`. The reference cannot (it does no iptables GC); we can, because the
 * POSTROUTING jumps carry the comment `name: "N" id: "ID"`, and a chain is removed only
 * when its name is the hash of that network and id, so nothing of others is touched.
 */
export function gcIPMasq(net: string, keep: ReadonlySet<string>): void {
  const prefix = `name: ${JSON.stringify(net)} id: `;
  for (const family of [4, 6] as const) {
    if (!iptablesAvailable(family)) continue;
    const b = new TableBatch(family, "nat");
    const stale = new Set<string>();
    for (const line of b.rulesOf("POSTROUTING")) {
      const c = commentOf(line);
      if (!c?.startsWith(prefix)) continue;
      let id: unknown;
      try {
        id = JSON.parse(c.slice(prefix.length));
      } catch {
        continue;
      }
      if (typeof id !== "string" || keep.has(id)) continue;
      const chain = masqChainName(net, id);
      if (line.endsWith(` -j ${chain}`)) stale.add(chain);
    }
    for (const chain of stale) b.deleteMatching("POSTROUTING", ` -j ${chain}`).deleteChain(chain);
    b.commit();
  }
}
