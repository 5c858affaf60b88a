/**
 * A runtime on the reference Go libcni drives a chain of the Go ptp and host-local with
 * our compiled tuning, sbr and bandwidth after them: the meta plugins see the prevResult
 * and runtimeConfig a real runtime hands them, and CHECK and DEL go through its cache.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ifbName } from "../../src/plugins/bandwidth/bandwidth.ts";
import { libcniRuntime } from "../helpers/libcni-client.ts";
import { rootTest, withNetns } from "../helpers/netns.ts";
import { mixedPluginDir } from "../helpers/plugin-run.ts";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cni-ts-meta-"));
  // Two plugin dirs: sbr ours, or sbr the Go one (to compare what CHECK makes of the chain).
  const chain = { ptp: "go", "host-local": "go", tuning: "ours", bandwidth: "ours" } as const;
  mixedPluginDir(join(work, "bin"), { ...chain, sbr: "ours" });
  mixedPluginDir(join(work, "bin-go-sbr"), { ...chain, sbr: "go" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

for (const bin of ["bin", "bin-go-sbr"]) {
  rootTest(
    `libcni: Go ptp + host-local, then our tuning, ${bin === "bin" ? "our" : "the Go"} sbr and our bandwidth; CHECK; traffic from the pod's address; DEL`,
    () =>
      withNetns(2, (node, pod) => {
        const dataDir = mkdtempSync(join(work, "data-"));
        const list = {
          cniVersion: "1.0.0",
          name: "metanet",
          plugins: [
            { type: "ptp", ipam: { type: "host-local", subnet: "10.77.0.0/24", dataDir } },
            { type: "tuning", mtu: 1400, sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1" }, dataDir: join(dataDir, "tuning") },
            { type: "sbr" },
            { type: "bandwidth", capabilities: { bandwidth: true } },
          ],
        };
        const bandwidth = { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 4_000_000, egressBurst: 40_000 };
        const run = libcniRuntime(work, list, { node, bin: join(work, bin), netns: pod!.path, containerID: "meta-ctr-1", capArgs: { bandwidth } });

        const add = run("add");
        if (bin === "bin") expect(add.stderr).toBe("");
        expect(add.status).toBe(0);
        const result = JSON.parse(add.stdout);
        const ifb = ifbName("metanet", "meta-ctr-1");
        expect(result.interfaces.map((i: { name: string }) => i.name)).toContain(ifb);
        const host = result.interfaces.find((i: { sandbox?: string; name: string }) => !i.sandbox && i.name !== ifb).name;
        const podIP = result.ips[0].address.split("/")[0];
        const gw = result.ips[0].gateway;

        expect(pod!.ipJson("link", "show", "eth0")[0].mtu).toBe(1400);
        expect(pod!.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_notify"]).trim()).toBe("1");
        expect(pod!.ipJson("rule", "show").some((r: { src?: string; table?: string }) => r.src === podIP && r.table === "100")).toBe(true);
        const qdiscs = (dev: string) => JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", dev]));
        expect(qdiscs(host)[0]).toMatchObject({ kind: "tbf", options: { rate: 1_000_000 } });
        expect(qdiscs(ifb)[0]).toMatchObject({ kind: "tbf", options: { rate: 500_000 } });

        // sbr moves the default route out of main, so the Go ptp's CHECK fails after any sbr
        // (the Go one too): the chain's CHECK stops there, before tuning, sbr and bandwidth.
        const check = run("check");
        expect(check.stderr).toContain(`Failed to find Gateway ${gw} for interface eth0`);
        // Routed by the pod's source rule, shaped both ways, through the Go ptp's veth.
        expect(pod!.exec(["ping", "-c", "2", "-W", "2", "-I", podIP, gw], { allowFail: true })).toContain("2 received");

        expect(run("del").status).toBe(0);
        expect(node.exec(["ip", "-o", "link", "show", "type", "ifb"])).toBe("");
        expect(pod!.exec(["ip", "-o", "link", "show"]).includes("eth0")).toBe(false);
        expect(spawnSync("ls", [join(dataDir, "tuning")], { encoding: "utf8" }).stdout.trim()).toBe("");
      }),
  );
}
