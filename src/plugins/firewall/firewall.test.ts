import { describe, expect } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { ours, reference, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import { iptablesUsesNftables } from "../../netfilter/iptables-nft.ts";

const OURS = ours("firewall");
const nftIptables = iptablesUsesNftables(4) && iptablesUsesNftables(6);
const REF = reference("firewall");

const prev = (ip: string, bridge = "cni0") => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: bridge }, { name: "veth1" }, { name: "eth0", sandbox: "/x" }],
  ips: [{ interface: 2, address: ip, gateway: "10.66.0.1" }],
});

function conf(stateDir: string, extra: Record<string, unknown> = {}, ip = "10.66.0.2/24") {
  return { cniVersion: "1.0.0", name: "fwnet", type: "firewall", stateDir, ...extra, prevResult: prev(ip) };
}

/** The filter table's CNI lines, counters left out. */
function cniRules(node: TestNetns, family: 4 | 6 = 4): string[] {
  return node
    .exec([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "filter"])
    .split("\n")
    .filter((l) => /CNI-/.test(l))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""));
}

/** ADDs ctr-a (10.66.0.2), ctr-b (10.66.0.3) and ctr-c (fd66::4) with our plugin. */
function addThreePods(node: TestNetns, pod: TestNetns, stateDir: string): void {
  for (const [id, ip] of [
    ["ctr-a", "10.66.0.2/24"],
    ["ctr-b", "10.66.0.3/24"],
    ["ctr-c", "fd66::4/64"],
  ] as const) {
    expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, {}, ip), containerID: id }).code).toBe(0);
  }
}

/** The node kit's namespaces (the rules in the node, the pod's path for CNI_NETNS) and its temp dir as the state dir. */
const withFwNode = (fn: (node: TestNetns, pod: TestNetns, stateDir: string) => void | Promise<void>) => withNodeAndPod(fn, { prefix: "fw" });

describe("firewall", () => {
  rootTest("the reference's rules after ADD; CHECK passes; DEL removes the address rules", () =>
    withFwNode((node, pod, stateDir) => {
      const c = conf(stateDir, { backend: "iptables" });
      const ref = runIn(node, REF, { command: "ADD", netns: pod.path, conf: c, containerID: "ctr-1" });
      expect(ref.stderr).toBe("");
      const theirs = cniRules(node);
      expect(theirs.some((l) => l.includes("-s 10.66.0.2/32 -j ACCEPT"))).toBe(true);
      expect(runIn(node, REF, { command: "DEL", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      const leftByRef = cniRules(node);

      const add = runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c, containerID: "ctr-1" });
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      expect(add.json.ips[0].address).toBe("10.66.0.2/24");
      expect(cniRules(node)).toEqual(theirs);
      expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      // The reference's CHECK accepts what we made.
      expect(runIn(node, REF, { command: "CHECK", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      expect(cniRules(node)).toEqual(leftByRef);
      expect(readdirSync(stateDir)).toEqual([]);
      const check = runIn(node, OURS, { command: "CHECK", netns: pod.path, conf: c, containerID: "ctr-1" });
      expect(check.code).toBe(1);
      expect(check.json.msg).toContain("not found");
    }),
  );

  rootTest("DEL without prevResult uses the record; GC removes what is no longer valid", () =>
    withFwNode((node, pod, stateDir) => {
      addThreePods(node, pod, stateDir);
      expect(cniRules(node).filter((l) => l.includes("10.66.0.")).length).toBe(4);
      expect(cniRules(node, 6).filter((l) => l.includes("fd66::4")).length).toBe(2);
      const { prevResult: _, ...bare } = conf(stateDir);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: bare, containerID: "ctr-a" }).code).toBe(0);
      expect(cniRules(node).filter((l) => l.includes("10.66.0.2/"))).toEqual([]);
      const gc = { ...bare, cniVersion: "1.1.0", "cni.dev/valid-attachments": [{ containerID: "ctr-b", ifname: "eth0" }] };
      expect(runIn(node, OURS, { command: "GC", netns: pod.path, conf: gc }).code).toBe(0);
      expect(cniRules(node).filter((l) => l.includes("10.66.0.3/")).length).toBe(2);
      expect(cniRules(node, 6).filter((l) => l.includes("fd66::"))).toEqual([]);
      expect(readdirSync(stateDir)).toEqual(["ctr-b-eth0.json"]);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: bare, containerID: "ctr-b" }).code).toBe(0);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: bare, containerID: "ctr-b" }).code).toBe(0);
      expect(existsSync(join(stateDir, "ctr-b-eth0.json"))).toBe(false);
    }),
  );

  rootTest.skipIf(!nftIptables)(
    "iptables-nft: ADD appends the pair, DEL deletes it by handle, neither runs iptables-save; other rules for the address stay",
    () =>
      withFwNode((node, pod, stateDir) => {
        addThreePods(node, pod, stateDir);
        // iptables-save, which reads the whole table, logs its calls. (iptables-restore cannot be
        // wrapped so: a wrapper is not iptables-nft, and the plugin would then leave netlink alone.)
        const { dir: tools, cleanup } = tempDir("cni-fw-tools-");
        try {
          const log = join(tools, "calls");
          for (const tool of ["iptables-save", "ip6tables-save"]) {
            writeFileSync(join(tools, tool), `#!/bin/sh\necho ${tool} >> ${log}\nexec ${Bun.which(tool)} "$@"\n`, { mode: 0o755 });
          }
          const wrap = ["env", `PATH=${tools}:${process.env.PATH}`];
          const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
          const before = cniRules(node);
          for (const [id, ip] of [
            ["ctr-b", "10.66.0.3/24"],
            ["ctr-c", "fd66::4/64"],
          ] as const) {
            expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: conf(stateDir, {}, ip), containerID: id, wrap }).code).toBe(0);
          }
          expect(calls()).toEqual([]);
          expect(cniRules(node)).toEqual(before.filter((l) => !l.includes("10.66.0.3/32")));
          // ADD where a pod before set the chains and jumps up: the pair appended, no iptables-save either.
          expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, {}, "10.66.0.3/24"), containerID: "ctr-b", wrap }).code).toBe(0);
          expect(calls()).toEqual([]);
          expect(cniRules(node)).toEqual(before);
          expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: conf(stateDir, {}, "10.66.0.3/24"), containerID: "ctr-b", wrap }).code).toBe(0);
          expect(cniRules(node, 6).filter((l) => l.includes("fd66::4"))).toEqual([]);
          // Someone else's rule for the address stays; with the pair gone it is left to iptables to judge, which keeps it too.
          node.exec(["iptables", "-A", "CNI-FORWARD", "-s", "10.66.0.2/32", "-p", "tcp", "-j", "ACCEPT"]);
          const admin = ["-A CNI-FORWARD -s 10.66.0.2/32 -p tcp -j ACCEPT"];
          expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: conf(stateDir), containerID: "ctr-a", wrap }).code).toBe(0);
          expect(calls()).toEqual([]);
          expect(cniRules(node).filter((l) => l.includes("10.66.0.2/32"))).toEqual(admin);
          expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: conf(stateDir), containerID: "ctr-a", wrap }).code).toBe(0);
          expect(calls()).toEqual(["iptables-save"]);
          expect(cniRules(node).filter((l) => l.includes("10.66.0.2/32"))).toEqual(admin);
        } finally {
          cleanup();
        }
      }),
  );

  rootTest("ingressPolicy isolated: stage chains in front of CNI-FORWARD, idempotent", () =>
    withFwNode((node, pod, stateDir) => {
      const c = conf(stateDir, { ingressPolicy: "isolated" });
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      const once = cniRules(node);
      const forward = once.filter((l) => l.startsWith("-A FORWARD"));
      expect(forward[0]).toContain("-j CNI-ISOLATION-STAGE-1");
      expect(forward[1]).toContain("-j CNI-FORWARD");
      expect(once).toContain('-A CNI-ISOLATION-STAGE-1 -i cni0 -o cni0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j DROP');
      expect(once).toContain('-A CNI-ISOLATION-STAGE-2 -o cni0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)" -j DROP');
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
      expect(cniRules(node)).toEqual(once);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: c, containerID: "ctr-1" }).code).toBe(0);
    }),
  );

  rootTest("ingressPolicy same-bridge: the Go plugin's exact rules, never twice whichever plugin ran first", async () => {
    const c = (stateDir: string) => conf(stateDir, { ingressPolicy: "same-bridge" });
    let theirs: string[] = [];
    await withFwNode((node, pod, stateDir) => {
      expect(runIn(node, REF, { command: "ADD", netns: pod.path, conf: c(stateDir), containerID: "ctr-1" }).code).toBe(0);
      theirs = cniRules(node);
      // Then ours for a second container on the same bridge: nothing shared is added again.
      expect(
        runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, { ingressPolicy: "same-bridge" }, "10.66.0.3/24"), containerID: "ctr-2" })
          .code,
      ).toBe(0);
      const both = cniRules(node);
      expect(both.filter((l) => l.includes("-j CNI-ISOLATION-STAGE-1")).length).toBe(1);
      expect(both.filter((l) => l.includes("-j RETURN")).length).toBe(2);
      expect(both.filter((l) => l.includes("-j DROP")).length).toBe(1);
    });
    await withFwNode((node, pod, stateDir) => {
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c(stateDir), containerID: "ctr-1" }).code).toBe(0);
      expect(cniRules(node)).toEqual(theirs);
      // The Go plugin after ours finds every rule it would add.
      expect(runIn(node, REF, { command: "ADD", netns: pod.path, conf: c(stateDir), containerID: "ctr-1" }).code).toBe(0);
      expect(cniRules(node)).toEqual(theirs);
      // An isolated network on the same node shares the jump and the RETURNs.
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, { ingressPolicy: "isolated" }), containerID: "ctr-3" }).code).toBe(0);
      const mixed = cniRules(node);
      expect(mixed.filter((l) => l.includes("-j CNI-ISOLATION-STAGE-1")).length).toBe(1);
      expect(mixed.filter((l) => l.includes("-j RETURN")).length).toBe(2);
    });
  });

  rootTest("bad config is refused before anything changes", () =>
    withFwNode((node, pod, stateDir) => {
      for (const [extra, code] of [
        [{ backend: "firewalld" }, 2],
        [{ backend: "pf" }, 7],
        [{ ingressPolicy: "closed" }, 7],
        [{ iptablesAdminChainName: "bad name" }, 7],
      ] as const) {
        const r = runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, extra), containerID: "ctr-1" });
        expect(r.json.code).toBe(code);
      }
      expect(cniRules(node)).toEqual([]);
      expect(readdirSync(stateDir)).toEqual([]);
      const { prevResult: _, ...bare } = conf(stateDir);
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: bare, containerID: "ctr-1" }).json.msg).toBe("missing prevResult from earlier plugin");
    }),
  );

  rootTest("the default state dir (/var/lib/cni/firewall) goes with the last record, /var/lib/cni too when empty; a configured one stays", () =>
    withFwNode((node, pod, stateDir) => {
      // /var/lib is a temp dir in a private mount namespace: the machine's is never touched.
      const varLib = tempDir("cni-fw-varlib-");
      try {
        const wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c", `mount --bind ${varLib.dir} /var/lib && exec "$0" "$@"`];
        const { stateDir: _, ...defaults } = conf(stateDir);
        const call = (command: "ADD" | "DEL", id: string, ip: string) =>
          runIn(node, OURS, { command, netns: pod.path, conf: { ...defaults, prevResult: prev(ip) }, containerID: id, wrap }).code;
        expect(call("ADD", "ctr-1", "10.66.0.2/24")).toBe(0);
        expect(call("ADD", "ctr-2", "10.66.0.3/24")).toBe(0);
        expect(readdirSync(join(varLib.dir, "cni/firewall")).sort()).toEqual(["ctr-1-eth0.json", "ctr-2-eth0.json"]);
        expect(call("DEL", "ctr-1", "10.66.0.2/24")).toBe(0);
        expect(readdirSync(join(varLib.dir, "cni/firewall"))).toEqual(["ctr-2-eth0.json"]);
        expect(call("DEL", "ctr-2", "10.66.0.3/24")).toBe(0);
        expect(readdirSync(varLib.dir)).toEqual([]);
        // Another plugin's state under /var/lib/cni keeps it.
        expect(call("ADD", "ctr-1", "10.66.0.2/24")).toBe(0);
        mkdirSync(join(varLib.dir, "cni/networks"));
        expect(call("DEL", "ctr-1", "10.66.0.2/24")).toBe(0);
        expect(readdirSync(join(varLib.dir, "cni"))).toEqual(["networks"]);
        expect(cniRules(node).filter((l) => l.includes("10.66.0."))).toEqual([]);
        // A configured dir is the operator's.
        expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir), containerID: "ctr-1" }).code).toBe(0);
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: conf(stateDir), containerID: "ctr-1" }).code).toBe(0);
        expect(existsSync(stateDir)).toBe(true);
      } finally {
        varLib.cleanup();
      }
    }),
  );
});
