import { describe, expect, test } from "bun:test";
import { formatIP } from "../spec/ip.ts";
import { canonicalizeRange, parseRangeIP, parseSubnet, rangeContains, rangeToString, type RangeInput } from "./range.ts";
import { canonicalizeRangeSet, rangeSetSize, rangeSetToString } from "./range-set.ts";

function input(subnet: string, rest: { rangeStart?: string; rangeEnd?: string; gateway?: string } = {}): RangeInput {
  return {
    subnet: parseSubnet(subnet),
    rangeStart: rest.rangeStart ? parseRangeIP(rest.rangeStart) : undefined,
    rangeEnd: rest.rangeEnd ? parseRangeIP(rest.rangeEnd) : undefined,
    gateway: rest.gateway ? parseRangeIP(rest.gateway) : undefined,
  };
}

function shown(r: ReturnType<typeof canonicalizeRange>) {
  return { subnet: `${formatIP(r.subnet.ip)}/${r.subnet.prefix}`, range: rangeToString(r), gateway: formatIP(r.gateway) };
}

describe("canonicalizeRange (the reference's Range.Canonicalize)", () => {
  test("IPv4 defaults: .1 as gateway, network and broadcast outside the range", () => {
    expect(shown(canonicalizeRange(input("192.0.2.0/24")))).toEqual({ subnet: "192.0.2.0/24", range: "192.0.2.1-192.0.2.254", gateway: "192.0.2.1" });
    expect(shown(canonicalizeRange(input("10.1.0.0/30")))).toEqual({ subnet: "10.1.0.0/30", range: "10.1.0.1-10.1.0.2", gateway: "10.1.0.1" });
  });

  test("IPv6 defaults: ::1 as gateway, up to the last address", () => {
    expect(shown(canonicalizeRange(input("2001:DB8:1::/64")))).toEqual({
      subnet: "2001:db8:1::/64",
      range: "2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff",
      gateway: "2001:db8:1::1",
    });
  });

  test("keeps given start, end and gateway; v4-mapped addresses read as IPv4", () => {
    const r = canonicalizeRange(input("192.0.2.0/24", { rangeStart: "192.0.2.40", rangeEnd: "::ffff:192.0.2.50", gateway: "192.0.2.254" }));
    expect(shown(r)).toEqual({ subnet: "192.0.2.0/24", range: "192.0.2.40-192.0.2.50", gateway: "192.0.2.254" });
    expect(r.rangeEnd.length).toBe(4);
    expect(rangeContains(r, parseRangeIP("192.0.2.45")!)).toBe(true);
    expect(rangeContains(r, parseRangeIP("192.0.2.51")!)).toBe(false);
    expect(rangeContains(r, parseRangeIP("2001:db8::1")!)).toBe(false);
  });

  const errors: [string, RangeInput, string][] = [
    ["a /31", input("192.0.2.0/31"), "Network 192.0.2.0/31 too small to allocate from"],
    ["a /32 with host bits", input("192.0.2.7/32"), "Network 192.0.2.7/32 too small to allocate from"],
    ["a /127", input("2001:db8::/127"), "Network 2001:db8::/127 too small to allocate from"],
    ["host bits (v4)", input("192.0.2.1/24"), "Network has host bits set. For a subnet mask of length 24 the network address is 192.0.2.0"],
    ["host bits (/23)", input("192.168.127.0/23"), "Network has host bits set. For a subnet mask of length 23 the network address is 192.168.126.0"],
    [
      "host bits (v6)",
      input("2001:DB8:1::24:19ff:fee1:c44a/64"),
      "Network has host bits set. For a subnet mask of length 64 the network address is 2001:db8:1::",
    ],
    ["start outside", input("192.0.2.0/24", { rangeStart: "192.0.3.0" }), "RangeStart 192.0.3.0 not in network 192.0.2.0/24"],
    ["end outside", input("192.0.2.0/24", { rangeEnd: "192.0.4.0" }), "RangeEnd 192.0.4.0 not in network 192.0.2.0/24"],
    ["start after end", input("192.0.2.0/24", { rangeStart: "192.0.2.50", rangeEnd: "192.0.2.40" }), "RangeStart 192.0.2.50 not in network 192.0.2.0/24"],
    ["v4-mapped subnet", input("::ffff:10.0.0.0/120"), "IPNet IP and Mask version mismatch"],
    ["no subnet", {}, "IP <nil> not v4 nor v6"],
  ];
  for (const [name, r, msg] of errors) {
    test(`refuses ${name}`, () => {
      expect(() => canonicalizeRange(r)).toThrow(msg);
    });
  }

  test("parse errors carry Go's texts", () => {
    expect(() => parseSubnet("10.0.0.0/33")).toThrow("invalid CIDR address: 10.0.0.0/33");
    expect(() => parseRangeIP("10.0.0")).toThrow("invalid IP address: 10.0.0");
    expect(parseRangeIP("")).toBeUndefined();
  });
});

describe("canonicalizeRangeSet", () => {
  test("refuses empty, mixed and overlapping sets with the reference's texts", () => {
    expect(() => canonicalizeRangeSet([])).toThrow("empty range set");
    expect(() => canonicalizeRangeSet([input("10.0.0.0/24"), input("2001:db8::/64")])).toThrow("mixed address families");
    expect(() => canonicalizeRangeSet([input("10.0.0.0/24"), input("10.0.0.0/25")])).toThrow("subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap");
  });

  test("ranges of one subnet that do not overlap form a set; size leaves gateways out", () => {
    const set = canonicalizeRangeSet([
      input("10.0.0.0/24", { rangeStart: "10.0.0.1", rangeEnd: "10.0.0.10" }),
      input("10.0.0.0/24", { rangeStart: "10.0.0.20", rangeEnd: "10.0.0.29" }),
      input("10.1.0.0/30"),
    ]);
    expect(rangeSetToString(set)).toBe("10.0.0.1-10.0.0.10,10.0.0.20-10.0.0.29,10.1.0.1-10.1.0.2");
    expect(rangeSetSize(set)).toBe(9n + 10n + 1n);
  });
});
