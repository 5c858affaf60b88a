import { describe, expect, test } from "bun:test";
import { unhex } from "../../../test/helpers/hex.ts";
import { newMessage, setOption } from "./message.ts";
import { leaseResult } from "./lease-result.ts";

function ack(opts: Record<number, string>) {
  const m = newMessage({ yiaddr: unhex("0a 09 00 32") });
  for (const [code, hexValue] of Object.entries(opts)) setOption(m, Number(code), unhex(hexValue));
  return m;
}

describe("leaseResult", () => {
  test("address with the mask's prefix, router as gateway and default route", () => {
    expect(leaseResult(ack({ 1: "ffffff00", 3: "0a090001 0a090002" }))).toEqual({
      ip: { address: "10.9.0.50/24", gateway: "10.9.0.1" },
      routes: [{ dst: "0.0.0.0/0", gw: "10.9.0.1" }],
    });
  });

  test("static routes before the default route; priority on all", () => {
    expect(leaseResult(ack({ 1: "ffff0000", 3: "0a090001", 33: "c0a80500 0a090001" }), 50).routes).toEqual([
      { dst: "192.168.5.0/24", gw: "10.9.0.1", priority: 50 },
      { dst: "0.0.0.0/0", gw: "10.9.0.1", priority: 50 },
    ]);
  });

  test("classless routes replace static and default routes; on-link ones get scope link", () => {
    expect(leaseResult(ack({ 1: "ffffff00", 3: "0a090001", 33: "c0a80500 0a090001", 121: "18 0a0a0a 0a090001 20 0a000007 00000000" })).routes).toEqual([
      { dst: "10.10.10.0/24", gw: "10.9.0.1" },
      { dst: "10.0.0.7/32", gw: "0.0.0.0", scope: 253 },
    ]);
  });

  test("no router: no gateway and no default route; no mask: the reference's error", () => {
    expect(leaseResult(ack({ 1: "ffffff00" }))).toEqual({ ip: { address: "10.9.0.50/24" }, routes: [] });
    expect(() => leaseResult(ack({}))).toThrow("DHCP option Subnet Mask not found in DHCPACK");
  });
});
