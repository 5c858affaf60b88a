/**
 * One address range of host-local: a subnet with an optional first and last address
 * and a gateway. Canonicalization fills the defaults and refuses what the reference's
 * allocator refuses, with the same texts: the network address and (IPv4) the broadcast
 * address are outside the default range, and so never handed out.
 */
import { CniError, ErrorCode } from "../spec/error.ts";
import { canonicalIP, formatIP, ipEqual, type IPNet, lastOfPrefix, netContains, networkOf, nextIP, parseCIDR, parseIP } from "../spec/ip.ts";

/** A range as written in a config, addresses parsed but nothing checked (Go's Range before Canonicalize). */
export interface RangeInput {
  /** The subnet with host bits as written; its address length tells the mask's family. */
  subnet?: IPNet;
  rangeStart?: Uint8Array;
  rangeEnd?: Uint8Array;
  gateway?: Uint8Array;
}

/** A canonical range: every address in standard form (4 bytes for IPv4), start and end inclusive. */
export interface Range {
  subnet: IPNet;
  rangeStart: Uint8Array;
  rangeEnd: Uint8Array;
  gateway: Uint8Array;
}

function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** Go's ip.Cmp: both sides compared in their 16-byte form, so families order consistently. */
function cmp16(a: Uint8Array, b: Uint8Array): number {
  const x = to16(a);
  const y = to16(b);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

function to16(ip: Uint8Array): Uint8Array {
  if (ip.length === 16) return ip;
  const out = new Uint8Array(16);
  out[10] = out[11] = 0xff;
  out.set(ip, 12);
  return out;
}

/** "a.b.c.d/n" as Go prints an IPNet (host bits kept). */
function netString(n: IPNet): string {
  return `${formatIP(n.ip)}/${n.prefix}`;
}

/**
 * True when `ip` is in the range's subnet and between its start and end (either bound
 * may be absent while a range is being canonicalized).
 */
export function rangeContains(r: Pick<Range, "subnet"> & Partial<Range>, ip: Uint8Array): boolean {
  const addr = canonicalIP(ip);
  if (addr.length !== r.subnet.ip.length || !netContains(r.subnet, addr)) return false;
  if (r.rangeStart && cmp16(addr, r.rangeStart) < 0) return false;
  if (r.rangeEnd && cmp16(addr, r.rangeEnd) > 0) return false;
  return true;
}

/**
 * Checks a range and fills its defaults as the reference does: the subnet must leave at
 * least two addresses and have no host bits set; the gateway defaults to the first
 * address; the range defaults to everything between the network and the broadcast
 * address (IPv4) or the last address (IPv6). Throws code 7 with the reference's text.
 */
export function canonicalizeRange(input: RangeInput): Range {
  if (!input.subnet) invalid("IP <nil> not v4 nor v6");
  const maskBits = input.subnet.ip.length * 8;
  const ip = canonicalIP(input.subnet.ip);
  const written = { ip, prefix: input.subnet.prefix };
  // A /31 or /32 (/127, /128) has nothing to hand out besides network and broadcast.
  if (input.subnet.prefix > maskBits - 2) invalid(`Network ${netString(written)} too small to allocate from`);
  if (ip.length * 8 !== maskBits) invalid("IPNet IP and Mask version mismatch");
  const subnet = networkOf(written);
  if (!ipEqual(subnet.ip, ip)) {
    invalid(`Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIP(subnet.ip)}`);
  }
  const gateway = input.gateway ? canonicalIP(input.gateway) : nextIP(subnet.ip);
  const r: Partial<Range> & { subnet: IPNet } = { subnet, rangeEnd: input.rangeEnd && canonicalIP(input.rangeEnd) };
  if (input.rangeStart) {
    r.rangeStart = canonicalIP(input.rangeStart);
    if (!rangeContains(r, r.rangeStart)) invalid(`RangeStart ${formatIP(r.rangeStart)} not in network ${netString(subnet)}`);
  } else {
    r.rangeStart = nextIP(subnet.ip);
  }
  if (r.rangeEnd) {
    if (!rangeContains(r, r.rangeEnd)) invalid(`RangeEnd ${formatIP(r.rangeEnd)} not in network ${netString(subnet)}`);
  } else {
    const last = lastOfPrefix(subnet.ip, subnet.prefix);
    // IPv4 keeps the broadcast address out; IPv6 has none.
    if (last.length === 4) last[3]!--;
    r.rangeEnd = last;
  }
  return { subnet, rangeStart: r.rangeStart, rangeEnd: r.rangeEnd, gateway };
}

/** True when two canonical ranges of one family share an address. */
export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.length !== b.rangeStart.length) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/** "start-end", as the reference prints a range in its messages. */
export function rangeToString(r: Range): string {
  return `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;
}

/** Parses a range's subnet text; code 7 with Go's text when it is not a CIDR. */
export function parseSubnet(s: string): IPNet {
  return parseCIDR(s) ?? invalid(`invalid CIDR address: ${s}`);
}

/** Parses one of a range's addresses; "" means unset, as for Go's net.IP. */
export function parseRangeIP(s: string): Uint8Array | undefined {
  if (s === "") return undefined;
  return parseIP(s) ?? invalid(`invalid IP address: ${s}`);
}
