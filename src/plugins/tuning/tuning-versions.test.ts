import { describe, expect } from "bun:test";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, prevResultAt, reference, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { withPod } from "../../../test/helpers/tuning-kit.ts";

const OURS = ours("tuning");
const REF = reference("tuning");

/** The prevResult as a main plugin of spec version `v` prints it. */
function prevAt(v: string, pod: TestNetns): Record<string, unknown> {
  return prevResultAt(v, pod.path, { name: "tunhost", mac: "02:00:00:00:00:01" }, { mac: "02:00:00:00:00:02" });
}

function linkOf(pod: TestNetns) {
  const [l] = pod.ipJson("link", "show", "dev", "eth0");
  return { mac: l.address, mtu: l.mtu, promisc: l.flags.includes("PROMISC") };
}

describe("tuning at every spec version", () => {
  // Debian's reference (v1.1.1) stops at 1.0.0: 1.1.0 is checked on ours alone.
  for (const v of ALL_VERSIONS) {
    rootTest(`${v}: the same result and link as the reference; CHECK where the version has it; DEL restores`, () =>
      withPod((node, pod, dataDir) => {
        const c = { cniVersion: v, name: "tun", type: "tuning", dataDir, mac: "c2:00:00:00:00:0c", mtu: 1280, promisc: true, prevResult: prevAt(v, pod) };
        const before = linkOf(pod);
        const impls = v === "1.1.0" ? [OURS] : [REF, OURS];
        const outs: unknown[] = [];
        for (const argv of impls) {
          const add = runIn(node, argv, { command: "ADD", netns: pod.path, containerID: "v", conf: c });
          expect([add.code, add.stderr]).toEqual([0, ""]);
          expect(linkOf(pod)).toEqual({ mac: "c2:00:00:00:00:0c", mtu: 1280, promisc: true });
          outs.push(add.json);
          if (compareVersions(v, "0.4.0") >= 0) {
            const check = runIn(node, argv, { command: "CHECK", netns: pod.path, containerID: "v", conf: { ...c, prevResult: add.json } });
            expect([check.code, check.stdout]).toEqual([0, ""]);
          }
          expect(runIn(node, argv, { command: "DEL", netns: pod.path, containerID: "v", conf: c }).code).toBe(0);
          expect(linkOf(pod)).toEqual(before);
        }
        if (outs.length === 2) expect(outs[1]).toEqual(outs[0]);
        const r = outs.at(-1) as any;
        expect(r.cniVersion).toBe(v);
        if (compareVersions(v, "0.3.0") >= 0) expect(r.interfaces[1].mac).toBe("c2:00:00:00:00:0c");
      }),
    );
  }
});
