/** Status objects (metav1.Status) worded as the apiserver words them, and the error that carries one. */
import type { ResourceDef } from "./resources.ts";
import type { RequestAttributes, UserInfo } from "./server.ts";

/** Thrown by a handler: the server answers with this Status and its code. */
export class HttpError extends Error {
  constructor(readonly status: any) {
    super(status.message);
  }
}

export function status(code: number, reason: string, message: string, details?: any): any {
  const st: any = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) st.details = details;
  return st;
}

export const qualified = (def: ResourceDef) => (def.group ? `${def.plural}.${def.group}` : def.plural);

export function notFound(def: ResourceDef, name: string): any {
  return status(404, "NotFound", `${qualified(def)} "${name}" not found`, { name, ...(def.group ? { group: def.group } : {}), kind: def.plural });
}
export function alreadyExists(def: ResourceDef, name: string): any {
  return status(409, "AlreadyExists", `${qualified(def)} "${name}" already exists`, { name, ...(def.group ? { group: def.group } : {}), kind: def.plural });
}
export function conflict(def: ResourceDef, name: string): any {
  return status(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {
      name,
      ...(def.group ? { group: def.group } : {}),
      kind: def.plural,
    },
  );
}
export function invalid(def: ResourceDef, name: string, field: string, detail: string): any {
  return status(422, "Invalid", `${def.kind}${def.group ? `.${def.group}` : ""} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    ...(def.group ? { group: def.group } : {}),
    kind: def.kind,
    causes: [{ reason: detail.split(":")[0]!.replace(/ /g, "") === "Requiredvalue" ? "FieldValueRequired" : "FieldValueInvalid", message: detail, field }],
  });
}
export function forbidden(user: UserInfo, a: RequestAttributes, def: ResourceDef): any {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  const what = a.name ? `${qualified(def)} "${a.name}"` : qualified(def);
  return status(403, "Forbidden", `${what} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`, {
    ...(a.name ? { name: a.name } : {}),
    ...(a.group ? { group: a.group } : {}),
    kind: a.resource,
  });
}
