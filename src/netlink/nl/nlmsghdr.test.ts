import { describe, expect, test } from "bun:test";
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE } from "./netlink-consts.ts";
import { RTM_GETLINK } from "./rtnetlink-consts.ts";
import { hex } from "../../../test/helpers/hex.ts";
import { NLMSG_HDRLEN, decodeNlmsghdr, decodeNlmsgs, encodeNlmsg, nlmsgAlign, writeNlmsghdr } from "./nlmsghdr.ts";

describe("nlmsghdr", () => {
  test("encodes a dump request byte for byte", () => {
    // RTM_GETLINK dump with a 16-byte ifinfomsg of zeros, seq 7.
    const msg = encodeNlmsg({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 7, pid: 0 }, new Uint8Array(16));
    expect(hex(msg)).toBe("20 00 00 00 12 00 01 03 07 00 00 00 00 00 00 00" + " 00".repeat(16));
    expect(decodeNlmsghdr(msg)).toEqual({ len: 32, type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 7, pid: 0 });
  });

  test("pads the message but not nlmsg_len", () => {
    const msg = encodeNlmsg({ type: 0x10, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0xffffffff, pid: 0x01020304 }, Uint8Array.of(0xaa));
    expect(hex(msg)).toBe("11 00 00 00 10 00 05 00 ff ff ff ff 04 03 02 01 aa 00 00 00");
    expect(nlmsgAlign(17)).toBe(20);
  });

  test("splits a buffer into messages and round-trips them", () => {
    const a = encodeNlmsg({ type: 0x10, flags: 2, seq: 1, pid: 9 }, Uint8Array.of(1, 2, 3, 4, 5));
    const b = encodeNlmsg({ type: NLMSG_DONE, flags: 2, seq: 1, pid: 9 }, Uint8Array.of(0, 0, 0, 0));
    const buf = new Uint8Array([...a, ...b]);
    const msgs = decodeNlmsgs(buf);
    expect(msgs.map((m) => m.header.type)).toEqual([0x10, NLMSG_DONE]);
    expect([...msgs[0]!.payload]).toEqual([1, 2, 3, 4, 5]);
    const again = new Uint8Array([...encodeNlmsg(msgs[0]!.header, msgs[0]!.payload), ...encodeNlmsg(msgs[1]!.header, msgs[1]!.payload)]);
    expect(hex(again)).toBe(hex(buf));
  });

  test("RangeError on truncated or oversized messages and out-of-range fields", () => {
    expect(() => decodeNlmsghdr(new Uint8Array(15))).toThrow(RangeError);
    const msg = encodeNlmsg({ type: 0x10, flags: 0, seq: 0, pid: 0 }, new Uint8Array(8));
    expect(() => decodeNlmsgs(msg.subarray(0, 20))).toThrow(/nlmsg_len 24 does not fit in 20 bytes/);
    const bad = msg.slice();
    bad[0] = 8; // nlmsg_len smaller than the header
    expect(() => decodeNlmsgs(bad)).toThrow(RangeError);
    expect(() => decodeNlmsgs(new Uint8Array([...msg, 1, 2]))).toThrow(/2 trailing bytes/);
    expect(() => writeNlmsghdr(new Uint8Array(NLMSG_HDRLEN), { len: 16, type: 0x10000, flags: 0, seq: 0, pid: 0 })).toThrow(RangeError);
    expect(() => writeNlmsghdr(new Uint8Array(8), { len: 16, type: 1, flags: 0, seq: 0, pid: 0 })).toThrow(RangeError);
  });
});
