/**
 * The resources the kube layer knows, and their URL paths: core types under /api/v1,
 * everything else under /apis/<group>/<version>.
 */

/** One resource type as the API serves it. */
export interface Resource {
  group: string;
  version: string;
  /** The URL segment: "nodes", "network-attachment-definitions". */
  plural: string;
  /** For messages: `node "n1"`. */
  singular: string;
  kind: string;
  namespaced: boolean;
}

export const NODES: Resource = { group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node", namespaced: false };
export const PODS: Resource = { group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod", namespaced: true };
export const NAMESPACES: Resource = { group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace", namespaced: false };
export const EVENTS: Resource = { group: "", version: "v1", plural: "events", singular: "event", kind: "Event", namespaced: true };
export const NADS: Resource = {
  group: "k8s.cni.cncf.io",
  version: "v1",
  plural: "network-attachment-definitions",
  singular: "network-attachment-definition",
  kind: "NetworkAttachmentDefinition",
  namespaced: true,
};

/** apiVersion as written in objects: "v1", "k8s.cni.cncf.io/v1". */
export const apiVersionOf = (r: Resource): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** The path of a collection or of one object (and its subresource). */
export function resourcePath(r: Resource, at: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && at.namespace) p += `/namespaces/${encodeURIComponent(at.namespace)}`;
  p += `/${r.plural}`;
  if (at.name !== undefined) p += `/${encodeURIComponent(at.name)}`;
  if (at.subresource) p += `/${at.subresource}`;
  return p;
}

/** How a message names an object: `pod "ns/x"`, `node "n1"`, `pods in "ns"`. */
export function describe(r: Resource, at: { namespace?: string; name?: string; subresource?: string }): string {
  const sub = at.subresource ? ` (${at.subresource})` : "";
  if (at.name !== undefined) return `${r.singular} "${r.namespaced && at.namespace ? `${at.namespace}/` : ""}${at.name}"${sub}`;
  return r.namespaced && at.namespace ? `${r.plural} in "${at.namespace}"` : r.plural;
}
