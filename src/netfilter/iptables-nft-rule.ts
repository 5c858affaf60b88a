/**
 * The rules the plugins write (ipMasq's, portmap's), as iptables-nft 1.8 puts them into
 * nf_tables: the same expressions in the same order, so `iptables-save` prints a rule
 * written here exactly as one iptables-restore wrote, and every iptables (ours, the Go
 * plugins', an admin's `iptables -D`) finds and removes it. Only these shapes:
 *
 *   [!] -s|-d ADDR/PREFIX      payload (prefix bytes, or all with a bitwise mask) + cmp
 *   -p tcp|udp                 meta l4proto + cmp
 *   -m tcp|udp --dport N       payload of the transport header + cmp (iptables-nft's native form)
 *   -m comment --comment C     xt match comment rev 0
 *   -m multiport --dports L    xt match multiport rev 1
 *   -m conntrack --ctstate S   xt match conntrack rev 3 (S: NEW, ESTABLISHED, RELATED, INVALID)
 *   -j ACCEPT | CHAIN          immediate verdict
 *   -j MASQUERADE              xt target MASQUERADE rev 0
 *   -j DNAT --to-destination   xt target DNAT rev 2
 *
 * then a counter before the verdict, as iptables-nft adds to every rule. Anything else
 * (sctp, port ranges, a config's free-form conditions) gives undefined: the caller
 * writes that batch with iptables-restore.
 */
import type { NftNewRule } from "../netlink/nftables.ts";
import { NATIVE_LE } from "../netlink/nl/_bytes.ts";
import { be16 } from "../netlink/nl/rtattr.ts";
import {
  NFT_CMP_EQ,
  NFT_CMP_NEQ,
  NFT_JUMP,
  NFT_META_L4PROTO,
  NFT_PAYLOAD_TRANSPORT_HEADER,
  NF_ACCEPT,
  IP_ADDR_OFFSET,
  type NftExprAttr,
  addrMatchExprs,
  cmpExpr,
  counterExpr,
  metaExpr,
  payloadExpr,
  verdictExpr,
  xtMatchExpr,
  xtTargetExpr,
} from "../netlink/nft-expr.ts";
import { parseCIDR, parseIP } from "../spec/ip.ts";
import type { Family, Rule } from "./iptables.ts";

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17 };
/** XT_MAX_COMMENT_LEN: struct xt_comment_info. */
const COMMENT_LEN = 256;
/** XT_MULTIPORT_DESTINATION, and struct xt_multiport_v1's room for ports. */
const MULTIPORT_DESTINATION = 1;
const MULTIPORT_MAX = 15;
/** NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED. */
const NAT_MAP_IPS_AND_PORT = 3;
/** Targets that are not chains: a name like these we do not encode is left to iptables-restore. */
const NOT_A_CHAIN = /^[A-Z]+$/;
const CHAIN = /^[A-Za-z0-9_.-]{1,28}$/;

/** XT_ALIGN: xtables payloads are padded to 8 bytes. */
const xtAlign = (n: number) => (n + 7) & ~7;

/** `[!] -s|-d ADDR/PREFIX` as iptables-nft's add_addr (addrMatchExprs); /0, which iptables leaves out, is not encoded. */
function addrExprs(family: Family, dir: "-s" | "-d", text: string, invert: boolean): NftExprAttr[] | undefined {
  const n = text.includes("/") ? parseCIDR(text) : parseIP(text) && { ip: parseIP(text)!, prefix: family === 4 ? 32 : 128 };
  if (!n || n.ip.length !== (family === 4 ? 4 : 16) || n.prefix === 0) return undefined;
  const offset = IP_ADDR_OFFSET[family][dir === "-s" ? "saddr" : "daddr"];
  return addrMatchExprs(offset, n.ip, n.prefix, invert ? NFT_CMP_NEQ : NFT_CMP_EQ);
}

function port(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return undefined;
  const p = Number(s);
  return p >= 1 && p <= 65535 ? p : undefined;
}

/** struct xt_comment_info: the text, NUL padded. */
function commentInfo(c: string): Uint8Array | undefined {
  const b = new TextEncoder().encode(c);
  if (b.length >= COMMENT_LEN || b.includes(0)) return undefined;
  const out = new Uint8Array(COMMENT_LEN);
  out.set(b);
  return out;
}

/** struct xt_multiport_v1 for `--dports A,B,...` (single ports only). */
function multiportInfo(list: string): Uint8Array | undefined {
  const ports = list.split(",");
  if (ports.length > MULTIPORT_MAX) return undefined;
  const out = new Uint8Array(xtAlign(2 + 2 * MULTIPORT_MAX + MULTIPORT_MAX + 1));
  const v = new DataView(out.buffer);
  out[0] = MULTIPORT_DESTINATION;
  out[1] = ports.length;
  for (let i = 0; i < ports.length; i++) {
    const p = port(ports[i]);
    if (p === undefined) return undefined;
    v.setUint16(2 + 2 * i, p, true);
  }
  return out;
}

/** struct nf_nat_range2 for `--to-destination IP:PORT` (`[IP]:PORT` in IPv6). */
function dnatInfo(family: Family, to: string): Uint8Array | undefined {
  const m = family === 4 ? /^([0-9.]+):(\d+)$/.exec(to) : /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(to);
  const ip = m ? parseIP(m[1]!) : null;
  const p = port(m?.[2]);
  if (!ip || p === undefined || ip.length !== (family === 4 ? 4 : 16)) return undefined;
  const out = new Uint8Array(xtAlign(4 + 16 + 16 + 2 + 2 + 2));
  new DataView(out.buffer).setUint32(0, NAT_MAP_IPS_AND_PORT, true);
  out.set(ip, 4);
  out.set(ip, 20);
  out.set(be16(p), 36);
  out.set(be16(p), 38);
  return out;
}

/** XT_CONNTRACK_STATE_BIT of each state iptables takes (1 << (ip_conntrack_info + 1); INVALID is bit 0). */
const CT_STATES: Record<string, number> = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8 };
/** sizeof(struct xt_conntrack_mtinfo3), XT_ALIGNed, and where its match_flags and state_mask are. */
const CONNTRACK_INFO_SIZE = 168;
const CONNTRACK_MATCH_FLAGS = 146;
const CONNTRACK_STATE_MASK = 150;
const XT_CONNTRACK_STATE = 1;

/** struct xt_conntrack_mtinfo3 of `--ctstate LIST` alone, as libxt_conntrack fills it (host byte order). */
function conntrackInfo(list: string): Uint8Array | undefined {
  let mask = 0;
  for (const s of list.split(",")) {
    const bit = CT_STATES[s];
    if (bit === undefined) return undefined;
    mask |= bit;
  }
  const info = new Uint8Array(CONNTRACK_INFO_SIZE);
  const v = new DataView(info.buffer);
  v.setUint16(CONNTRACK_MATCH_FLAGS, XT_CONNTRACK_STATE, NATIVE_LE);
  v.setUint16(CONNTRACK_STATE_MASK, mask, NATIVE_LE);
  return info;
}

/** MASQUERADE's info without options: IPv4's nf_nat_ipv4_multi_range_compat with one empty range, IPv6's empty nf_nat_range. */
function masqueradeInfo(family: Family): Uint8Array {
  if (family === 6) return new Uint8Array(xtAlign(4 + 16 + 16 + 2 + 2));
  const out = new Uint8Array(xtAlign(4 + 4 + 4 + 4 + 2 + 2));
  new DataView(out.buffer).setUint32(0, 1, true);
  return out;
}

/** The rule as iptables-nft would write it into nf_tables; undefined when it is not one of the shapes above. */
export function encodeIptablesRule(family: Family, rule: Rule): NftNewRule | undefined {
  const t = rule.tokens;
  let proto = 0;
  const protoExprs: NftExprAttr[] = [];
  const addrs: Record<"-s" | "-d", NftExprAttr[]> = { "-s": [], "-d": [] };
  const matches: NftExprAttr[] = [];
  let target: NftExprAttr | undefined;
  for (let i = 0; i < t.length; ) {
    const invert = t[i] === "!";
    if (invert) i++;
    const tok = t[i];
    if (tok === "-s" || tok === "-d") {
      const e = addrExprs(family, tok, t[i + 1] ?? "", invert);
      if (!e || addrs[tok].length > 0) return undefined;
      addrs[tok] = e;
      i += 2;
      continue;
    }
    if (invert || target) return undefined;
    if (tok === "-p") {
      const p = PROTOCOLS[t[i + 1] ?? ""];
      if (p === undefined || proto !== 0) return undefined;
      proto = p;
      protoExprs.push(metaExpr(NFT_META_L4PROTO), cmpExpr(NFT_CMP_EQ, new Uint8Array([p])));
      i += 2;
    } else if (tok === "-m" && t[i + 1] === "comment" && t[i + 2] === "--comment") {
      const info = commentInfo(t[i + 3] ?? "");
      if (!info) return undefined;
      matches.push(xtMatchExpr("comment", 0, info));
      i += 4;
    } else if (tok === "-m" && (t[i + 1] === "tcp" || t[i + 1] === "udp") && t[i + 2] === "--dport") {
      const p = port(t[i + 3]);
      if (p === undefined || PROTOCOLS[t[i + 1]!] !== proto) return undefined;
      matches.push(payloadExpr(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2), cmpExpr(NFT_CMP_EQ, be16(p)));
      i += 4;
    } else if (tok === "-m" && t[i + 1] === "multiport" && t[i + 2] === "--dports") {
      const info = multiportInfo(t[i + 3] ?? "");
      if (!info || proto === 0) return undefined;
      matches.push(xtMatchExpr("multiport", 1, info));
      i += 4;
    } else if (tok === "-m" && t[i + 1] === "conntrack" && t[i + 2] === "--ctstate") {
      const info = conntrackInfo(t[i + 3] ?? "");
      if (!info) return undefined;
      matches.push(xtMatchExpr("conntrack", 3, info));
      i += 4;
    } else if (tok === "-j" && t[i + 1] === "ACCEPT" && i + 2 === t.length) {
      target = verdictExpr(NF_ACCEPT);
      i += 2;
    } else if (tok === "-j" && t[i + 1] === "MASQUERADE" && i + 2 === t.length) {
      target = xtTargetExpr("MASQUERADE", 0, masqueradeInfo(family));
      i += 2;
    } else if (tok === "-j" && t[i + 1] === "DNAT" && t[i + 2] === "--to-destination" && i + 4 === t.length) {
      const info = dnatInfo(family, t[i + 3]!);
      if (!info) return undefined;
      target = xtTargetExpr("DNAT", 2, info);
      i += 4;
    } else if (tok === "-j" && i + 2 === t.length && CHAIN.test(t[i + 1]!) && !NOT_A_CHAIN.test(t[i + 1]!)) {
      target = verdictExpr(NFT_JUMP, t[i + 1]);
      i += 2;
    } else return undefined;
  }
  if (!target) return undefined;
  return { chain: rule.chain, proto, exprs: [...protoExprs, ...addrs["-s"], ...addrs["-d"], ...matches, counterExpr(), target] };
}
