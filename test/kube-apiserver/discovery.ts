/**
 * Discovery as the apiserver serves it: the legacy group and resource lists, aggregated
 * discovery (apidiscovery.k8s.io/v2), and the OpenAPI v3 index and per group version
 * documents kubectl reads before it validates on the server.
 */
import type { ResourceDef } from "./resources.ts";
import { HttpError, status } from "./status.ts";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0",
  gitCommit: "cni-ts-test",
  gitTreeState: "clean",
  buildDate: "2024-12-11T00:00:00Z",
  goVersion: "go1.23.3",
  compiler: "gc",
  platform: "linux/amd64",
};

/** The APIGroupList groups (every group but the core one). */
export function apiGroups(defs: ResourceDef[]): any[] {
  const byGroup = new Map<string, Set<string>>();
  for (const d of defs) if (d.group) (byGroup.get(d.group) ?? byGroup.set(d.group, new Set()).get(d.group)!).add(d.version);
  return [...byGroup].map(([name, vs]) => {
    const versions = [...vs].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions, preferredVersion: versions[0] };
  });
}

/** apidiscovery.k8s.io/v2 APIGroupDiscoveryList: the core group (/api) or all the others (/apis). */
export function aggregatedDiscovery(defs: ResourceDef[], core: boolean): any {
  const groups = new Map<string, Map<string, any[]>>();
  for (const d of defs) {
    if ((d.group === "") !== core) continue;
    const versions = groups.get(d.group) ?? groups.set(d.group, new Map()).get(d.group)!;
    const list = versions.get(d.version) ?? versions.set(d.version, []).get(d.version)!;
    const kind = { group: d.group, version: d.version, kind: d.kind };
    const r: any = { resource: d.plural, responseKind: kind, scope: d.namespaced ? "Namespaced" : "Cluster", singularResource: d.singular, verbs: verbs(d) };
    if (d.shortNames?.length) r.shortNames = d.shortNames;
    if (d.categories?.length) r.categories = d.categories;
    if (d.status) r.subresources = [{ subresource: "status", responseKind: kind, verbs: ["get", "patch", "update"] }];
    list.push(r);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: [...groups].map(([name, versions]) => ({
      metadata: { name, creationTimestamp: null },
      versions: [...versions].map(([version, resources]) => ({ version, resources, freshness: "Current" })),
    })),
  };
}

/** The verbs a resource serves. */
export function verbs(d: ResourceDef): string[] {
  return d.review ? ["create"] : ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
}

/** The APIResourceList of one group version. */
export function resourceList(
  defs: ResourceDef[],
  group: string,
  version: string,
): { kind: string; apiVersion: string; groupVersion: string; resources: any[] } {
  const resources: any[] = [];
  for (const d of defs) {
    if (d.group !== group || d.version !== version) continue;
    const r: any = { name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: verbs(d) };
    if (d.shortNames?.length) r.shortNames = d.shortNames;
    if (d.categories?.length) r.categories = d.categories;
    resources.push(r);
    if (d.status) resources.push({ name: `${d.plural}/status`, singularName: "", namespaced: d.namespaced, kind: d.kind, verbs: ["get", "patch", "update"] });
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}

/** /openapi/v3: one document per group version, as the apiserver lists them. */
export function openapiRoot(defs: ResourceDef[], hash: number): any {
  const gvs = new Set<string>(["api/v1"]);
  for (const d of defs) if (d.group) gvs.add(`apis/${d.group}/${d.version}`);
  return { paths: Object.fromEntries([...gvs].map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` }])) };
}

/**
 * The OpenAPI v3 document of a group version: paths with their operations and the
 * query parameters kubectl looks for (fieldValidation on PATCH: kubectl then validates
 * on the server instead of downloading schemas). Schemas are left open.
 */
export function openapiGroupVersion(defs: ResourceDef[], gv: string): any {
  const m = gv.match(/^api\/v1$|^apis\/([^/]+)\/([^/]+)$/);
  const [group, version] = gv === "api/v1" ? ["", "v1"] : [m?.[1] ?? "", m?.[2] ?? ""];
  const served = defs.filter((d) => d.group === group && d.version === version);
  if (!m || !served.length) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
  const paths: Record<string, any> = {};
  const params = ["dryRun", "fieldManager", "fieldValidation", "pretty"].map((name) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } }));
  for (const d of served) {
    const gvk = { "x-kubernetes-group-version-kind": { group, version, kind: d.kind } };
    const op = (action: string) => ({ ...gvk, "x-kubernetes-action": action, parameters: params, responses: { "200": { description: "OK" } } });
    const base = group ? `/apis/${group}/${version}` : "/api/v1";
    const coll = `${base}${d.namespaced ? "/namespaces/{namespace}" : ""}/${d.plural}`;
    paths[coll] = { get: op("list"), post: op("post") };
    paths[`${coll}/{name}`] = { get: op("get"), put: op("put"), patch: op("patch"), delete: op("delete") };
    if (d.status) paths[`${coll}/{name}/status`] = { get: op("get"), put: op("put"), patch: op("patch") };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion }, paths, components: { schemas: {} } };
}
