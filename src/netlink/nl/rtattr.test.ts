import { describe, expect, test } from "bun:test";
import { IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, IFLA_VXLAN_PORT, VETH_INFO_PEER } from "./link-consts.ts";
import { NLA_F_NESTED } from "./netlink-consts.ts";
import {
  attrMap,
  be16,
  be32,
  be64,
  decodeAttrs,
  encodeAttrs,
  readBe16,
  readBe32,
  readBe64,
  readS32,
  readString,
  readU16,
  readU32,
  readU8,
  rtaBe16,
  rtaBytes,
  rtaFlag,
  rtaNested,
  rtaS32,
  rtaString,
  rtaU16,
  rtaU32,
  rtaU8,
} from "./rtattr.ts";
import { hex, unhex } from "../../../test/helpers/hex.ts";

describe("rtattr", () => {
  test("encodes scalars and strings with kernel padding", () => {
    expect(hex(encodeAttrs([rtaString(IFLA_IFNAME, "lo")]))).toBe("07 00 03 00 6c 6f 00 00");
    expect(hex(encodeAttrs([rtaU32(IFLA_MTU, 1500)]))).toBe("08 00 04 00 dc 05 00 00");
    expect(hex(encodeAttrs([rtaU8(7, 1)]))).toBe("05 00 07 00 01 00 00 00");
    expect(hex(encodeAttrs([rtaU16(7, 0x1234)]))).toBe("06 00 07 00 34 12 00 00");
    expect(hex(encodeAttrs([rtaBe16(IFLA_VXLAN_PORT, 4789)]))).toBe("06 00 0f 00 12 b5 00 00");
    expect(hex(encodeAttrs([rtaS32(45, -1)]))).toBe("08 00 2d 00 ff ff ff ff");
    expect(hex(encodeAttrs([rtaFlag(23)]))).toBe("04 00 17 00");
    expect(hex(encodeAttrs([rtaBytes(1, Uint8Array.of(2, 0, 0, 0, 0, 1))]))).toBe("0a 00 01 00 02 00 00 00 00 01 00 00");
  });

  test("nests, counting padded children in the parent's length", () => {
    const attrs = [rtaNested(IFLA_LINKINFO, [rtaString(IFLA_INFO_KIND, "veth")])];
    const bytes = encodeAttrs(attrs);
    expect(hex(bytes)).toBe("10 00 12 00 09 00 01 00 76 65 74 68 00 00 00 00");
    const [outer] = decodeAttrs(bytes);
    expect(outer!.type).toBe(IFLA_LINKINFO);
    const [kind] = decodeAttrs(outer!.data);
    expect(kind!.type).toBe(IFLA_INFO_KIND);
    expect(readString(kind!.data)).toBe("veth");
    // NLA_F_NESTED is sent, and masked off when decoding.
    const flagged = encodeAttrs([rtaNested(IFLA_INFO_DATA, [rtaFlag(VETH_INFO_PEER)], true)]);
    expect(hex(flagged)).toBe("08 00 02 80 04 00 01 00");
    expect(decodeAttrs(flagged)[0]!.type).toBe(IFLA_INFO_DATA);
    expect(NLA_F_NESTED).toBe(0x8000);
  });

  test("decodes and re-encodes a kernel attribute run byte for byte", () => {
    // IFLA_IFNAME "eth0", IFLA_MTU 1500, IFLA_ADDRESS 02:42:ac:11:00:02 as an RTM_NEWLINK carries them.
    const kernel = unhex("09 00 03 00 65 74 68 30 00 00 00 00 08 00 04 00 dc 05 00 00 0a 00 01 00 02 42 ac 11 00 02 00 00");
    const attrs = decodeAttrs(kernel);
    expect(attrs.map((a) => a.type)).toEqual([3, 4, 1]);
    expect(hex(encodeAttrs(attrs))).toBe(hex(kernel));
    const m = attrMap(attrs);
    expect(readString(m.get(IFLA_IFNAME)!)).toBe("eth0");
    expect(readU32(m.get(IFLA_MTU)!)).toBe(1500);
    expect(hex(m.get(1)!)).toBe("02 42 ac 11 00 02");
  });

  test("readers", () => {
    expect(readU8(Uint8Array.of(9))).toBe(9);
    expect(readU16(Uint8Array.of(0x34, 0x12))).toBe(0x1234);
    expect(readBe16(Uint8Array.of(0x12, 0xb5))).toBe(4789);
    expect(readS32(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toBe(-1);
    expect(readString(Uint8Array.of(0x61, 0x62))).toBe("ab");
  });

  test("network byte order, both ways", () => {
    expect(hex(be16(4789))).toBe("12 b5");
    expect(hex(be32(0x0a000001))).toBe("0a 00 00 01");
    // An nf_tables verdict (NFT_JUMP), and read back as one.
    expect(hex(be32(-3))).toBe("ff ff ff fd");
    expect(readBe32(be32(-3)) | 0).toBe(-3);
    expect(readBe32(unhex("0a 00 00 01"))).toBe(0x0a000001);
    expect(hex(be64(0x0102030405060708n))).toBe("01 02 03 04 05 06 07 08");
    expect(readBe64(be64(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    // A value inside a larger buffer is read from its own offset.
    expect(readBe32(unhex("ff 00 00 00 07").subarray(1))).toBe(7);
    expect(() => readBe64(be32(1))).toThrow(RangeError);
  });

  test("RangeError on bounds", () => {
    expect(() => decodeAttrs(unhex("09 00 03 00 65 74"))).toThrow(/rta_len 9 does not fit in 6 bytes/);
    expect(() => decodeAttrs(unhex("02 00 03 00"))).toThrow(RangeError);
    expect(() => decodeAttrs(unhex("04 00 03 00 00 00"))).toThrow(/2 trailing bytes/);
    expect(() => readU32(Uint8Array.of(1, 2))).toThrow(RangeError);
    expect(() => readU8(new Uint8Array(0))).toThrow(RangeError);
    expect(() => rtaU8(1, 256)).toThrow(RangeError);
    expect(() => rtaU16(1, -1)).toThrow(RangeError);
    expect(() => rtaU32(1, 2 ** 32)).toThrow(RangeError);
    expect(() => rtaS32(1, 2 ** 31)).toThrow(RangeError);
    expect(() => encodeAttrs([rtaBytes(1, new Uint8Array(0xffff))])).toThrow(/rta_len/);
  });
});
