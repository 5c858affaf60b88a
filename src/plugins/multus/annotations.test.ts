import { describe, expect, test } from "bun:test";
import { parseLegacyNetworksAnnotation, parsePodNetworkAnnotation } from "./annotations.ts";
import { legacyConfigs } from "./resolve.ts";
import { createNetworkStatuses, formatNetworkStatus } from "./network-status.ts";

describe("networks annotation", () => {
  test("comma form: ns/name@ifname, default namespace", () => {
    expect(parsePodNetworkAnnotation("a, other/b@ext0 ,c@net5", "ns1")).toEqual([
      { name: "a", namespace: "ns1" },
      { name: "b", namespace: "other", interface: "ext0" },
      { name: "c", namespace: "ns1", interface: "net5" },
    ]);
  });

  test("JSON form keeps every field; interfaceRequest is read as interface", () => {
    const [n] = parsePodNetworkAnnotation(
      '[{"name":"x","ips":["10.1.1.1/24"],"mac":"02:00:00:00:00:01","interfaceRequest":"old0","cni-args":{"k":"v"},"default-route":["10.1.1.254"]}]',
      "ns",
    );
    expect(n).toMatchObject({ name: "x", namespace: "ns", interface: "old0", ips: ["10.1.1.1/24"], "cni-args": { k: "v" }, "default-route": ["10.1.1.254"] });
  });

  test("malformed values are refused with Multus's texts", () => {
    expect(() => parsePodNetworkAnnotation("a/b/c", "ns")).toThrow(
      "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '/')",
    );
    expect(() => parsePodNetworkAnnotation("a@b@c", "ns")).toThrow("Invalid network object (failed at '@')");
    expect(() => parsePodNetworkAnnotation("Bad_Name", "ns")).toThrow("mismatch @ 'Bad_Name'");
    expect(() => parsePodNetworkAnnotation("a@averyveryverylongname", "ns")).toThrow("Failed to parse interface name: must be less than 15 chars");
    expect(() => parsePodNetworkAnnotation('[{"name": "a"', "ns")).toThrow(
      "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format:",
    );
    expect(() => parsePodNetworkAnnotation('[{"name":"a","mac":"zz"}]', "ns")).toThrow("parsePodNetworkAnnotation: failed to mac:");
    expect(() => parsePodNetworkAnnotation('[{"name":"a","ips":["10.1.1.300"]}]', "ns")).toThrow('failed to parse IP address "10.1.1.300"');
    expect(() => parsePodNetworkAnnotation("", "ns")).toThrow('pod annotation does not have "network" as key');
  });

  test("v1 networks annotation and Network args", () => {
    expect(parseLegacyNetworksAnnotation('[ { "name": "flannel-network"}, { "name": "sriov"} ]')).toEqual([{ name: "flannel-network" }, { name: "sriov" }]);
    const confs = legacyConfigs(
      { name: "sriov", plugin: "sriov", args: '[{"if0":"e1","if0name":"net0-a"},{"type":"sriov","if0name":"Dpdk1"}]' },
      { cniVersion: "0.3.1" },
    );
    expect(confs).toEqual([
      { type: "sriov", if0: "e1", if0name: "net0-a", name: "sriov", cniVersion: "0.3.1" },
      { type: "sriov", if0name: "Dpdk1", name: "sriov", cniVersion: "0.3.1" },
    ]);
  });
});

describe("network-status", () => {
  test("the NAD client's shape: one entry per sandbox interface, dns always present, four-space indent", () => {
    const r = {
      cniVersion: "1.0.0",
      interfaces: [
        { name: "cni0", mac: "aa:aa:aa:aa:aa:aa" },
        { name: "veth1", mac: "bb:bb:bb:bb:bb:bb" },
        { name: "eth0", mac: "0a:58:0a:f4:00:05", sandbox: "/var/run/netns/p" },
      ],
      ips: [{ address: "10.244.0.5/24", gateway: "10.244.0.1", interface: 2 }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.244.0.1" }],
    };
    const s = createNetworkStatuses(r, "cbr0", true);
    expect(s).toEqual([{ name: "cbr0", interface: "eth0", ips: ["10.244.0.5"], mac: "0a:58:0a:f4:00:05", default: true, dns: {}, gateway: ["10.244.0.1"] }]);
    expect(formatNetworkStatus(s)).toBe(
      '[{\n    "name": "cbr0",\n    "interface": "eth0",\n    "ips": [\n        "10.244.0.5"\n    ],\n    "mac": "0a:58:0a:f4:00:05",\n    "default": true,\n    "dns": {},\n    "gateway": [\n        "10.244.0.1"\n    ]\n}]',
    );
  });

  test("a result with one interface lists every IP on it", () => {
    const s = createNetworkStatuses(
      {
        cniVersion: "0.3.1",
        interfaces: [{ name: "net1", sandbox: "/x", mac: "02:00:00:00:00:01" }],
        ips: [{ address: "10.1.1.5/24" }, { address: "fd00::5/64" }],
      },
      "ns/mv",
      false,
    );
    expect(s).toEqual([{ name: "ns/mv", interface: "net1", ips: ["10.1.1.5", "fd00::5"], mac: "02:00:00:00:00:01", dns: {} }]);
  });
});
