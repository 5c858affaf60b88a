import { describe, expect } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { ours, reference, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("firewall");
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
      for (const [id, ip] of [
        ["ctr-a", "10.66.0.2/24"],
        ["ctr-b", "10.66.0.3/24"],
        ["ctr-c", "fd66::4/64"],
      ] as const) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: conf(stateDir, {}, ip), containerID: id }).code).toBe(0);
      }
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
