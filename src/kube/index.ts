/** The kube layer: configuration, the KubeClient interface and its light implementation, informers. */
export { inClusterConfig, loadKubeconfig, loadKubeConfig, SERVICE_ACCOUNT_DIR, type KubeConfig } from "./config.ts";
export { isConflict, isGone, isNotFound, KubeError } from "./error.ts";
export { Informer, type InformerEvent, type InformerOptions, type InformerStats } from "./informer.ts";
export type { KubeClient, ListOptions, ObjectRef, PatchOptions, PatchType, RequestOptions, WatchStreamOptions } from "./kube-client.ts";
export { LightKubeClient, type LightClientOptions } from "./light-client.ts";
export { apiVersionOf, EVENTS, NADS, NAMESPACES, NODES, PODS, resourcePath, type Resource } from "./resource.ts";
export type * from "./types.ts";

import { loadKubeConfig } from "./config.ts";
import { LightKubeClient, type LightClientOptions } from "./light-client.ts";

/** A light client from the usual places (explicit kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config). */
export function kubeClient(opts: LightClientOptions & { kubeconfig?: string; context?: string } = {}): LightKubeClient {
  return new LightKubeClient(loadKubeConfig(opts), opts);
}
