import { describe, expect } from "bun:test";
import { podVeth, withNodeAndPod } from "../../../test/helpers/node.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("sbr");
const REF = reference("sbr");

/** eth0 with an IPv4 and an IPv6 address and default routes for both; the node end has the gateways. */
function setUp(node: TestNetns, pod: TestNetns): void {
  podVeth(node, pod, "sbrhost", {
    node: { addrs: ["10.9.0.1/24", "fd00:9::1/64"] },
    pod: { addrs: ["10.9.0.2/24", "fd00:9::2/64"], gateways: ["10.9.0.1", "fd00:9::1"] },
  });
}

const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: pod.path }],
  ips: [
    { interface: 0, address: "10.9.0.2/24", gateway: "10.9.0.1" },
    { interface: 0, address: "fd00:9::2/64", gateway: "fd00:9::1" },
  ],
});

/** Rules and routes of both families (routes without the kernel's local/multicast ones), sorted. */
function state(pod: TestNetns) {
  const rules = [...pod.ipJson("-4", "rule", "show"), ...pod.ipJson("-6", "rule", "show")].filter((r: any) => r.src && r.src !== "all");
  const routes = [...pod.ipJson("-4", "route", "show", "table", "all"), ...pod.ipJson("-6", "route", "show", "table", "all")]
    .filter((r: any) => r.table !== "local" && r.type !== "multicast")
    .map((r: any) => ({ dst: r.dst, gateway: r.gateway, table: r.table, prefsrc: r.prefsrc }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { rules, routes };
}

describe("sbr dual-stack", () => {
  rootTest("one table per family as the reference, traffic from each address; the reference's extra IPv6 copies in the IPv4 table aside", () =>
    withNodeAndPod((node, pod) => {
      const p = pod;
      const c = { cniVersion: "1.0.0", name: "sbrnet", type: "sbr", prevResult: prev(p) };
      setUp(node, p);
      expect(runIn(node, REF, { command: "ADD", netns: p.path, conf: c }).code).toBe(0);
      const theirs = state(p);
      expect(runIn(node, REF, { command: "DEL", netns: p.path, conf: c }).code).toBe(0);
      setUp(node, p);
      const add = runIn(node, OURS, { command: "ADD", netns: p.path, conf: c });
      expect([add.code, add.stderr]).toEqual([0, ""]);
      const mine = state(p);
      expect(mine.rules).toEqual(theirs.rules);
      expect(mine.rules.map((r: any) => [r.src, r.table])).toEqual([
        ["10.9.0.2", "100"],
        ["fd00:9::2", "101"],
      ]);
      const v6InV4Table = (r: { dst: string; table?: string }) => r.table === "100" && r.dst.includes(":");
      expect(mine.routes).toEqual(theirs.routes.filter((r) => !(r.table === "100" && String(r.dst).includes(":"))));
      expect(theirs.routes.filter(v6InV4Table).map((r) => r.dst)).toEqual(["fd00:9::/64", "fe80::/64"]);
      // Main is empty of the interface's routes; the source rules carry the traffic.
      expect(mine.routes.filter((r) => r.table === undefined)).toEqual([]);
      for (const [src, dst] of [
        ["10.9.0.2", "10.9.0.1"],
        ["fd00:9::2", "fd00:9::1"],
      ]) {
        expect(p.exec(["ping", "-c", "1", "-W", "2", "-I", src!, dst!], { allowFail: true })).toContain("1 received");
      }
      expect(runIn(node, OURS, { command: "DEL", netns: p.path, conf: c }).code).toBe(0);
      expect(state(p).rules).toEqual([]);
    }),
  );

  rootTest("a failed ADD (gateway not on the link) leaves no rule and no table; main keeps its routes (the reference leaves its rule)", () =>
    withNodeAndPod((node, pod) => {
      const p = pod;
      // Debian's v1.1.1 has no "gateways": the prevResult's IPv6 gateway is the one off the link.
      const bad = prev(p);
      bad.ips[1]!.gateway = "fd00:77::1";
      const c = { cniVersion: "1.0.0", name: "sbrnet", type: "sbr", prevResult: bad };
      setUp(node, p);
      const before = state(p);
      const theirs = runIn(node, REF, { command: "ADD", netns: p.path, conf: c });
      expect(theirs.code).toBe(1);
      expect(state(p).rules.length).toBeGreaterThan(0);
      setUp(node, p);
      const mine = runIn(node, OURS, { command: "ADD", netns: p.path, conf: c });
      expect([mine.code, mine.json.code]).toEqual([1, 999]);
      expect(mine.json.msg).toContain("failed to set up source-based routing");
      expect(state(p)).toEqual(before);
    }),
  );
});
