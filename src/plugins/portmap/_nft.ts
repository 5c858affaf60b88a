/**
 * portmap's nftables backend, as the reference's (`backend: "nftables"`): tables
 * `ip cni_hostport` / `ip6 cni_hostport` with chains prerouting and output (nat, "fib
 * daddr type local" -> hostports_all -> hostip_hostports, hostports) and masquerading;
 * each container's rules carry its id as comment, which is how DEL and GC find them.
 */
import { nftApply, nftListRules, nftString } from "../../netfilter/nft.ts";
import type { PortMapping } from "../../spec/capabilities.ts";

const TABLE = "cni_hostport";

export interface NftPortMapInput {
  family: 4 | 6;
  containerID: string;
  /** The container's address, without prefix. */
  ip: string;
  mappings: PortMapping[];
  snat: boolean;
  masqAll: boolean;
  conditions: string[];
}

const fam = (f: 4 | 6) => (f === 4 ? "ip" : "ip6");

function conditionText(c: string[]): string {
  for (const x of c) if (/[;\n\r#{}]/.test(x)) throw new RangeError(`Invalid nftables condition ${JSON.stringify(x)}`);
  return c.length ? `${c.join(" ")} ` : "";
}

/** Deletes of every rule of the container in hostports and masquerading. */
function deletesFor(family: 4 | 6, matches: (comment: string | undefined) => boolean): string[] {
  const t = `${fam(family)} ${TABLE}`;
  return ["hostports", "masquerading"].flatMap((chain) =>
    nftListRules(fam(family), TABLE, chain).filter((r) => matches(r.comment)).map((r) => `delete rule ${t} ${chain} handle ${r.handle}`),
  );
}

/** The rule texts of one container (what ADD adds and CHECK looks for), by chain. */
export function containerRules(d: NftPortMapInput): { hostports: string[]; masquerading: string[] } {
  const x = fam(d.family);
  const to = d.family === 4 ? `${d.ip}` : `[${d.ip}]`;
  const hostports = d.mappings
    .filter((m) => !m.hostIP || m.hostIP.includes(":") === (d.family === 6))
    .map((m) => `${m.hostIP && !/^(0\.0\.0\.0|::)$/.test(m.hostIP) ? `${x} daddr ${m.hostIP} ` : ""}${m.protocol} dport ${m.hostPort} dnat to ${to}:${m.containerPort}`);
  const masquerading: string[] = [];
  if (d.snat) {
    masquerading.push(`${x} saddr ${d.masqAll ? (d.family === 4 ? "0.0.0.0/0" : "::/0") : d.ip} ${x} daddr ${d.ip} masquerade`);
    if (d.family === 4 && !d.masqAll) masquerading.push(`${x} saddr 127.0.0.1 ${x} daddr ${d.ip} masquerade`);
  }
  return { hostports, masquerading };
}

/** Installs (or replaces) the container's port maps in one transaction. */
export function forwardPortsNft(d: NftPortMapInput): void {
  const t = `${fam(d.family)} ${TABLE}`;
  const cond = conditionText(d.conditions);
  const c = nftString(d.containerID);
  const r = containerRules(d);
  nftApply([
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
    ...deletesFor(d.family, (cm) => cm === d.containerID),
    ...r.hostports.map((rule) => `add rule ${t} hostports ${rule} comment ${c}`),
    ...r.masquerading.map((rule) => `add rule ${t} masquerading ${rule} comment ${c}`),
  ]);
}

/** Removes the container's rules in both families; nothing there is fine. */
export function unforwardPortsNft(containerID: string): void {
  for (const f of [4, 6] as const) {
    const d = deletesFor(f, (cm) => cm === containerID);
    if (d.length) nftApply(d);
  }
}

/** The number of the container's rules in a chain. */
export function countRulesNft(family: 4 | 6, chain: string, containerID: string): number {
  return nftListRules(fam(family), TABLE, chain).filter((r) => r.comment === containerID).length;
}

/** Removes the rules of containers not in `keep`. */
export function gcNft(keep: Set<string>): void {
  for (const f of [4, 6] as const) {
    const d = deletesFor(f, (cm) => cm !== undefined && !keep.has(cm));
    if (d.length) nftApply(d);
  }
}
