import { afterAll, beforeAll, describe, expect } from "bun:test";
import { resolve } from "node:path";
import { installedBinDir } from "../../../test/helpers/dist.ts";
import { rootTest, withNetns, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn, tempDir, type Call } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("portmap");
const REF = reference("portmap");
const BUN = resolve(import.meta.dir, "../../../node_modules/.bin/bun");
let bin: { dir: string; cleanup: () => void };
beforeAll(() => {
  bin = installedBinDir();
});
afterAll(() => bin.cleanup());

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8053, containerPort: 53, protocol: "udp" },
  // Go field names, as containerd sends them. (A protocol written "TCP" the reference groups apart from "tcp"; we do not.)
  { HostPort: 9090, ContainerPort: 90, Protocol: "tcp", HostIP: "192.168.5.5" },
];

function conf(prevResult: unknown, maps: unknown[] = mappings, extra: Record<string, unknown> = {}) {
  return { cniVersion: "1.0.0", name: "pmnet", type: "portmap", capabilities: { portMappings: true }, runtimeConfig: { portMappings: maps }, ...extra, prevResult };
}

const prevFor = (pod: TestNetns, address = "10.88.0.2/24") => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "cni0" }, { name: "veth1" }, { name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 2, address, gateway: "10.88.0.1" }],
});

/** The nat table's rules, in order, counters left out. */
const nat = (node: TestNetns) => node.exec(["iptables-save", "-t", "nat"]).split("\n").filter((l) => /^(-A|:CNI)/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
const cniRules = (node: TestNetns) => nat(node).filter((l) => l.includes("CNI-") || l.includes("addrtype"));

describe("portmap", () => {
  rootTest("the reference's rules, in the reference's order; CHECK passes with IPv6 present but unused; DEL as the reference", () =>
    withNetns(2, (node, pod) => {
      const c = conf(prevFor(pod!));
      const call = (argv: string[], cmd: Call["command"], cc: unknown = c) => runIn(node, argv, { command: cmd, netns: pod!.path, containerID: "ctr1", conf: cc });
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
    }));

  rootTest("UDP flows tracked before the mapping are flushed by ADD", () =>
    withNetns(2, (node, pod) => {
      node.exec(["ip", "link", "set", "lo", "up"]);
      // Some nat rule first, so this namespace tracks connections at all.
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "other", conf: conf(prevFor(pod!), [{ hostPort: 7000, containerPort: 70, protocol: "tcp" }]) }).code).toBe(0);
      const tracked = () => node.exec(["cat", "/proc/net/nf_conntrack"]).split("\n").filter((l) => l.includes("udp") && l.includes("dport=8053 "));
      node.exec(["bash", "-c", "echo hi > /dev/udp/127.0.0.1/8053"], { allowFail: true });
      expect(tracked().length).toBeGreaterThan(0);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: conf(prevFor(pod!)) }).code).toBe(0);
      expect(tracked()).toEqual([]);
    }));

  rootTest("no mappings: prevResult passed through, no rules", () =>
    withNetns(2, (node, pod) => {
      const r = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), []) });
      expect(r.json).toEqual({ ...prevFor(pod!), dns: {} });
      expect(cniRules(node)).toEqual([]);
    }));

  rootTest("bad mappings are refused before anything changes", () =>
    withNetns(2, (node, pod) => {
      for (const m of [{ hostPort: 0, containerPort: 80, protocol: "tcp" }, { hostPort: 80, containerPort: 80, protocol: "icmp" }, { hostPort: 80, containerPort: 80, protocol: "tcp", hostIP: "nope" }]) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), [m]) }).json.code).toBe(7);
      }
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf(prevFor(pod!), mappings, { conditionsV4: ["-s", "1.2.3.4\n-X"] }) }).json.code).toBe(7);
      expect(cniRules(node)).toEqual([]);
    }));

  rootTest("GC removes the chains of containers without a valid attachment", () =>
    withNetns(2, (node, pod) => {
      for (const id of ["keep", "stale"]) expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: id, conf: conf(prevFor(pod!)) }).code).toBe(0);
      const gc = { cniVersion: "1.1.0", name: "pmnet", type: "portmap", "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
      expect(runIn(node, OURS, { command: "GC", conf: gc }).code).toBe(0);
      const left = cniRules(node).filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT"));
      expect(left.length).toBe(2);
      expect(left.every((l) => l.includes('id: \\"keep\\"'))).toBe(true);
    }));

  for (const backend of ["iptables", "nftables"]) rootTest(`a real forward (${backend}): node and a second pod reach a server in the first pod through the host port`, () => {
    const ipam = tempDir();
    return withNetns(3, async (node, p1, p2) => {
      node.exec(["ip", "link", "set", "lo", "up"]);
      const bridge = { cniVersion: "1.0.0", name: "pmnet", type: "bridge", bridge: "cnipm0", isGateway: true, hairpinMode: true, ipam: { type: "host-local", subnet: "10.89.0.0/24", dataDir: ipam.dir } };
      const added = [p1!, p2!].map((p, i) => runIn(node, ours("bridge"), { command: "ADD", netns: p.path, containerID: `c${i}`, path: bin.dir, conf: bridge }));
      expect(added.map((a) => a.code)).toEqual([0, 0]);
      const pm = conf(added[0]!.json, [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], { backend });
      expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
      const server = Bun.spawn(["ip", "netns", "exec", p1!.name, BUN, "-e",
        `Bun.listen({ hostname: "0.0.0.0", port: 80, socket: { open(s) { s.write("hello from pod1\\n"); s.end(); }, data() {} } }); setTimeout(() => process.exit(0), 20000);`]);
      try {
        const get = (ns: TestNetns) => {
          for (let i = 0; i < 20; i++) {
            const out = ns.exec(["timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/10.89.0.1/8080 && cat <&3"], { allowFail: true });
            if (out.includes("hello")) return out.trim();
            Bun.sleepSync(200);
          }
          return "";
        };
        expect(get(node)).toBe("hello from pod1");
        expect(get(p2!)).toBe("hello from pod1");
      } finally {
        server.kill();
        await server.exited;
      }
      expect(runIn(node, OURS, { command: "CHECK", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
      if (backend === "nftables") {
        const t = node.exec(["nft", "list", "table", "ip", "cni_hostport"]);
        expect(t).toContain('tcp dport 8080 dnat to 10.89.0.2:80 comment "c0"');
        expect(t).toContain('ip saddr 10.89.0.2 ip daddr 10.89.0.2 masquerade comment "c0"');
        expect(cniRules(node)).toEqual([]);
      }
      expect(runIn(node, OURS, { command: "DEL", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(0);
      expect(node.exec(["timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.89.0.1/8080 && cat <&3"], { allowFail: true })).toBe("");
      expect(runIn(node, OURS, { command: "CHECK", netns: p1!.path, containerID: "c0", conf: pm }).code).toBe(1);
      if (backend === "nftables") expect(node.exec(["nft", "list", "table", "ip", "cni_hostport"])).not.toContain('comment "c0"');
      for (const [i, p] of [p1!, p2!].entries()) runIn(node, ours("bridge"), { command: "DEL", netns: p.path, containerID: `c${i}`, path: bin.dir, conf: bridge });
    }).finally(() => ipam.cleanup());
  });
});
