import { describe, expect, test } from "bun:test";
import { hex, unhex } from "../../../test/helpers/hex.ts";
import { classlessRoutes, maskPrefix, optionIPs, optionUint32, parseOptionName, prepareOptions, staticRoutes } from "./options.ts";

describe("prepareOptions", () => {
  test("defaults: router and subnet mask requested", () => {
    expect([...prepareOptions("")].map(([c, d]) => [c, hex(d)])).toEqual([[55, "03 01"]]);
  });

  test("provide: literal then CNI_ARGS value, the later winning; request: own options first, no duplicates", () => {
    const opts = prepareOptions(
      "IgnoreUnknown=1;K8S_POD_NAME=web-0",
      [
        { option: "host-name", value: "fixed", fromArg: "K8S_POD_NAME" },
        { option: "60", value: "vc" },
      ],
      [{ option: "121" }, { option: "routers" }],
    );
    expect(new TextDecoder().decode(opts.get(12))).toBe("web-0");
    expect(new TextDecoder().decode(opts.get(60))).toBe("vc");
    expect(hex(opts.get(55)!)).toBe("79 03 01");
  });

  test("skipDefault leaves router and mask out", () => {
    expect(hex(prepareOptions("", [], [{ skipDefault: true, option: "6" }]).get(55)!)).toBe("06");
    expect(prepareOptions("", [], [{ skipDefault: true }]).has(55)).toBe(false);
  });

  test("bad names and long values are refused", () => {
    expect(() => parseOptionName("256")).toThrow("Can not parse option");
    expect(() => parseOptionName("domain-search")).toThrow("Can not parse option");
    expect(() => prepareOptions("", [{ option: "12", value: "x".repeat(256) }])).toThrow("value too long");
  });
});

describe("option values", () => {
  test("numbers, address lists, masks", () => {
    expect(optionUint32(unhex("00 00 0e 10"))).toBe(3600);
    expect(optionUint32(unhex("00 0e 10"))).toBeUndefined();
    expect(optionIPs(unhex("0a 00 00 01 0a 00 00 02")).map(hex)).toEqual(["0a 00 00 01", "0a 00 00 02"]);
    expect(maskPrefix(unhex("ff ff f0 00"))).toBe(20);
    expect(maskPrefix(unhex("ff 00 ff 00"))).toBeUndefined();
  });

  test("classless static routes (RFC 3442 examples), on-link routes with router 0.0.0.0", () => {
    const data = unhex("18 0a 09 01 0a 09 00 01" + "00 0a 09 00 01" + "20 0a 00 00 07 00 00 00 00" + "10 ac 10");
    expect(classlessRoutes(data)).toEqual([
      { dst: "10.9.1.0/24", gw: "10.9.0.1" },
      { dst: "0.0.0.0/0", gw: "10.9.0.1" },
      { dst: "10.0.0.7/32", gw: "0.0.0.0" },
    ]);
  });

  test("static routes take the classful mask", () => {
    expect(staticRoutes(unhex("0a 01 00 00 c0 a8 00 01 ac 10 00 00 c0 a8 00 01 c0 a8 05 00 c0 a8 00 01"))).toEqual([
      { dst: "10.1.0.0/8", gw: "192.168.0.1" },
      { dst: "172.16.0.0/16", gw: "192.168.0.1" },
      { dst: "192.168.5.0/24", gw: "192.168.0.1" },
    ]);
  });
});
