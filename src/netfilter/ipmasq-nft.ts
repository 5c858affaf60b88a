/**
 * IP masquerade with nftables, as the reference plugins' nftables backend
 * (ipMasqBackend "nftables"): table inet cni_plugins_masquerade, a postrouting nat chain
 * that skips multicast and goes to masq_checks, and there one rule per address with a
 * comment that starts with a hash of network, interface and container, so DEL and GC
 * remove exactly the rules of one attachment.
 */
import type { Attachment } from "../spec/types.ts";
import { formatIP, networkOf, parseCIDR, to4 } from "../spec/ip.ts";
import { type NftRule, nftApply, nftDelete, nftListRules, nftString, nftTables } from "./nft.ts";

const TABLE = "cni_plugins_masquerade";
const CHAIN = "masq_checks";
const T = `inet ${TABLE}`;
/** knftables' CommentLengthMax. */
const COMMENT_MAX = 128;

const hash16 = (s: string) => new Bun.CryptoHasher("sha512").update(s).digest("hex").slice(0, 16);

/** The network part of the comments. */
function hashForNetwork(network: string): string {
  return hash16(network);
}

/** The attachment part: network hash, "-", hash of "ifname:containerID". */
export function hashForInstance(network: string, ifname: string, containerID: string): string {
  return `${hashForNetwork(network)}-${hash16(`${ifname}:${containerID}`)}`;
}

/** The reference's rule comment. */
export function nftMasqComment(network: string, ifname: string, containerID: string): string {
  const clean = (s: string) => s.replaceAll('"', "");
  return `${hashForInstance(network, ifname, containerID)}, net: ${clean(network)}, if: ${clean(ifname)}, id: ${clean(containerID)}`.slice(0, COMMENT_MAX);
}

/** The rules in masq_checks whose comment starts with `prefix`; with `keep`, not those whose attachment hash is in it. */
function rulesOf(prefix: string, keep?: ReadonlySet<string>): NftRule[] {
  const out: NftRule[] = [];
  for (const r of nftListRules("inet", TABLE, CHAIN, prefix)) {
    if (r.comment?.startsWith(prefix) && !keep?.has(r.comment.split(",")[0]!)) out.push(r);
  }
  return out;
}

function staleDeletes(prefix: string): string[] {
  const out: string[] = [];
  for (const r of rulesOf(prefix)) out.push(`delete rule ${T} ${CHAIN} handle ${r.handle}`);
  return out;
}

/** Masquerades traffic from `ipns` ("ip/prefix") leaving their subnets, replacing this attachment's old rules. */
export function setupIPMasqNft(ipns: readonly string[], network: string, ifname: string, containerID: string): void {
  const comment = nftMasqComment(network, ifname, containerID);
  const lines = [
    `add table ${T} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
    `add chain ${T} ${CHAIN} { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority 100 ; }`,
    `flush chain ${T} postrouting`,
    `add rule ${T} postrouting ip daddr == 224.0.0.0/4 return`,
    `add rule ${T} postrouting ip6 daddr == ff00::/8 return`,
    `add rule ${T} postrouting goto ${CHAIN}`,
    ...staleDeletes(hashForInstance(network, ifname, containerID)),
  ];
  for (const ipn of ipns) {
    const n = parseCIDR(ipn);
    if (!n) throw new RangeError(`Invalid address ${JSON.stringify(ipn)}`);
    const fam = to4(n.ip) ? "ip" : "ip6";
    const net = networkOf(n);
    lines.push(
      `add rule ${T} ${CHAIN} ${fam} saddr == ${formatIP(n.ip)} ${fam} daddr != ${formatIP(net.ip)}/${net.prefix} masquerade comment ${nftString(comment)}`,
    );
  }
  nftApply(lines);
}

/** Removes the rules of one attachment; nothing there (or no table) is fine. */
export function teardownIPMasqNft(network: string, ifname: string, containerID: string): void {
  // Every bridge and ptp DEL looks here (the backend may have changed since ADD): where the
  // table was never made, one netlink read instead of an `nft` process.
  if (!nftTables().has(T)) return;
  nftDelete("inet", TABLE, rulesOf(hashForInstance(network, ifname, containerID)));
}

/** Removes the rules of this network's attachments that are not in `valid`. */
export function gcIPMasqNft(network: string, valid: readonly Attachment[]): void {
  const keep = new Set(valid.map((a) => hashForInstance(network, a.ifname, a.containerID)));
  const prefix = hashForNetwork(network);
  if (!nftTables().has(T)) return;
  nftDelete("inet", TABLE, rulesOf(prefix, keep));
}
