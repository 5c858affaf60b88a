import { describe, expect } from "bun:test";
import { podVeth, withNodeAndPod } from "../../../test/helpers/node.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, routeState, runIn, type Call } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("sbr");
const REF = reference("sbr");

/** `ifName` in the pod (veth to the node) with `cidr` and, for eth0, a default route via the .1 of its subnet. */
function setUp(node: TestNetns, pod: TestNetns, ifName: string, cidr: string, hostName: string): void {
  const gateways = ifName === "eth0" ? [cidr.replace(/\.\d+\/\d+$/, ".1")] : [];
  podVeth(node, pod, hostName, { ifName, pod: { addrs: [cidr], gateways } });
}

const prev = (pod: TestNetns, ifName: string, cidr: string) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: ifName, sandbox: pod.path }],
  ips: [{ interface: 0, address: cidr, gateway: cidr.replace(/\.\d+\/\d+$/, ".1") }],
});
const conf = (pod: TestNetns, ifName: string, cidr: string) => ({ cniVersion: "1.0.0", name: "sbrnet", type: "sbr", prevResult: prev(pod, ifName, cidr) });
const rules = (pod: TestNetns) => pod.ipJson("-4", "rule", "show").filter((r: any) => r.src && r.src !== "all");
const table = (pod: TestNetns, t: string) =>
  routeState(pod)
    .filter((r) => r.table === t)
    .map((r) => r.dst)
    .sort();

describe("sbr DEL and table choice", () => {
  rootTest("a table already used by a rule is skipped as the reference does; DEL of one interface leaves the other's table", () =>
    withNodeAndPod((node, pod) => {
      const p = pod;
      const call = (argv: string[], command: Call["command"], ifName: string, cidr: string) =>
        runIn(node, argv, { command, netns: p.path, ifName, conf: conf(p, ifName, cidr) });
      p.exec(["ip", "rule", "add", "from", "192.0.2.1", "lookup", "100"]);
      const snapshot = () => ({ rules: rules(p), t101: table(p, "101"), t102: table(p, "102") });
      const fresh = () => {
        for (const i of ["eth0", "net1"]) p.exec(["ip", "link", "del", i], { allowFail: true });
        setUp(node, p, "eth0", "10.9.0.2/24", "sbrh0");
        setUp(node, p, "net1", "10.10.0.2/24", "sbrh1");
      };
      fresh();
      expect(call(REF, "ADD", "eth0", "10.9.0.2/24").code).toBe(0);
      expect(call(REF, "ADD", "net1", "10.10.0.2/24").code).toBe(0);
      const theirs = snapshot();
      expect(theirs.t101).toEqual(["10.9.0.0/24", "default"]);
      expect(theirs.t102).toEqual(["10.10.0.0/24", "default"]);
      for (const i of ["eth0", "net1"]) expect(call(REF, "DEL", i, i === "eth0" ? "10.9.0.2/24" : "10.10.0.2/24").code).toBe(0);
      fresh();
      expect(call(OURS, "ADD", "eth0", "10.9.0.2/24").code).toBe(0);
      expect(call(OURS, "ADD", "net1", "10.10.0.2/24").code).toBe(0);
      expect(snapshot()).toEqual(theirs);

      // DEL of net1: its rule and table go; eth0's stay, and so does the operator's rule.
      expect(call(OURS, "DEL", "net1", "10.10.0.2/24").code).toBe(0);
      expect(
        rules(p)
          .map((r: any) => `${r.src} ${r.table}`)
          .sort(),
      ).toEqual(["10.9.0.2 101", "192.0.2.1 100"]);
      expect(table(p, "102")).toEqual([]);
      expect(table(p, "101")).toEqual(["10.9.0.0/24", "default"]);
      expect(call(OURS, "CHECK", "eth0", "10.9.0.2/24").code).toBe(0);
      expect(call(OURS, "DEL", "eth0", "10.9.0.2/24").code).toBe(0);
      expect(table(p, "101")).toEqual([]);
      expect(rules(p).map((r: any) => r.src)).toEqual(["192.0.2.1"]);
    }),
  );

  rootTest("DEL finds the rule by the prevResult when the link has lost its address", () =>
    withNodeAndPod((node, pod) => {
      const p = pod;
      setUp(node, p, "eth0", "10.9.0.2/24", "sbrh0");
      const c = conf(p, "eth0", "10.9.0.2/24");
      expect(runIn(node, OURS, { command: "ADD", netns: p.path, conf: c }).code).toBe(0);
      expect(rules(p)).toHaveLength(1);
      p.exec(["ip", "addr", "flush", "dev", "eth0"]);
      expect(runIn(node, OURS, { command: "DEL", netns: p.path, conf: c }).code).toBe(0);
      expect(rules(p)).toEqual([]);
      expect(routeState(p).filter((r) => r.table === "100")).toEqual([]);
    }),
  );
});
