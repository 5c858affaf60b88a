import { describe, expect } from "bun:test";
import { join } from "node:path";
import type { TestNetns } from "../../../test/helpers/netns.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { allocated, bridgeConf, callIn, REF, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;
const iptNat = (node: TestNetns) =>
  node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.includes("CNI-"));
// The per-attachment rules (the table and its chains stay, as with the reference).
const nftMasq = (node: TestNetns) =>
  node
    .exec(["nft", "list", "ruleset"], { allowFail: true })
    .split("\n")
    .filter((l) => l.includes("saddr"));

/** The pod's addresses replaced by others, as an operator or another plugin might. */
function renumber(pod: TestNetns): void {
  pod.exec(["ip", "addr", "flush", "dev", "eth0"]);
  pod.exec(["ip", "addr", "add", "10.44.0.200/24", "dev", "eth0"]);
}

/** Runs `command` for every pod at once, each its own process of the compiled plugin; the exit codes. */
async function all(command: string, node: TestNetns, pods: TestNetns[], conf: object): Promise<number[]> {
  const procs = pods.map((p, i) =>
    Bun.spawn(["ip", "netns", "exec", node.name, join(bin.dir, "bridge")], {
      env: { PATH: process.env.PATH!, CNI_COMMAND: command, CNI_CONTAINERID: `m${i}`, CNI_NETNS: p.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir },
      stdin: new TextEncoder().encode(JSON.stringify(conf)),
      stdout: "ignore",
      stderr: "ignore",
    }),
  );
  return Promise.all(procs.map((p) => p.exited));
}

describe("bridge DEL leaves nothing", () => {
  rootTest("20 concurrent ADDs with ipMasq on a new bridge, then 20 concurrent DELs: one chain each, nothing left", () =>
    withNode(20, async (node, pods, dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true });
      expect(await all("ADD", node, pods, c)).toEqual(pods.map(() => 0));
      expect(iptNat(node).filter((l) => l.startsWith(":CNI-")).length).toBe(20);
      expect(allocated(dataDir).length).toBe(20);
      expect(await all("DEL", node, pods, c)).toEqual(pods.map(() => 0));
      expect([veths(node), allocated(dataDir), iptNat(node)]).toEqual([[], [], []]);
    }),
  );

  rootTest("DELs of one attachment racing each other all succeed (a link gone between lookup and delete is gone)", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const del = () =>
        Bun.spawn(["ip", "netns", "exec", node.name, join(bin.dir, "bridge")], {
          env: { PATH: process.env.PATH!, CNI_COMMAND: "DEL", CNI_CONTAINERID: "race", CNI_NETNS: pod!.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir },
          stdin: new TextEncoder().encode(JSON.stringify(c)),
          stdout: "pipe",
          stderr: "ignore",
        });
      const failures: string[] = [];
      for (let round = 0; round < 8; round++) {
        expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c, containerID: "race" }).code).toBe(0);
        const procs = [1, 2, 3, 4, 5].map(del);
        for (const p of procs) if ((await p.exited) !== 0) failures.push(await new Response(p.stdout).text());
      }
      expect(failures).toEqual([]);
      expect([veths(node), veths(pod!), allocated(dataDir)]).toEqual([[], [], []]);
    }),
  );

  for (const backend of ["iptables", "nftables"]) {
    rootTest(`addresses changed since ADD (${backend}): masquerade rules, pair and reservation go`, () =>
      withNode(1, (node, [pod], dataDir) => {
        const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true, ipMasqBackend: backend });
        const add = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
        expect(add.code).toBe(0);
        expect(backend === "iptables" ? iptNat(node).length : nftMasq(node).length).toBeGreaterThan(0);
        renumber(pod!);
        // Without prevResult too: a runtime that lost its cache still cleans up.
        expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
        expect([veths(node), veths(pod!), allocated(dataDir), iptNat(node), nftMasq(node)]).toEqual([[], [], [], [], []]);
      }),
    );
  }

  rootTest("nftables backend, namespace gone: DEL removes the rules by the attachment", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true, ipMasqBackend: "nftables" });
      expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c }).code).toBe(0);
      const path = pod!.path;
      pod!.destroy();
      expect(callIn(node, bin.dir, { command: "DEL", netns: path, conf: c }).code).toBe(0);
      expect([veths(node), allocated(dataDir), nftMasq(node)]).toEqual([[], [], []]);
    }),
  );

  rootTest("the Go bridge's attachment with its addresses changed: our DEL removes its rules; the Go DEL fails on its own chain", () =>
    withNode(2, (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true });
      for (const [p, id] of [
        [p1!, "go1"],
        [p2!, "go2"],
      ] as const) {
        expect(callIn(node, GO, { command: "ADD", netns: p.path, containerID: id, conf: c }, REF).code).toBe(0);
        renumber(p);
      }
      // The reference deletes the jump rule of the address it finds now, so its chain stays referenced and cannot go.
      const goDel = callIn(node, GO, { command: "DEL", netns: p2!.path, containerID: "go2", conf: c }, REF);
      expect([goDel.code, goDel.json.msg]).toEqual([1, expect.stringContaining("CHAIN_DEL failed (Device or resource busy)")]);
      expect(callIn(node, bin.dir, { command: "DEL", netns: p1!.path, containerID: "go1", conf: c }).code).toBe(0);
      expect(iptNat(node).filter((l) => l.includes('"name: \\"brnet\\" id: \\"go1\\""')).length).toBe(0);
      // Ours also cleans what the Go DEL could not.
      expect(callIn(node, bin.dir, { command: "DEL", netns: p2!.path, containerID: "go2", conf: c }).code).toBe(0);
      expect([veths(node), allocated(dataDir), iptNat(node)]).toEqual([[], [], []]);
    }),
  );
});

describe("bridge GC", () => {
  for (const backend of ["iptables", "nftables"]) {
    rootTest(`releases reservations and removes ${backend} masquerade rules of attachments not listed, keeps the listed ones`, () =>
      withNode(2, (node, [p1, p2], dataDir) => {
        const c = bridgeConf("1.1.0", dataDir, { isGateway: true, ipMasq: true, ipMasqBackend: backend });
        for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
        const rules = () => (backend === "iptables" ? iptNat(node).filter((l) => l.startsWith("-A POSTROUTING")) : nftMasq(node));
        expect(rules().length).toBe(2);
        const gc = callIn(node, bin.dir, { command: "GC", conf: { ...c, "cni.dev/valid-attachments": [{ containerID: "c0", ifname: "eth0" }] } });
        expect([gc.code, gc.stdout]).toEqual([0, ""]);
        expect(allocated(dataDir)).toEqual(["10.44.0.2"]);
        expect(rules().length).toBe(1);
        expect(rules()[0]).toContain("10.44.0.2");
        for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
        expect([veths(node), allocated(dataDir), iptNat(node), nftMasq(node)]).toEqual([[], [], [], []]);
      }),
    );
  }
});

describe("bridge: an ADD that fails at its last step undoes the others", () => {
  rootTest("ipMasq cannot be set up (nftables table held by a chain of another type): no pair, no reservation, no rule", () =>
    withNode(2, (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true, ipMasqBackend: "nftables" });
      // A first pod goes in; then the table's postrouting chain is taken by a filter chain, so the next masquerade fails.
      expect(callIn(node, bin.dir, { command: "ADD", netns: p1!.path, containerID: "ok1", conf: c }).code).toBe(0);
      node.exec(["nft", "delete", "chain", "inet", "cni_plugins_masquerade", "postrouting"]);
      node.exec(["nft", "add", "chain", "inet", "cni_plugins_masquerade", "postrouting", "{ type filter hook postrouting priority 0 ; }"]);
      const r = callIn(node, bin.dir, { command: "ADD", netns: p2!.path, containerID: "bad2", conf: c });
      expect([r.code, r.json.code]).toEqual([1, 999]);
      expect(r.json.msg).toStartWith("failed to set up IP masquerade");
      expect(veths(p2!)).toEqual([]);
      expect(veths(node).length).toBe(1);
      expect(allocated(dataDir)).toEqual(["10.44.0.2"]);
      expect(nftMasq(node).length).toBe(1);
      expect(callIn(node, bin.dir, { command: "DEL", netns: p1!.path, containerID: "ok1", conf: c }).code).toBe(0);
      expect([veths(node), allocated(dataDir), nftMasq(node)]).toEqual([[], [], []]);
    }),
  );
});
