import { describe, expect, test } from "bun:test";
import { hex, unhex } from "../../../test/helpers/hex.ts";
import { TCA_OPTIONS, decodeTcMsg, encodeTcMsg, ETH_P_ALL, filterInfo, makeHandle, TC_H_ROOT } from "./tcmsg.ts";
import { decodeTbfOptions, decodeTbfQopt, encodeTbfQopt, tbfOptions } from "./tc-tbf.ts";
import { TC_U32_TERMINAL, TCA_U32_ACT, TCA_U32_CLASSID, TCA_U32_SEL, U32_MATCH_ALL, decodeU32Sel, encodeU32Sel } from "./tc-u32.ts";
import { TC_ACT_STOLEN, TCA_ACT_KIND, TCA_ACT_OPTIONS, TCA_EGRESS_REDIR, TCA_MIRRED_PARMS, decodeTcMirred, encodeTcMirred } from "./tc-mirred.ts";
import { encodeAttr, rtaBytes, rtaNested, rtaString, rtaU32 } from "./rtattr.ts";

// The golden bytes are what the Go reference bandwidth plugin sent to the kernel
// (captured with strace on a little-endian host), TCA_OPTIONS attribute included.

describe("tcmsg", () => {
  test("a root qdisc's header", () => {
    const m = { family: 0, ifindex: 7, handle: makeHandle(1, 0), parent: TC_H_ROOT, info: 0 };
    const bytes = "00 00 00 00 07 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00";
    expect(hex(encodeTcMsg(m))).toBe(bytes);
    expect(decodeTcMsg(unhex(bytes))).toEqual(m);
    expect(() => decodeTcMsg(new Uint8Array(19))).toThrow(RangeError);
    expect(() => encodeTcMsg({ handle: 2 ** 32 })).toThrow(RangeError);
  });

  test("handles and a filter's info (priority 1, protocol all: 66304 as the reference sends)", () => {
    expect(makeHandle(1, 0)).toBe(0x10000);
    expect(makeHandle(0xffff, 0)).toBe(4294901760);
    expect(makeHandle(1, 1)).toBe(0x10001);
    expect(() => makeHandle(0x10000, 0)).toThrow(RangeError);
    expect(filterInfo(1, ETH_P_ALL)).toBe(66304);
  });
});

describe("tbf", () => {
  test("8 Mbit/s, 80000 bit burst: rate, limit and buffer where the kernel reads them", () => {
    const q = { rate: 1_000_000, limit: 35_000, buffer: 156_250 };
    const golden = "2c 00 02 00 28 00 01 00 00 00 00 00 00 00 00 00 40 42 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 b8 88 00 00 5a 62 02 00 00 00 00 00";
    expect(hex(encodeAttr(rtaNested(TCA_OPTIONS, tbfOptions(q))))).toBe(golden);
    expect(decodeTbfOptions(unhex(golden).subarray(4))).toEqual({ ...q, peakrate: 0, mtu: 0 });
    expect(() => decodeTbfQopt(new Uint8Array(35))).toThrow(RangeError);
  });

  test("40 Gbit/s: the low 32 bits in the struct, the whole rate in TCA_TBF_RATE64", () => {
    const q = { rate: 5_000_000_000, limit: 125_005_000, buffer: 15 };
    const golden =
      "38 00 02 00 28 00 01 00 00 00 00 00 00 00 00 00 00 f2 05 2a 00 00 00 00 00 00 00 00 00 00 00 00 c8 6c 73 07 0f 00 00 00 00 00 00 00" +
      " 0c 00 04 00 00 f2 05 2a 01 00 00 00";
    expect(hex(encodeAttr(rtaNested(TCA_OPTIONS, tbfOptions(q))))).toBe(golden);
    expect(decodeTbfOptions(unhex(golden).subarray(4))).toMatchObject(q);
    expect(decodeTbfQopt(encodeTbfQopt(q)).rate).toBe(5_000_000_000 - 2 ** 32);
    expect(() => encodeTbfQopt({ ...q, limit: -1 })).toThrow(RangeError);
  });
});

describe("u32 and mirred", () => {
  test("match-all selector", () => {
    const sel = encodeU32Sel(U32_MATCH_ALL);
    expect(hex(sel)).toBe("01 00 01 00" + " 00".repeat(28));
    expect(decodeU32Sel(sel)).toEqual(U32_MATCH_ALL);
    const key = { mask: 0xffffff00, val: 0x0a090000, off: 16, offmask: 0 };
    expect(decodeU32Sel(encodeU32Sel({ flags: TC_U32_TERMINAL, keys: [key] })).keys).toEqual([key]);
    expect(() => decodeU32Sel(unhex("01 00 02 00" + " 00".repeat(28)))).toThrow(RangeError);
  });

  test("the redirect filter's options: selector, flow id 1:1, one mirred egress redirect to ifindex 3", () => {
    const mirred = { index: 0, action: TC_ACT_STOLEN, eaction: TCA_EGRESS_REDIR, ifindex: 3 };
    const action = rtaNested(1, [rtaString(TCA_ACT_KIND, "mirred"), rtaNested(TCA_ACT_OPTIONS, [rtaBytes(TCA_MIRRED_PARMS, encodeTcMirred(mirred))])]);
    const opts = rtaNested(TCA_OPTIONS, [
      rtaBytes(TCA_U32_SEL, encodeU32Sel(U32_MATCH_ALL)),
      rtaU32(TCA_U32_CLASSID, makeHandle(1, 1)),
      rtaNested(TCA_U32_ACT, [action]),
    ]);
    // The reference's bytes up to the end of its first action (it repeats the action, see qdisc.ts).
    const golden =
      "68 00 02 00 24 00 05 00 01 00 01 00" +
      " 00".repeat(28) +
      " 08 00 01 00 01 00 01 00" +
      " 38 00 07 00 34 00 01 00 0b 00 01 00 6d 69 72 72 65 64 00 00 24 00 02 00 20 00 02 00" +
      " 00 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 03 00 00 00";
    expect(hex(encodeAttr(opts))).toBe(golden);
    expect(decodeTcMirred(encodeTcMirred(mirred))).toEqual(mirred);
    expect(() => decodeTcMirred(new Uint8Array(27))).toThrow(RangeError);
  });
});
