/** The Kubernetes subnet manager: not built yet (it waits for the kube layer in src/kube). */
import type { FlanneldFlags } from "./flags.ts";
import type { SubnetManager } from "./subnet-manager.ts";

/** Refuses clearly until the kube layer is there. */
export const KubeSubnetManager = {
  async create(_f: FlanneldFlags, _log: (m: string) => void): Promise<SubnetManager> {
    throw new Error("--kube-subnet-mgr is not implemented in cni-ts flanneld yet: use the etcd subnet manager (--etcd-endpoints)");
  },
};
