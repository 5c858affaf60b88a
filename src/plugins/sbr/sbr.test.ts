import { describe, expect } from "bun:test";
import { podVeth, withNodeAndPod } from "../../../test/helpers/node.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, routeState, runIn, type Call } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("sbr");
const REF = reference("sbr");

/** A pod whose eth0 has 10.9.0.2/24 and a default route via 10.9.0.1, as a main plugin leaves it. */
function setUp(node: TestNetns, pod: TestNetns): void {
  podVeth(node, pod, "sbrhost", { pod: { addrs: ["10.9.0.2/24"], gateways: ["10.9.0.1"] } });
}

const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 0, address: "10.9.0.2/24", gateway: "10.9.0.1" }],
});
const rules = (pod: TestNetns) => pod.ipJson("-4", "rule", "show").filter((r: any) => r.src && r.src !== "all");
const v4routes = (pod: TestNetns) => routeState(pod).filter((r) => !String(r.dst).includes(":") && !String(r.dst).startsWith("fe80"));

describe("sbr", () => {
  // Debian's reference (v1.1.1) predates "table" and "addSourceHints": those are checked on ours below.
  for (const extra of [{}, { gateways: ["10.9.0.254"] }]) {
    rootTest(`the reference's tables, rules and routes with ${JSON.stringify(extra)}; DEL removes the rules`, () =>
      withNodeAndPod((node, pod) => {
        setUp(node, pod);
        const c = { cniVersion: "1.0.0", name: "sbrnet", type: "sbr", ...extra, prevResult: prev(pod) };
        const call = (argv: string[], command: Call["command"]) => runIn(node, argv, { command, netns: pod.path, conf: c });
        expect(call(REF, "ADD").code).toBe(0);
        const theirs = { rules: rules(pod), routes: v4routes(pod) };
        expect(call(REF, "DEL").code).toBe(0);
        pod.exec(["ip", "link", "del", "eth0"]);
        setUp(node, pod);
        const add = call(OURS, "ADD");
        expect(add.stderr).toBe("");
        expect(add.code).toBe(0);
        expect({ rules: rules(pod), routes: v4routes(pod) }).toEqual(theirs);
        expect(call(OURS, "CHECK").code).toBe(0);
        expect(call(OURS, "DEL").code).toBe(0);
        expect(rules(pod)).toEqual([]);
        expect(call(OURS, "DEL").code).toBe(0);
      }),
    );
  }

  rootTest("table: only the rule, the routes stay; addSourceHints: the subnet route stays in main with the source hint", () =>
    withNodeAndPod((node, pod) => {
      setUp(node, pod);
      const c = (extra: object) => ({ cniVersion: "1.0.0", name: "sbrnet", type: "sbr", ...extra, prevResult: prev(pod) });
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c({ table: 500 }) }).code).toBe(0);
      expect(rules(pod)).toEqual([{ priority: 32765, src: "10.9.0.2", table: "500" }]);
      expect(v4routes(pod).every((r) => r.table === undefined)).toBe(true);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: c({ table: 500 }) }).code).toBe(0);
      expect(rules(pod)).toEqual([]);

      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: c({ addSourceHints: true }) }).code).toBe(0);
      const main = v4routes(pod).filter((r) => r.table === undefined);
      expect(main.map((r) => [r.dst, r.prefsrc, r.scope])).toEqual([["10.9.0.0/24", "10.9.0.2", "link"]]);
      expect(
        v4routes(pod)
          .filter((r) => r.table === "100")
          .map((r) => r.dst)
          .sort(),
      ).toEqual(["10.9.0.0/24", "default"]);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, conf: c({ addSourceHints: true }) }).code).toBe(0);
    }),
  );

  rootTest("bad gateways refused, a missing namespace is a successful DEL", () =>
    withNodeAndPod((node, pod) => {
      setUp(node, pod);
      const r = runIn(node, OURS, {
        command: "ADD",
        netns: pod.path,
        conf: { cniVersion: "1.0.0", name: "s", type: "sbr", gateways: ["x"], prevResult: prev(pod) },
      });
      expect(r.json.code).toBe(7);
      expect(rules(pod)).toEqual([]);
      expect(runIn(node, OURS, { command: "DEL", netns: "/var/run/netns/gone", conf: { cniVersion: "1.0.0", name: "s", type: "sbr" } }).code).toBe(0);
    }),
  );
});
