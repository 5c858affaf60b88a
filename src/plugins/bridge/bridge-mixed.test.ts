import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../../test/helpers/dist.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { allocated, bridgeConf, callIn, ping, REF, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const ours = useBinDir();
const GO = GO_PLUGINS;
// A plugin dir with the Go bridge and our host-local.
let goBridgeOurIpam: string;
beforeAll(async () => {
  goBridgeOurIpam = mkdtempSync(join(tmpdir(), "cni-ts-mixed-br-"));
  symlinkSync(join(GO, "bridge"), join(goBridgeOurIpam, "bridge"));
  symlinkSync(ensureBuilt(), join(goBridgeOurIpam, "host-local"));
});
afterAll(() => rmSync(goBridgeOurIpam, { recursive: true, force: true }));

describe("bridge: ours and the Go plugins on one bridge and one address range", async () => {
  rootTest("Go bridge + our host-local and our bridge + Go host-local side by side: distinct addresses, traffic, CHECK and DEL across", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true });
      const goAdd = callIn(node, goBridgeOurIpam, { command: "ADD", netns: p1!.path, containerID: "go1", conf: c }, REF);
      expect([goAdd.code, goAdd.stderr]).toEqual([0, ""]);
      const ourAdd = callIn(node, GO, { command: "ADD", netns: p2!.path, containerID: "ts1", conf: c });
      expect([ourAdd.code, ourAdd.stderr]).toEqual([0, ""]);
      expect([goAdd.json.ips[0].address, ourAdd.json.ips[0].address]).toEqual(["10.44.0.2/24", "10.44.0.3/24"]);
      expect(allocated(dataDir)).toEqual(["10.44.0.2", "10.44.0.3"]);
      expect(node.ipJson("link", "show", "master", "cnibr0").length).toBe(2);
      expect(await ping(p1!, "10.44.0.3")).toBe(true);
      expect(await ping(p2!, "10.44.0.2")).toBe(true);
      expect(await ping(p2!, "10.44.0.1")).toBe(true);

      // Each CHECKs the other's attachment.
      const goCheck = { ...c, prevResult: ourAdd.json };
      expect(callIn(node, goBridgeOurIpam, { command: "CHECK", netns: p2!.path, containerID: "ts1", conf: goCheck }, REF).code).toBe(0);
      expect(callIn(node, ours.dir, { command: "CHECK", netns: p1!.path, containerID: "go1", conf: { ...c, prevResult: goAdd.json } }).code).toBe(0);

      // Each DELs the other's attachment; nothing stays.
      expect(callIn(node, ours.dir, { command: "DEL", netns: p1!.path, containerID: "go1", conf: { ...c, prevResult: goAdd.json } }).code).toBe(0);
      expect(callIn(node, goBridgeOurIpam, { command: "DEL", netns: p2!.path, containerID: "ts1", conf: { ...c, prevResult: ourAdd.json } }, REF).code).toBe(0);
      expect(veths(node)).toEqual([]);
      expect(veths(p1!)).toEqual([]);
      expect(veths(p2!)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
      expect(node.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-");
    }),
  );
});
