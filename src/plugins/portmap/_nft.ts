/**
 * portmap's nftables backend, as the reference's (`backend: "nftables"`): tables
 * `ip cni_hostport` / `ip6 cni_hostport` with chains prerouting and output (nat, "fib
 * daddr type local" -> hostports_all -> hostip_hostports, hostports) and masquerading;
 * each container's rules carry its id as comment, which is how DEL finds them.
 */
import {
  NFT_CMP_EQ,
  NFT_JUMP,
  NFT_META_L4PROTO,
  NFT_PAYLOAD_TRANSPORT_HEADER,
  NFT_REG_1,
  NFT_REG_2,
  IP_ADDR_OFFSET,
  addrMatchExprs,
  cmpExpr,
  dnatExpr,
  fibDaddrTypeExpr,
  immediateExpr,
  masqExpr,
  metaExpr,
  payloadExpr,
  verdictExpr,
} from "../../netlink/nft-expr.ts";
import type { NftOp } from "../../netlink/nftables.ts";
import { nftApply, nftDelete, nftDeleteRule, nftListRules, nftListTable, nftString, nftTables, nftTransactTables, type NftRule } from "../../netfilter/nft.ts";
import { parseIP, to4 } from "../../spec/ip.ts";
import type { PortMapping } from "../../spec/capabilities.ts";
import type { PortMapBackend } from "./_backend.ts";
import { hostIPIn } from "./_chains.ts";
import type { PortMapConf } from "./_conf.ts";

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

/** The container's rules in both families' tables (their comment is its id): one read of the table list, one of each table there. */
function containerRulesNow(containerID: string): { family: 4 | 6; rule: NftRule }[] {
  const tables = nftTables();
  const out: { family: 4 | 6; rule: NftRule }[] = [];
  for (const family of [4, 6] as const) {
    if (!tables.has(`${fam(family)} ${TABLE}`)) continue;
    for (const rule of nftListTable(fam(family), TABLE, containerID)) {
      if (RULE_CHAINS.has(rule.chain) && rule.comment === containerID) out.push({ family, rule });
    }
  }
  return out;
}

/** The rule texts of one container (what ADD adds and CHECK counts), by chain. */
function containerRules(d: NftPortMapInput): { hostports: string[]; masquerading: string[] } {
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
export function forwardScript(d: NftPortMapInput, old: NftRule[]): string[] {
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

/** NF_INET_* hooks and NFPROTO_* families. */
const HOOK = { prerouting: 0, output: 3, postrouting: 4 } as const;
const NFPROTO = { 4: 2, 6: 10 } as const;
const L4PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };
/** RTN_LOCAL as `fib daddr type` leaves it: a host-order u32. */
const RTN_LOCAL = new Uint8Array(new Uint32Array([2]).buffer);

/** An address's bytes in its family's length (4 for IPv4). */
function addrBytes(ip: string): Uint8Array {
  const b = parseIP(ip);
  if (!b) throw new RangeError(`Invalid address ${JSON.stringify(ip)}`);
  return to4(b) ?? b;
}

/** `[x] daddr|saddr == ADDR` on the whole address. */
const addrIs = (offset: number, ip: Uint8Array) => addrMatchExprs(offset, ip, ip.length * 8, NFT_CMP_EQ);

/** forwardScript's steps, over netlink (nftTransactTables): for inputs without conditions (an admin's nft text). */
function forwardOps(d: NftPortMapInput, old: NftRule[]): NftOp[] {
  const local = [fibDaddrTypeExpr(), cmpExpr(NFT_CMP_EQ, RTN_LOCAL), verdictExpr(NFT_JUMP, "hostports_all")];
  const ops: NftOp[] = [
    { addTable: true, comment: "CNI portmap plugin" },
    { addChain: "hostports" },
    { addChain: "hostip_hostports" },
    { addChain: "hostports_all" },
    { flush: "hostports_all" },
    { addRule: "hostports_all", exprs: [verdictExpr(NFT_JUMP, "hostip_hostports")] },
    { addRule: "hostports_all", exprs: [verdictExpr(NFT_JUMP, "hostports")] },
    { addChain: "prerouting", hook: { type: "nat", num: HOOK.prerouting, priority: -100 } },
    { flush: "prerouting" },
    { addRule: "prerouting", exprs: local },
    { addChain: "output", hook: { type: "nat", num: HOOK.output, priority: -100 } },
    { flush: "output" },
    { addRule: "output", exprs: local },
  ];
  if (d.snat) ops.push({ addChain: "masquerading", hook: { type: "nat", num: HOOK.postrouting, priority: 100 } });
  for (const r of old) ops.push({ rule: BigInt(r.handle), chain: r.chain });
  const to = addrBytes(d.ip);
  for (const m of d.mappings) {
    const hostIP = hostIPIn(m, d.family);
    if (hostIP === undefined) continue;
    const port = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
    const exprs = hostIP ? addrIs(IP_ADDR_OFFSET[d.family].daddr, addrBytes(hostIP)) : [];
    exprs.push(
      metaExpr(NFT_META_L4PROTO),
      cmpExpr(NFT_CMP_EQ, new Uint8Array([L4PROTO[m.protocol]!])),
      payloadExpr(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2),
      cmpExpr(NFT_CMP_EQ, port(m.hostPort)),
      immediateExpr(to, NFT_REG_1),
      immediateExpr(port(m.containerPort), NFT_REG_2),
      dnatExpr(NFPROTO[d.family]),
    );
    ops.push({ addRule: "hostports", exprs, comment: d.containerID });
  }
  if (d.snat) {
    const sources = d.masqAll ? [new Uint8Array(to.length)] : d.family === 4 ? [to, new Uint8Array([127, 0, 0, 1])] : [to];
    for (const src of sources) {
      const exprs = [
        ...addrMatchExprs(IP_ADDR_OFFSET[d.family].saddr, src, d.masqAll ? 0 : src.length * 8, NFT_CMP_EQ),
        ...addrIs(IP_ADDR_OFFSET[d.family].daddr, to),
        masqExpr(),
      ];
      ops.push({ addRule: "masquerading", exprs, comment: d.containerID });
    }
  }
  return ops;
}

/** Installs (or replaces) the container's port maps of every given family in one transaction. */
function forwardPortsNft(inputs: NftPortMapInput[]): void {
  if (inputs.length === 0) return;
  const id = inputs[0]!.containerID;
  const old = containerRulesNow(id);
  const oldOf = (family: 4 | 6) => {
    const out: NftRule[] = [];
    for (const o of old) if (o.family === family) out.push(o.rule);
    return out;
  };
  // Without an admin's conditions (nft text) every rule is ours to encode: over netlink,
  // not an `nft -f` process, whose exit waited for the kernel to free the flushed rules.
  let native = true;
  for (const d of inputs) if (d.conditions.length) native = false;
  if (native) {
    const parts: { family: string; table: string; ops: NftOp[] }[] = [];
    for (const d of inputs) parts.push({ family: fam(d.family), table: TABLE, ops: forwardOps(d, oldOf(d.family)) });
    nftTransactTables(parts);
    return;
  }
  nftApply(
    inputs.flatMap((d) =>
      forwardScript(
        d,
        old.filter((o) => o.family === d.family).map((o) => o.rule),
      ),
    ),
  );
}

/** Removes the container's rules, one transaction per family (over netlink: nftDelete); nothing there is fine. */
function unforwardPortsNft(containerID: string): void {
  const old = containerRulesNow(containerID);
  for (const family of [4, 6] as const) {
    const rules: NftRule[] = [];
    for (const o of old) if (o.family === family) rules.push(o.rule);
    nftDelete(fam(family), TABLE, rules);
  }
}

/** The number of the container's rules in a chain. */
function countRulesNft(family: 4 | 6, chain: string, containerID: string): number {
  return nftListRules(fam(family), TABLE, chain, containerID).filter((r) => r.comment === containerID).length;
}

function nftInput(conf: PortMapConf, containerID: string, family: 4 | 6, addr: string): NftPortMapInput {
  return {
    family,
    containerID,
    ip: addr.split("/")[0]!,
    mappings: conf.mappings,
    snat: conf.snat,
    masqAll: conf.masqAll,
    conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
  };
}

/** The nftables backend: the reference's cni_hostport tables, the container's rules found by their comment. */
export const nftBackend: PortMapBackend = {
  forward(conf, containerID, addrs) {
    forwardPortsNft([...addrs].map(([family, addr]) => nftInput(conf, containerID, family, addr)));
  },
  check(conf, containerID, addrs) {
    // As the reference: enough rules of the container in each chain (their text is nft's to print).
    for (const [family, addr] of addrs) {
      const want = containerRules(nftInput(conf, containerID, family, addr));
      for (const chain of ["hostports", "masquerading"] as const) {
        if (countRulesNft(family, chain, containerID) < want[chain].length) return `missing hostport rules in ${JSON.stringify(chain)} chain`;
      }
    }
    return undefined;
  },
  unforward: (_net, containerID) => unforwardPortsNft(containerID),
  // Nothing: the rules' comment (the reference's) names the container but not the
  // network, so a container of another network cannot be told from a stale one.
  gc: () => {},
};
