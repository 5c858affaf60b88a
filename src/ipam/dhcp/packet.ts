/**
 * IPv4 + UDP framing for DHCP on a packet socket: before the client has an address the
 * kernel's UDP stack cannot be used (no source address, unicast replies to an
 * address not yet configured are dropped), so the client builds and parses the IP
 * and UDP headers itself, as dhclient and the reference's nclient4 do.
 */

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const IPPROTO_UDP = 17;
const IP_HEADER_LEN = 20;
const UDP_HEADER_LEN = 8;

/** A UDP datagram with its addresses. */
export interface UdpDatagram {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** The one's complement sum of RFC 1071 over `parts`, folded and inverted. */
function checksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) sum += (p[i]! << 8) | (p[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet (TTL 64, no options, DF clear) carrying `d` as UDP, checksums filled in. */
export function encodeUdpIp(d: UdpDatagram): Uint8Array {
  const udpLen = UDP_HEADER_LEN + d.payload.length;
  const out = new Uint8Array(IP_HEADER_LEN + udpLen);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  // TOS 0x10 (low delay), as dhclient and ISC's server use for DHCP.
  out[1] = 0x10;
  v.setUint16(2, out.length);
  out[8] = 64;
  out[9] = IPPROTO_UDP;
  out.set(d.src, 12);
  out.set(d.dst, 16);
  v.setUint16(10, checksum([out.subarray(0, IP_HEADER_LEN)]));
  v.setUint16(20, d.srcPort);
  v.setUint16(22, d.dstPort);
  v.setUint16(24, udpLen);
  out.set(d.payload, 28);
  const pseudo = new Uint8Array(12);
  pseudo.set(d.src, 0);
  pseudo.set(d.dst, 4);
  pseudo[9] = IPPROTO_UDP;
  new DataView(pseudo.buffer).setUint16(10, udpLen);
  // 0 means "no checksum" in UDP, so a computed 0 is sent as 0xffff (RFC 768).
  v.setUint16(26, checksum([pseudo, out.subarray(IP_HEADER_LEN)]) || 0xffff);
  return out;
}

/** The UDP datagram in an IPv4 packet, or undefined for anything else (other protocols, fragments, bad lengths). */
export function decodeUdpIp(b: Uint8Array): UdpDatagram | undefined {
  if (b.length < IP_HEADER_LEN + UDP_HEADER_LEN || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const total = v.getUint16(2);
  // More-fragments set or a fragment offset: DHCP replies fit one packet, skip the rest.
  if (b[9] !== IPPROTO_UDP || ihl < IP_HEADER_LEN || total > b.length || (v.getUint16(6) & 0x3fff) !== 0) return undefined;
  if (ihl + UDP_HEADER_LEN > total) return undefined;
  const udpLen = v.getUint16(ihl + 4);
  if (udpLen < UDP_HEADER_LEN || ihl + udpLen > total) return undefined;
  return {
    src: b.slice(12, 16),
    dst: b.slice(16, 20),
    srcPort: v.getUint16(ihl),
    dstPort: v.getUint16(ihl + 2),
    payload: b.slice(ihl + UDP_HEADER_LEN, ihl + udpLen),
  };
}
