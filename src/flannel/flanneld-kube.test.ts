/**
 * flanneld with the Kubernetes subnet manager against the in-repo API server: leases
 * from the nodes' podCIDRs, flannel's annotations on the node objects, NetworkUnavailable
 * set to False, and pods on two lab nodes reaching each other over vxlan.
 */
import { afterAll, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { type LabNode, pings, waitFor, withLab } from "../../test/helpers/lab.ts";
import { rootTest } from "../../test/helpers/netns.ts";
import { startKubeApiServer } from "../../test/kube-apiserver/server.ts";
import { kubeconfigInside } from "../../test/helpers/multus-kit.ts";
import { addPod, cleanupBin, nodeDir, subnetEnv } from "../../test/helpers/flannel-kit.ts";

afterAll(cleanupBin);

rootTest(
  "kube subnet manager: podCIDR leases, flannel's node annotations, NetworkUnavailable=False, pods on two nodes talk over vxlan",
  async () => {
    const api = await startKubeApiServer({
      seed: [
        { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, spec: { podCIDR: "10.63.1.0/24", podCIDRs: ["10.63.1.0/24"] } },
        {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: "n2", annotations: { "flannel.alpha.coreos.com/public-ip-overwrite": "10.250.0.12" } },
          spec: { podCIDR: "10.63.2.0/24" },
        },
      ],
    });
    const stops: (() => void)[] = [];
    try {
      await withLab({ nodes: 2, etcd: false }, async (lab) => {
        const start = (node: LabNode) => {
          const d = nodeDir(lab, node);
          writeFileSync(join(d, "net-conf.json"), JSON.stringify({ Network: "10.63.0.0/16", Backend: { Type: "vxlan" } }));
          const kc = kubeconfigInside(node.ns, { kubeconfig: api.kubeconfig, port: Number(new URL(api.url).port) }, d);
          stops.push(kc.stop);
          return lab.spawn(
            node,
            [
              ensureBuilt(),
              "flanneld",
              "--kube-subnet-mgr",
              `--kubeconfig-file=${kc.path}`,
              `--net-config-path=${join(d, "net-conf.json")}`,
              "--iface=eth0",
              "--ip-masq",
              `--subnet-file=${join(d, "subnet.env")}`,
            ],
            { env: { ...process.env, NODE_NAME: node.name } as Record<string, string>, logName: `flanneld-${node.name}` },
          );
        };
        const [a, b] = lab.nodes as [LabNode, LabNode];
        const fa = start(a);
        const fb = start(b);
        for (const [n, p] of [
          [a, fa],
          [b, fb],
        ] as const) {
          await waitFor(`flanneld on ${n.name} to be ready`, () => p.log().includes("flannel is ready"), 15_000).catch((e) => {
            throw new Error(`${e.message}\n${p.log()}`);
          });
        }
        expect(subnetEnv(lab, a)).toEqual({ FLANNEL_NETWORK: "10.63.0.0/16", FLANNEL_SUBNET: "10.63.1.1/24", FLANNEL_MTU: "1450", FLANNEL_IPMASQ: "true" });
        const [dev] = a.ns.ipJson("link", "show", "dev", "flannel.1");
        const n1 = api.object("nodes", "n1") as any;
        expect(n1.metadata.annotations).toMatchObject({
          "flannel.alpha.coreos.com/backend-type": "vxlan",
          "flannel.alpha.coreos.com/backend-data": JSON.stringify({ VNI: 1, VtepMAC: dev.address }),
          "flannel.alpha.coreos.com/public-ip": a.ip,
          "flannel.alpha.coreos.com/kube-subnet-manager": "true",
        });
        await waitFor("NetworkUnavailable=False on n1", () =>
          (api.object("nodes", "n1") as any).status?.conditions?.some(
            (c: any) => c.type === "NetworkUnavailable" && c.status === "False" && c.reason === "FlannelIsUp",
          ),
        );
        expect((api.object("nodes", "n2") as any).metadata.annotations["flannel.alpha.coreos.com/public-ip"]).toBe("10.250.0.12");

        const pa = addPod(lab, a, "kpod-a");
        const pb = addPod(lab, b, "kpod-b");
        expect(pa.ip).toBe("10.63.1.2");
        await waitFor("pod a to reach pod b", () => pings(pa.pod, pb.ip));

        // A node deleted from the API: its route leaves the other node.
        await fb.stop();
        await fetchDelete(api, "n2");
        await waitFor("n2's route to leave n1", () => !a.ns.ipJson("-4", "route").some((r: any) => r.dst === "10.63.2.0/24"));
      });
    } finally {
      for (const s of stops) s();
      await api.stop();
    }
  },
  90_000,
);

async function fetchDelete(api: { kubeconfig: string }, name: string): Promise<void> {
  const { kubeClient } = await import("../kube/index.ts");
  await kubeClient({ kubeconfig: api.kubeconfig }).delete((await import("../kube/index.ts")).NODES, { name });
}
