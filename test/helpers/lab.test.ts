import { expect } from "bun:test";
import { existsSync } from "node:fs";
import { rootTest } from "./netns.ts";
import { pings, withLab } from "./lab.ts";

rootTest(
  "lab: nodes reach each other and etcd over the underlay; etcd keeps data across a restart; all removed afterwards",
  async () => {
    let dir = "";
    let names: string[] = [];
    await withLab({ nodes: 2, etcd: true }, async (lab) => {
      dir = lab.dir;
      const [a, b] = lab.nodes;
      expect(pings(a!.ns, b!.ip)).toBe(true);
      expect(pings(b!.ns, lab.etcd!.ip)).toBe(true);
      lab.etcd!.put("/t/a", "1");
      await lab.etcd!.stop();
      await lab.etcd!.start();
      expect(lab.etcd!.get("/t/")).toEqual({ "/t/a": "1" });
      const c = lab.addNode();
      expect(pings(c.ns, a!.ip)).toBe(true);
      names = [lab.switchNs.name, lab.etcd!.ns.name, ...lab.nodes.map((n) => n.ns.name)];
    });
    expect(existsSync(dir)).toBe(false);
    for (const n of names) expect(existsSync(`/var/run/netns/${n}`)).toBe(false);
  },
  60_000,
);
