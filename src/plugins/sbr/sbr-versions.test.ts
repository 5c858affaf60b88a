import { describe, expect } from "bun:test";
import { podVeth, withNodeAndPod } from "../../../test/helpers/node.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, prevResultAt, reference, routeState, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";

const OURS = ours("sbr");
const REF = reference("sbr");

function setUp(node: TestNetns, pod: TestNetns): void {
  podVeth(node, pod, "sbrhost", { pod: { addrs: ["10.9.0.2/24"], gateways: ["10.9.0.1"] } });
}

/** The prevResult as a main plugin of spec version `v` prints it. */
function prevAt(v: string, pod: TestNetns): Record<string, unknown> {
  return prevResultAt(v, pod.path, { name: "sbrhost" });
}

const kernel = (pod: TestNetns) => ({
  rules: pod.ipJson("-4", "rule", "show").filter((r: any) => r.src && r.src !== "all"),
  routes: routeState(pod).filter((r) => !String(r.dst).includes(":")),
});

describe("sbr at every spec version", () => {
  // Debian's reference (v1.1.1) stops at 1.0.0: 1.1.0 is checked on ours alone.
  for (const v of ALL_VERSIONS) {
    rootTest(`${v}: the same outcome and kernel state as the reference`, () =>
      withNodeAndPod((node, pod) => {
        const p = pod;
        const c = { cniVersion: v, name: "sbrnet", type: "sbr", prevResult: prevAt(v, p) };
        const outs: { code: number; json: any; state: unknown }[] = [];
        for (const argv of v === "1.1.0" ? [OURS] : [REF, OURS]) {
          setUp(node, p);
          const add = runIn(node, argv, { command: "ADD", netns: p.path, conf: c });
          outs.push({ code: add.code, json: add.code === 0 ? add.json : add.json?.code, state: kernel(p) });
          expect(runIn(node, argv, { command: "DEL", netns: p.path, conf: c }).code).toBe(0);
          expect(kernel(p).rules).toEqual([]);
        }
        if (outs.length === 2) expect(outs[1]).toEqual(outs[0]);
        const mine = outs.at(-1)!;
        if (compareVersions(v, "0.3.0") >= 0) {
          expect(mine.code).toBe(0);
          expect(mine.json.cniVersion).toBe(v);
          expect((mine.state as any).rules).toEqual([{ priority: 32765, src: "10.9.0.2", table: "100" }]);
        }
      }),
    );
  }

  rootTest("which prevResult addresses count: without an index or past the list yes, naming another interface no (as the reference)", () =>
    withNodeAndPod((node, pod) => {
      const p = pod;
      const ips = [{ address: "10.9.0.2/24" }, { address: "10.8.0.2/24", interface: 0 }, { address: "10.7.0.2/24", interface: 5 }];
      const c = {
        cniVersion: "1.0.0",
        name: "sbrnet",
        type: "sbr",
        prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "sbrhost" }, { name: "eth0", sandbox: p.path }], ips },
      };
      const states: unknown[] = [];
      for (const argv of [REF, OURS]) {
        setUp(node, p);
        for (const a of ["10.8.0.2/24", "10.7.0.2/24"]) p.exec(["ip", "addr", "add", a, "dev", "eth0"]);
        expect(runIn(node, argv, { command: "ADD", netns: p.path, conf: c }).code).toBe(0);
        states.push(kernel(p));
        expect(runIn(node, argv, { command: "DEL", netns: p.path, conf: c }).code).toBe(0);
      }
      expect(states[1]).toEqual(states[0]);
      expect((states[1] as any).rules.map((r: any) => r.src).sort()).toEqual(["10.7.0.2", "10.9.0.2"]);
    }),
  );
});
