/**
 * portmap's nftables backend, as the reference's (`backend: "nftables"`): tables
 * `ip cni_hostport` / `ip6 cni_hostport` with chains prerouting and output (nat, "fib
 * daddr type local" -> hostports_all -> hostip_hostports, hostports) and masquerading;
 * each container's rules carry its id as comment, which is how DEL and GC find them.
 */
import { nftApply, nftDeleteRule, nftListTable, nftString, nftTables, type NftRule } from "../../netfilter/nft.ts";
import type { PortMapping } from "../../spec/capabilities.ts";
import { hostIPIn } from "./_chains.ts";

const TABLE = "cni_hostport";
/** Chains that hold rules of containers; hostip_hostports only in tables of older reference versions. */
const RULE_CHAINS = new Set(["hostports", "hostip_hostports", "masquerading"]);

export interface NftPortMapInput {
  family: 4 | 6;
  containerID: string;
  /** The container's address, without prefix. */
  ip: string;
  mappings: PortMapping[];
  snat: boolean;
  masqAll: boolean;
  /** nft match expressions put before "fib daddr type local" in prerouting and output. */
  conditions: string[];
}

const fam = (f: 4 | 6) => (f === 4 ? "ip" : "ip6");

/** Conditions are the admin's nft expressions; they may not end the statement or open a block. */
function conditionText(c: string[]): string {
  for (const x of c) if (/[;\n\r\0#{}\\]/.test(x)) throw new RangeError(`Invalid nftables condition ${JSON.stringify(x)}`);
  return c.length ? `${c.join(" ")} ` : "";
}

/** The container rules of both families' tables: one read of the table list, one of each table there. */
function containerRulesNow(pred: (comment: string) => boolean): { family: 4 | 6; rule: NftRule }[] {
  const tables = nftTables();
  return ([4, 6] as const).filter((f) => tables.has(`${fam(f)} ${TABLE}`)).flatMap((family) =>
    nftListTable(fam(family), TABLE)
      .filter((r) => RULE_CHAINS.has(r.chain) && r.comment !== undefined && pred(r.comment))
      .map((rule) => ({ family, rule })),
  );
}

/** The rule texts of one container (what ADD adds and CHECK counts), by chain. */
export function containerRules(d: NftPortMapInput): { hostports: string[]; masquerading: string[] } {
  const x = fam(d.family);
  const to = d.family === 4 ? `${d.ip}` : `[${d.ip}]`;
  const hostports: string[] = [];
  for (const m of d.mappings) {
    const hostIP = hostIPIn(m, d.family);
    if (hostIP === undefined) continue;
    hostports.push(`${hostIP ? `${x} daddr ${hostIP} ` : ""}${m.protocol} dport ${m.hostPort} dnat to ${to}:${m.containerPort}`);
  }
  const masquerading: string[] = [];
  if (d.snat) {
    // masqAll: every source, which also covers localhost (the reference since v1.9).
    masquerading.push(`${x} saddr ${d.masqAll ? (d.family === 4 ? "0.0.0.0/0" : "::/0") : d.ip} ${x} daddr ${d.ip} masquerade`);
    if (d.family === 4 && !d.masqAll) masquerading.push(`${x} saddr 127.0.0.1 ${x} daddr ${d.ip} masquerade`);
  }
  return { hostports, masquerading };
}

/** The script that installs (or replaces) the container's port maps in one family's table. */
function forwardScript(d: NftPortMapInput, old: NftRule[]): string[] {
  const t = `${fam(d.family)} ${TABLE}`;
  const cond = conditionText(d.conditions);
  const c = nftString(d.containerID);
  const r = containerRules(d);
  return [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} hostports`,
    `add chain ${t} hostip_hostports`,
    `add chain ${t} hostports_all`,
    `flush chain ${t} hostports_all`,
    `add rule ${t} hostports_all jump hostip_hostports`,
    `add rule ${t} hostports_all jump hostports`,
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${cond}fib daddr type local jump hostports_all`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${cond}fib daddr type local jump hostports_all`,
    ...(d.snat ? [`add chain ${t} masquerading { type nat hook postrouting priority 100 ; }`] : []),
    // A retried ADD replaces the container's rules instead of doubling them.
    ...old.map((rule) => nftDeleteRule(fam(d.family), TABLE, rule)),
    ...r.hostports.map((rule) => `add rule ${t} hostports ${rule} comment ${c}`),
    ...r.masquerading.map((rule) => `add rule ${t} masquerading ${rule} comment ${c}`),
  ];
}

/** Installs (or replaces) the container's port maps of every given family in one transaction. */
export function forwardPortsNft(inputs: NftPortMapInput[]): void {
  if (inputs.length === 0) return;
  const id = inputs[0]!.containerID;
  const old = containerRulesNow((cm) => cm === id);
  nftApply(inputs.flatMap((d) => forwardScript(d, old.filter((o) => o.family === d.family).map((o) => o.rule))));
}

/** Removes the container's rules in both families in one transaction; nothing there is fine. */
export function unforwardPortsNft(containerID: string): void {
  const old = containerRulesNow((cm) => cm === containerID);
  if (old.length) nftApply(old.map((o) => nftDeleteRule(fam(o.family), TABLE, o.rule)));
}

/** The number of the container's rules in a chain. */
export function countRulesNft(family: 4 | 6, chain: string, containerID: string): number {
  return nftListTable(fam(family), TABLE).filter((r) => r.chain === chain && r.comment === containerID).length;
}

/** Removes the rules of containers not in `keep`, in one transaction. */
export function gcNft(keep: Set<string>): void {
  const stale = containerRulesNow((cm) => !keep.has(cm));
  if (stale.length) nftApply(stale.map((o) => nftDeleteRule(fam(o.family), TABLE, o.rule)));
}
