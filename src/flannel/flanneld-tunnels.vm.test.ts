/**
 * flanneld's ipip and wireguard backends on one lab (this host's kernel has neither: the
 * test runs in the VM of test/vm/vm.test.ts and is skipped here with the reason). First
 * ipip: flannel.ipip, onlink routes via the other node over the tunnel, pods talking;
 * then the same nodes switched to wireguard: flannel-wg, the node's public key and port
 * in the lease, pods talking through it, and the key kept across a restart.
 */
import { afterAll, expect } from "bun:test";
import { join } from "node:path";
import { type LabNode, pings, waitFor, withLab } from "../../test/helpers/lab.ts";
import { kernelTest } from "../../test/vm/kernel.ts";
import { PREFIX, addPod, cleanupBin, leases, nodeDir, routes, startFlanneld, subnetEnv } from "../../test/helpers/flannel-kit.ts";

afterAll(cleanupBin);

kernelTest("ipip", "wireguard")(
  "ipip, then wireguard on the same nodes: tunnels, routes or peers from the leases, pods on two nodes talk; the WireGuard key survives a restart",
  () =>
    withLab({ nodes: 2, etcd: true }, async (lab) => {
      const [a, b] = lab.nodes as [LabNode, LabNode];
      const env = (n: LabNode) => ({ ...process.env, WIREGUARD_KEY_FILE: join(nodeDir(lab, n), "wgkey") }) as Record<string, string>;

      lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.66.0.0/16", Backend: { Type: "ipip" } }));
      const ipip = [await startFlanneld(lab, a, [], true, env(a)), await startFlanneld(lab, b, [], true, env(b))];
      expect(subnetEnv(lab, a)!.FLANNEL_MTU).toBe("1480");
      expect(a.ns.ipJson("-d", "link", "show", "dev", "flannel.ipip")[0].linkinfo.info_kind).toBe("ipip");
      const snB = subnetEnv(lab, b)!.FLANNEL_SUBNET!.replace(".1/24", ".0/24");
      expect(routes(a)).toContain(`${snB} via ${b.ip} dev flannel.ipip onlink`);
      const pa = addPod(lab, a, "tpod-a");
      const pb = addPod(lab, b, "tpod-b");
      await waitFor("pod a to reach pod b over ipip", () => pings(pa.pod, pb.ip), 120_000);

      // Switch the cluster to wireguard: the leases (by public IP) and pods stay.
      for (const p of ipip) await p.stop();
      for (const n of [a, b]) n.ns.exec(["ip", "link", "del", "flannel.ipip"]);
      lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.66.0.0/16", Backend: { Type: "wireguard", PersistentKeepaliveInterval: 25 } }));
      const fa = await startFlanneld(lab, a, [], true, env(a));
      await startFlanneld(lab, b, [], true, env(b));
      expect(subnetEnv(lab, a)!.FLANNEL_MTU).toBe("1420");
      const keyA = subnetEnv(lab, a)!.FLANNEL_SUBNET!.replace(".1/24", ".0-24");
      const data = leases(lab)[keyA].BackendData;
      expect([data.Port, Buffer.from(data.PublicKey, "base64").length, leases(lab)[keyA].BackendType]).toEqual([51820, 32, "wireguard"]);
      await waitFor("pod a to reach pod b over wireguard", () => pings(pa.pod, pb.ip), 120_000);
      await fa.stop();
      await startFlanneld(lab, a, [], true, env(a));
      expect(leases(lab)[keyA].BackendData.PublicKey).toBe(data.PublicKey);
      await waitFor("pod a to reach pod b after the restart", () => pings(pa.pod, pb.ip), 120_000);
    }),
  400_000,
);
