/**
 * nf_tables expressions as libnftnl encodes them (NFTA_LIST_ELEM { NFTA_EXPR_NAME,
 * NFTA_EXPR_DATA { ... } }): the few kinds iptables-nft builds its rules from. Pure
 * encoding; `nftables.ts` sends them.
 */
import { type RtAttr, be32, be64, rtaBytes, rtaNested, rtaString } from "./nl/rtattr.ts";

/** The expression and verdict attributes (nftables.ts decodes with them too). */
export const NFTA_LIST_ELEM = 1;
export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

/** enum nft_registers: the verdict register and the first 16-byte data register. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;
/** enum nft_payload_bases. */
export const NFT_PAYLOAD_LL_HEADER = 0;
export const NFT_PAYLOAD_NETWORK_HEADER = 1;
export const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
/** enum nft_cmp_ops. */
export const NFT_CMP_EQ = 0;
export const NFT_CMP_NEQ = 1;
/** enum nft_meta_keys: NFT_META_L4PROTO. */
export const NFT_META_L4PROTO = 16;
/** The input interface's name (16 bytes, NUL-padded). */
export const NFT_META_IIFNAME = 6;
/** The packet's family (an inet table's rules match ip or ip6 on it). */
export const NFT_META_NFPROTO = 15;
/** Verdicts: NF_ACCEPT, NFT_JUMP. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

/** One encoded expression (an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS). */
export type NftExprAttr = RtAttr;

function expr(name: string, data: RtAttr[]): NftExprAttr {
  return rtaNested(NFTA_LIST_ELEM, [rtaString(NFTA_EXPR_NAME, name), rtaNested(NFTA_EXPR_DATA, data, true)], true);
}

const value = (type: number, v: Uint8Array) => rtaNested(type, [rtaBytes(NFTA_DATA_VALUE, v)], true);

/** `payload load LEN @ BASE + OFFSET => reg DREG`. */
export function payloadExpr(base: number, offset: number, len: number, dreg = NFT_REG_1): NftExprAttr {
  return expr("payload", [rtaBytes(1, be32(dreg)), rtaBytes(2, be32(base)), rtaBytes(3, be32(offset)), rtaBytes(4, be32(len))]);
}

/** `cmp OP reg SREG DATA`. */
export function cmpExpr(op: number, data: Uint8Array, sreg = NFT_REG_1): NftExprAttr {
  return expr("cmp", [rtaBytes(1, be32(sreg)), rtaBytes(2, be32(op)), value(3, data)]);
}

/** `bitwise reg DREG = (reg SREG & MASK) ^ 0`. */
export function bitwiseExpr(mask: Uint8Array, reg = NFT_REG_1): NftExprAttr {
  return expr("bitwise", [
    rtaBytes(1, be32(reg)),
    rtaBytes(2, be32(reg)),
    rtaBytes(3, be32(mask.length)),
    value(4, mask),
    value(5, new Uint8Array(mask.length)),
  ]);
}

/** `meta load KEY => reg DREG` (libnftnl puts the key first). */
export function metaExpr(key: number, dreg = NFT_REG_1): NftExprAttr {
  return expr("meta", [rtaBytes(2, be32(key)), rtaBytes(1, be32(dreg))]);
}

/** `counter pkts 0 bytes 0`. */
export function counterExpr(): NftExprAttr {
  return expr("counter", [rtaBytes(1, be64(0n)), rtaBytes(2, be64(0n))]);
}

/** `immediate reg 0 accept`, or `jump -> CHAIN`. */
export function verdictExpr(code: number, chain?: string): NftExprAttr {
  const verdict = [rtaBytes(NFTA_VERDICT_CODE, be32(code)), ...(chain === undefined ? [] : [rtaString(NFTA_VERDICT_CHAIN, chain)])];
  return expr("immediate", [rtaBytes(1, be32(NFT_REG_VERDICT)), rtaNested(2, [rtaNested(NFTA_DATA_VERDICT, verdict, true)], true)]);
}

/** `immediate reg DREG DATA`: a value into a register. */
export function immediateExpr(data: Uint8Array, dreg = NFT_REG_1): NftExprAttr {
  return expr("immediate", [rtaBytes(1, be32(dreg)), value(2, data)]);
}

/** `fib daddr type => reg DREG` (compared with RTN_LOCAL as a host-order u32 for nft's `fib daddr type local`). */
export function fibDaddrTypeExpr(dreg = NFT_REG_1): NftExprAttr {
  // NFTA_FIB_DREG, NFTA_FIB_RESULT (NFT_FIB_RESULT_ADDRTYPE), NFTA_FIB_FLAGS (NFTA_FIB_F_DADDR)
  return expr("fib", [rtaBytes(1, be32(dreg)), rtaBytes(2, be32(3)), rtaBytes(3, be32(2))]);
}

/** `nat dnat FAMILY addr_min reg ADDR proto_min reg PROTO flags 0x2`: nft's `dnat to ADDR:PORT` (NF_NAT_RANGE_PROTO_SPECIFIED). */
export function dnatExpr(nfproto: number, addrReg = NFT_REG_1, protoReg = NFT_REG_2): NftExprAttr {
  // NFTA_NAT_TYPE (NFT_NAT_DNAT), NFTA_NAT_FAMILY, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MIN, NFTA_NAT_FLAGS
  return expr("nat", [rtaBytes(1, be32(1)), rtaBytes(2, be32(nfproto)), rtaBytes(3, be32(addrReg)), rtaBytes(5, be32(protoReg)), rtaBytes(7, be32(2))]);
}

/** `masq` (nft's `masquerade`, no options). */
export function masqExpr(): NftExprAttr {
  return expr("masq", []);
}

/** Where the source and destination addresses are in the IPv4 and IPv6 headers. */
export const IP_ADDR_OFFSET = { 4: { saddr: 12, daddr: 16 }, 6: { saddr: 8, daddr: 24 } } as const;

/**
 * The expressions nft and iptables-nft make of `ADDR == NET/PREFIX` (op NFT_CMP_EQ) or
 * `!=` on the address field at `offset` of the network header (`addr` its 4 or 16
 * bytes): a prefix on whole bytes loads and compares those bytes only; any other loads
 * the field, masks it and compares with the network (so `nft list` prints the same, and
 * the kernel runs the same, whichever wrote it).
 */
export function addrMatchExprs(offset: number, addr: Uint8Array, prefix: number, op: number): NftExprAttr[] {
  const len = addr.length;
  const mask = new Uint8Array(len);
  const net = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    mask[i] = 0xff & ~(0xff >> Math.max(0, Math.min(8, prefix - i * 8)));
    net[i] = addr[i]! & mask[i]!;
  }
  if (prefix > 0 && prefix % 8 === 0) {
    const bytes = prefix / 8;
    return [payloadExpr(NFT_PAYLOAD_NETWORK_HEADER, offset, bytes), cmpExpr(op, net.subarray(0, bytes))];
  }
  return [payloadExpr(NFT_PAYLOAD_NETWORK_HEADER, offset, len), bitwiseExpr(mask), cmpExpr(op, net)];
}

/** An xtables match run by nft_compat: `match name NAME rev REV` with its xt_*_info bytes. */
export function xtMatchExpr(name: string, rev: number, info: Uint8Array): NftExprAttr {
  return expr("match", [rtaString(1, name), rtaBytes(2, be32(rev)), rtaBytes(3, info)]);
}

/** An xtables target run by nft_compat: `target name NAME rev REV` with its info bytes. */
export function xtTargetExpr(name: string, rev: number, info: Uint8Array): NftExprAttr {
  return expr("target", [rtaString(1, name), rtaBytes(2, be32(rev)), rtaBytes(3, info)]);
}
