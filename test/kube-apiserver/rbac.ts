/**
 * RBAC for the test server: rules as a ClusterRole writes them, and the rules the
 * reference deployments grant, so tests run a component with exactly its real
 * permissions (a request it is not allowed gets the apiserver's 403).
 */
import type { RequestAttributes, UserInfo } from "./server.ts";

/** One PolicyRule of a ClusterRole ("*" matches all; resources may name "x/status"). */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * Multus's ClusterRole (deployments/multus-daemonset-thick.yml, the thin one grants the
 * same on core resources): pods and pods/status get/list/update/watch — no patch —,
 * everything in k8s.cni.cncf.io, resource.k8s.io claims and slices get/list (DRA),
 * events create/patch/update.
 */
export const MULTUS_RULES: Rule[] = [
  { apiGroups: ["k8s.cni.cncf.io"], resources: ["*"], verbs: ["*"] },
  { apiGroups: [""], resources: ["pods", "pods/status"], verbs: ["get", "list", "update", "watch"] },
  { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims", "resourceclaims/status", "resourceslices"], verbs: ["get", "list"] },
  { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
];

/** flannel's ClusterRole (Documentation/kube-flannel.yml): pods get, nodes get/list/watch, nodes/status patch. */
export const FLANNEL_RULES: Rule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
  { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
];

const has = (list: string[], v: string) => list.includes("*") || list.includes(v);

/** True when one of the rules allows the request. */
export function allows(rules: Rule[], a: RequestAttributes): boolean {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return rules.some((r) => has(r.apiGroups, a.group) && has(r.resources, resource) && has(r.verbs, a.verb));
}

/** An authorize option: users named in `bindings` get their rules; system:masters everything; others nothing. */
export function rbac(bindings: Record<string, Rule[]>): (user: UserInfo, a: RequestAttributes) => boolean {
  return (user, a) => {
    if (user.groups.includes("system:masters")) return true;
    const rules = bindings[user.name];
    return rules ? allows(rules, a) : false;
  };
}
