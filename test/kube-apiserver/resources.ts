/**
 * The resource types the test server serves: discovery data, selectable fields, and
 * the server-side table columns kubectl prints (as the kube-apiserver's printers make
 * them: pkg/printers/internalversion and the CRD default of NAME, AGE).
 */

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources served (status). */
  status?: boolean;
  /** Create-only review resource (selfsubjectreviews): answered, never stored. */
  review?: boolean;
  /** Served from a CRD: no strategic merge patch, generation kept. */
  custom?: boolean;
  /** The CRD version's openAPIV3Schema (custom resources are pruned to it). */
  schema?: any;
  fields: string[];
  columns: ColumnDefinition[];
  cells: (o: any, now: number) => unknown[];
}

const col = (name: string, description: string, extra: Partial<ColumnDefinition> = {}): ColumnDefinition => ({
  name,
  type: "string",
  format: "",
  description,
  priority: 0,
  ...extra,
});
const NAME = col("Name", "Name must be unique within a namespace.", { format: "name" });
const AGE = col("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.");
const META_FIELDS = ["metadata.name", "metadata.namespace"];

/** apimachinery's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

const age = (ts: string | undefined, now: number): string => (ts ? humanDuration(now - Date.parse(ts)) : "<unknown>");

function nodeStatus(n: any): string {
  const ready = (n.status?.conditions ?? []).find((c: any) => c.type === "Ready");
  let s = ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown";
  if (n.spec?.unschedulable) s += ",SchedulingDisabled";
  return s;
}

function nodeRoles(n: any): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries<string>(n.metadata?.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) roles.add(k.slice("node-role.kubernetes.io/".length));
    else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

const address = (n: any, type: string) => (n.status?.addresses ?? []).find((a: any) => a.type === type)?.address ?? "<none>";

function podCells(p: any, now: number): unknown[] {
  const statuses: any[] = p.status?.containerStatuses ?? [];
  const total = (p.spec?.containers ?? []).length;
  const ready = statuses.filter((c) => c.ready).length;
  const restarts = statuses.reduce((a, c) => a + (c.restartCount ?? 0), 0);
  let reason = p.status?.reason || p.status?.phase || "Unknown";
  for (const c of statuses) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
  }
  if (p.metadata?.deletionTimestamp) reason = "Terminating";
  const gates = p.spec?.readinessGates?.length ? `0/${p.spec.readinessGates.length}` : "<none>";
  return [
    p.metadata.name,
    `${ready}/${total}`,
    reason,
    restarts,
    age(p.metadata.creationTimestamp, now),
    p.status?.podIP || "<none>",
    p.spec?.nodeName || "<none>",
    p.status?.nominatedNodeName || "<none>",
    gates,
  ];
}

/** The core/v1 and CRD resources served. */
export function builtinResources(): ResourceDef[] {
  return [
    {
      group: "",
      version: "v1",
      plural: "namespaces",
      singular: "namespace",
      kind: "Namespace",
      listKind: "NamespaceList",
      namespaced: false,
      shortNames: ["ns"],
      fields: ["metadata.name", "status.phase"],
      columns: [NAME, col("Status", "The status of the namespace"), AGE],
      cells: (o, now) => [o.metadata.name, o.status?.phase ?? "Active", age(o.metadata.creationTimestamp, now)],
    },
    {
      group: "",
      version: "v1",
      plural: "nodes",
      singular: "node",
      kind: "Node",
      listKind: "NodeList",
      namespaced: false,
      shortNames: ["no"],
      status: true,
      fields: ["metadata.name", "spec.unschedulable"],
      columns: [
        NAME,
        col("Status", "The status of the node"),
        col("Roles", "The roles of the node"),
        AGE,
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", { priority: 1 }),
        col("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", { priority: 1 }),
        col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", { priority: 1 }),
        col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
        col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", { priority: 1 }),
      ],
      cells: (n, now) => [
        n.metadata.name,
        nodeStatus(n),
        nodeRoles(n),
        age(n.metadata.creationTimestamp, now),
        n.status?.nodeInfo?.kubeletVersion ?? "",
        address(n, "InternalIP"),
        address(n, "ExternalIP"),
        n.status?.nodeInfo?.osImage || "<unknown>",
        n.status?.nodeInfo?.kernelVersion || "<unknown>",
        n.status?.nodeInfo?.containerRuntimeVersion || "<unknown>",
      ],
    },
    {
      group: "",
      version: "v1",
      plural: "pods",
      singular: "pod",
      kind: "Pod",
      listKind: "PodList",
      namespaced: true,
      shortNames: ["po"],
      categories: ["all"],
      status: true,
      fields: [
        ...META_FIELDS,
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
      ],
      columns: [
        NAME,
        col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        col("Status", "The aggregate status of the containers in this pod."),
        col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", {
          type: "string",
        }),
        AGE,
        col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", { priority: 1 }),
        col("Node", "NodeName indicates in which node this pod is scheduled.", { priority: 1 }),
        col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", { priority: 1 }),
        col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", { priority: 1 }),
      ],
      cells: podCells,
    },
    {
      group: "",
      version: "v1",
      plural: "events",
      singular: "event",
      kind: "Event",
      listKind: "EventList",
      namespaced: true,
      shortNames: ["ev"],
      fields: [
        ...META_FIELDS,
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
      ],
      columns: [
        col("Last Seen", "The last time this event was seen."),
        col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
        col("Reason", "This should be a short, machine understandable string that gives the reason for this event being generated."),
        col("Object", "The object this Event is about."),
        col("Subobject", "The subobject this Event is about.", { priority: 1 }),
        col("Source", "The component reporting this event.", { priority: 1 }),
        col("Message", "A human-readable description of the status of this operation."),
        col("First Seen", "The first time this event was seen.", { priority: 1 }),
        col("Count", "The number of times this event has occurred.", { priority: 1 }),
        col("Name", "Name must be unique within a namespace.", { priority: 1, format: "name" }),
      ],
      cells: (e, now) => [
        age(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp, now),
        e.type ?? "",
        e.reason ?? "",
        `${String(e.involvedObject?.kind ?? "").toLowerCase()}/${e.involvedObject?.name ?? ""}`,
        e.involvedObject?.fieldPath ?? "",
        [e.source?.component, e.source?.host].filter(Boolean).join(", "),
        e.message ?? "",
        age(e.firstTimestamp ?? e.metadata.creationTimestamp, now),
        e.count ?? 1,
        e.metadata.name,
      ],
    },
    {
      group: "coordination.k8s.io",
      version: "v1",
      plural: "leases",
      singular: "lease",
      kind: "Lease",
      listKind: "LeaseList",
      namespaced: true,
      fields: META_FIELDS,
      columns: [NAME, col("Holder", "The holder of the lease."), AGE],
      cells: (o, now) => [o.metadata.name, o.spec?.holderIdentity ?? "", age(o.metadata.creationTimestamp, now)],
    },
    {
      group: "resource.k8s.io",
      version: "v1",
      plural: "resourceclaims",
      singular: "resourceclaim",
      kind: "ResourceClaim",
      listKind: "ResourceClaimList",
      namespaced: true,
      status: true,
      fields: META_FIELDS,
      columns: [NAME, AGE],
      cells: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)],
    },
    {
      group: "resource.k8s.io",
      version: "v1",
      plural: "resourceslices",
      singular: "resourceslice",
      kind: "ResourceSlice",
      listKind: "ResourceSliceList",
      namespaced: false,
      // The apiserver's selectable fields of ResourceSlices (ResourceSliceSelectorNodeName, ...Driver).
      fields: ["metadata.name", "spec.nodeName", "spec.driver"],
      columns: [NAME, col("Node", "The node of the slice."), col("Driver", "The driver of the slice."), AGE],
      cells: (o, now) => [o.metadata.name, o.spec?.nodeName ?? "", o.spec?.driver ?? "", age(o.metadata.creationTimestamp, now)],
    },
    {
      group: "authentication.k8s.io",
      version: "v1",
      plural: "selfsubjectreviews",
      singular: "selfsubjectreview",
      kind: "SelfSubjectReview",
      listKind: "SelfSubjectReviewList",
      namespaced: false,
      review: true,
      fields: [],
      columns: [],
      cells: () => [],
    },
    {
      group: "apiextensions.k8s.io",
      version: "v1",
      plural: "customresourcedefinitions",
      singular: "customresourcedefinition",
      kind: "CustomResourceDefinition",
      listKind: "CustomResourceDefinitionList",
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      status: true,
      fields: ["metadata.name"],
      columns: [NAME, col("Created At", "CreationTimestamp is a timestamp representing the server time when this object was created.", { type: "date" })],
      cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
    },
  ];
}

/** The served resource of a CRD's version: NAME and AGE columns unless it names printer columns. */
export function crdResource(crd: any, version: any): ResourceDef {
  const printer: any[] = version.additionalPrinterColumns ?? [];
  const columns = [
    NAME,
    ...printer.map((c) => col(c.name, c.description ?? "", { type: c.type ?? "string", format: c.format ?? "", priority: c.priority ?? 0 })),
  ];
  if (!printer.length) columns.push(AGE);
  return {
    group: crd.spec.group,
    version: version.name,
    plural: crd.spec.names.plural,
    singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase(),
    kind: crd.spec.names.kind,
    listKind: crd.spec.names.listKind ?? `${crd.spec.names.kind}List`,
    namespaced: crd.spec.scope === "Namespaced",
    shortNames: crd.spec.names.shortNames,
    categories: crd.spec.names.categories,
    status: !!version.subresources?.status,
    custom: true,
    schema: version.schema?.openAPIV3Schema,
    fields: META_FIELDS,
    columns,
    cells: (o, now) => [o.metadata.name, ...(printer.length ? printer.map((c) => jsonPathValue(o, c.jsonPath)) : [age(o.metadata.creationTimestamp, now)])],
  };
}

function jsonPathValue(o: any, path: string): unknown {
  return (
    String(path ?? "")
      .replace(/^\./, "")
      .split(".")
      .reduce((x, k) => x?.[k], o) ?? null
  );
}

/** The NetworkAttachmentDefinition CRD as Multus ships it (deployments/multus-daemonset.yml). */
export const NAD_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "network-attachment-definitions.k8s.cni.cncf.io" },
  spec: {
    group: "k8s.cni.cncf.io",
    scope: "Namespaced",
    names: {
      plural: "network-attachment-definitions",
      singular: "network-attachment-definition",
      kind: "NetworkAttachmentDefinition",
      shortNames: ["net-attach-def"],
    },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            description:
              "NetworkAttachmentDefinition is a CRD schema specified by the Network Plumbing Working Group to express the intent for attaching pods to one or more logical or physical networks. More information available at: https://github.com/k8snetworkplumbingwg/multi-net-spec",
            type: "object",
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              spec: { type: "object", properties: { config: { type: "string" } } },
            },
          },
        },
      },
    ],
  },
};
