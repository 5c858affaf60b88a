/**
 * The one IP helper module: address and prefix parsing and formatting, byte-based so
 * v4, v6 and v4-mapped v6 behave as Go's net package; address arithmetic as the
 * reference's pkg/ip; and the text helpers the plugins share. `parseIP`/`parseCIDR`
 * answer null for text that is not an address (for validation); `ipOf`/`cidrOf` throw
 * a RangeError (for text already validated, or where bad text is a bug).
 */

export interface IPNet {
  ip: Uint8Array;
  prefix: number;
}

/** Parses a textual IPv4 or IPv6 address; null when it is not one. */
export function parseIP(s: string): Uint8Array | null {
  if (s.includes(":")) return parseIPv6(s);
  return parseIPv4(s);
}

/**
 * Four decimal parts of 1-3 digits, no leading zero, each at most 255. A char loop, not
 * split and a regex: their first use is compiled, time a plugin process pays.
 */
function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      // "." (or the end): closes a part of 1-3 digits, without a leading zero.
      if (digits === 0 || part > 3 || (digits > 1 && s.charCodeAt(i - digits) === 48) || n > 255) return null;
      out[part++] = n;
      digits = 0;
      n = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      n = n * 10 + (c - 48);
      digits++;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

function parseIPv6(s: string): Uint8Array | null {
  if (s.includes("%")) return null;
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) > 0) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const words = [...head, ...Array(8 - total).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return null;
    const n = parseInt(w, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** The 4-byte form of an IPv4 or v4-mapped IPv6 address, else null (Go's To4). */
export function to4(ip: Uint8Array): Uint8Array | null {
  if (ip.length === 4) return ip;
  if (ip.length === 16 && V4_MAPPED_PREFIX.every((b, i) => ip[i] === b)) return ip.slice(12);
  return null;
}

/** Formats an address as Go does: dotted quad for v4, RFC 5952 for v6. */
export function formatIP(ip: Uint8Array): string {
  const v4 = to4(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip[i]! << 8) | ip[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

/** Parses "addr/prefix"; keeps the host part (like Go's ParseCIDR's IP, with the net's mask). */
export function parseCIDR(s: string): IPNet | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const raw = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  // Go's dtoi takes any run of digits, leading zeros included ("10.0.0.0/024").
  if (!raw || !/^\d+$/.test(p)) return null;
  const ip = to4(raw) && !s.slice(0, slash).includes(":") ? to4(raw)! : raw;
  const prefix = Number(p);
  if (prefix > ip.length * 8) return null;
  return { ip, prefix };
}

/**
 * An address with prefix as the reference prints it after parsing (Go's IPNet.String
 * of types.ParseCIDR): host bits kept, canonical address text, and a v4-mapped IPv6
 * address shown as IPv4 with the prefix reduced by 96 ("::ffff:10.1.2.3/120" ->
 * "10.1.2.3/24"). Null when `s` is not a CIDR.
 */
export function normalizeCIDR(s: string): string | null {
  const n = parseCIDR(s);
  if (!n) return null;
  if (n.ip.length === 16 && to4(n.ip)) return `${formatIP(n.ip)}/${Math.max(0, n.prefix - 96)}`;
  return `${formatIP(n.ip)}/${n.prefix}`;
}

/** An address as the reference prints it (Go's net.IP String); null when `s` is not one. */
export function normalizeIP(s: string): string | null {
  const ip = parseIP(s);
  return ip ? formatIP(ip) : null;
}

/** "addr/prefix" text of an IPNet. */
export function formatCIDR(n: IPNet): string {
  return `${formatIP(n.ip)}/${n.prefix}`;
}

/** The network address of an IPNet (host bits cleared). */
export function networkOf(n: IPNet): IPNet {
  const ip = n.ip.slice();
  for (let bit = n.prefix; bit < ip.length * 8; bit++) ip[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { ip, prefix: n.prefix };
}

/** Address family of a parsed address: 4 or 6. */
export function familyOf(ip: Uint8Array): 4 | 6 {
  return to4(ip) ? 4 : 6;
}

/** True when `ip` lies in `net` (same family). */
export function netContains(net: IPNet, ip: Uint8Array): boolean {
  const a = net.ip.length === 4 ? to4(ip) : ip.length === 16 ? ip : null;
  if (!a || a.length !== net.ip.length) return false;
  for (let bit = 0; bit < net.prefix; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & m) !== (net.ip[bit >> 3]! & m)) return false;
  }
  return true;
}

/** Parses an address that must be one; RangeError naming `what` otherwise. */
export function ipOf(s: string, what = "address"): Uint8Array {
  const ip = parseIP(s);
  if (!ip) throw new RangeError(`Invalid ${what} ${JSON.stringify(s)}: not an IP address`);
  return ip;
}

/** Parses "addr/prefix" that must be one; RangeError naming `what` otherwise. */
export function cidrOf(s: string, what = "address"): IPNet {
  const n = parseCIDR(s);
  if (!n) throw new RangeError(`Invalid ${what} ${JSON.stringify(s)}: not an IP prefix`);
  return n;
}

/** An address with its family and prefix length, as netlink messages carry it. */
export interface IPPrefix {
  /** 4 bytes for IPv4 text, 16 for IPv6 text. */
  bytes: Uint8Array;
  family: 4 | 6;
  prefix: number;
}

/** Parses "10.0.0.2/24" or a bare address (full-length prefix); RangeError on bad text. */
export function parsePrefix(s: string, what = "address"): IPPrefix {
  if (s.includes("/")) {
    const n = cidrOf(s, what);
    return { bytes: n.ip, family: n.ip.length === 4 ? 4 : 6, prefix: n.prefix };
  }
  const ip = parseAddr(s, what);
  return { bytes: ip, family: ip.length === 4 ? 4 : 6, prefix: ip.length * 8 };
}

/** Parses an address into 4 bytes for IPv4 text or 16 for IPv6 text; RangeError on bad text. */
export function parseAddr(s: string, what = "address"): Uint8Array {
  const ip = ipOf(s, what);
  return !s.includes(":") ? to4(ip)! : ip;
}

/** The standard form the reference compares in: 4 bytes for IPv4 and v4-mapped IPv6, else 16 (canonicalizeIP). */
export function canonicalIP(ip: Uint8Array): Uint8Array {
  return to4(ip) ?? ip;
}

/** True when both are the same address in standard form. */
export function ipEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The next address, wrapping at the end of the family (Go's ip.NextIP). */
export function nextIP(ip: Uint8Array): Uint8Array {
  const out = ip.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = (out[i]! + 1) & 0xff;
    if (out[i] !== 0) break;
  }
  return out;
}

/** The last address of a prefix (all host bits set). */
export function lastOfPrefix(network: Uint8Array, prefix: number): Uint8Array {
  const out = network.slice();
  for (let bit = prefix; bit < out.length * 8; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}

/** The address as an unsigned integer, for counting addresses. */
export function ipToBigInt(ip: Uint8Array): bigint {
  let n = 0n;
  for (const b of ip) n = (n << 8n) | BigInt(b);
  return n;
}

/** 4 or 6 for an address Go's ParseIP takes (a v4-mapped one is 4, as To4 says), 0 for anything else. */
export function ipFamily(s: string): 0 | 4 | 6 {
  const ip = parseIP(s);
  return ip ? familyOf(ip) : 0;
}

/** Family of "10.1.2.3/24", "10.1.2.3" or "fd00::1/64"; RangeError when it is none. */
export function familyOfText(s: string): 4 | 6 {
  return familyOf(s.includes("/") ? cidrOf(s).ip : ipOf(s));
}

/** The address part of "10.1.2.3/24", canonical. */
export function ipOfCIDR(cidr: string): string {
  return formatIP(cidrOf(cidr).ip);
}

/** The network of "10.1.2.3/24" ("10.1.2.0/24"), canonical. */
export function networkOfCIDR(cidr: string): string {
  return formatCIDR(networkOf(cidrOf(cidr)));
}

/** A single-address prefix ("10.1.2.3/32", "fd00::1/128"). */
export function hostPrefix(ip: string): string {
  return `${ip}/${familyOfText(ip) === 4 ? 32 : 128}`;
}

/** True when both texts name the same prefix with the same host bits. */
export function sameCIDR(a: string, b: string): boolean {
  const x = parseCIDR(a);
  const y = parseCIDR(b);
  return !!x && !!y && x.prefix === y.prefix && formatIP(x.ip) === formatIP(y.ip);
}
