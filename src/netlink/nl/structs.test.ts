import { describe, expect, test } from "bun:test";
import { decodeFibRuleHdr, encodeFibRuleHdr } from "./fib-rule-hdr.ts";
import { decodeIfAddrmsg, encodeIfAddrmsg } from "./ifaddrmsg.ts";
import { decodeIfInfomsg, encodeIfInfomsg } from "./ifinfomsg.ts";
import { decodeNdMsg, encodeNdMsg } from "./ndmsg.ts";
import { decodeRtMsg, encodeRtMsg } from "./rtmsg.ts";
import { AF_BRIDGE, AF_INET, AF_INET6 } from "./netlink-consts.ts";
import { ARPHRD_ETHER, IFF_UP } from "./link-consts.ts";
import { IFA_F_PERMANENT } from "./addr-consts.ts";
import { RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_LINK, RT_TABLE_MAIN, RTNH_F_ONLINK } from "./rtnetlink-consts.ts";
import { NTF_SELF, NUD_PERMANENT } from "./neigh-consts.ts";
import { FR_ACT_TO_TBL } from "./rule-consts.ts";
import { hex, unhex } from "../../../test/helpers/hex.ts";

// Each case: the struct, and its bytes as the kernel lays them out on a little-endian host.
describe("fixed headers", () => {
  test("ifinfomsg", () => {
    const m = { family: 0, type: ARPHRD_ETHER, index: 5, flags: IFF_UP, change: IFF_UP };
    const bytes = "00 00 01 00 05 00 00 00 01 00 00 00 01 00 00 00";
    expect(hex(encodeIfInfomsg(m))).toBe(bytes);
    expect(decodeIfInfomsg(unhex(bytes))).toEqual(m);
    expect(decodeIfInfomsg(unhex("ff " + bytes), 1)).toEqual(m);
    expect(() => decodeIfInfomsg(new Uint8Array(15))).toThrow(RangeError);
    expect(() => encodeIfInfomsg({ index: -1 })).toThrow(RangeError);
  });

  test("ifaddrmsg", () => {
    const m = { family: AF_INET6, prefixlen: 64, flags: IFA_F_PERMANENT, scope: RT_SCOPE_LINK, index: 3 };
    const bytes = "0a 40 80 fd 03 00 00 00";
    expect(hex(encodeIfAddrmsg(m))).toBe(bytes);
    expect(decodeIfAddrmsg(unhex(bytes))).toEqual(m);
    expect(() => decodeIfAddrmsg(new Uint8Array(7))).toThrow(RangeError);
    expect(() => encodeIfAddrmsg({ prefixlen: 256 })).toThrow(RangeError);
  });

  test("rtmsg", () => {
    const m = {
      family: AF_INET,
      dstLen: 24,
      srcLen: 0,
      tos: 0,
      table: RT_TABLE_MAIN,
      protocol: RTPROT_BOOT,
      scope: RT_SCOPE_LINK,
      type: RTN_UNICAST,
      flags: RTNH_F_ONLINK,
    };
    const bytes = "02 18 00 00 fe 03 fd 01 04 00 00 00";
    expect(hex(encodeRtMsg(m))).toBe(bytes);
    expect(decodeRtMsg(unhex(bytes))).toEqual(m);
    expect(() => decodeRtMsg(new Uint8Array(11))).toThrow(RangeError);
    expect(() => encodeRtMsg({ table: 300 })).toThrow(RangeError);
  });

  test("ndmsg", () => {
    const m = { family: AF_BRIDGE, index: 7, state: NUD_PERMANENT, flags: NTF_SELF, type: 0 };
    const bytes = "07 00 00 00 07 00 00 00 80 00 02 00";
    expect(hex(encodeNdMsg(m))).toBe(bytes);
    expect(decodeNdMsg(unhex(bytes))).toEqual(m);
    expect(() => decodeNdMsg(new Uint8Array(11))).toThrow(RangeError);
    expect(() => encodeNdMsg({ state: 0x10000 })).toThrow(RangeError);
  });

  test("fib_rule_hdr", () => {
    const m = { family: AF_INET, dstLen: 0, srcLen: 24, tos: 0, table: 100, action: FR_ACT_TO_TBL, flags: 0 };
    const bytes = "02 00 18 00 64 00 00 01 00 00 00 00";
    expect(hex(encodeFibRuleHdr(m))).toBe(bytes);
    expect(decodeFibRuleHdr(unhex(bytes))).toEqual(m);
    expect(() => decodeFibRuleHdr(new Uint8Array(11))).toThrow(RangeError);
    expect(() => encodeFibRuleHdr({ action: 256 })).toThrow(RangeError);
  });
});
