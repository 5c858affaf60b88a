/**
 * Multus's data types with its JSON field names (pkg/types of multus-cni and the
 * NetworkAttachmentDefinition client), so users' configs, annotations and caches read
 * the same here.
 */
import type { NetConf, NetConfList } from "../../spec/types.ts";

/** A port mapping as Multus and the portmap capability spell it. */
export interface PortMapEntry {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/** The bandwidth capability's value. */
export interface BandwidthEntry {
  ingressRate: number;
  ingressBurst: number;
  egressRate: number;
  egressBurst: number;
}

/** Multus's `runtimeConfig`: values passed on to delegates as capability args. */
export interface RuntimeConfig {
  portMappings?: PortMapEntry[];
  bandwidth?: BandwidthEntry;
  ips?: string[];
  mac?: string;
  infinibandGUID?: string;
  deviceID?: string;
  CNIDeviceInfoFile?: string;
}

/** lumberjack's rotation options of the log file. */
export interface LogOptions {
  maxAge?: number;
  maxSize?: number;
  maxBackups?: number;
  compress?: boolean;
}

/** The multus plugin's config, every field with Multus's defaults applied. */
export interface MultusConf {
  cniVersion: string;
  name: string;
  type: string;
  confDir: string;
  cniDir: string;
  binDir: string;
  /** Delegates loaded from `delegates` (empty when clusterNetwork is set: resolved per request). */
  delegates: Delegate[];
  /** The raw `delegates` entries, for the legacy `masterplugin` reading. */
  rawDelegates: Record<string, unknown>[];
  clusterNetwork: string;
  defaultNetworks: string[];
  kubeconfig: string;
  logFile: string;
  logLevel: string;
  logToStderr: boolean;
  logOptions?: LogOptions;
  runtimeConfig?: RuntimeConfig;
  capabilities?: Record<string, boolean>;
  readinessindicatorfile: string;
  namespaceIsolation: boolean;
  /** `globalNamespaces` split on commas; ["default"] when unset. */
  nonIsolatedNamespaces: string[];
  auxiliaryCNIChainName: string;
  systemNamespaces: string[];
  multusNamespace: string;
  retryDeleteOnError: boolean;
  /** Where NetworkAttachmentDefinitions are read from files (ours: nodes without Kubernetes). */
  nadDir: string;
  /** Ours: the kubelet's PodResources socket (default /var/lib/kubelet/pod-resources/kubelet.sock). */
  podResourcesSocket: string;
  /** Ours: the kubelet's device-plugin checkpoint, read when there is no PodResources socket (default /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint). */
  deviceCheckpointFile: string;
  /** The config as received, for the daemon's overrides and the conflist form. */
  raw: Record<string, unknown>;
}

/** One delegate network (Multus's DelegateNetConf). */
export interface Delegate {
  /** "namespace/name" for a NAD, else the CNI config's name. */
  name: string;
  /** The single config, when the delegate is not a list. */
  conf?: NetConf;
  /** The list, when it is one. */
  confList?: NetConfList;
  /** The config handed to the runtime (cni-args and deviceID injected). */
  bytes: Uint8Array;
  ifnameRequest?: string;
  macRequest?: string;
  infinibandGUIDRequest?: string;
  ipRequest?: string[];
  portMappingsRequest?: PortMapEntry[];
  bandwidthRequest?: BandwidthEntry;
  /** `default-route` of the selection element. */
  gatewayRequest?: string[];
  isFilterV4Gateway: boolean;
  isFilterV6Gateway: boolean;
  masterPlugin: boolean;
  deviceID?: string;
  resourceName?: string;
}

/** One element of the `k8s.v1.cni.cncf.io/networks` annotation (NetworkSelectionElement). */
export interface NetworkSelectionElement {
  name: string;
  namespace: string;
  ips?: string[];
  mac?: string;
  "infiniband-guid"?: string;
  interface?: string;
  /** Pre-3.2 spelling of `interface`. */
  interfaceRequest?: string;
  portMappings?: PortMapEntry[];
  bandwidth?: BandwidthEntry;
  deviceID?: string;
  "cni-args"?: Record<string, unknown> | null;
  "default-route"?: string[];
}

/** The pod fields Multus reads. */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  annotations: Record<string, string>;
  nodeName?: string;
  /** `status.resourceClaimStatuses`: the pod's ResourceClaims (DRA). */
  resourceClaimStatuses?: { name: string; resourceClaimName?: string }[];
  /** `status.extendedResourceClaimStatus`: extended resources backed by a claim (DRA). */
  extendedResourceClaimStatus?: { resourceClaimName: string; requestMappings?: { containerName?: string; resourceName: string; requestName: string }[] };
}

/** A NetworkAttachmentDefinition: `spec.config` is "" when the spec is empty. */
export interface NetAttachDef {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  config: string;
}

/** A `Network` object of the Multus v1 CRD (kubernetes.com/v1): a plugin type and a JSON array of delegate configs. */
export interface LegacyNetwork {
  namespace: string;
  name: string;
  plugin: string;
  args: string;
}

/** The DNS of a network-status entry. */
export interface StatusDNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** One entry of the `k8s.v1.cni.cncf.io/network-status` annotation, fields in the NAD client's order. */
export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  mtu?: number;
  default?: boolean;
  dns: StatusDNS;
  "device-info"?: Record<string, unknown>;
  gateway?: string[];
}

export const NETWORKS_ANNOT = "k8s.v1.cni.cncf.io/networks";
export const NETWORK_STATUS_ANNOT = "k8s.v1.cni.cncf.io/network-status";
export const DEFAULT_NETWORK_ANNOT = "v1.multus-cni.io/default-network";
export const RESOURCE_NAME_ANNOT = "k8s.v1.cni.cncf.io/resourceName";
/** The Multus v1 pod annotation. */
export const LEGACY_NETWORKS_ANNOT = "networks";

/** Device IDs the kubelet allocated to a pod per resource name (Multus's ResourceInfo). */
export type ResourceMap = Map<string, { index: number; deviceIDs: string[] }>;

/** Reads a pod's resource map from the kubelet (PodResources API or checkpoint). */
export type ResourceClient = (pod: PodInfo) => Promise<ResourceMap>;

/** One allocation result of a claim. */
export interface DeviceResult {
  request: string;
  driver: string;
  pool: string;
  device: string;
}

/** The fields of a ResourceClaim read here. */
export interface ResourceClaim {
  status?: { allocation?: { devices?: { results?: DeviceResult[] | null } } | null };
}

/** The fields of a ResourceSlice read here. */
export interface ResourceSlice {
  spec?: { driver?: string; pool?: { name?: string }; devices?: { name: string; attributes?: Record<string, { string?: string }> }[] };
}
