/**
 * DEL is best effort: a runtime retries a failing DEL for ever and the pod's sandbox
 * stays stuck. Each plugin here gets a good ADD, then a DEL whose config is bad in a
 * field teardown does not need (the macvlan `mode: "bogus"` and bridge
 * `mtu: -5`, and the like for the others): the DEL succeeds and tears down.
 */
import { describe, expect } from "bun:test";
import { rootTest, type TestNetns } from "../helpers/netns.ts";
import { allocated, links, withNode } from "../helpers/node.ts";
import { ours, runIn } from "../helpers/plugin-run.ts";

const ipam = (dataDir: string, extra: Record<string, unknown> = {}) => ({ type: "host-local", dataDir, subnet: "10.45.0.0/24", ...extra });
const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 0, address: "10.45.0.9/24", gateway: "10.45.0.1" }],
});

/** ADD with `good`, DEL with `bad`: the DEL's outcome. */
function addThenDel(node: TestNetns, pod: TestNetns, type: string, good: object, bad: object) {
  const add = runIn(node, ours(type), { command: "ADD", netns: pod.path, conf: good, containerID: "be-1" });
  expect([type, add.code, add.stdout.slice(0, 200)]).toEqual([type, 0, add.stdout.slice(0, 200)]);
  const del = runIn(node, ours(type), { command: "DEL", netns: pod.path, conf: bad, containerID: "be-1" });
  expect([type, del.code, del.stdout]).toEqual([type, 0, ""]);
}

describe("DEL validates only what teardown needs", () => {
  rootTest("bridge (mtu -5, vlan 5000, bad ipMasqBackend) and ptp (mtu -5): pair and reservation go", () =>
    withNode(1, (node, [pod], dataDir) => {
      const br = { cniVersion: "1.0.0", name: "benet", type: "bridge", bridge: "cnibe0", isGateway: true, ipMasq: true, ipam: ipam(dataDir) };
      for (const bad of [{ mtu: -5 }, { vlan: 5000 }, { ipMasqBackend: "pf" }, { hairpinMode: "sometimes" }]) {
        addThenDel(node, pod!, "bridge", br, { ...br, ...bad });
        expect([links(pod!), links(node), allocated(dataDir, "benet")]).toEqual([[], ["cnibe0"], []]);
        expect(
          node
            .exec(["iptables-save", "-t", "nat"])
            .split("\n")
            .filter((l) => l.startsWith("-A") && l.includes("CNI-")),
        ).toEqual([]);
      }
      const ptp = { cniVersion: "1.0.0", name: "benet", type: "ptp", ipam: ipam(dataDir) };
      addThenDel(node, pod!, "ptp", ptp, { ...ptp, mtu: -5 });
      expect([links(pod!), allocated(dataDir, "benet")]).toEqual([[], []]);
    }),
  );

  rootTest("macvlan (mode bogus, master missing): device and reservation go", () =>
    withNode(1, (node, [pod], dataDir) => {
      node.exec(["ip", "link", "add", "bemaster", "type", "veth", "peer", "name", "bepeer"]);
      const mv = { cniVersion: "1.0.0", name: "benet", type: "macvlan", master: "bemaster", ipam: ipam(dataDir) };
      for (const bad of [{ mode: "bogus" }, { master: "nosuchdev0" }, { mtu: -5 }]) {
        addThenDel(node, pod!, "macvlan", mv, { ...mv, ...bad });
        expect([links(pod!), allocated(dataDir, "benet")]).toEqual([[], []]);
      }
    }),
  );

  rootTest("host-local alone (a bad range, a bad CNI_ARGS IP): the reservation goes", () =>
    withNode(1, (node, [pod], dataDir) => {
      const good = { cniVersion: "1.0.0", name: "benet", type: "host-local", ipam: ipam(dataDir) };
      addThenDel(node, pod!, "host-local", good, { ...good, ipam: ipam(dataDir, { subnet: "10.45.0.0/40" }) });
      expect(allocated(dataDir, "benet")).toEqual([]);
      expect(runIn(node, ours("host-local"), { command: "ADD", netns: pod!.path, conf: good, containerID: "be-1" }).code).toBe(0);
      expect(runIn(node, ours("host-local"), { command: "DEL", netns: pod!.path, conf: good, containerID: "be-1", args: "IP=bad" }).code).toBe(0);
      expect(allocated(dataDir, "benet")).toEqual([]);
    }),
  );

  rootTest("firewall (backend pf, a bad policy), bandwidth (a negative rate), sbr (a bad table): DEL succeeds and undoes", () =>
    withNode(1, (node, [pod], dataDir) => {
      const fw = { cniVersion: "1.0.0", name: "benet", type: "firewall", stateDir: dataDir, prevResult: prev(pod!) };
      for (const bad of [{ backend: "pf" }, { ingressPolicy: "closed" }, { iptablesAdminChainName: "bad name" }]) {
        addThenDel(node, pod!, "firewall", fw, { ...fw, ...bad });
        expect(
          node
            .exec(["iptables-save", "-t", "filter"])
            .split("\n")
            .filter((l) => l.includes("10.45.0.9")),
        ).toEqual([]);
      }
      const bad = (type: string, extra: object) => {
        const del = runIn(node, ours(type), {
          command: "DEL",
          netns: pod!.path,
          conf: { cniVersion: "1.0.0", name: "benet", type, prevResult: prev(pod!), ...extra },
          containerID: "be-1",
        });
        expect([type, del.code, del.stdout]).toEqual([type, 0, ""]);
      };
      bad("bandwidth", { ingressRate: -1, ingressBurst: -1 });
      bad("sbr", { table: "main" });
    }),
  );
});
