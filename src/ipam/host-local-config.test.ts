import { describe, expect, test } from "bun:test";
import { formatIP } from "../spec/ip.ts";
import type { NetConf } from "../spec/types.ts";
import { loadHostLocalConfig } from "./host-local-config.ts";
import { rangeSetToString } from "./range-set.ts";

function conf(ipam: object | undefined, extra: object = {}, cniVersion = "1.0.0"): NetConf {
  return { cniVersion, name: "mynet", type: "bridge", ...(ipam ? { ipam: { type: "host-local", ...ipam } } : {}), ...extra } as NetConf;
}

function sets(c: NetConf, args = ""): string[] {
  return loadHostLocalConfig(c, args).ranges.map(rangeSetToString);
}

describe("loadHostLocalConfig", () => {
  test("old single range first, then ranges; defaults; case-insensitive keys as Go reads them", () => {
    const c = loadHostLocalConfig(
      conf({
        Subnet: "10.1.2.0/24",
        rangeStart: "10.1.2.9",
        ranges: [[{ subnet: "2001:db8::/64" }]],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.1.2.1" }],
      }),
      "",
    );
    expect(c.ranges.map(rangeSetToString)).toEqual(["10.1.2.9-10.1.2.254", "2001:db8::1-2001:db8::ffff:ffff:ffff:ffff"]);
    expect(c.dataDir).toBe("/var/lib/cni/networks");
    expect(c.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.1.2.1" }]);
    expect(c.name).toBe("mynet");
  });

  test("runtimeConfig.ipRanges come before the configured ranges", () => {
    const c = conf({ ranges: [[{ subnet: "10.1.0.0/16" }]] }, { runtimeConfig: { ipRanges: [[{ Subnet: "10.2.0.0/24", RangeStart: "10.2.0.100" }]] } });
    expect(sets(c)).toEqual(["10.2.0.100-10.2.0.254", "10.1.0.1-10.1.255.254"]);
  });

  test("requested addresses from CNI_ARGS, args.cni.ips and runtimeConfig.ips, in that order", () => {
    const c = conf({ subnet: "10.1.2.0/24" }, { args: { cni: { ips: ["10.1.2.20/24"] } }, runtimeConfig: { ips: ["2001:db8::7"] } });
    const got = loadHostLocalConfig(c, "IgnoreUnknown=1;K8S_POD_NAME=x;IP=::ffff:10.1.2.10").requestedIPs.map(formatIP);
    expect(got).toEqual(["10.1.2.10", "10.1.2.20", "2001:db8::7"]);
  });

  const errors: [string, NetConf, string, string?][] = [
    ["no ipam", conf(undefined), "IPAM config missing 'ipam' key"],
    ["no ranges", conf({}), "no IP ranges specified"],
    ["too small", conf({ ranges: [[{ subnet: "10.0.0.0/31" }]] }), "invalid range set 0: Network 10.0.0.0/31 too small to allocate from"],
    ["empty set", conf({ ranges: [[{ subnet: "10.0.0.0/24" }], []] }), "invalid range set 1: empty range set"],
    [
      "overlap in a set",
      conf({ ranges: [[{ subnet: "10.0.0.0/24" }, { subnet: "10.0.0.0/25" }]] }),
      "invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap",
    ],
    ["overlapping sets", conf({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.0.0/16" }]] }), "range set 0 overlaps with 1"],
    ["bad subnet", conf({ ranges: [[{ subnet: "10.0.0.0/40" }]] }), "invalid CIDR address: 10.0.0.0/40"],
    ["bad gateway", conf({ subnet: "10.0.0.0/24", gateway: "x" }), "invalid IP address: x"],
    [
      "two v4 sets at 0.2.0",
      conf({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.1.0.0/24" }]] }, {}, "0.2.0"),
      "CNI version 0.2.0 does not support more than 1 address per family",
    ],
    ["bad requested ip", conf({ subnet: "10.0.0.0/24" }, { runtimeConfig: { ips: ["nope"] } }), "invalid IP address nope"],
    ["bad route", conf({ subnet: "10.0.0.0/24", routes: [{ dst: "10.0.0.0" }] }), "invalid CIDR address: 10.0.0.0"],
    ["bad CNI_ARGS IP", conf({ subnet: "10.0.0.0/24" }), 'ARGS: error parsing value of pair "IP=1.2.3": invalid IP address 1.2.3', "IP=1.2.3"],
    ["unknown CNI_ARGS", conf({ subnet: "10.0.0.0/24" }), 'ARGS: unknown args ["FOO=1"]', "FOO=1"],
    ["relative dataDir", conf({ subnet: "10.0.0.0/24", dataDir: "var/lib/cni" }), 'invalid dataDir "var/lib/cni": must be an absolute path'],
    ["dot dataDir", conf({ subnet: "10.0.0.0/24", dataDir: "./x" }), 'invalid dataDir "./x": must be an absolute path'],
  ];
  for (const [name, c, msg, args] of errors) {
    test(`refuses ${name}`, () => {
      expect(() => loadHostLocalConfig(c, args ?? "")).toThrow(msg);
    });
  }

  test("config faults are code 7, CNI_ARGS faults code 4", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code: number }).code;
      }
    };
    expect(code(() => loadHostLocalConfig(conf({}), ""))).toBe(7);
    expect(code(() => loadHostLocalConfig(conf({ subnet: "10.0.0.0/24" }), "IP=x"))).toBe(4);
    expect(code(() => loadHostLocalConfig(conf({ subnet: "10.0.0.0/24", dataDir: "rel" }), ""))).toBe(7);
  });
});
