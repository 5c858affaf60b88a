/**
 * Pod annotations (Multus's k8sclient): `k8s.v1.cni.cncf.io/networks` as a comma list
 * (`ns/name@ifname`) or a JSON list of selection elements, `v1.multus-cni.io/default-network`,
 * and the Multus v1 `networks` annotation. Malformed values are refused with Multus's texts.
 */
import { parseCIDR, parseIP } from "../../spec/ip.ts";
import { multusError } from "./errors.ts";
import type { NetworkSelectionElement } from "./types.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IFNAMSIZ = 16;

/** Parses "ns/name@ifname" (Multus's parsePodNetworkObjectName). */
export function parsePodNetworkObjectName(item: string): { namespace: string; name: string; ifname: string } {
  const slash = item.split("/");
  let namespace = "";
  let name: string;
  if (slash.length === 2) {
    namespace = slash[0]!.trim();
    name = slash[1]!;
  } else if (slash.length === 1) name = slash[0]!;
  else throw multusError("parsePodNetworkObjectName: Invalid network object (failed at '/')");
  const at = name.split("@");
  name = at[0]!.trim();
  let ifname = "";
  if (at.length === 2) ifname = at[1]!.trim();
  else if (at.length !== 1) throw multusError("parsePodNetworkObjectName: Invalid network object (failed at '@')");
  for (const part of [namespace, name]) {
    if (part.length > 0 && !DNS1123_LABEL.test(part)) {
      throw multusError(
        `parsePodNetworkObjectName: Failed to parse: one or more items did not match comma-delimited format (must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), mismatch @ '${part}'`,
      );
    }
  }
  if (ifname.length > 0 && (ifname.length > IFNAMSIZ - 1 || /[ \t\n\v\f\r/]/.test(ifname))) {
    throw multusError(
      `parsePodNetworkObjectName: Failed to parse interface name: must be less than 15 chars and not contain '/' or spaces. interface name '${ifname}'`,
    );
  }
  return { namespace, name, ifname };
}

/** Go's net.ParseMAC accepts 6, 8 and 20 byte addresses with ':' or '-' separators, or dotted quads of hex. */
function isMAC(s: string): boolean {
  return (
    /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(s) ||
    /^([0-9a-fA-F]{2}[:-]){7}[0-9a-fA-F]{2}$/.test(s) ||
    /^([0-9a-fA-F]{2}[:-]){19}[0-9a-fA-F]{2}$/.test(s) ||
    /^([0-9a-fA-F]{4}\.){2,9}[0-9a-fA-F]{4}$/.test(s)
  );
}

/** Checks a requested address as Multus does: a CIDR when it has "/", else a plain IP. */
export function checkIPRequest(ip: string): void {
  if (ip.includes("/")) {
    if (parseCIDR(ip) === null) throw multusError(`failed to parse CIDR "${ip}": invalid CIDR address: ${ip}`);
  } else if (parseIP(ip) === null) throw multusError(`failed to parse IP address "${ip}"`);
}

function goJSONError(e: unknown, text: string): string {
  // Go's decoder names the field and type that did not fit; keep the gist of it.
  const m = (e as Error).message;
  return text.trim().startsWith("[")
    ? m
    : `json: cannot unmarshal ${text.trim().startsWith("{") ? "object" : "value"} into Go value of type []*types.NetworkSelectionElement`;
}

function checkElement(o: unknown): NetworkSelectionElement {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new Error("json: cannot unmarshal value into Go value of type types.NetworkSelectionElement");
  }
  const e = o as Record<string, unknown>;
  const strField = (k: string) => {
    if (e[k] !== undefined && e[k] !== null && typeof e[k] !== "string") {
      throw new Error(`json: cannot unmarshal ${typeof e[k]} into Go struct field NetworkSelectionElement.${k} of type string`);
    }
  };
  for (const k of ["name", "namespace", "mac", "infiniband-guid", "interface", "interfaceRequest", "deviceID"]) strField(k);
  for (const k of ["ips", "default-route"]) {
    if (e[k] !== undefined && e[k] !== null && (!Array.isArray(e[k]) || (e[k] as unknown[]).some((x) => typeof x !== "string"))) {
      throw new Error(`json: cannot unmarshal into Go struct field NetworkSelectionElement.${k} of type []string`);
    }
  }
  if (e["default-route"]) {
    for (const gw of e["default-route"] as string[]) if (parseIP(gw) === null) throw new Error(`invalid IP address: ${gw}`);
  }
  return { ...(e as object), name: (e.name as string) ?? "", namespace: (e.namespace as string) ?? "" } as NetworkSelectionElement;
}

/**
 * Parses the networks annotation (Multus's parsePodNetworkAnnotation): JSON when it
 * holds any of `[{"`, else a comma list; the namespace defaults to `defaultNamespace`.
 */
export function parsePodNetworkAnnotation(podNetworks: string, defaultNamespace: string): NetworkSelectionElement[] {
  if (podNetworks === "") throw multusError(`parsePodNetworkAnnotation: pod annotation does not have "network" as key`);
  let networks: NetworkSelectionElement[] = [];
  if (/[[{"]/.test(podNetworks)) {
    try {
      const parsed = JSON.parse(podNetworks);
      if (!Array.isArray(parsed)) throw new Error(goJSONError(undefined, podNetworks));
      networks = parsed.map(checkElement);
    } catch (e) {
      throw multusError(`parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: ${(e as Error).message}`);
    }
  } else {
    for (const rawItem of podNetworks.split(",")) {
      let parsed;
      try {
        parsed = parsePodNetworkObjectName(rawItem.trim());
      } catch (e) {
        throw multusError(`parsePodNetworkAnnotation: ${(e as Error).message}`);
      }
      const el: NetworkSelectionElement = { name: parsed.name, namespace: parsed.namespace };
      if (parsed.ifname) el.interface = parsed.ifname;
      networks.push(el);
    }
  }
  for (const n of networks) {
    if (!n.namespace) n.namespace = defaultNamespace;
    if (n.mac && !isMAC(n.mac)) throw multusError(`parsePodNetworkAnnotation: failed to mac: address ${n.mac}: invalid MAC address`);
    if (n["infiniband-guid"] && !isMAC(n["infiniband-guid"])) {
      throw multusError(`parsePodNetworkAnnotation: failed to validate infiniband GUID: address ${n["infiniband-guid"]}: invalid MAC address`);
    }
    for (const ip of n.ips ?? []) checkIPRequest(ip);
    if (n.interfaceRequest && !n.interface) n.interface = n.interfaceRequest;
  }
  return networks;
}

/** One element of the Multus v1 `networks` annotation: a JSON list of `{"name": ...}`. */
export interface LegacySelection {
  name: string;
  namespace?: string;
}

/** Parses the v1 `networks` annotation (v1.x: a JSON list; v2 also took the comma form). */
export function parseLegacyNetworksAnnotation(value: string): LegacySelection[] {
  if (value === "") throw multusError(`parsePodNetworkObject: pod annotation not having "network" as key, refer Multus README.md for the usage guide`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value.split(",").map((item) => {
      const p = parsePodNetworkObjectName(item.trim());
      return p.namespace ? { name: p.name, namespace: p.namespace } : { name: p.name };
    });
  }
  if (!Array.isArray(parsed) || parsed.some((e) => typeof e !== "object" || e === null || typeof e.name !== "string")) {
    throw multusError(
      `parsePodNetworkObject: failed to load pod network err: json: cannot unmarshal into Go value of type []map[string]interface {} | pod network: ${value}`,
    );
  }
  return parsed.map((e) => (typeof e.namespace === "string" ? { name: e.name, namespace: e.namespace } : { name: e.name }));
}
