/** Address arithmetic on byte arrays (4 bytes for IPv4, 16 for IPv6), as the reference's pkg/ip does it. */
import { to4 } from "../spec/ip.ts";

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
