/**
 * The MultusSource over a KubeClient: pods, NADs and v1 `Network`s read from the API
 * server (or a daemon's informer caches first), network-status written through the
 * pod's status subresource (retried on conflict), events as client-go's recorder
 * writes them with component "multus".
 */
import { isNotFound } from "../../kube/error.ts";
import type { KubeClient } from "../../kube/kube-client.ts";
import type { Resource } from "../../kube/resource.ts";
import type { KubeObject, NetworkAttachmentDefinition, Pod } from "../../kube/types.ts";
import { type MultusSource, NotFoundError } from "./source.ts";
import { type LegacyNetwork, type NetAttachDef, NETWORK_STATUS_ANNOT, type PodInfo, type ResourceClaim, type ResourceSlice } from "./types.ts";

/** The Multus v1 CRD: networks.kubernetes.com, kind Network, `plugin` and `args` at the top level. */
export const LEGACY_NETWORKS: Resource = { group: "kubernetes.com", version: "v1", plural: "networks", singular: "network", kind: "Network", namespaced: true };

/** Cached reads a daemon offers before the API server is asked. */
export interface SourceCache {
  pod(namespace: string, name: string): Pod | undefined;
  nad(namespace: string, name: string): NetworkAttachmentDefinition | undefined;
}

export function podInfo(p: Pod): PodInfo {
  const info: PodInfo = {
    namespace: p.metadata.namespace ?? "",
    name: p.metadata.name ?? "",
    uid: p.metadata.uid ?? "",
    annotations: { ...(p.metadata.annotations ?? {}) },
    nodeName: p.spec?.nodeName,
  };
  if (Array.isArray(p.status?.resourceClaimStatuses)) info.resourceClaimStatuses = p.status.resourceClaimStatuses as PodInfo["resourceClaimStatuses"];
  if (p.status?.extendedResourceClaimStatus) info.extendedResourceClaimStatus = p.status.extendedResourceClaimStatus as PodInfo["extendedResourceClaimStatus"];
  return info;
}

/** resource.k8s.io/v1, for devices allocated by DRA. */
const RESOURCE_CLAIMS: Resource = {
  group: "resource.k8s.io",
  version: "v1",
  plural: "resourceclaims",
  singular: "resourceclaim",
  kind: "ResourceClaim",
  namespaced: true,
};
const RESOURCE_SLICES: Resource = {
  group: "resource.k8s.io",
  version: "v1",
  plural: "resourceslices",
  singular: "resourceslice",
  kind: "ResourceSlice",
  namespaced: false,
};

export function nadInfo(n: NetworkAttachmentDefinition): NetAttachDef {
  return {
    namespace: n.metadata.namespace ?? "",
    name: n.metadata.name ?? "",
    annotations: { ...(n.metadata.annotations ?? {}) },
    config: n.spec?.config ?? "",
  };
}

async function notFoundAs<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) throw new NotFoundError((e as Error).message);
    throw e;
  }
}

/** A source over `client`; with `cache`, reads hit it first (a miss still asks the server). */
export function kubeSource(client: KubeClient, cache?: SourceCache): MultusSource {
  return {
    kind: "kubernetes",
    async getPod(namespace, name) {
      const hit = cache?.pod(namespace, name);
      if (hit) return podInfo(hit);
      if (cache) throw new NotFoundError(`pod "${name}" not found`);
      return podInfo(await notFoundAs(client.getPod(namespace, name)));
    },
    async getPodLive(namespace, name) {
      return podInfo(await notFoundAs(client.getPod(namespace, name)));
    },
    async getNetAttachDef(namespace, name) {
      const hit = cache?.nad(namespace, name);
      if (hit) return nadInfo(hit);
      return nadInfo(await notFoundAs(client.getNAD(namespace, name)));
    },
    async getLegacyNetwork(namespace, name): Promise<LegacyNetwork> {
      const o = await notFoundAs(client.get<KubeObject & { plugin?: string; args?: string }>(LEGACY_NETWORKS, { namespace, name }));
      return { namespace, name, plugin: String(o.plugin ?? ""), args: typeof o.args === "string" ? o.args : JSON.stringify(o.args ?? "") };
    },
    async getResourceClaim(namespace, name) {
      return client.get<KubeObject & ResourceClaim>(RESOURCE_CLAIMS, { namespace, name });
    },
    async listResourceSlices(driver, nodeName) {
      const fieldSelector = nodeName ? `spec.nodeName=${nodeName},spec.driver=${driver}` : `spec.driver=${driver}`;
      return (await client.list<KubeObject & ResourceSlice>(RESOURCE_SLICES, undefined, { fieldSelector })).items;
    },
    async setNetworkStatus(pod, value) {
      await client.patchPodStatusAnnotations(pod.namespace, pod.name, { [NETWORK_STATUS_ANNOT]: value });
    },
    async event(pod, type, reason, message) {
      try {
        await client.createEvent(
          pod.namespace,
          {
            involvedObject: { kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid, apiVersion: "v1" },
            type,
            reason,
            message,
            source: { component: "multus" },
            reportingComponent: "multus",
          },
          { timeoutMs: 2000 },
        );
      } catch {
        // Events are best effort, as client-go's recorder: never a failed pod.
      }
    },
  };
}
