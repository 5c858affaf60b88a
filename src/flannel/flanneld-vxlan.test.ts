/**
 * flanneld on the multi-node lab over vxlan: pods on different nodes reach each other,
 * a node that joins later is reached without restarts, a node whose lease goes away is
 * removed from the others, a restarted flanneld keeps its subnet and VtepMAC, an etcd
 * outage leaves the data path working, and a deleted flannel.1 is made again.
 */
import { afterAll, expect } from "bun:test";
import { pings, waitFor } from "../../test/helpers/lab.ts";
import { rootTest } from "../../test/helpers/netns.ts";
import { PREFIX, addPod, cleanupBin, leases, nodeSubnet, routes, startFlanneld, subnetEnv, withFlannelLab } from "../../test/helpers/flannel-kit.ts";

afterAll(cleanupBin);

rootTest(
  "vxlan: pods on two nodes talk; a third node joins later; a lease that goes away leaves every route table; restarts keep subnet, MAC and pods",
  () =>
    withFlannelLab({ nodes: 3, network: { Network: "10.60.0.0/16", Backend: { Type: "vxlan" } } }, async (lab, [a, b, c]) => {
      const fa = await startFlanneld(lab, a);
      await startFlanneld(lab, b);
      const envA = subnetEnv(lab, a)!;
      expect(envA.FLANNEL_NETWORK).toBe("10.60.0.0/16");
      expect(envA.FLANNEL_MTU).toBe("1450");
      expect(envA.FLANNEL_IPMASQ).toBe("true");
      expect(envA.FLANNEL_SUBNET).toMatch(/^10\.60\.\d+\.1\/24$/);
      // The lease as flannel writes it, with the device's MAC.
      const la = leases(lab);
      const keyA = envA.FLANNEL_SUBNET!.replace(".1/24", ".0-24");
      const [dev] = a.ns.ipJson("-d", "link", "show", "dev", "flannel.1");
      expect(la[keyA]).toEqual({ PublicIP: a.ip, PublicIPv6: null, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: dev.address } });
      expect(dev.mtu).toBe(1450);
      expect(dev.linkinfo.info_data).toMatchObject({ id: 1, local: a.ip, port: 8472, learning: false });

      const pa = addPod(lab, a, "pod-a");
      const pb = addPod(lab, b, "pod-b");
      await waitFor("pod a to reach pod b", () => pings(pa.pod, pb.ip));
      expect(pings(pb.pod, pa.ip)).toBe(true);
      // B's subnet on A: neighbour, FDB entry and onlink route over flannel.1.
      const snB = nodeSubnet(lab, b);
      const gwB = snB.replace(".0/24", ".0");
      expect(routes(a)).toContain(`${snB} via ${gwB} dev flannel.1 onlink`);
      const macB = leases(lab)[snB.replace("/", "-")].BackendData.VtepMAC;
      expect(a.ns.ipJson("neigh", "show", "dev", "flannel.1")).toContainEqual(expect.objectContaining({ dst: gwB, lladdr: macB, state: ["PERMANENT"] }));
      expect(a.ns.exec(["bridge", "fdb", "show", "dev", "flannel.1"])).toContain(`${macB} dst ${b.ip} self permanent`);

      // A node that joins later is reached without restarting the others.
      await startFlanneld(lab, c);
      const pc = addPod(lab, c, "pod-c");
      await waitFor("pod a to reach pod c", () => pings(pa.pod, pc.ip));

      // flanneld on A restarted: same subnet, same VtepMAC, pods still connected.
      await fa.stop();
      expect(pings(pa.pod, pb.ip)).toBe(true);
      const fa2 = await startFlanneld(lab, a);
      expect(subnetEnv(lab, a)!.FLANNEL_SUBNET).toBe(envA.FLANNEL_SUBNET);
      expect(leases(lab)[keyA].BackendData.VtepMAC).toBe(dev.address);
      await waitFor("pod a to reach pod b after the restart", () => pings(pa.pod, pb.ip));

      // etcd down: the data path stays; back: a new node is still programmed.
      await lab.etcd!.stop();
      expect(pings(pa.pod, pc.ip)).toBe(true);
      await lab.etcd!.start();

      // Someone deletes flannel.1 on A: it comes back with its MAC, and B is reached again.
      a.ns.exec(["ip", "link", "del", "flannel.1"]);
      await waitFor("flannel.1 to come back on a", () =>
        a.ns.ipJson("link", "show").some((l: any) => l.ifname === "flannel.1" && l.address === dev.address),
      ).catch((e) => {
        throw new Error(`${e.message}\n${fa2.log()}\n${JSON.stringify(a.ns.ipJson("link", "show"))}`);
      });
      await waitFor("pod a to reach pod b after the device came back", () => pings(pa.pod, pb.ip));

      // C's lease goes away (its flanneld stopped and the lease expired): every other node drops its route.
      const snC = nodeSubnet(lab, c);
      lab.etcd!.del(`${PREFIX}/subnets/${snC.replace("/", "-")}`);
      await waitFor("c's route to leave a and b", () => !routes(a).some((r) => r.startsWith(snC)) && !routes(b).some((r) => r.startsWith(snC)));
      expect(a.ns.ipJson("neigh", "show", "dev", "flannel.1").some((n: any) => n.dst === snC.replace(".0/24", ".0"))).toBe(false);
      expect(pings(pa.pod, pb.ip)).toBe(true);
      expect(fa2.log()).toContain("flannel is ready");
    }),
  120_000,
);
