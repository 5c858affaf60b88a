/**
 * flanneld's ipip backend on the lab: flannel.ipip, onlink routes via the other node's
 * address over the tunnel, pods on two nodes talking. This host's kernel has no ipip:
 * the test runs in the VM (test/vm/vm.test.ts) and is skipped here with the reason.
 */
import { afterAll, expect } from "bun:test";
import { pings, waitFor, withLab } from "../../test/helpers/lab.ts";
import { kernelTest } from "../../test/vm/kernel.ts";
import { PREFIX, addPod, cleanupBin, routes, startFlanneld, subnetEnv } from "./_test-cluster.ts";

afterAll(cleanupBin);

kernelTest("ipip")("ipip: flannel.ipip, onlink routes via the other node over the tunnel, pods on two nodes talk", () =>
  withLab({ nodes: 2, etcd: true }, async (lab) => {
    const [a, b] = lab.nodes as [typeof lab.nodes[0], typeof lab.nodes[0]];
    lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.66.0.0/16", Backend: { Type: "ipip" } }));
    await startFlanneld(lab, a);
    await startFlanneld(lab, b);
    expect(subnetEnv(lab, a)!.FLANNEL_MTU).toBe("1480");
    const [dev] = a.ns.ipJson("-d", "link", "show", "dev", "flannel.ipip");
    expect(dev.linkinfo.info_kind).toBe("ipip");
    const snB = subnetEnv(lab, b)!.FLANNEL_SUBNET!.replace(".1/24", ".0/24");
    expect(routes(a)).toContain(`${snB} via ${b.ip} dev flannel.ipip onlink`);
    const pa = addPod(lab, a, "ipod-a");
    const pb = addPod(lab, b, "ipod-b");
    await waitFor("pod a to reach pod b over ipip", () => pings(pa.pod, pb.ip), 120_000);
  }), 300_000);
