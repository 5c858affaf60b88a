/**
 * The one interface callers (flannel, Multus) use for Kubernetes access. The light
 * client (light-client.ts) implements it over Bun's fetch; tests and daemons can pass
 * anything else that does.
 */
import type { Informer, InformerOptions } from "./informer.ts";
import type { Resource } from "./resource.ts";
import type { Event, KubeList, KubeObject, NetworkAttachmentDefinition, Node, Pod, Condition, WatchEvent } from "./types.ts";

/** Per-request options: every request has a timeout (default: the client's). */
export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** list and watch filters, as the API takes them. */
export interface ListOptions extends RequestOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

/** A single watch connection (no resume): see Informer for one that survives. */
export interface WatchStreamOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  /** Server-side end of the watch (timeoutSeconds). */
  timeoutSeconds?: number;
  /** Abort when no line (event or bookmark) came for this long. */
  idleTimeoutMs?: number;
}

/** merge: RFC 7386; strategic: Kubernetes strategic merge patch; json: RFC 6902. */
export type PatchType = "merge" | "strategic" | "json";
export interface PatchOptions extends RequestOptions {
  type?: PatchType;
}

/** Where an object lives. */
export interface ObjectRef {
  namespace?: string;
  name: string;
}

export interface KubeClient {
  /** The API server URL, for messages. */
  readonly server: string;
  /** The namespace of the configuration's context (in-cluster: the pod's). */
  readonly namespace: string;

  getNode(name: string, opts?: RequestOptions): Promise<Node>;
  listNodes(opts?: ListOptions): Promise<KubeList<Node>>;
  /** A resilient watch of nodes with a cache (list, then watch; resumes; re-lists on 410). */
  watchNodes(opts?: InformerOptions): Informer<Node>;
  /** Patches a node (default: strategic merge patch, as kubectl patch). */
  patchNode(name: string, patch: unknown, opts?: PatchOptions): Promise<Node>;
  /** Patches a node's status subresource (default: strategic merge patch). */
  patchNodeStatus(name: string, patch: unknown, opts?: PatchOptions): Promise<Node>;
  /** Sets (adds or replaces by type) conditions in a node's status. */
  setNodeConditions(name: string, conditions: Condition[], opts?: RequestOptions): Promise<Node>;

  getPod(namespace: string, name: string, opts?: RequestOptions): Promise<Pod>;
  listPods(namespace: string | undefined, opts?: ListOptions): Promise<KubeList<Pod>>;
  /** A resilient watch of pods; `nodeName` selects spec.nodeName. */
  watchPods(opts?: InformerOptions & { namespace?: string; nodeName?: string }): Informer<Pod>;
  patchPod(namespace: string, name: string, patch: unknown, opts?: PatchOptions): Promise<Pod>;
  /**
   * Merges annotations (null removes one) into a pod through pods/<name>/status, with
   * the read resourceVersion as precondition, re-reading and retrying on 409 Conflict
   * (5 tries). `annotations` may be a function of the current pod. By default an update
   * (PUT), as Multus does: its ClusterRole grants pods/status get and update, not patch;
   * `via: "patch"` sends a JSON merge patch instead.
   */
  patchPodStatusAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string | null> | ((pod: Pod) => Record<string, string | null>),
    opts?: RequestOptions & { retries?: number; via?: "update" | "patch" },
  ): Promise<Pod>;

  getNAD(namespace: string, name: string, opts?: RequestOptions): Promise<NetworkAttachmentDefinition>;
  listNADs(namespace: string | undefined, opts?: ListOptions): Promise<KubeList<NetworkAttachmentDefinition>>;

  /** Records an event (name, timestamps, count and type filled in as client-go's recorder does). */
  createEvent(namespace: string, event: Partial<Event> & Pick<Event, "involvedObject">, opts?: RequestOptions): Promise<Event>;

  // The generic verbs under the typed ones.
  get<T extends KubeObject>(r: Resource, ref: ObjectRef, opts?: RequestOptions & { subresource?: string }): Promise<T>;
  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: ListOptions): Promise<KubeList<T>>;
  create<T extends KubeObject>(r: Resource, obj: T, opts?: RequestOptions): Promise<T>;
  update<T extends KubeObject>(r: Resource, obj: T, opts?: RequestOptions & { subresource?: string }): Promise<T>;
  patch<T extends KubeObject>(r: Resource, ref: ObjectRef, patch: unknown, opts?: PatchOptions & { subresource?: string }): Promise<T>;
  delete(r: Resource, ref: ObjectRef, opts?: RequestOptions): Promise<void>;
  /** One watch connection; ends when the server ends it; throws KubeError (410 included). */
  watch<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: WatchStreamOptions): AsyncIterable<WatchEvent<T>>;
  /** A list+watch cache of any resource. */
  informer<T extends KubeObject>(r: Resource, opts?: InformerOptions): Informer<T>;
}
