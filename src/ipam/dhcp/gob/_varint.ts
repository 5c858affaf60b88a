/**
 * gob's integers: an unsigned value under 128 is one byte, anything else a negated
 * byte count followed by the big-endian bytes; a signed value keeps its sign in bit 0.
 * Numbers stay exact up to 2^53, which covers every id, length and sequence number
 * the dhcp RPC carries.
 */
import { GobError } from "./types.ts";

/** Appends the encoding of an unsigned integer to `out`. */
export function putUint(out: number[], v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new GobError(`Cannot encode ${v}: not an unsigned safe integer`);
  if (v < 128) {
    out.push(v);
    return;
  }
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  out.push(256 - bytes.length, ...bytes);
}

/** Appends the encoding of a signed integer to `out`. */
export function putInt(out: number[], v: number): void {
  if (!Number.isSafeInteger(v)) throw new GobError(`Cannot encode ${v}: not a safe integer`);
  // Bit 0 set means "complement the rest": -1 -> 1, -2 -> 3, 5 -> 10.
  putUint(out, v < 0 ? (-v - 1) * 2 + 1 : v * 2);
}

/** A cursor over one gob message. */
export class Reader {
  readonly buf: Uint8Array;
  pos: number;
  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError(`Cannot decode gob: message ends at offset ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  uint(): number {
    const b = this.byte();
    if (b < 128) return b;
    const n = 256 - b;
    if (n > 8) throw new GobError(`Cannot decode gob: integer of ${n} bytes at offset ${this.pos - 1}`);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.byte();
    return v;
  }

  int(): number {
    const u = this.uint();
    return u % 2 === 1 ? -(u - 1) / 2 - 1 : u / 2;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length)
      throw new RangeError(`Cannot decode gob: needs ${n} bytes at offset ${this.pos}, message has ${this.buf.length - this.pos}`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/**
 * Reads an unsigned integer from the start of `buf` without throwing: its value and
 * length, or undefined when `buf` does not hold all of it yet (a stream's length prefix).
 */
export function peekUint(buf: Uint8Array): { value: number; size: number } | undefined {
  if (buf.length === 0) return undefined;
  const b = buf[0]!;
  if (b < 128) return { value: b, size: 1 };
  const n = 256 - b;
  if (buf.length < 1 + n) return undefined;
  return { value: new Reader(buf).uint(), size: 1 + n };
}
