import { describe, expect, test } from "bun:test";
import { NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST } from "./netlink-consts.ts";
import { RTM_NEWLINK } from "./rtnetlink-consts.ts";
import { decodeDone, decodeExtAck, decodeNlmsgerr, encodeExtAck, encodeNlmsgerr } from "./nlmsgerr.ts";
import { hex, unhex } from "../../../test/helpers/hex.ts";

const request = { len: 40, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq: 3, pid: 0 };

describe("nlmsgerr", () => {
  test("a capped error with an extack message, byte for byte", () => {
    // error -17 (EEXIST), the request header, then NLMSGERR_ATTR_MSG "exists".
    const bytes = unhex("ef ff ff ff" + "28 00 00 00 10 00 05 06 03 00 00 00 00 00 00 00" + "0b 00 01 00 65 78 69 73 74 73 00 00");
    const flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    const e = decodeNlmsgerr(bytes, flags);
    expect(e.error).toBe(-17);
    expect(e.request).toEqual(request);
    expect(e.requestPayload.length).toBe(0);
    expect(e.extack).toEqual({ msg: "exists" });
    expect(hex(encodeNlmsgerr(e, flags))).toBe(hex(bytes));
  });

  test("an uncapped error carries the request payload before the TLVs", () => {
    const payload = unhex("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 07 00 03 00 6c 6f 00 00");
    const e = { error: -22, request, requestPayload: payload, extack: { msg: "bad", offset: 32, missType: 3, missNest: 16 } };
    const bytes = encodeNlmsgerr(e, NLM_F_ACK_TLVS);
    expect(bytes.length).toBe(4 + 16 + 24 + 8 + 8 + 8 + 8);
    expect(decodeNlmsgerr(bytes, NLM_F_ACK_TLVS)).toEqual(e);
  });

  test("an ack", () => {
    const bytes = unhex("00 00 00 00 28 00 00 00 10 00 05 06 03 00 00 00 00 00 00 00");
    const e = decodeNlmsgerr(bytes, NLM_F_CAPPED);
    expect(e.error).toBe(0);
    expect(e.extack).toEqual({});
    expect(hex(encodeNlmsgerr(e, NLM_F_CAPPED))).toBe(hex(bytes));
  });

  test("NLMSG_DONE payloads", () => {
    expect(decodeDone(unhex("00 00 00 00"), 0)).toEqual({ error: 0, extack: {} });
    expect(decodeDone(new Uint8Array(0), 0)).toEqual({ error: 0, extack: {} });
    const withMsg = new Uint8Array([...unhex("f9 ff ff ff"), ...encodeExtAck({ msg: "dump failed" })]);
    expect(decodeDone(withMsg, NLM_F_ACK_TLVS)).toEqual({ error: -7, extack: { msg: "dump failed" } });
    expect(decodeExtAck(encodeExtAck({ cookie: Uint8Array.of(1, 2, 3) })).cookie).toEqual(Uint8Array.of(1, 2, 3));
  });

  test("RangeError on truncation", () => {
    expect(() => decodeNlmsgerr(new Uint8Array(19), NLM_F_CAPPED)).toThrow(RangeError);
    const bytes = unhex("ea ff ff ff 28 00 00 00 10 00 05 06 03 00 00 00 00 00 00 00 00 00");
    expect(() => decodeNlmsgerr(bytes, 0)).toThrow(/request payload/);
  });
});
