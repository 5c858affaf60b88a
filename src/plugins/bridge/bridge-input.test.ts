import { describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { rootTest } from "../../../test/helpers/netns.ts";
import { badIpamCases, GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";
import { allocated, bridgeConf, callIn, REF, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;

describe("bridge: bad IPAM input changes nothing", () => {
  // The compiled binary, so host-local and static run in-process and their configs are read up front.
  const compiled = () => [join(bin.dir, "bridge")];
  for (const bad of badIpamCases({ subnet: "10.44.0.0/24" })) {
    rootTest(`${bad.name}: code 7, no bridge, no pair, no reservation (the Go bridge leaves its new bridge)`, () =>
      withNode(1, (node, [pod], dataDir) => {
        const base = bridgeConf("1.0.0", dataDir, { isGateway: true });
        const c = { ...base, ipam: bad.ipam.type ? { ...bad.ipam } : { ...base.ipam, ...bad.ipam } };
        const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c }, compiled());
        expect([r.code, r.json.code]).toEqual([1, 7]);
        expect(r.json.msg).toContain(bad.msg);
        expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
        expect([veths(pod!), allocated(dataDir)]).toEqual([[], []]);
        // The reference fails too, after making the bridge.
        const go = callIn(node, GO, { command: "ADD", netns: pod!.path, conf: c }, REF);
        expect(go.code).toBe(1);
        expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toContain("cnibr0");
      }),
    );
  }

  rootTest("a good config after a refused one: the ADD goes through", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: { ...c, ipam: { ...c.ipam, subnet: "bad" } } }, compiled()).code).toBe(1);
      expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c }, compiled()).code).toBe(0);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }, compiled()).code).toBe(0);
      expect([veths(node), allocated(dataDir)]).toEqual([[], []]);
    }),
  );
});

describe("bridge defaults", () => {
  rootTest("no bridge field: cni0, no gateway address, no forwarding change, same result as the Go bridge", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = { cniVersion: "1.0.0", name: "brnet", type: "bridge", ipam: { type: "host-local", dataDir, subnet: "10.44.0.0/24" } };
      const shape = (r: unknown) =>
        JSON.parse(
          JSON.stringify(r)
            .replace(/veth[0-9a-f]{8}/g, "VETH")
            .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"'),
        );
      const go = callIn(node, GO, { command: "ADD", netns: pod!.path, conf: c }, REF);
      expect(go.code).toBe(0);
      expect(callIn(node, GO, { command: "DEL", netns: pod!.path, conf: c }, REF).code).toBe(0);
      node.exec(["ip", "link", "del", "cni0"]);
      // host-local goes round robin: start over so both get the same address.
      rmSync(join(dataDir, "brnet"), { recursive: true, force: true });
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(r.code).toBe(0);
      expect(shape(r.json)).toEqual(shape(go.json));
      expect(r.json.interfaces[0].name).toBe("cni0");
      // host-local names .1 the gateway; without isGateway it is not put on the bridge.
      expect(r.json.ips).toEqual([{ interface: 2, address: "10.44.0.2/24", gateway: "10.44.0.1" }]);
      expect(node.ipJson("-4", "addr", "show", "dev", "cni0")).toEqual([]);
      expect(node.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("0");
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
    }),
  );
});
