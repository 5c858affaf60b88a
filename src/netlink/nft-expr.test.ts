import { expect, test } from "bun:test";
import { NFT_CMP_EQ, NFT_JUMP, NFT_PAYLOAD_NETWORK_HEADER, cmpExpr, counterExpr, payloadExpr, verdictExpr } from "./nft-expr.ts";
import { encodeAttr } from "./nl/rtattr.ts";

const hex = (a: Parameters<typeof encodeAttr>[0]) => Buffer.from(encodeAttr(a)).toString("hex");

// The bytes iptables-restore 1.8.9 (libnftnl) sent for `-A POSTROUTING -s 10.1.0.3/32 ... -j CNI-abd`.
test("expressions encode as libnftnl sends them", () => {
  expect(hex(payloadExpr(NFT_PAYLOAD_NETWORK_HEADER, 12, 4))).toBe(
    "340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000000c0800040000000004",
  );
  expect(hex(cmpExpr(NFT_CMP_EQ, Uint8Array.of(10, 1, 0, 3)))).toBe("2c00018008000100636d700020000280080001000000000108000200000000000c000380080001000a010003");
  expect(hex(counterExpr())).toBe("2c0001800c000100636f756e746572001c0002800c00010000000000000000000c0002000000000000000000");
  expect(hex(verdictExpr(NFT_JUMP, "CNI-abd"))).toBe(
    "3c0001800e000100696d6d6564696174650000002800028008000100000000001c0002801800028008000100fffffffd0c000200434e492d61626400",
  );
});
