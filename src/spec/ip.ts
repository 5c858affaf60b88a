/** IP address and prefix parsing, byte-based so v4, v6 and v4-mapped v6 behave as Go's net package. */

export interface IP {
  /** 4 bytes for IPv4 (including v4-mapped v6 written as v4), 16 for IPv6. */
  bytes: Uint8Array;
}

export interface IPNet {
  ip: Uint8Array;
  prefix: number;
}

/** Parses a textual IPv4 or IPv6 address; null when it is not one. */
export function parseIP(s: string): Uint8Array | null {
  if (s.includes(":")) return parseIPv6(s);
  return parseIPv4(s);
}

function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
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
  if (v4) return Array.from(v4).join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip[i]! << 8) | ip[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
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

/** Byte-wise comparison of two addresses of one family. */
export function compareIP(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
