import { describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { rootTest } from "../../../test/helpers/netns.ts";
import { bridgeConf, callIn, REF, useBinDir, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";
import { compareVersions } from "../../spec/version.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;
const DUAL = { subnet: undefined, ranges: [[{ subnet: "10.44.0.0/24" }], [{ subnet: "fd00:44::/64" }]], routes: [{ dst: "10.99.0.0/16" }] };
// Names and MACs are random (ours: a hash of the attachment); the rest must match.
const shape = (r: unknown) =>
  JSON.parse(
    JSON.stringify(r)
      .replace(/veth[0-9a-f]{8}/g, "VETH")
      .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"'),
  );

describe("bridge results against the Go bridge at every version it speaks", () => {
  // Debian's Go bridge (v1.1.1) speaks 0.1.0 to 1.0.0; 0.1.0/0.2.0 carry ip4/ip6 only, 0.3.x a version per address.
  for (const v of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]) {
    rootTest(`${v}: dual stack, default gateway, IPAM routes, DNS from the config`, () =>
      withNode(1, (node, [pod], dataDir) => {
        const c = bridgeConf(v, dataDir, { isDefaultGateway: true, dns: { nameservers: ["10.44.0.53"], search: ["pod.local"] } }, DUAL);
        const go = callIn(node, GO, { command: "ADD", netns: pod!.path, conf: c }, REF);
        expect([go.code, go.stderr]).toEqual([0, ""]);
        expect(callIn(node, GO, { command: "DEL", netns: pod!.path, conf: c }, REF).code).toBe(0);
        rmSync(join(dataDir, "brnet"), { recursive: true, force: true });
        const mine = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
        expect([mine.code, mine.stderr]).toEqual([0, ""]);
        expect(shape(mine.json)).toEqual(shape(go.json));
        if (compareVersions(v, "0.3.0") < 0) expect(Object.keys(mine.json).sort()).toEqual(["cniVersion", "dns", "ip4", "ip6"]);
        expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      }),
    );
  }
});
