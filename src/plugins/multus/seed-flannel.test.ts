/**
 * The seed's own example (001_2197305dbcda7d94.txt) end to end on flannel nodes: the
 * multus conf with a flannel `masterplugin` delegate, `Network` objects of the v1 CRD
 * (kubernetes.com/v1, plugin + args, if0name), a pod asking for them in its `networks`
 * annotation: eth0 from flannel reaches a pod on another node, the extra interfaces are
 * named as the seed shows (net0-4s0f1, Dpdk1-4s0f1; macvlan stands in for SR-IOV). The
 * same networks written as NADs and asked for with the current annotation give the same.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startKubeApiServer, type KubeApiServer } from "../../../test/kube-apiserver/server.ts";
import { type Lab, type LabNode, pings, waitFor, withLab } from "../../../test/helpers/lab.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { PREFIX, startFlanneld } from "../../../test/helpers/flannel-kit.ts";
import { kubeconfigInside, LEGACY_NETWORK_CRD, libcni, libcniClientPath, makeWork, nadObject, podLinks, type Work } from "../../../test/helpers/multus-kit.ts";

let work: Work;
let api: KubeApiServer;
let client: string;
beforeAll(async () => {
  work = makeWork("cni-ts-multus-seed-");
  client = libcniClientPath();
  api = await startKubeApiServer();
  api.seed(LEGACY_NETWORK_CRD);
});
afterAll(async () => {
  await api?.stop();
  work?.cleanup();
});

/** The seed's 01-crd-multus-cni.conf on a node, with the lab's paths. */
function multusConf(lab: Lab, node: LabNode, kubeconfig: string): string {
  const d = join(lab.dir, node.name);
  const confDir = join(d, "multus.d");
  mkdirSync(confDir, { recursive: true });
  writeFileSync(
    join(confDir, "01-crd-multus-cni.conf"),
    JSON.stringify({
      cniVersion: "0.3.1",
      name: "multus-network",
      type: "multus",
      kubeconfig,
      cniDir: join(d, "multus"),
      binDir: work.bin,
      delegates: [
        {
          type: "flannel",
          name: "cbr0",
          hairpinMode: true,
          masterplugin: true,
          isDefaultGateway: true,
          subnetFile: join(d, "subnet.env"),
          dataDir: join(d, "flannel"),
          ipam: { dataDir: join(d, "ipam") },
        },
      ],
    }),
  );
  return confDir;
}

rootTest(
  "the seed's Multus on flannel: eth0 from flannel reaches a pod on another node; net0-4s0f1 and Dpdk1-4s0f1 from v1 Network objects; the same with NADs",
  () =>
    withLab({ nodes: 2, etcd: true }, async (lab) => {
      const [a, b] = lab.nodes as [LabNode, LabNode];
      lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.63.0.0/16", Backend: { Type: "vxlan" } }));
      await startFlanneld(lab, a);
      await startFlanneld(lab, b);
      const kcA = kubeconfigInside(a.ns, api, lab.dir);
      const kcB = kubeconfigInside(b.ns, api, lab.dir);
      try {
        const flannelArgs = (n: LabNode) =>
          JSON.stringify([
            {
              delegate: { isDefaultGateway: true },
              subnetFile: join(lab.dir, n.name, "subnet.env"),
              dataDir: join(lab.dir, n.name, "flannel"),
              ipam: { dataDir: join(lab.dir, n.name, "ipam") },
            },
          ]);
        const sriovArgs = `[
        { "master": "eth0", "mode": "bridge", "if0name": "net0-4s0f1", "ipam": { "type": "static", "addresses": [ { "address": "18.1.0.71/24" } ] } },
        { "master": "eth0", "mode": "bridge", "if0name": "Dpdk1-4s0f1", "ipam": { "type": "static", "addresses": [ { "address": "18.1.0.72/24" } ] } }
      ]`;
        api.seed(
          {
            apiVersion: "kubernetes.com/v1",
            kind: "Network",
            metadata: { name: "flannel-network", namespace: "default" },
            plugin: "flannel",
            args: flannelArgs(a),
          },
          {
            apiVersion: "kubernetes.com/v1",
            kind: "Network",
            metadata: { name: "sriov-dpdk-network-enp4s0f1", namespace: "default" },
            plugin: "macvlan",
            args: sriovArgs,
          },
        );
        const [xftony] = api.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "xftony-test",
            namespace: "default",
            annotations: { networks: '[ { "name": "flannel-network"}, { "name": "sriov-dpdk-network-enp4s0f1"} ]' },
          },
          spec: { nodeName: a.name, containers: [{ name: "xftony-test-1", image: "ubuntu:14.04" }] },
        });
        const [other] = api.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "other", namespace: "default" },
          spec: { nodeName: b.name, containers: [{ name: "c" }] },
        });
        const env = (confDir: string, p: any) => ({
          NETCONFPATH: confDir,
          CNI_PATH: work.bin,
          CNI_CACHE_DIR: join(lab.dir, "cache"),
          CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${p.metadata.name};K8S_POD_INFRA_CONTAINER_ID=sb;K8S_POD_UID=${p.metadata.uid}`,
        });
        const confA = multusConf(lab, a, kcA.path);
        const confB = multusConf(lab, b, kcB.path);

        const podA = lab.pod(a);
        const add = await libcni(a.ns, client, "add", "multus-network", podA.path, "ctr-xftony", env(confA, xftony));
        expect(add.stderr).toBe("");
        expect(add.code).toBe(0);
        const links = podLinks(podA);
        expect(Object.keys(links).sort()).toEqual(["Dpdk1-4s0f1", "eth0", "net0-4s0f1"]);
        expect(links["net0-4s0f1"]).toEqual(["18.1.0.71/24"]);
        expect(links.eth0![0]).toStartWith("10.63.");

        const podB = lab.pod(b);
        const addB = await libcni(b.ns, client, "add", "multus-network", podB.path, "ctr-other", env(confB, other));
        expect(addB.code).toBe(0);
        const ipB = String(addB.json.ips[0].address).split("/")[0]!;
        await waitFor("eth0 of the seed's pod to reach the pod on the other node", () => pings(podA, ipB), 15_000);

        // The same networks as NADs, asked for with the current annotation: the same interfaces.
        const vf = (address: string) => ({
          cniVersion: "0.3.1",
          type: "macvlan",
          master: "eth0",
          mode: "bridge",
          ipam: { type: "static", addresses: [{ address }] },
        });
        api.seed(nadObject("default", "sriov-net0", vf("18.1.0.81/24")), nadObject("default", "sriov-dpdk1", vf("18.1.0.82/24")));
        const [modern] = api.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "modern",
            namespace: "default",
            annotations: { "k8s.v1.cni.cncf.io/networks": "sriov-net0@net0-4s0f1,sriov-dpdk1@Dpdk1-4s0f1", networks: '[{"name":"ignored-when-both"}]' },
          },
          spec: { nodeName: a.name, containers: [{ name: "c" }] },
        });
        const podM = lab.pod(a);
        const addM = await libcni(a.ns, client, "add", "multus-network", podM.path, "ctr-modern", env(confA, modern));
        expect(addM.stderr).toBe("");
        expect(Object.keys(podLinks(podM)).sort()).toEqual(["Dpdk1-4s0f1", "eth0", "net0-4s0f1"]);
        await waitFor("eth0 of the NAD pod to reach the pod on the other node", () => pings(podM, ipB), 15_000);
        const status = JSON.parse(api.object("pods", "modern", "default").metadata.annotations["k8s.v1.cni.cncf.io/network-status"]);
        expect(status.map((s: { name: string; interface: string }) => `${s.name} ${s.interface}`)).toEqual([
          "cbr0 eth0",
          "default/sriov-net0 net0-4s0f1",
          "default/sriov-dpdk1 Dpdk1-4s0f1",
        ]);

        for (const [ns, netns, cid, p, conf] of [
          [a.ns, podA, "ctr-xftony", xftony, confA],
          [a.ns, podM, "ctr-modern", modern, confA],
          [b.ns, podB, "ctr-other", other, confB],
        ] as const) {
          const del = await libcni(ns, client, "del", "multus-network", netns.path, cid, env(conf, p));
          expect(del.code).toBe(0);
          expect(podLinks(netns)).toEqual({});
        }
      } finally {
        kcA.stop();
        kcB.stop();
      }
    }),
  120_000,
);
