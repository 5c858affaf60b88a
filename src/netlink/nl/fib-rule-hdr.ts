/** struct fib_rule_hdr: the fixed header of RTM_*RULE messages. */
import { NATIVE_LE, checkUint, need, view } from "./_bytes.ts";

/** sizeof(struct fib_rule_hdr). */
export const SIZEOF_FIB_RULE_HDR = 12;

/** struct fib_rule_hdr (family, dst_len, src_len, tos, table, res1, res2, action, flags). */
export interface FibRuleHdr {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** The table when it is below 256; FRA_TABLE holds the full value. */
  table: number;
  /** FR_ACT_* */
  action: number;
  /** FIB_RULE_* */
  flags: number;
}

const BYTES = { family: 0, dstLen: 1, srcLen: 2, tos: 3, table: 4, action: 7 } as const;

/** Encodes a fib_rule_hdr (missing fields are 0; res1/res2 are always 0). */
export function encodeFibRuleHdr(m: Partial<FibRuleHdr>): Uint8Array {
  const out = new Uint8Array(SIZEOF_FIB_RULE_HDR);
  for (const [k, off] of Object.entries(BYTES) as [keyof typeof BYTES, number][]) {
    checkUint(m[k] ?? 0, 0xff, `fib_rule_hdr.${k}`);
    out[off] = m[k] ?? 0;
  }
  checkUint(m.flags ?? 0, 0xffffffff, "fib_rule_hdr.flags");
  view(out).setUint32(8, m.flags ?? 0, NATIVE_LE);
  return out;
}

/** Decodes the fib_rule_hdr at `offset`. */
export function decodeFibRuleHdr(buf: Uint8Array, offset = 0): FibRuleHdr {
  need(buf, offset, SIZEOF_FIB_RULE_HDR, "fib_rule_hdr");
  const m = { flags: view(buf).getUint32(offset + 8, NATIVE_LE) } as FibRuleHdr;
  for (const [k, off] of Object.entries(BYTES) as [keyof typeof BYTES, number][]) m[k] = buf[offset + off]!;
  return m;
}
