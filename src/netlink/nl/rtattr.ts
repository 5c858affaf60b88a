/**
 * struct rtattr (the same layout as struct nlattr): type-length-value attributes, each
 * padded to 4 bytes, nested by putting encoded attributes in the value.
 */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./netlink-consts.ts";
import { decodeUtf8 } from "../../sys/libc.ts";

/** RTA_ALIGNTO. */
const RTA_ALIGNTO = 4;
/** RTA_LENGTH(0): the attribute header. */
const RTA_HDRLEN = 4;

/** RTA_ALIGN(len). */
function rtaAlign(len: number): number {
  return (len + RTA_ALIGNTO - 1) & ~(RTA_ALIGNTO - 1);
}

/** An attribute to encode: raw bytes, or nested attributes. */
export type RtAttr = { type: number; data: Uint8Array } | { type: number; children: RtAttr[] };

/** A decoded attribute: `type` without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits. */
export interface Attr {
  type: number;
  data: Uint8Array;
}

/** Encodes attributes back to back, each padded to RTA_ALIGN. */
export function encodeAttrs(attrs: readonly RtAttr[]): Uint8Array {
  // One buffer, sized first and written once: a buffer, a DataView and a copy per
  // attribute and level cost a plugin process, whose interpreter runs this for every
  // netlink request, about 4 us an attribute.
  let n = 0;
  for (const a of attrs) n += rtaAlign(attrLen(a));
  const out = new Uint8Array(n);
  let off = 0;
  for (const a of attrs) off = writeAttr(out, off, a);
  return out;
}

/** Encodes one attribute; rta_len counts the header and the unpadded value. */
export function encodeAttr(a: RtAttr): Uint8Array {
  const out = new Uint8Array(rtaAlign(attrLen(a)));
  writeAttr(out, 0, a);
  return out;
}

/** rta_len of `a`: the header and its unpadded value (a nest's value is its padded children). */
function attrLen(a: RtAttr): number {
  if (!("children" in a)) return RTA_HDRLEN + a.data.length;
  let n = RTA_HDRLEN;
  for (const c of a.children) n += rtaAlign(attrLen(c));
  return n;
}

/** Writes `a` at `off` of `out` (zeroed: the padding stays 0); the offset after its padding. */
function writeAttr(out: Uint8Array, off: number, a: RtAttr): number {
  checkUint(a.type, 0xffff, "rta_type");
  const len = attrLen(a);
  checkUint(len, 0xffff, `rta_len of attribute ${a.type}`);
  putU16(out, off, len);
  putU16(out, off + 2, a.type);
  if ("children" in a) {
    let at = off + RTA_HDRLEN;
    for (const c of a.children) at = writeAttr(out, at, c);
  } else out.set(a.data, off + RTA_HDRLEN);
  return off + rtaAlign(len);
}

/** A u16 in host order at `off`, without a DataView. */
function putU16(out: Uint8Array, off: number, v: number): void {
  out[off + (NATIVE_LE ? 0 : 1)] = v & 0xff;
  out[off + (NATIVE_LE ? 1 : 0)] = v >>> 8;
}

/** Decodes one level of attributes; RangeError on a length that runs past the end. */
export function decodeAttrs(buf: Uint8Array): Attr[] {
  const out: Attr[] = [];
  const v = view(buf);
  let off = 0;
  while (off + RTA_HDRLEN <= buf.length) {
    const len = v.getUint16(off, NATIVE_LE);
    const type = v.getUint16(off + 2, NATIVE_LE) & NLA_TYPE_MASK;
    if (len < RTA_HDRLEN || off + len > buf.length) {
      throw new RangeError(`Cannot decode attribute ${type} at offset ${off}: rta_len ${len} does not fit in ${buf.length - off} bytes`);
    }
    out.push({ type, data: buf.subarray(off + RTA_HDRLEN, off + len) });
    off += rtaAlign(len);
  }
  if (off < buf.length) throw new RangeError(`Cannot decode attributes: ${buf.length - off} trailing bytes at offset ${off}`);
  return out;
}

/** Attributes by type (the last one wins, as in the kernel's nla_parse). */
export function attrMap(attrs: readonly Attr[]): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const a of attrs) m.set(a.type, a.data);
  return m;
}

// Encoding helpers, named for the C type of the value. No Uint8Array.of: JavaScriptCore
// compiles it from source at its first call in a process (about 0.01 ms with the JIT off,
// a compiled probe), and test/plugin-builtins.test.ts keeps it off the common paths.

/** A u8 attribute. */
export function rtaU8(type: number, v: number): RtAttr {
  checkUint(v, 0xff, `u8 attribute ${type}`);
  const data = new Uint8Array(1);
  data[0] = v;
  return { type, data };
}

/** A u16 attribute in host order. */
export function rtaU16(type: number, v: number): RtAttr {
  checkUint(v, 0xffff, `u16 attribute ${type}`);
  const data = new Uint8Array(2);
  putU16(data, 0, v);
  return { type, data };
}

/** A __be16 attribute (UDP ports and the like are in network order). */
export function rtaBe16(type: number, v: number): RtAttr {
  checkUint(v, 0xffff, `be16 attribute ${type}`);
  return { type, data: be16(v) };
}

/** A u32 attribute in host order. */
export function rtaU32(type: number, v: number): RtAttr {
  checkUint(v, 0xffffffff, `u32 attribute ${type}`);
  const data = new Uint8Array(4);
  for (let i = 0; i < 4; i++) data[NATIVE_LE ? i : 3 - i] = (v >>> (8 * i)) & 0xff;
  return { type, data };
}

/** An s32 attribute in host order (e.g. IFLA_NEW_NETNSID, -1 for "none"). */
export function rtaS32(type: number, v: number): RtAttr {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`Cannot encode s32 attribute ${type}: ${v}`);
  const data = new Uint8Array(4);
  view(data).setInt32(0, v, NATIVE_LE);
  return { type, data };
}

/** A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING as iproute2 sends them). */
export function rtaString(type: number, s: string): RtAttr {
  // Names are ASCII as a rule: their bytes are their char codes (no encoder made or called).
  let ascii = true;
  for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
  if (ascii) {
    const data = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
    return { type, data };
  }
  const bytes = new TextEncoder().encode(s);
  const data = new Uint8Array(bytes.length + 1);
  data.set(bytes);
  return { type, data };
}

/** A raw bytes attribute (addresses, MACs). */
export function rtaBytes(type: number, data: Uint8Array): RtAttr {
  return { type, data };
}

/** A flag attribute: present means true, no value. */
export function rtaFlag(type: number): RtAttr {
  return { type, data: new Uint8Array(0) };
}

/** A nested attribute; `nestedFlag` sets NLA_F_NESTED, which some newer kernel policies insist on. */
export function rtaNested(type: number, children: RtAttr[], nestedFlag = false): RtAttr {
  return { type: nestedFlag ? type | NLA_F_NESTED : type, children };
}

// Network byte order (big-endian) values: ports, nf_tables numbers, conntrack tuples.

/** `v` (low 16 bits) as a __be16. */
export function be16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  b[0] = (v >> 8) & 0xff;
  b[1] = v & 0xff;
  return b;
}

/** `v` as a __be32; a negative one (an nf_tables verdict) as its two's complement. */
export function be32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setUint32(0, v >>> 0, false);
  return b;
}

/** `v` as a __be64. */
export function be64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  view(b).setBigUint64(0, v, false);
  return b;
}

// Decoding helpers: each checks the value is big enough.

/** The u8 value of an attribute. */
export function readU8(data: Uint8Array): number {
  need(data, 0, 1, "u8 attribute");
  return data[0]!;
}

/** The host-order u16 value of an attribute. */
export function readU16(data: Uint8Array): number {
  need(data, 0, 2, "u16 attribute");
  return view(data).getUint16(0, NATIVE_LE);
}

/** The network-order u16 value of an attribute. */
export function readBe16(data: Uint8Array): number {
  need(data, 0, 2, "be16 attribute");
  return view(data).getUint16(0, false);
}

/** The network-order u32 value of an attribute (`| 0` makes it an s32: nf_tables verdicts). */
export function readBe32(data: Uint8Array): number {
  need(data, 0, 4, "be32 attribute");
  return view(data).getUint32(0, false);
}

/** The network-order u64 value of an attribute (nf_tables handles). */
export function readBe64(data: Uint8Array): bigint {
  need(data, 0, 8, "be64 attribute");
  return view(data).getBigUint64(0, false);
}

/** The host-order u32 value of an attribute. */
export function readU32(data: Uint8Array): number {
  need(data, 0, 4, "u32 attribute");
  return view(data).getUint32(0, NATIVE_LE);
}

/** The host-order s32 value of an attribute. */
export function readS32(data: Uint8Array): number {
  need(data, 0, 4, "s32 attribute");
  return view(data).getInt32(0, NATIVE_LE);
}

/** The string value of an attribute, up to its first NUL. */
export function readString(data: Uint8Array): string {
  let nul = 0;
  while (nul < data.length && data[nul] !== 0) nul++;
  return decodeUtf8(data.subarray(0, nul));
}
