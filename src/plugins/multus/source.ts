/**
 * Where Multus reads pods, NetworkAttachmentDefinitions and v1 `Network` objects, and
 * writes network-status and events: one interface with a Kubernetes implementation
 * (kube-source.ts, per-exec and informer-backed) and a file one (file-source.ts) for
 * nodes and runtimes without Kubernetes.
 */
import type { LegacyNetwork, NetAttachDef, PodInfo, ResourceClaim, ResourceSlice } from "./types.ts";

/** An object that does not exist (HTTP 404); anything else a source throws is a failure to reach it. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** Multus's view of the cluster. */
export interface MultusSource {
  /** What the source is, for messages. */
  readonly kind: "kubernetes" | "files";
  /** The pod; NotFoundError when there is none. */
  getPod(namespace: string, name: string): Promise<PodInfo>;
  /** The pod straight from the API server, skipping any cache. */
  getPodLive?(namespace: string, name: string): Promise<PodInfo>;
  /** A NetworkAttachmentDefinition; NotFoundError when there is none. */
  getNetAttachDef(namespace: string, name: string): Promise<NetAttachDef>;
  /** A Multus v1 `Network` (kubernetes.com/v1); NotFoundError when there is none. */
  getLegacyNetwork(namespace: string, name: string): Promise<LegacyNetwork>;
  /** Writes the network-status annotation through the pod's status, retrying on conflict. */
  setNetworkStatus(pod: PodInfo, value: string): Promise<void>;
  /** A ResourceClaim (resource.k8s.io/v1), for devices allocated by DRA. */
  getResourceClaim?(namespace: string, name: string): Promise<ResourceClaim>;
  /** The ResourceSlices of a driver, on `nodeName` when given. */
  listResourceSlices?(driver: string, nodeName?: string): Promise<ResourceSlice[]>;
  /** Records an event on the pod (best effort: never fails the caller). */
  event(pod: PodInfo, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}
