import { describe, expect } from "bun:test";
import { rootTest } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { ours, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";

const OURS = ours("static");

function conf(version: string, ipam: object, extra: object = {}): object {
  return { cniVersion: version, name: "stnet", type: "bridge", ...extra, ipam: { type: "static", ...ipam } };
}

/** The node kit: static (the compiled binary) runs in its node, the pod's path is CNI_NETNS. */
function withStatic(fn: (run: (command: "ADD" | "CHECK" | "DEL", c: object, args?: string) => ReturnType<typeof runIn>) => void): Promise<void> {
  return withNodeAndPod((node, pod) => fn((command, c, args = "") => runIn(node, OURS, { command, conf: c, containerID: "ctr-1", netns: pod.path, args })), {
    prefix: "st",
  });
}

const IPAM = {
  addresses: [
    { address: "10.10.0.1/24", gateway: "10.10.0.254" },
    { address: "3ffe:ffff:0:01ff::1/64", gateway: "3ffe:ffff:0::1" },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:01ff::1/64" }],
  dns: { nameservers: ["8.8.8.8"], domain: "example.com", search: ["example.com"] },
};

function expected(version: string): object {
  const dns = { nameservers: ["8.8.8.8"], domain: "example.com", search: ["example.com"] };
  if (compareVersions(version, "0.3.0") < 0) {
    return {
      cniVersion: version,
      ip4: { ip: "10.10.0.1/24", gateway: "10.10.0.254", routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }] },
      ip6: { ip: "3ffe:ffff:0:1ff::1/64", gateway: "3ffe:ffff::1", routes: [{ dst: "3ffe:ffff:0:1ff::1/64" }] },
      dns,
    };
  }
  const v = (n: string) => (compareVersions(version, "1.0.0") < 0 ? { version: n } : {});
  return {
    cniVersion: version,
    ips: [
      { ...v("4"), address: "10.10.0.1/24", gateway: "10.10.0.254" },
      { ...v("6"), address: "3ffe:ffff:0:1ff::1/64", gateway: "3ffe:ffff::1" },
    ],
    routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:1ff::1/64" }],
    dns,
  };
}

describe("static through the skel, every spec version", () => {
  for (const version of ALL_VERSIONS) {
    rootTest(`ADD, CHECK, DEL at ${version}`, () =>
      withStatic((run) => {
        const add = run("ADD", conf(version, IPAM));
        expect(add.json).toEqual(expected(version));
        if (compareVersions(version, "0.4.0") >= 0) {
          expect(run("CHECK", conf(version, IPAM, { prevResult: add.json })).code).toBe(0);
          const wrongGw = { ...add.json, ips: add.json.ips.map((i: object, n: number) => (n === 0 ? { ...i, gateway: "10.10.0.9" } : i)) };
          expect(run("CHECK", conf(version, IPAM, { prevResult: wrongGw })).json.msg).toBe("static: Failed to match addr 10.10.0.1 on interface eth0");
          expect(run("CHECK", conf(version, IPAM)).json.msg).toBe("Required prevResult missing");
        }
        expect(run("DEL", conf(version, IPAM)).code).toBe(0);
      }),
    );
  }
});

describe("static: addresses from CNI_ARGS, args and runtimeConfig", () => {
  rootTest("CNI_ARGS IP adds to the config's, GATEWAY goes to the address whose subnet holds it", () =>
    withStatic((run) => {
      const add = run("ADD", conf("1.0.0", { addresses: [{ address: "10.10.0.1/24" }] }), "IP=10.20.0.5/24, 2001:db8::5/64;GATEWAY=10.20.0.1,2001:db8::1");
      expect(add.json.ips).toEqual([
        { address: "10.10.0.1/24" },
        { address: "10.20.0.5/24", gateway: "10.20.0.1" },
        { address: "2001:db8::5/64", gateway: "2001:db8::1" },
      ]);
    }),
  );

  rootTest("args.cni.ips replaces the config's; runtimeConfig.ips replaces both", () =>
    withStatic((run) => {
      const c1 = conf("1.0.0", IPAM, { args: { cni: { ips: ["10.30.0.5/24"] } } });
      expect(run("ADD", c1).json.ips).toEqual([{ address: "10.30.0.5/24" }]);
      const c2 = conf("1.0.0", IPAM, { args: { cni: { ips: ["10.30.0.5/24"] } }, runtimeConfig: { ips: ["10.40.0.5/24", "10.41.0.5/24"] } });
      expect(run("ADD", c2).json.ips).toEqual([{ address: "10.40.0.5/24" }, { address: "10.41.0.5/24" }]);
    }),
  );

  const bad: [string, object, string, string, number][] = [
    [
      "an address without prefix",
      conf("1.0.0", { addresses: [{ address: "10.0.0.1" }] }),
      "",
      "the 'address' field is expected to be in CIDR notation, got: '10.0.0.1'",
      7,
    ],
    ["a CNI_ARGS IP without prefix", conf("1.0.0", {}), "IP=10.0.0.1", "the 'ip' field is expected to be in CIDR notation, got: '10.0.0.1'", 4],
    ["a bad gateway", conf("1.0.0", {}), "IP=10.0.0.1/24;GATEWAY=x", "invalid gateway address: x", 4],
    [
      "a bad runtimeConfig entry",
      conf("1.0.0", {}, { runtimeConfig: { ips: ["10.0.0.1"] } }),
      "",
      "an entry in the 'ips' field is NOT in CIDR notation, got: '10.0.0.1'",
      7,
    ],
    [
      "two v4 addresses at 0.2.0",
      conf("0.2.0", { addresses: [{ address: "10.0.0.1/24" }, { address: "10.0.1.1/24" }] }),
      "",
      "CNI version 0.2.0 does not support more than 1 address per family",
      7,
    ],
    ["no ipam", { cniVersion: "1.0.0", name: "stnet", type: "static" }, "", "IPAM config missing 'ipam' key", 7],
  ];
  for (const [name, c, args, msg, code] of bad) {
    rootTest(`refuses ${name}`, () =>
      withStatic((run) => {
        const add = run("ADD", c, args);
        expect([add.code, add.json.code, add.json.msg]).toEqual([1, code, msg]);
      }),
    );
  }
});
