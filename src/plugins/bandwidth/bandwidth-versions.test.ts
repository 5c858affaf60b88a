import { describe, expect } from "bun:test";
import { OURS, qdiscs, REF, setUp, shapedConf } from "../../../test/helpers/bandwidth-kit.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { prevResultAt, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { ifbName } from "./bandwidth.ts";

/** The prevResult as a main plugin of spec version `v` prints it. */
function prevAt(v: string, pod: TestNetns): Record<string, unknown> {
  return prevResultAt(v, pod.path, { name: "bwhost", mac: "02:00:00:00:00:01" });
}

/** A result with the ifb's random MAC blanked. */
function stable(json: any): any {
  if (!json?.interfaces) return json;
  return { ...json, interfaces: json.interfaces.map((i: any) => (i.name.startsWith("bwp") ? { ...i, mac: i.mac ? "MAC" : i.mac } : i)) };
}

describe("bandwidth at every spec version", () => {
  // Debian's reference (v1.1.1) stops at 1.0.0: 1.1.0 is checked on ours alone.
  for (const v of ALL_VERSIONS) {
    rootTest(`${v}: the same outcome, result and qdiscs as the reference`, () =>
      withNodeAndPod((node, p) => {
        const ifb = ifbName("bwnet", "ctr-v");
        const c = shapedConf(v, prevAt(v, p));
        const outs: unknown[] = [];
        for (const argv of v === "1.1.0" ? [OURS] : [REF, OURS]) {
          setUp(node, p);
          const add = runIn(node, argv, { command: "ADD", netns: p.path, containerID: "ctr-v", conf: c });
          const outcome = add.code === 0 ? stable(add.json) : { code: add.json?.code };
          // CHECK exists from 0.4.0 on: before that both refuse it.
          const check = runIn(node, argv, { command: "CHECK", netns: p.path, containerID: "ctr-v", conf: c });
          outs.push({ exit: add.code, outcome, host: qdiscs(node, "bwhost"), ifb: qdiscs(node, ifb), check: [check.code, check.json?.code] });
          expect(runIn(node, argv, { command: "DEL", netns: p.path, containerID: "ctr-v", conf: c }).code).toBe(compareVersions(v, "0.3.0") < 0 ? 1 : 0);
          expect(qdiscs(node, ifb)).toEqual([]);
        }
        if (outs.length === 2) expect(outs[1]).toEqual(outs[0]);
        const mine = outs.at(-1) as any;
        if (compareVersions(v, "0.3.0") < 0) expect(mine.outcome).toEqual({ code: 1 });
        else {
          expect(mine.outcome.cniVersion).toBe(v);
          expect(mine.outcome.interfaces.map((i: { name: string }) => i.name)).toEqual(["bwhost", "eth0", ifb]);
          expect(mine.host[0]).toMatchObject({ kind: "tbf", options: { rate: 1_000_000 } });
          expect(mine.check[0]).toBe(compareVersions(v, "0.4.0") >= 0 ? 0 : 1);
        }
      }),
    );
  }
});
