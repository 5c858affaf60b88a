import { expect, test } from "bun:test";
import { buildDelegate, goMapJSON } from "./_delegate.ts";
import { formatSubnetEnv, parseSubnetEnv } from "./subnet-env.ts";

const SEED_ENV = "FLANNEL_NETWORK=172.22.0.0/16\nFLANNEL_SUBNET=172.22.0.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n";

test("subnet.env: the seed's file reads as networks and the subnet's network", () => {
  expect(parseSubnetEnv(SEED_ENV, "/run/flannel/subnet.env")).toEqual({
    networks: ["172.22.0.0/16"],
    subnet: "172.22.0.0/24",
    ipv6Networks: [],
    mtu: 1500,
    ipMasq: true,
  });
});

test("subnet.env: dual stack, network lists deduplicated, unknown keys ignored", () => {
  const env = parseSubnetEnv(
    "FLANNEL_NETWORK=10.1.0.0/16,10.2.0.0/16,10.1.0.0/16\nFLANNEL_SUBNET=10.1.3.1/24\nFLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:3::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nOTHER=x\n",
    "f",
  );
  expect(env).toEqual({
    networks: ["10.1.0.0/16", "10.2.0.0/16"],
    subnet: "10.1.3.0/24",
    ipv6Networks: ["fd00::/48"],
    ipv6Subnet: "fd00:0:0:3::/64",
    mtu: 1450,
    ipMasq: false,
  });
});

test("subnet.env: missing keys named as flannel names them; bad values named with the file", () => {
  expect(() => parseSubnetEnv("", "/x/subnet.env")).toThrow(
    "/x/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ",
  );
  expect(() => parseSubnetEnv("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.3.1/24\nFLANNEL_IPMASQ=true\n", "f")).toThrow("f is missing FLANNEL_MTU");
  expect(() => parseSubnetEnv("FLANNEL_NETWORK=10.1.0.0/33\n", "f")).toThrow('f: FLANNEL_NETWORK has invalid CIDR "10.1.0.0/33"');
  expect(() => parseSubnetEnv("FLANNEL_MTU=big\n", "f")).toThrow('f: FLANNEL_MTU is not a number: "big"');
});

test("subnet.env: flanneld's text, first address of each subnet, and it reads back", () => {
  const text = formatSubnetEnv({ network: "172.22.0.0/16", subnet: "172.22.0.0/24", mtu: 1500, ipMasq: true });
  expect(text).toBe(SEED_ENV);
  const dual = formatSubnetEnv({
    network: "10.1.0.0/16",
    subnet: "10.1.3.0/24",
    ipv6Network: "fd00::/48",
    ipv6Subnet: "fd00:0:0:3::/64",
    mtu: 1450,
    ipMasq: false,
  });
  expect(dual).toBe(
    "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.3.1/24\nFLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:3::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
  );
  expect(parseSubnetEnv(dual, "f").ipv6Subnet).toBe("fd00:0:0:3::/64");
});

test("delegate: the seed's saved file, byte for byte, from kube-flannel's list and its subnet.env", () => {
  const d = buildDelegate({ name: "cbr0", cniVersion: "0.3.1", delegate: { hairpinMode: true, isDefaultGateway: true } }, parseSubnetEnv(SEED_ENV, "f"));
  expect(goMapJSON(d)).toBe(
    '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"172.22.0.0/24"}]],"routes":[{"dst":"172.22.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1500,"name":"cbr0","type":"bridge"}',
  );
});

test("delegate: the user's ipam completed (routes appended), dual stack ranges, user's values kept, isGateway only for bridge", () => {
  const env = parseSubnetEnv(
    "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.3.1/24\nFLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:3::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
    "f",
  );
  const d = buildDelegate(
    {
      name: "n",
      cniVersion: "1.0.0",
      delegate: { type: "ptp", mtu: 1400 },
      ipam: { dataDir: "/tmp/x", routes: [{ dst: "192.168.0.0/16" }] },
      runtimeConfig: { portMappings: [] },
    },
    env,
  );
  expect(d).toEqual({
    type: "ptp",
    mtu: 1400,
    runtimeConfig: { portMappings: [] },
    name: "n",
    ipMasq: true,
    cniVersion: "1.0.0",
    ipam: {
      dataDir: "/tmp/x",
      type: "host-local",
      ranges: [[{ subnet: "10.1.3.0/24" }], [{ subnet: "fd00:0:0:3::/64" }]],
      routes: [{ dst: "192.168.0.0/16" }, { dst: "10.1.0.0/16" }, { dst: "fd00::/48" }],
    },
  });
});

test("delegate: flannel's refusals", () => {
  const env = parseSubnetEnv(SEED_ENV, "f");
  expect(() => buildDelegate({ name: "n", cniVersion: "", delegate: { type: 3 } }, env)).toThrow(
    "'delegate' dictionary, if present, must have (string) 'type' field",
  );
  expect(() => buildDelegate({ name: "n", cniVersion: "", delegate: { name: "x" } }, env)).toThrow(
    "'delegate' dictionary must not have 'name' field, it'll be set by flannel",
  );
  expect(() => buildDelegate({ name: "n", cniVersion: "", delegate: { ipam: {} } }, env)).toThrow(
    "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel",
  );
  expect(() => buildDelegate({ name: "n", cniVersion: "", ipam: { routes: [{ gw: "1.2.3.4" }] } }, env)).toThrow("failed to parse ipam.routes[0]: invalid dst");
  expect(buildDelegate({ name: "n", cniVersion: "" }, env).cniVersion).toBeUndefined();
});
