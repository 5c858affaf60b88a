import { describe, expect } from "bun:test";
import { symlinkSync } from "node:fs";
import { useBinDir } from "../../../test/helpers/dist.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { readTcp, serveText, withNode } from "../../../test/helpers/node.ts";
import { dualStackPrev, natRules as nat, OURS, portmapConf, REF } from "../../../test/helpers/portmap-kit.ts";
import { type Call, GO_PLUGINS, ours, reference, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";

const bin = useBinDir();

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8053, containerPort: 53, protocol: "udp" },
  // Go field names, as containerd sends them. (A protocol written "TCP" the reference groups apart from "tcp"; we do not.)
  { HostPort: 9090, ContainerPort: 90, Protocol: "tcp", HostIP: "192.168.5.5" },
];

const conf = (prevResult: unknown, maps: unknown[] = mappings, extra: Record<string, unknown> = {}) => portmapConf(prevResult, maps, extra);

const prevFor = (pod: TestNetns, address = "10.88.0.2/24") => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "cni0" }, { name: "veth1" }, { name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 2, address, gateway: "10.88.0.1" }],
});

const cniRules = (node: TestNetns) => nat(node).filter((l) => l.includes("CNI-") || l.includes("addrtype"));

describe("portmap", () => {
  rootTest("the reference's rules, in the reference's order; CHECK passes with IPv6 present but unused; DEL as the reference", () =>
    withNode(1, (node, [pod]) => {
      const c = conf(prevFor(pod!));
      const call = (argv: string[], cmd: Call["command"], cc: unknown = c) =>
        runIn(node, argv, { command: cmd, netns: pod!.path, containerID: "ctr1", conf: cc });
      expect(call(REF, "ADD").code).toBe(0);
      const theirs = cniRules(node);
      expect(call(REF, "DEL").code).toBe(0);
      const afterTheirDel = nat(node);
      node.exec(["iptables", "-t", "nat", "-F"]);
      for (const ch of ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"]) node.exec(["iptables", "-t", "nat", "-X", ch]);

      const add = call(OURS, "ADD");
      expect(add.stderr).toBe("");
      // Passed through as the reference prints it (Go always writes "dns": {}).
      expect(add.json).toEqual({ ...(c.prevResult as object), dns: {} });
      expect(cniRules(node)).toEqual(theirs);
      expect(call(OURS, "CHECK").code).toBe(0);
      // A second ADD replaces the chain: same rules, no duplicates.
      expect(call(OURS, "ADD").code).toBe(0);
      expect(cniRules(node)).toEqual(theirs);
      // DEL with other runtimeConfig still removes everything of the container.
      expect(call(OURS, "DEL", conf(prevFor(pod!), [{ hostPort: 1, containerPort: 1, protocol: "tcp" }])).code).toBe(0);
      expect(nat(node)).toEqual(afterTheirDel);
      expect(call(OURS, "CHECK").code).toBe(1);
    }),
  );

  rootTest("UDP flows tracked before the mapping are flushed by ADD", () =>
    withNode(1, (node, [pod]) => {
      // Some nat rule first, so this namespace tracks connections at all.
      expect(
        runIn(node, OURS, {
          command: "ADD",
          netns: pod!.path,
          containerID: "other",
          conf: conf(prevFor(pod!), [{ hostPort: 7000, containerPort: 70, protocol: "tcp" }]),
        }).code,
      ).toBe(0);
      const tracked = () =>
        node
          .exec(["cat", "/proc/net/nf_conntrack"])
          .split("\n")
          .filter((l) => l.includes("udp") && l.includes("dport=8053 "));
      node.exec(["bash", "-c", "echo hi > /dev/udp/127.0.0.1/8053"], { allowFail: true });
      expect(tracked().length).toBeGreaterThan(0);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: conf(prevFor(pod!)) }).code).toBe(0);
      expect(tracked()).toEqual([]);
    }),
  );

  rootTest("no mappings: prevResult passed through, no rules", () =>
    withNode(1, (node, [pod]) => {
      const r = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), []) });
      expect(r.json).toEqual({ ...prevFor(pod!), dns: {} });
      expect(cniRules(node)).toEqual([]);
    }),
  );

  rootTest("bad mappings are refused before anything changes", () =>
    withNode(1, (node, [pod]) => {
      for (const m of [
        { hostPort: 0, containerPort: 80, protocol: "tcp" },
        { hostPort: 80, containerPort: 80, protocol: "icmp" },
        { hostPort: 80, containerPort: 80, protocol: "tcp", hostIP: "nope" },
      ]) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), [m]) }).json.code).toBe(7);
      }
      expect(
        runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), mappings, { conditionsV4: ["-s", "1.2.3.4\n-X"] }) }).json.code,
      ).toBe(7);
      expect(cniRules(node)).toEqual([]);
    }),
  );

  rootTest("GC removes the chains of this network's containers without a valid attachment, and only those", () =>
    withNode(1, (node, [pod]) => {
      for (const id of ["keep", "stale", "stale2"])
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: id, conf: conf(prevFor(pod!)) }).code).toBe(0);
      // Another network's container, made by the Go plugin: not this GC's to collect.
      expect(runIn(node, REF, { command: "ADD", netns: pod!.path, containerID: "other", conf: { ...conf(prevFor(pod!)), name: "othernet" } }).code).toBe(0);
      const gc = { cniVersion: "1.1.0", name: "pmnet", type: "portmap", "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
      expect(runIn(node, OURS, { command: "GC", conf: gc }).code).toBe(0);
      const left = cniRules(node).filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT"));
      expect(left.length).toBe(4);
      expect(left.filter((l) => l.includes('id: \\"keep\\"')).length).toBe(2);
      expect(left.filter((l) => l.includes('name: \\"othernet\\" id: \\"other\\"')).length).toBe(2);
      expect(nat(node).filter((l) => l.startsWith(":CNI-DN-")).length).toBe(2);
      expect(runIn(node, OURS, { command: "GC", conf: gc }).code).toBe(0);
      expect(cniRules(node).filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT")).length).toBe(4);
    }),
  );

  rootTest("DEL removes everything of the container whatever runtimeConfig it carries: none, other, broken", () =>
    withNode(1, (node, [pod]) => {
      for (const rc of [undefined, { portMappings: [] }, { portMappings: [{ hostPort: "x", protocol: "icmp" }] }, { portMappings: "nope" }]) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: conf(prevFor(pod!)) }).code).toBe(0);
        expect(cniRules(node).some((l) => l.includes("CNI-DN-"))).toBe(true);
        const del = { cniVersion: "1.0.0", name: "pmnet", type: "portmap", ...(rc ? { runtimeConfig: rc } : {}) };
        const r = runIn(node, OURS, { command: "DEL", containerID: "ctr1", conf: del });
        expect(r.stdout).toBe("");
        expect(cniRules(node).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
      }
    }),
  );

  rootTest("options of the other backend and conflicting options are refused, as the reference does", () =>
    withNode(1, (node, [pod]) => {
      const bad: Record<string, unknown>[] = [
        { externalSetMarkChain: "KUBE-MARK-MASQ", markMasqBit: 14 },
        { backend: "nftables", externalSetMarkChain: "KUBE-MARK-MASQ" },
        { backend: "nftables", conditionsV4: ["-s", "1.2.3.4"] },
        { backend: "iptables", conditionsV4: ["ip saddr 1.2.3.4"] },
        { backend: "nftables", conditionsV4: ["ip saddr 1.2.3.4 ; flush ruleset"] },
        { backend: "pf" },
        { markMasqBit: 32 },
        { externalSetMarkChain: "bad chain" },
      ];
      for (const extra of bad) {
        const r = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), mappings, extra) });
        expect([r.code, r.json?.code, JSON.stringify(extra)]).toEqual([1, 7, JSON.stringify(extra)]);
      }
      expect(cniRules(node)).toEqual([]);
      expect(node.exec(["nft", "list", "tables"])).not.toContain("cni_hostport");
    }),
  );

  rootTest(
    "nftables: both families in one transaction, CHECK after ADD, conditions in the entry chains, DEL also of rules an older reference put in hostip_hostports",
    () =>
      withNode(1, (node, [pod]) => {
        const prev = dualStackPrev(pod!);
        const maps = [
          { hostPort: 8080, containerPort: 80, protocol: "tcp" },
          { hostPort: 9091, containerPort: 91, protocol: "tcp", hostIP: "2001:DB8::1" },
        ];
        const c = conf(prev, maps, { backend: "nftables", conditionsV4: ["ip saddr != 192.0.2.0/24"] });
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(0);
        const v4 = node.exec(["nft", "list", "table", "ip", "cni_hostport"]);
        const v6 = node.exec(["nft", "list", "table", "ip6", "cni_hostport"]);
        expect(v4).toContain("ip saddr != 192.0.2.0/24 fib daddr type local jump hostports_all");
        expect(v4).toContain('ip saddr 127.0.0.1 ip daddr 10.88.0.2 masquerade comment "ctr1"');
        expect(v4).not.toContain("9091");
        expect(v6).toContain('ip6 daddr 2001:db8::1 tcp dport 9091 dnat to [fd00:88::2]:91 comment "ctr1"');
        expect(v6).toContain("fib daddr type local jump hostports_all");
        expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(0);
        // A second ADD replaces, it does not double.
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(0);
        expect(node.exec(["nft", "list", "table", "ip", "cni_hostport"])).toBe(v4);
        // What a v1.5 reference made for a hostIP mapping.
        node.exec([
          "nft",
          "add",
          "rule",
          "ip",
          "cni_hostport",
          "hostip_hostports",
          "ip",
          "daddr",
          "192.0.2.9",
          "tcp",
          "dport",
          "81",
          "dnat",
          "to",
          "10.88.0.2:81",
          "comment",
          '"ctr1"',
        ]);
        expect(runIn(node, OURS, { command: "DEL", containerID: "ctr1", conf: { cniVersion: "1.0.0", name: "pmnet", type: "portmap" } }).code).toBe(0);
        for (const f of ["ip", "ip6"]) expect(node.exec(["nft", "list", "table", f, "cni_hostport"])).not.toContain("ctr1");
        expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(1);
      }),
  );

  rootTest("a node with nft but no iptables tools: nftables by default, CHECK and DEL work, iptables options refused", () => {
    const onlyNft = tempDir("cni-only-nft-");
    symlinkSync(Bun.which("nft")!, `${onlyNft.dir}/nft`);
    const wrap = ["env", `PATH=${onlyNft.dir}:/usr/bin:/bin`];
    return withNode(1, (node, [pod]) => {
      const c = conf(prevFor(pod!));
      const call = (command: Call["command"], cc: unknown = c) => runIn(node, OURS, { command, netns: pod!.path, containerID: "ctr1", conf: cc, wrap });
      expect(call("ADD").code).toBe(0);
      expect(node.exec(["nft", "list", "table", "ip", "cni_hostport"])).toContain('tcp dport 8080 dnat to 10.88.0.2:80 comment "ctr1"');
      expect(cniRules(node)).toEqual([]);
      expect(call("CHECK").code).toBe(0);
      expect(call("ADD", conf(prevFor(pod!), mappings, { externalSetMarkChain: "X" })).json.code).toBe(7);
      expect(call("DEL").code).toBe(0);
      expect(node.exec(["nft", "list", "table", "ip", "cni_hostport"])).not.toContain("ctr1");
    }).finally(() => onlyNft.cleanup());
  });

  const FORWARDS: [string, "iptables" | "nftables", "ours" | "go"][] = [
    ["iptables, our bridge", "iptables", "ours"],
    ["iptables, the Go bridge", "iptables", "go"],
    ["nftables, our bridge", "nftables", "ours"],
  ];
  for (const [label, backend, bridgeBy] of FORWARDS)
    rootTest(`a real forward (${label}): the node (also via 127.0.0.1) and a second pod reach a server in the first pod through the host port`, () =>
      withNode(2, async (node, [p1, p2], dataDir) => {
        const bridgeArgv = bridgeBy === "ours" ? ours("bridge") : reference("bridge");
        const bridgePath = bridgeBy === "ours" ? bin.dir : GO_PLUGINS;
        const bridge = {
          cniVersion: "1.0.0",
          name: "pmnet",
          type: "bridge",
          bridge: "cnipm0",
          isGateway: true,
          hairpinMode: true,
          ipam: { type: "host-local", subnet: "10.89.0.0/24", dataDir },
        };
        const added = [p1!, p2!].map((p, i) =>
          runIn(node, bridgeArgv, { command: "ADD", netns: p.path, containerID: `c${i}`, path: bridgePath, conf: bridge }),
        );
        expect(added.map((a) => a.code)).toEqual([0, 0]);
        const pm = conf(added[0]!.json, [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], { backend });
        expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        const server = serveText(p1!, { port: 80, text: "hello from pod1" });
        try {
          expect(readTcp(node, "10.89.0.1", 8080)).toBe("hello from pod1");
          // 127.0.0.1 -> pod needs route_localnet on the bridge and the localhost masquerade.
          expect(readTcp(node, "127.0.0.1", 8080)).toBe("hello from pod1");
          expect(node.exec(["sysctl", "-n", "net.ipv4.conf.cnipm0.route_localnet"]).trim()).toBe("1");
          // Hairpin from the other pod on the same bridge.
          expect(readTcp(p2!, "10.89.0.1", 8080)).toBe("hello from pod1");
        } finally {
          await server.stop();
        }
        expect(runIn(node, OURS, { command: "CHECK", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        if (backend === "nftables") {
          const t = node.exec(["nft", "list", "table", "ip", "cni_hostport"]);
          expect(t).toContain('tcp dport 8080 dnat to 10.89.0.2:80 comment "c0"');
          expect(t).toContain('ip saddr 10.89.0.2 ip daddr 10.89.0.2 masquerade comment "c0"');
          expect(cniRules(node)).toEqual([]);
        }
        expect(runIn(node, OURS, { command: "DEL", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        expect(readTcp(node, "10.89.0.1", 8080, 1)).toBe("");
        expect(runIn(node, OURS, { command: "CHECK", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(1);
        expect(cniRules(node).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
        if (backend === "nftables") expect(node.exec(["nft", "list", "table", "ip", "cni_hostport"])).not.toContain('comment "c0"');
        for (const [i, p] of [p1!, p2!].entries())
          runIn(node, bridgeArgv, { command: "DEL", netns: p.path, containerID: `c${i}`, path: bridgePath, conf: bridge });
      }),
    );

  for (const backend of ["iptables", "nftables"] as const)
    rootTest(`a real IPv6 forward (${backend}): the node and a second pod reach the first pod through [gateway]:hostPort`, () =>
      withNode(2, async (node, [p1, p2], dataDir) => {
        const bridge = {
          cniVersion: "1.0.0",
          name: "pmnet6",
          type: "bridge",
          bridge: "cnipm6",
          isGateway: true,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet: "10.90.0.0/24" }], [{ subnet: "fd00:90::/64" }]], dataDir },
        };
        const added = [p1!, p2!].map((p, i) =>
          runIn(node, ours("bridge"), { command: "ADD", netns: p.path, containerID: `c${i}`, path: bin.dir, conf: bridge }),
        );
        expect(added.map((a) => a.code)).toEqual([0, 0]);
        const pm = conf(added[0]!.json, [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], { backend });
        expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        expect(runIn(node, OURS, { command: "CHECK", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        const server = serveText(p1!, { port: 80, text: "hello over v6", host: "::" });
        try {
          // Addresses stay tentative until duplicate address detection is done: more tries.
          expect(readTcp(node, "fd00:90::1", 8080, 30)).toBe("hello over v6");
          expect(readTcp(p2!, "fd00:90::1", 8080, 30)).toBe("hello over v6");
        } finally {
          await server.stop();
        }
        expect(runIn(node, OURS, { command: "DEL", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
        expect(readTcp(node, "fd00:90::1", 8080, 1)).toBe("");
        for (const [i, p] of [p1!, p2!].entries())
          runIn(node, ours("bridge"), { command: "DEL", netns: p.path, containerID: `c${i}`, path: bin.dir, conf: bridge });
      }),
    );
});
