import { describe, expect, test } from "bun:test";
import { unhex } from "../../../test/helpers/hex.ts";
import { resultFromGob, resultToGob } from "./rpc-result.ts";

describe("Result <-> gob", () => {
  test("what the Go daemon sends (16-byte gateways) reads as the reference prints it", () => {
    const gw = unhex("00000000000000000000ffff0a090001");
    const v = {
      CNIVersion: "1.0.0",
      IPs: [{ Address: { IP: unhex("0a090032"), Mask: unhex("ffffff00") }, Gateway: gw }],
      Routes: [{ Dst: { IP: unhex("00000000"), Mask: unhex("00000000") }, GW: gw }],
      DNS: {},
    };
    expect(resultFromGob(v, "0.4.0")).toEqual({
      cniVersion: "0.4.0",
      ips: [{ address: "10.9.0.50/24", gateway: "10.9.0.1" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.9.0.1" }],
    });
  });

  test("round trip keeps on-link routes, scope and priority", () => {
    const r = {
      ips: [{ address: "10.9.0.50/24", gateway: "10.9.0.1" }],
      routes: [
        { dst: "10.0.0.7/32", gw: "0.0.0.0", scope: 253, priority: 5 },
        { dst: "0.0.0.0/0", gw: "10.9.0.1" },
      ],
    };
    expect(resultFromGob(resultToGob(r), "1.0.0")).toEqual({ cniVersion: "1.0.0", ...r });
  });
});
