import { describe, expect, test } from "bun:test";
import { CAPABILITIES, canonicalCapability, getFold, portMappingsOf, runtimeCapability, runtimeConfigFor } from "./capabilities.ts";

describe("the well-known capabilities (CONVENTIONS.md)", () => {
  test("are all listed", () => {
    expect<string[]>([...CAPABILITIES].sort()).toEqual(
      [
        "aliases",
        "bandwidth",
        "cgroupPath",
        "deviceID",
        "dns",
        "infinibandGUID",
        "io.kubernetes.cri.pod-annotations",
        "ips",
        "ipRanges",
        "mac",
        "portMappings",
      ].sort(),
    );
  });
});

describe("case-insensitive keys, as Go's encoding/json", () => {
  test("getFold finds any case; the last match wins", () => {
    expect(getFold({ HostPort: 80 }, "hostPort")).toBe(80);
    expect(getFold({ hostPort: 1, HOSTPORT: 2 }, "hostPort")).toBe(2);
    expect(getFold({ a: 1 }, "b")).toBeUndefined();
  });

  test("containerd's Go field names become the canonical ones", () => {
    const fromContainerd = [{ HostPort: 8080, ContainerPort: 80, Protocol: "TCP", HostIP: "10.0.0.1" }];
    expect(canonicalCapability("portMappings", fromContainerd)).toEqual([{ hostPort: 8080, containerPort: 80, protocol: "TCP", hostIP: "10.0.0.1" }]);
    expect(canonicalCapability("ipRanges", [[{ Subnet: "10.1.2.0/24", RangeStart: "10.1.2.3", RANGEEND: "10.1.2.99", Gateway: "10.1.2.254" }]])).toEqual([
      [{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.3", rangeEnd: "10.1.2.99", gateway: "10.1.2.254" }],
    ]);
    expect(canonicalCapability("bandwidth", { IngressRate: 1, ingressburst: 2, EgressRate: 3, EGRESSBURST: 4 })).toEqual({
      ingressRate: 1,
      ingressBurst: 2,
      egressRate: 3,
      egressBurst: 4,
    });
    expect(canonicalCapability("dns", { Servers: ["8.8.8.8"], Searches: ["a"], Options: ["ndots:5"] })).toEqual({
      servers: ["8.8.8.8"],
      searches: ["a"],
      options: ["ndots:5"],
    });
    // Values and unknown fields are left as they are.
    expect(canonicalCapability("portMappings", [{ hostPort: 1, Extra: "x" }])).toEqual([{ hostPort: 1, Extra: "x" }]);
    expect(canonicalCapability("mac", "C2:11:22:33:44:55")).toBe("C2:11:22:33:44:55");
  });

  test("portMappingsOf reads any case and lower-cases the protocol", () => {
    expect(
      portMappingsOf({
        PortMappings: [
          { HostPort: 8080, ContainerPort: 80, Protocol: "UDP" },
          { hostPort: 1, containerPort: 2 },
        ],
      }),
    ).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: "udp" },
      { hostPort: 1, containerPort: 2, protocol: "tcp" },
    ]);
    expect(portMappingsOf(undefined)).toEqual([]);
  });

  test("runtimeCapability reads one capability of a config", () => {
    expect(runtimeCapability({ Bandwidth: { IngressRate: 5 } }, "bandwidth")).toEqual({ ingressRate: 5 });
    expect(runtimeCapability({}, "bandwidth")).toBeUndefined();
  });
});

describe("runtimeConfigFor (libcni's injectRuntimeConfig)", () => {
  const args = {
    portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: "tcp" }],
    mac: "c2:11:22:33:44:55",
    ips: ["10.1.2.3/24"],
    aliases: ["db"],
    cgroupPath: "/kubepods/pod1",
    "io.kubernetes.cri.pod-annotations": { "k8s.v1.cni.cncf.io/networks": "x" },
    infinibandGUID: "c2:11:22:33:44:55:66:77",
    deviceID: "0000:04:00.5",
    bandwidth: { ingressRate: 1 },
    dns: { servers: ["8.8.8.8"] },
    ipRanges: [[{ subnet: "10.1.2.0/24" }]],
  };

  test("only declared and enabled capabilities that the runtime has", () => {
    expect(runtimeConfigFor({ portMappings: true, mac: false, bandwidth: true, unknownCap: true }, { portMappings: args.portMappings, mac: args.mac })).toEqual(
      {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
      },
    );
    expect(runtimeConfigFor(undefined, args)).toEqual({});
  });

  test("every well-known capability is passed", () => {
    const all = Object.fromEntries(CAPABILITIES.map((c) => [c, true]));
    const rc = runtimeConfigFor(all, args);
    expect(Object.keys(rc).sort()).toEqual([...CAPABILITIES].sort());
    expect(rc["io.kubernetes.cri.pod-annotations"]).toEqual(args["io.kubernetes.cri.pod-annotations"]);
  });

  test("capability names match without regard to case and come out canonical", () => {
    expect(runtimeConfigFor({ PortMappings: true }, { portmappings: [{ HOSTPORT: 1 }] })).toEqual({ portMappings: [{ hostPort: 1 }] });
  });
});
