/**
 * The three patch types a kube-apiserver takes: JSON merge patch (RFC 7386), JSON patch
 * (RFC 6902) and strategic merge patch for the fields this project touches (lists
 * merged by their Go struct's patchMergeKey, the $patch / $setElementOrder /
 * $retainKeys / $deleteFromPrimitiveList directives).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export class PatchError extends Error {}

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/** RFC 6902. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError("json patch must be an array of operations");
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObj(raw)) throw new PatchError("json patch operation must be an object");
    const op = raw.op,
      path = String(raw.path ?? "");
    const tokens = pointer(path);
    switch (op) {
      case "add":
        doc = put(doc, tokens, structuredClone(raw.value ?? null), "add");
        break;
      case "replace":
        doc = put(doc, tokens, structuredClone(raw.value ?? null), "replace");
        break;
      case "remove":
        doc = remove(doc, tokens);
        break;
      case "move": {
        const from = pointer(String(raw.from ?? ""));
        const v = structuredClone(lookup(doc, from));
        doc = put(remove(doc, from), tokens, v, "add");
        break;
      }
      case "copy":
        doc = put(doc, tokens, structuredClone(lookup(doc, pointer(String(raw.from ?? "")))), "add");
        break;
      case "test":
        if (JSON.stringify(lookup(doc, tokens)) !== JSON.stringify(raw.value)) throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

function pointer(p: string): string[] {
  if (p === "") return [];
  if (!p.startsWith("/")) throw new PatchError(`invalid json pointer "${p}"`);
  return p
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function lookup(doc: Json, tokens: string[]): Json {
  let cur: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)] as Json;
    else if (isObj(cur) && t in cur) cur = cur[t]!;
    else throw new PatchError(`doc is missing path: "/${tokens.join("/")}"`);
    if (cur === undefined) throw new PatchError(`doc is missing path: "/${tokens.join("/")}"`);
  }
  return cur;
}

function put(doc: Json, tokens: string[], value: Json, mode: "add" | "replace"): Json {
  if (tokens.length === 0) return value;
  const parent = lookup(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (mode === "replace" && i >= parent.length)) throw new PatchError(`index out of bounds: ${last}`);
    if (mode === "add") parent.splice(i, 0, value);
    else parent[i] = value;
  } else if (isObj(parent)) {
    if (mode === "replace" && !(last in parent)) throw new PatchError(`doc is missing key: /${tokens.join("/")}`);
    parent[last] = value;
  } else throw new PatchError(`doc is missing path: "/${tokens.join("/")}"`);
  return doc;
}

function remove(doc: Json, tokens: string[]): Json {
  const parent = lookup(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`index out of bounds: ${last}`);
    parent.splice(i, 1);
  } else if (isObj(parent) && last in parent) delete parent[last];
  else throw new PatchError(`doc is missing key: /${tokens.join("/")}`);
  return doc;
}

/**
 * Merge keys of the lists we touch, by kind and dotted path ("[]" steps into list items);
 * "" marks a merged list of primitives; lists not named here are replaced whole.
 */
const MERGE_KEYS: Record<string, Record<string, string>> = {
  "*": { "metadata.ownerReferences": "uid", "metadata.finalizers": "" },
  Pod: {
    "spec.containers": "name",
    "spec.initContainers": "name",
    "spec.containers[].env": "name",
    "spec.containers[].ports": "containerPort",
    "spec.containers[].volumeMounts": "mountPath",
    "spec.volumes": "name",
    "spec.imagePullSecrets": "name",
    "status.conditions": "type",
    "status.podIPs": "ip",
  },
  Node: { "status.conditions": "type", "status.addresses": "type", "spec.podCIDRs": "" },
};

/** Strategic merge patch of an object of `kind`. */
export function strategicMergePatch(target: Json, patch: Json, kind: string): Json {
  const keys = { ...MERGE_KEYS["*"], ...(MERGE_KEYS[kind] ?? {}) };
  return smp(target, patch, "", keys);
}

function smp(target: Json, patch: Json, path: string, keys: Record<string, string>): Json {
  if (!isObj(patch)) return patch;
  if (patch.$patch === "replace") {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === "delete") return null;
  const out: Obj = isObj(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const f = k.slice("$deleteFromPrimitiveList/".length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[f])) out[f] = (out[f] as Json[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    const p = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (Array.isArray(v) && p in keys) out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, p, keys[p]!, keys);
    else if (isObj(v)) out[k] = smp(out[k] ?? null, v, p, keys);
    else out[k] = stripDirectives(v);
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}

function mergeList(cur: Json[], patch: Json[], path: string, key: string, keys: Record<string, string>): Json[] {
  if (patch.length === 1 && isObj(patch[0]) && patch[0].$patch === "replace") return [];
  if (key === "") {
    const out = [...cur];
    for (const v of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const out = [...cur];
  for (const item of patch) {
    if (!isObj(item)) continue;
    const i = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item.$patch === "delete") {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = smp(out[i]!, item, `${path}[]`, keys);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}
