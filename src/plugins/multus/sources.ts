/**
 * The MultusSource a config asks for: Kubernetes through `kubeconfig` or the in-cluster
 * environment (KUBERNETES_SERVICE_HOST/PORT), else the manifests of `nadDir`, else none.
 * The per-exec plugin loads only the light fetch client.
 */
import { inClusterConfig, loadKubeconfig } from "../../kube/config.ts";
import { LightKubeClient } from "../../kube/light-client.ts";
import { fileSource } from "./file-source.ts";
import { kubeSource } from "./kube-source.ts";
import type { MultusSource } from "./source.ts";
import type { MultusConf } from "./types.ts";

/** The source of a config (per-exec: a new light client each time). */
export function sourceFor(n: MultusConf): MultusSource | undefined {
  if (n.kubeconfig) {
    let cfg;
    try {
      cfg = loadKubeconfig(n.kubeconfig);
    } catch (e) {
      throw new Error(`GetK8sClient: failed to get context for the kubeconfig ${n.kubeconfig}: ${(e as Error).message}`);
    }
    return kubeSource(new LightKubeClient(cfg, { userAgent: "multus", timeoutMs: 60_000 }));
  }
  if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) {
    let cfg;
    try {
      cfg = inClusterConfig();
    } catch (e) {
      throw new Error(`GetK8sClient: failed to get context for in-cluster kube config: ${(e as Error).message}`);
    }
    return kubeSource(new LightKubeClient(cfg, { userAgent: "multus", timeoutMs: 60_000 }));
  }
  if (n.nadDir) return fileSource(n.nadDir);
  return undefined;
}
