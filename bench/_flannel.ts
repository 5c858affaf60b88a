/** Shared set-up of the flannel benchmarks: a one-node lab with etcd, flanneld (vxlan) running on it, and a netlink handle on the node. */
import { join } from "node:path";
import { NetlinkHandle } from "../src/netlink/handle.ts";
import { ensureBuilt } from "../test/helpers/dist.ts";
import { type Lab, type LabProcess, waitFor, withLab } from "../test/helpers/lab.ts";

/** flannel's etcd prefix. */
export const PREFIX = "/coreos.com/network";

/** What a flannel benchmark works with. */
export interface FlannelBench {
  lab: Lab;
  /** flanneld's process on the node. */
  proc: LabProcess;
  /** A netlink handle in the node's namespace (closed afterwards). */
  h: NetlinkHandle;
}

/** Runs `fn` with flanneld (vxlan backend, 10.0.0.0/8) ready on one lab node; removes everything afterwards. */
export async function withFlanneld(opts: { ipMasq: boolean }, fn: (b: FlannelBench) => Promise<void>): Promise<void> {
  await withLab({ nodes: 1, etcd: true }, async (lab) => {
    const [a] = lab.nodes;
    lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.0.0.0/8", Backend: { Type: "vxlan" } }));
    const proc = lab.spawn(a!, [
      ensureBuilt(),
      "flanneld",
      `--etcd-endpoints=${lab.etcd!.endpoint}`,
      "--iface=eth0",
      ...(opts.ipMasq ? ["--ip-masq"] : []),
      `--subnet-file=${join(lab.dir, "subnet.env")}`,
    ]);
    await waitFor("flanneld ready", () => proc.log().includes("flannel is ready"), 15_000);
    const h = NetlinkHandle.atPath(a!.ns.path);
    try {
      await fn({ lab, proc, h });
    } finally {
      h.close();
    }
  });
}
