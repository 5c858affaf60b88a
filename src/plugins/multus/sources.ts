/**
 * The MultusSource a config asks for: Kubernetes through `kubeconfig` or the in-cluster
 * environment (KUBERNETES_SERVICE_HOST/PORT), else the manifests of `nadDir`, else none.
 */
import { fileSource } from "./file-source.ts";
import type { MultusSource } from "./source.ts";
import type { MultusConf } from "./types.ts";

/** The source of a config (per-exec: a new light client each time). */
export function sourceFor(n: MultusConf): MultusSource | undefined {
  if (n.kubeconfig || (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT)) {
    throw new Error("GetK8sClient: Kubernetes access is not built into this binary yet");
  }
  if (n.nadDir) return fileSource(n.nadDir);
  return undefined;
}
