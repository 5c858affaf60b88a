/**
 * What the apiserver does with fields it does not know: custom resources are pruned to
 * their CRD's structural schema (and values type-checked), built-in objects are checked
 * at the top level and in metadata; with fieldValidation=Strict (kubectl's default) an
 * unknown field is an error, with Warn (the default) a warning, with Ignore nothing.
 */

const OBJECT_META = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);
const TOP_LEVEL: Record<string, string[]> = {
  Pod: ["spec", "status"],
  Node: ["spec", "status"],
  Namespace: ["spec", "status"],
  Event: [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
  ],
};

export interface SchemaResult {
  /** Paths of unknown fields ("spec.foo"), removed from the object. */
  unknown: string[];
  /** Type errors as the apiserver words them. */
  invalid: { field: string; detail: string }[];
}

/** Prunes unknown fields of a custom resource by its version's openAPIV3Schema, in place. */
export function pruneCustom(o: any, schema: any): SchemaResult {
  const r: SchemaResult = { unknown: [], invalid: [] };
  for (const k of Object.keys(o)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (k === "metadata") metaUnknown(o.metadata, r);
    else if (!schema?.properties || !(k in schema.properties)) {
      if (!schema?.["x-kubernetes-preserve-unknown-fields"]) {
        r.unknown.push(k);
        delete o[k];
      }
    } else walk(o, k, schema.properties[k], k, r);
  }
  return r;
}

/** Unknown top-level and metadata fields of a built-in object (reported, not removed). */
export function builtinUnknown(o: any, kind: string): SchemaResult {
  const r: SchemaResult = { unknown: [], invalid: [] };
  const known = TOP_LEVEL[kind];
  if (known) for (const k of Object.keys(o)) if (!["apiVersion", "kind", "metadata", ...known].includes(k)) r.unknown.push(k);
  if (o.metadata) metaUnknown(o.metadata, r);
  return r;
}

function metaUnknown(meta: any, r: SchemaResult): void {
  if (meta && typeof meta === "object") for (const k of Object.keys(meta)) if (!OBJECT_META.has(k)) r.unknown.push(`metadata.${k}`);
}

const typeOf = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "array"
      : typeof v === "number"
        ? Number.isInteger(v)
          ? "integer"
          : "number"
        : typeof v === "object"
          ? "object"
          : typeof v;

function walk(parent: any, key: string | number, s: any, path: string, r: SchemaResult): void {
  const v = parent[key];
  if (v === null && s?.nullable) return;
  const t = typeOf(v);
  if (s?.type && !(s.type === t || (s.type === "number" && t === "integer"))) {
    if (!(s["x-kubernetes-int-or-string"] && (t === "integer" || t === "string"))) {
      r.invalid.push({ field: path, detail: `Invalid value: "${t}": ${path} in body must be of type ${s.type}: "${t}"` });
      return;
    }
  }
  if (t === "object" && !s?.["x-kubernetes-preserve-unknown-fields"]) {
    for (const k of Object.keys(v)) {
      const sub = s?.properties?.[k] ?? (typeof s?.additionalProperties === "object" ? s.additionalProperties : undefined);
      if (sub) walk(v, k, sub, `${path}.${k}`, r);
      else if (s?.additionalProperties !== true) {
        r.unknown.push(`${path}.${k}`);
        delete v[k];
      }
    }
  } else if (t === "array" && s?.items) v.forEach((_: unknown, i: number) => walk(v, i, s.items, `${path}[${i}]`, r));
}
