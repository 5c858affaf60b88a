/**
 * DHCPv4 messages (RFC 2131 section 2, the BOOTP layout of RFC 951 with the options
 * of RFC 2132): a fixed 236-byte header, the magic cookie, then options. Pure encode
 * and decode over Uint8Array; RangeError when bytes are missing.
 */

/** op: a client's request or a server's reply. */
const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

/** htype / hlen of Ethernet. */
const HTYPE_ETHERNET = 1;

/** flags: ask the server to broadcast its reply (RFC 2131 4.1). */
export const FLAG_BROADCAST = 0x8000;

/** The cookie that marks DHCP options after the BOOTP header (RFC 2131 3). */
const MAGIC_COOKIE = [99, 130, 83, 99] as const;

const HEADER_LEN = 236;
/** BOOTP's minimum message: old relays drop anything shorter (RFC 1542 2.1). */
const MIN_LEN = 300;
const OPT_PAD = 0;
const OPT_END = 255;

/** One option, its value as raw bytes. */
export interface DhcpOption {
  code: number;
  data: Uint8Array;
}

/** A DHCP message; addresses are 4-byte arrays, options in the order they are sent. */
export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: Uint8Array;
  yiaddr: Uint8Array;
  siaddr: Uint8Array;
  giaddr: Uint8Array;
  /** The client's hardware address, hlen bytes. */
  chaddr: Uint8Array;
  sname: string;
  file: string;
  options: DhcpOption[];
}

/** The all-zero address, for unset address fields. */
export const ZERO_IP = new Uint8Array(4);

/** A request with every field zero and no options, to fill in. */
export function newMessage(fields: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    op: BOOTREQUEST,
    htype: HTYPE_ETHERNET,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: ZERO_IP,
    yiaddr: ZERO_IP,
    siaddr: ZERO_IP,
    giaddr: ZERO_IP,
    chaddr: new Uint8Array(6),
    sname: "",
    file: "",
    options: [],
    ...fields,
  };
}

/**
 * The message's bytes: header, cookie, options (a value over 255 bytes split into
 * several options of the same code, RFC 3396), END, padded to BOOTP's 300 bytes.
 */
export function encodeMessage(m: DhcpMessage): Uint8Array {
  const opts: number[] = [];
  for (const o of m.options) {
    if (o.code === OPT_PAD || o.code === OPT_END) continue;
    for (let off = 0; off === 0 || off < o.data.length; off += 255) {
      const part = o.data.subarray(off, off + 255);
      opts.push(o.code, part.length, ...part);
    }
  }
  opts.push(OPT_END);
  const out = new Uint8Array(Math.max(MIN_LEN, HEADER_LEN + 4 + opts.length));
  const v = new DataView(out.buffer);
  if (m.chaddr.length > 16) throw new RangeError(`Cannot encode DHCP message: chaddr of ${m.chaddr.length} bytes, at most 16 fit`);
  out[0] = m.op;
  out[1] = m.htype;
  out[2] = m.hlen;
  out[3] = m.hops;
  v.setUint32(4, m.xid);
  v.setUint16(8, m.secs);
  v.setUint16(10, m.flags);
  putIP(out, 12, m.ciaddr);
  putIP(out, 16, m.yiaddr);
  putIP(out, 20, m.siaddr);
  putIP(out, 24, m.giaddr);
  out.set(m.chaddr, 28);
  putText(out, 44, 64, m.sname, "sname");
  putText(out, 108, 128, m.file, "file");
  out.set(MAGIC_COOKIE, HEADER_LEN);
  out.set(opts, HEADER_LEN + 4);
  return out;
}

/** Decodes a message; repeated options are joined into one (RFC 3396). */
export function decodeMessage(b: Uint8Array): DhcpMessage {
  if (b.length < HEADER_LEN + 4) throw new RangeError(`Cannot decode DHCP message: ${b.length} bytes, needs at least ${HEADER_LEN + 4}`);
  if (!MAGIC_COOKIE.every((c, i) => b[HEADER_LEN + i] === c)) throw new RangeError("Cannot decode DHCP message: no magic cookie");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = Math.min(b[2]!, 16);
  const options: DhcpOption[] = [];
  for (let i = HEADER_LEN + 4; i < b.length; ) {
    const code = b[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (i + 2 > b.length || i + 2 + b[i + 1]! > b.length) throw new RangeError(`Cannot decode DHCP option ${code}: truncated at offset ${i}`);
    const data = b.slice(i + 2, i + 2 + b[i + 1]!);
    const prev = options.find((o) => o.code === code);
    if (prev) prev.data = concat(prev.data, data);
    else options.push({ code, data });
    i += 2 + data.length;
  }
  return {
    op: b[0]!,
    htype: b[1]!,
    hlen: b[2]!,
    hops: b[3]!,
    xid: v.getUint32(4),
    secs: v.getUint16(8),
    flags: v.getUint16(10),
    ciaddr: b.slice(12, 16),
    yiaddr: b.slice(16, 20),
    siaddr: b.slice(20, 24),
    giaddr: b.slice(24, 28),
    chaddr: b.slice(28, 28 + hlen),
    sname: getText(b, 44, 64),
    file: getText(b, 108, 128),
    options,
  };
}

/** The value of option `code`, or undefined. */
export function getOption(m: DhcpMessage, code: number): Uint8Array | undefined {
  return m.options.find((o) => o.code === code)?.data;
}

/** Sets option `code`, replacing an earlier value in place (keeps the order of first use). */
export function setOption(m: DhcpMessage, code: number, data: Uint8Array): void {
  const prev = m.options.find((o) => o.code === code);
  if (prev) prev.data = data;
  else m.options.push({ code, data });
}

function putIP(out: Uint8Array, off: number, ip: Uint8Array): void {
  if (ip.length !== 4) throw new RangeError(`Cannot encode DHCP message: address of ${ip.length} bytes at offset ${off}`);
  out.set(ip, off);
}

function putText(out: Uint8Array, off: number, size: number, s: string, what: string): void {
  const b = new TextEncoder().encode(s);
  if (b.length >= size) throw new RangeError(`Cannot encode DHCP message: ${what} longer than ${size - 1} bytes`);
  out.set(b, off);
}

function getText(b: Uint8Array, off: number, size: number): string {
  const field = b.subarray(off, off + size);
  const nul = field.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? field : field.subarray(0, nul));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
