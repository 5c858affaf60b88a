import { expect, test } from "bun:test";
import { decodeTbfQopt, decodeTcMsg, encodeMirredRedirect, encodeTbfQopt, encodeTcMsg, encodeU32MatchAll, makeHandle } from "./tc.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("tcmsg round trip, byte exact (little endian host)", () => {
  const m = { family: 0, ifindex: 7, handle: makeHandle(1, 0), parent: 0xffffffff, info: 0 };
  const b = encodeTcMsg(m);
  expect(hex(b)).toBe("00000000" + "07000000" + "00000100" + "ffffffff" + "00000000");
  expect(decodeTcMsg(b)).toEqual(m);
  expect(() => decodeTcMsg(new Uint8Array(10))).toThrow(RangeError);
});

test("handles as tc writes them", () => {
  expect(makeHandle(1, 0)).toBe(0x10000);
  expect(makeHandle(0xffff, 0)).toBe(0xffff0000);
  expect(makeHandle(1, 1)).toBe(0x10001);
});

test("tbf qopt: rate at 8, limit 24, buffer 28", () => {
  const b = encodeTbfQopt({ rate: 125000, limit: 3125 + 10240, buffer: 1280000 });
  expect(b.length).toBe(36);
  expect(hex(b.subarray(8, 12))).toBe("48e80100");
  expect(decodeTbfQopt(b)).toMatchObject({ rate: 125000, limit: 13365, buffer: 1280000 });
});

test("u32 match-all selector and mirred redirect", () => {
  expect(hex(encodeU32MatchAll())).toBe("01000100" + "0".repeat(56));
  expect(hex(encodeMirredRedirect(9))).toBe("00000000" + "00000000" + "04000000" + "00000000" + "00000000" + "01000000" + "09000000");
});
