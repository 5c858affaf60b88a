/** Small address helpers the interface plugins share, on top of the spec's parser. */
import { familyOf, formatCIDR, formatIP, networkOf, parseCIDR, parseIP } from "../../spec/ip.ts";

/** Family of "10.1.2.3/24", "10.1.2.3" or "fd00::1/64". */
export function familyOfText(s: string): 4 | 6 {
  const ip = s.includes("/") ? parseCIDR(s)?.ip : parseIP(s);
  if (!ip) throw new RangeError(`Invalid address ${JSON.stringify(s)}`);
  return familyOf(ip);
}

/** The address part of "10.1.2.3/24", canonical. */
export function ipOfCIDR(cidr: string): string {
  const n = parseCIDR(cidr);
  if (!n) throw new RangeError(`Invalid address ${JSON.stringify(cidr)}`);
  return formatIP(n.ip);
}

/** The network of "10.1.2.3/24" ("10.1.2.0/24"), canonical. */
export function networkOfCIDR(cidr: string): string {
  const n = parseCIDR(cidr);
  if (!n) throw new RangeError(`Invalid address ${JSON.stringify(cidr)}`);
  return formatCIDR(networkOf(n));
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
