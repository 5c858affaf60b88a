/** Address text <-> bytes for the netlink layer, on top of the spec's parser. */
import { formatIP, parseCIDR, parseIP, to4 } from "../spec/ip.ts";
import { AF_INET, AF_INET6 } from "./nl/netlink-consts.ts";

/** A parsed address: its bytes (4 or 16), family and prefix length. */
export interface IPPrefix {
  bytes: Uint8Array;
  family: typeof AF_INET | typeof AF_INET6;
  prefix: number;
}

/** Parses "10.0.0.2/24" or a bare address (full-length prefix); RangeError on bad text. */
export function parsePrefix(s: string, what = "address"): IPPrefix {
  if (s.includes("/")) {
    const n = parseCIDR(s);
    if (!n) throw new RangeError(`Invalid ${what} ${JSON.stringify(s)}: not an IP prefix`);
    return { bytes: n.ip, family: n.ip.length === 4 ? AF_INET : AF_INET6, prefix: n.prefix };
  }
  const ip = parseAddr(s, what);
  return { bytes: ip, family: ip.length === 4 ? AF_INET : AF_INET6, prefix: ip.length * 8 };
}

/** Parses an address into 4 bytes for IPv4 or 16 for IPv6. */
export function parseAddr(s: string, what = "address"): Uint8Array {
  const ip = parseIP(s);
  if (!ip) throw new RangeError(`Invalid ${what} ${JSON.stringify(s)}: not an IP address`);
  return !s.includes(":") ? to4(ip)! : ip;
}

/** Formats address bytes of either family. */
export function formatAddr(b: Uint8Array): string {
  return formatIP(b);
}

/** AF_INET or AF_INET6 of address bytes. */
export function familyOfBytes(b: Uint8Array): typeof AF_INET | typeof AF_INET6 {
  return b.length === 4 ? AF_INET : AF_INET6;
}

/** The family number of 4 / 6. */
export function afOf(family: 4 | 6): typeof AF_INET | typeof AF_INET6 {
  return family === 4 ? AF_INET : AF_INET6;
}
