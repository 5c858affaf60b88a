import { describe, expect, test } from "bun:test";
import { hex, unhex } from "../../../test/helpers/hex.ts";
import { BOOTREPLY, FLAG_BROADCAST, decodeMessage, encodeMessage, getOption, newMessage, setOption } from "./message.ts";

const MAC = unhex("02 00 00 00 00 01");

/** 236-byte header as RFC 2131 figure 1 lays it out, for a DISCOVER with xid 0x01020304. */
const DISCOVER_HEADER =
  "01 01 06 00" + // op, htype, hlen, hops
  "01 02 03 04" + // xid
  "00 00 80 00" + // secs, flags (broadcast)
  "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" + // ciaddr yiaddr siaddr giaddr
  "02 00 00 00 00 01" +
  "00".repeat(10) + // chaddr, 16 bytes
  "00".repeat(64 + 128); // sname, file

describe("encodeMessage", () => {
  test("a DISCOVER: header, cookie, options, END, padded to 300 bytes", () => {
    const m = newMessage({ xid: 0x01020304, flags: FLAG_BROADCAST, chaddr: MAC });
    m.options.push({ code: 53, data: new Uint8Array([1]) }, { code: 55, data: new Uint8Array([3, 1]) });
    const b = encodeMessage(m);
    expect(b.length).toBe(300);
    expect(hex(b.subarray(0, 236))).toBe(hex(unhex(DISCOVER_HEADER)));
    expect(hex(b.subarray(236, 250))).toBe("63 82 53 63 35 01 01 37 02 03 01 ff 00 00");
    expect(b.subarray(248).every((x) => x === 0)).toBe(true);
  });

  test("a value over 255 bytes is split into options of the same code (RFC 3396)", () => {
    const m = newMessage();
    m.options.push({ code: 77, data: new Uint8Array(300).fill(7) });
    const b = encodeMessage(m);
    expect(b[240]).toBe(77);
    expect(b[241]).toBe(255);
    expect(b[240 + 257]).toBe(77);
    expect(b[240 + 258]).toBe(45);
    expect(getOption(decodeMessage(b), 77)).toEqual(new Uint8Array(300).fill(7));
  });

  test("refuses an address that is not 4 bytes and an sname that does not fit", () => {
    expect(() => encodeMessage(newMessage({ ciaddr: new Uint8Array(16) }))).toThrow(RangeError);
    expect(() => encodeMessage(newMessage({ sname: "x".repeat(64) }))).toThrow("sname longer than 63 bytes");
  });
});

describe("decodeMessage", () => {
  test("an OFFER: header fields, text fields, PAD skipped, stops at END", () => {
    const b = new Uint8Array(300);
    b.set(unhex("02 01 06 00 de ad be ef 00 05 00 00"), 0);
    b.set(unhex("0a 09 00 32"), 16); // yiaddr
    b.set(unhex("0a 09 00 01"), 20); // siaddr
    b.set(MAC, 28);
    b.set(new TextEncoder().encode("srv"), 44);
    b.set(unhex("63 82 53 63 35 01 02 00 00 01 04 ff ff ff 00 ff 03 04 01 01 01 01"), 236);
    const m = decodeMessage(b);
    expect(m.op).toBe(BOOTREPLY);
    expect(m.xid).toBe(0xdeadbeef);
    expect(m.secs).toBe(5);
    expect(hex(m.yiaddr)).toBe("0a 09 00 32");
    expect(hex(m.chaddr)).toBe("02 00 00 00 00 01");
    expect(m.sname).toBe("srv");
    expect(m.options.map((o) => o.code)).toEqual([53, 1]);
    expect(hex(getOption(m, 1)!)).toBe("ff ff ff 00");
  });

  test("round trip", () => {
    const m = newMessage({ xid: 7, chaddr: MAC, ciaddr: unhex("0a000005"), file: "boot" });
    setOption(m, 61, unhex("00 61 62"));
    setOption(m, 61, unhex("00 63"));
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  test("refuses short messages, a missing cookie and truncated options", () => {
    expect(() => decodeMessage(new Uint8Array(239))).toThrow(RangeError);
    expect(() => decodeMessage(new Uint8Array(300))).toThrow("no magic cookie");
    const b = new Uint8Array(243);
    b.set([99, 130, 83, 99, 53, 5, 1], 236);
    expect(() => decodeMessage(b)).toThrow("truncated");
  });
});
