/**
 * IP masquerade with nftables, as the reference plugins' nftables backend
 * (ipMasqBackend "nftables"): table inet cni_plugins_masquerade, a postrouting nat chain
 * that skips multicast and goes to masq_checks, and there one rule per address with a
 * comment that starts with a hash of network, interface and container, so DEL and GC
 * remove exactly the rules of one attachment.
 */
import type { Attachment } from "../spec/types.ts";
import type { NftOp } from "../netlink/nftables.ts";
import {
  NFT_CMP_EQ,
  NFT_CMP_NEQ,
  NFT_GOTO,
  NFT_META_NFPROTO,
  NFT_RETURN,
  IP_ADDR_OFFSET,
  addrMatchExprs,
  cmpExpr,
  masqExpr,
  metaExpr,
  verdictExpr,
} from "../netlink/nft-expr.ts";
import { parseCIDR, parseIP, to4 } from "../spec/ip.ts";
import { type NftRule, nftDelete, nftListRules, nftTables, nftTransactTables } from "./nft.ts";

const TABLE = "cni_plugins_masquerade";
const CHAIN = "masq_checks";
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

/** NF_INET_POST_ROUTING */
const POSTROUTING_HOOK = 4;
const NFPROTO_IPV4 = 2;
const NFPROTO_IPV6 = 10;

/** `meta nfproto ipv4|ipv6`: what nft puts before an `ip`/`ip6` match in an inet table. */
const nfproto = (proto: number) => [metaExpr(NFT_META_NFPROTO), cmpExpr(NFT_CMP_EQ, new Uint8Array([proto]))];

/**
 * Masquerades traffic from `ipns` ("ip/prefix") leaving their subnets, replacing this
 * attachment's old rules. The reference's script, as one transaction over netlink:
 *   add table inet cni_plugins_masquerade { comment "..." ; }
 *   add chain inet cni_plugins_masquerade masq_checks { comment "..." ; }
 *   add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority 100 ; }
 *   flush chain inet cni_plugins_masquerade postrouting
 *   add rule inet cni_plugins_masquerade postrouting ip daddr == 224.0.0.0/4 return
 *   add rule inet cni_plugins_masquerade postrouting ip6 daddr == ff00::/8 return
 *   add rule inet cni_plugins_masquerade postrouting goto masq_checks
 *   delete rule ... handle H (the attachment's earlier rules)
 *   add rule inet cni_plugins_masquerade masq_checks ip saddr == IP ip daddr != NET/PREFIX masquerade comment "..."
 * An `nft -f` process of it waited at its exit for the kernel to free the flushed rules
 * (its socket's close), about 15 ms of every bridge or ptp ADD here.
 */
export function setupIPMasqNft(ipns: readonly string[], network: string, ifname: string, containerID: string): void {
  const comment = nftMasqComment(network, ifname, containerID);
  const ops: NftOp[] = [
    { addTable: true, comment: "Masquerading for plugins from github.com/containernetworking/plugins" },
    { addChain: CHAIN, comment: "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" },
    { addChain: "postrouting", hook: { type: "nat", num: POSTROUTING_HOOK, priority: 100 } },
    { flush: "postrouting" },
    {
      addRule: "postrouting",
      exprs: [...nfproto(NFPROTO_IPV4), ...addrMatchExprs(IP_ADDR_OFFSET[4].daddr, new Uint8Array([224, 0, 0, 0]), 4, NFT_CMP_EQ), verdictExpr(NFT_RETURN)],
    },
    {
      addRule: "postrouting",
      exprs: [...nfproto(NFPROTO_IPV6), ...addrMatchExprs(IP_ADDR_OFFSET[6].daddr, parseIP("ff00::")!, 8, NFT_CMP_EQ), verdictExpr(NFT_RETURN)],
    },
    { addRule: "postrouting", exprs: [verdictExpr(NFT_GOTO, CHAIN)] },
  ];
  for (const r of rulesOf(hashForInstance(network, ifname, containerID))) ops.push({ rule: BigInt(r.handle), chain: CHAIN });
  for (const ipn of ipns) {
    const n = parseCIDR(ipn);
    if (!n) throw new RangeError(`Invalid address ${JSON.stringify(ipn)}`);
    const v4 = to4(n.ip);
    // An IPv4-mapped IPv6 address is its IPv4 address (its prefix counted in the last 32 bits).
    const prefix = v4 && n.ip.length === 16 ? n.prefix - 96 : n.prefix;
    if (prefix < 0) throw new RangeError(`Invalid address ${JSON.stringify(ipn)}`);
    const ip = v4 ?? n.ip;
    const f = v4 ? 4 : 6;
    const exprs = [
      ...nfproto(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6),
      ...addrMatchExprs(IP_ADDR_OFFSET[f].saddr, ip, ip.length * 8, NFT_CMP_EQ),
      ...addrMatchExprs(IP_ADDR_OFFSET[f].daddr, ip, prefix, NFT_CMP_NEQ),
      masqExpr(),
    ];
    ops.push({ addRule: CHAIN, exprs, comment });
  }
  nftTransactTables([{ family: "inet", table: TABLE, ops }]);
}

/** Removes the rules of one attachment; nothing there (or no table) is fine. */
export function teardownIPMasqNft(network: string, ifname: string, containerID: string): void {
  // Every bridge and ptp DEL looks here (the backend may have changed since ADD): where the
  // table was never made, one netlink read instead of an `nft` process.
  if (!nftTables().has(`inet ${TABLE}`)) return;
  nftDelete("inet", TABLE, rulesOf(hashForInstance(network, ifname, containerID)));
}

/** Removes the rules of this network's attachments that are not in `valid`. */
export function gcIPMasqNft(network: string, valid: readonly Attachment[]): void {
  const keep = new Set(valid.map((a) => hashForInstance(network, a.ifname, a.containerID)));
  const prefix = hashForNetwork(network);
  if (!nftTables().has(`inet ${TABLE}`)) return;
  nftDelete("inet", TABLE, rulesOf(prefix, keep));
}
