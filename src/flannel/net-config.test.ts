import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocateSubnet, leaseFitsConfig } from "./etcd-manager.ts";
import { parseFlags } from "./flags.ts";
import { LeaseWatcher, encodeAttrs, parseSubnetKey, subnetKey } from "./lease.ts";
import { bigToIP, formatNet, parseNet, parseNetConfig } from "./net-config.ts";

const ip = (n: bigint) => bigToIP(n, 4);

test("net config: flannel's defaults (/24 subnets, first one skipped, vxlan when Backend is absent)", () => {
  const c = parseNetConfig('{"Network":"10.244.0.0/16"}');
  expect([c.subnetLen, ip(c.subnetMin), ip(c.subnetMax), c.backendType, c.enableIPv4, c.enableIPv6]).toEqual([
    24,
    "10.244.1.0",
    "10.244.255.0",
    "vxlan",
    true,
    false,
  ]);
  const small = parseNetConfig('{"Network":"10.0.0.0/26","Backend":{"Type":"host-gw"}}');
  expect([small.subnetLen, ip(small.subnetMin), ip(small.subnetMax), small.backendType]).toEqual([28, "10.0.0.16", "10.0.0.48", "host-gw"]);
  const v6 = parseNetConfig('{"EnableIPv6":true,"Network":"10.1.0.0/16","IPv6Network":"fd00::/48"}');
  expect([v6.ipv6SubnetLen, bigToIP(v6.ipv6SubnetMin, 6), bigToIP(v6.ipv6SubnetMax, 6)]).toEqual([64, "fd00:0:0:1::", "fd00:0:0:ffff::"]);
});

test("net config: flannel's refusals and messages", () => {
  expect(() => parseNetConfig("{}")).toThrow("please define a correct Network parameter in the flannel config");
  expect(() => parseNetConfig('{"Network":"10.0.0.0/29"}')).toThrow("network is too small. Minimum useful network prefix is /28");
  expect(() => parseNetConfig('{"Network":"10.0.0.0/16","SubnetLen":31}')).toThrow("SubnetLen must be less than /31");
  expect(() => parseNetConfig('{"Network":"10.0.0.0/16","SubnetLen":17}')).toThrow("network must be able to accommodate at least four subnets");
  expect(() => parseNetConfig('{"Network":"10.0.0.0/16","SubnetMin":"10.1.0.0"}')).toThrow("SubnetMin is not in the range of the Network");
  expect(() => parseNetConfig('{"Network":"10.0.0.0/16","SubnetMax":"10.0.3.7"}')).toThrow("SubnetMax is not on a SubnetLen boundary: 10.0.3.7");
  expect(() => parseNetConfig('{"EnableIPv6":true,"Network":"10.0.0.0/16"}')).toThrow("please define a correct IPv6Network parameter in the flannel config");
});

test("lease keys as flannel writes them, dual stack too; attrs in Go's field order", () => {
  const sn = parseNet("10.5.1.0/24")!;
  const sn6 = parseNet("fc00:0:0:1::/64")!;
  expect(subnetKey(sn)).toBe("10.5.1.0-24");
  expect(subnetKey(sn, sn6)).toBe("10.5.1.0-24&fc00:0:0:1::-64");
  const back = parseSubnetKey("/coreos.com/network/subnets/10.5.1.0-24&fc00:0:0:1::-64")!;
  expect([formatNet(back.subnet), formatNet(back.ipv6Subnet!)]).toEqual(["10.5.1.0/24", "fc00:0:0:1::/64"]);
  expect(encodeAttrs({ BackendType: "vxlan", PublicIP: "10.0.0.1", BackendData: { VNI: 1, VtepMAC: "aa:bb:cc:dd:ee:ff" } })).toBe(
    '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}',
  );
});

test("allocation: the first 100 free subnets from SubnetMin, none taken; leases outside the config do not fit", () => {
  const c = parseNetConfig('{"Network":"10.0.0.0/26"}');
  const taken = [{ subnet: parseNet("10.0.0.16/28")!, attrs: { PublicIP: "1.1.1.1", BackendType: "vxlan" } }];
  expect(formatNet(allocateSubnet(c, taken, () => 0).subnet!)).toBe("10.0.0.32/28");
  expect(formatNet(allocateSubnet(c, taken, () => 0.99).subnet!)).toBe("10.0.0.48/28");
  const full = ["10.0.0.16/28", "10.0.0.32/28", "10.0.0.48/28"].map((s) => ({ subnet: parseNet(s)!, attrs: { PublicIP: "", BackendType: "" } }));
  expect(() => allocateSubnet(c, full)).toThrow("out of subnets");
  expect(leaseFitsConfig(c, parseNet("10.0.0.32/28"))).toBe(true);
  expect(leaseFitsConfig(c, parseNet("10.0.0.0/28"))).toBe(false);
  expect(leaseFitsConfig(c, parseNet("10.0.0.32/27"))).toBe(false);
});

test("lease watcher: snapshots and changes become added/removed events, the own lease left out", () => {
  const l = (s: string, pub: string) => ({ subnet: parseNet(s)!, attrs: { PublicIP: pub, BackendType: "host-gw" } });
  const w = new LeaseWatcher(() => l("10.0.1.0/24", "1.0.0.1"));
  expect(w.reset([l("10.0.1.0/24", "1.0.0.1"), l("10.0.2.0/24", "1.0.0.2")]).map((e) => `${e.type} ${formatNet(e.lease.subnet!)}`)).toEqual([
    "added 10.0.2.0/24",
  ]);
  expect(w.reset([l("10.0.2.0/24", "1.0.0.9"), l("10.0.3.0/24", "1.0.0.3")]).map((e) => `${e.type} ${e.lease.attrs.PublicIP}`)).toEqual([
    "added 1.0.0.9",
    "added 1.0.0.3",
  ]);
  expect(w.update({ type: "removed", lease: { subnet: parseNet("10.0.3.0/24")!, attrs: { PublicIP: "", BackendType: "" } } })?.lease.attrs.PublicIP).toBe(
    "1.0.0.3",
  );
  expect(w.update({ type: "added", lease: l("10.0.1.0/24", "1.0.0.1") })).toBeUndefined();
});

test("flags: flannel's names and defaults, FLANNELD_* from the environment, repeatable --iface", () => {
  const f = parseFlags(["--iface=eth0", "--iface", "10.0.0.1", "--ip-masq", "--etcd-prefix=/x"], {
    FLANNELD_ETCD_ENDPOINTS: "http://a:2379,http://b:2379",
    FLANNELD_ETCD_PREFIX: "/ignored",
    FLANNELD_IPTABLES_FORWARD_RULES: "false",
  });
  expect(f.iface).toEqual(["eth0", "10.0.0.1"]);
  expect(f.etcdEndpoints).toEqual(["http://a:2379", "http://b:2379"]);
  expect([f.etcdPrefix, f.ipMasq, f.iptablesForwardRules, f.subnetFile, f.subnetLeaseRenewMargin, f.iptablesResync, f.healthzPort]).toEqual([
    "/x",
    true,
    false,
    "/run/flannel/subnet.env",
    60,
    5,
    0,
  ]);
  expect(parseFlags([], {}).etcdEndpoints).toEqual(["http://127.0.0.1:4001", "http://127.0.0.1:2379"]);
  expect(() => parseFlags(["--nope"], {})).toThrow("flag provided but not defined: -nope");
  expect(() => parseFlags(["--subnet-lease-renew-margin=0"], {})).toThrow("out of acceptable range");
});

test("wireguard key: RFC 7748's X25519 vector, written once and read back the same", async () => {
  const { loadOrCreateKey } = await import("./backends/wireguard.ts");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-wgkey-"));
  try {
    writeFileSync(`${dir}/alice`, Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex").toString("base64"));
    expect(Buffer.from(loadOrCreateKey(`${dir}/alice`).publicKey).toString("hex")).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    const made = loadOrCreateKey(`${dir}/sub/new`);
    expect(loadOrCreateKey(`${dir}/sub/new`)).toEqual(made);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
