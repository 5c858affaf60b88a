/**
 * Delegate networks (Multus's DelegateNetConf): loading a CNI config or list with a
 * selection element's requests, and the RuntimeConf each delegate runs with (interface
 * name, CNI_ARGS with IgnoreUnknown and the K8S_POD_* keys, capability args).
 */
import { parseNetConf, parseNetConfList } from "../../spec/conf.ts";
import { errorMessage } from "../../spec/error.ts";
import type { NetConf, NetConfList } from "../../spec/types.ts";
import type { RuntimeConf } from "../../runtime/types.ts";
import { multusError, type K8sArgsLike } from "./errors.ts";
import type { Delegate, NetworkSelectionElement, RuntimeConfig } from "./types.ts";

const enc = new TextEncoder();

function asObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw multusError(`${what}: ${errorMessage(e)}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw multusError(`${what}: json: cannot unmarshal into a CNI config object`);
  return o as Record<string, unknown>;
}

/** Multus's injectCNIArgs: `args.cni` of a config gets the selection's cni-args merged in. */
function injectCNIArgs(conf: Record<string, unknown>, cniArgs: Record<string, unknown>): void {
  const args = (conf.args && typeof conf.args === "object" ? conf.args : (conf.args = {})) as Record<string, unknown>;
  if (args.cni && typeof args.cni === "object") Object.assign(args.cni as Record<string, unknown>, cniArgs);
  else args.cni = { ...cniArgs };
}

/**
 * Loads a delegate from CNI config bytes (a config with `type`, else a list with
 * `plugins`), injecting `deviceID`/`pciBusID` and the selection's `cni-args` into the
 * config(s), and taking the selection's requests.
 */
export function loadDelegate(bytes: Uint8Array, sel?: NetworkSelectionElement, deviceID = "", resourceName = ""): Delegate {
  const raw = asObject(bytes, "LoadDelegateNetConf: error unmarshalling delegate config");
  const d: Delegate = { name: "", bytes, isFilterV4Gateway: false, isFilterV6Gateway: false, masterPlugin: false };
  const isList = raw.type === undefined || raw.type === "";
  const cniArgs = sel?.["cni-args"];
  const targets: Record<string, unknown>[] = [];
  if (isList) {
    if (!Array.isArray(raw.plugins))
      throw multusError("LoadDelegateNetConf: failed with: LoadDelegateNetConfList: delegate must have the 'type' or 'plugin' field");
    const first = raw.plugins[0] as Record<string, unknown> | undefined;
    if (!first || !first.type) throw multusError("LoadDelegateNetConf: failed with: LoadDelegateNetConfList: a plugin delegate must have the 'type' field");
    targets.push(...(raw.plugins as Record<string, unknown>[]));
  } else targets.push(raw);
  let changed = false;
  if (deviceID) {
    for (const t of targets) {
      t.deviceID = deviceID;
      t.pciBusID = deviceID;
    }
    d.deviceID = deviceID;
    d.resourceName = resourceName;
    changed = true;
  }
  if (cniArgs && typeof cniArgs === "object") {
    for (const t of targets) injectCNIArgs(t, cniArgs);
    changed = true;
  }
  if (changed) d.bytes = enc.encode(JSON.stringify(raw));
  try {
    if (isList) {
      d.confList = parseNetConfList(raw, "delegate config list");
      d.name = d.confList.name;
    } else {
      d.conf = parseNetConf(raw, "delegate config");
      d.name = d.conf.name;
    }
  } catch (e) {
    throw multusError(`LoadDelegateNetConf: error unmarshalling delegate config: ${errorMessage(e)}`);
  }
  if (sel) applySelection(d, sel, deviceID);
  return d;
}

function applySelection(d: Delegate, sel: NetworkSelectionElement, deviceID: string): void {
  if (sel.name) d.name = `${sel.namespace}/${sel.name}`;
  if (sel.interface) d.ifnameRequest = sel.interface;
  if (sel.mac) d.macRequest = sel.mac;
  if (sel.ips) d.ipRequest = sel.ips;
  if (sel.bandwidth) d.bandwidthRequest = sel.bandwidth;
  if (sel.portMappings) d.portMappingsRequest = sel.portMappings;
  if (sel["default-route"]) d.gatewayRequest = [...(d.gatewayRequest ?? []), ...sel["default-route"]];
  if (sel["infiniband-guid"]) d.infinibandGUIDRequest = sel["infiniband-guid"];
  // A device from the kubelet's resource map wins over one asked for in the annotation.
  if (sel.deviceID && !deviceID) d.deviceID = sel.deviceID;
}

/** The delegate's network name, as the result cache and errors know it. */
export function delegateNetName(d: Delegate): string {
  return d.conf?.name || d.confList?.name || "";
}

/** The delegate's config as the runtime loads it (its own bytes). */
export function delegateConf(d: Delegate): { conf?: NetConf; confList?: NetConfList } {
  return d.conf ? { conf: d.conf } : { confList: d.confList! };
}

/**
 * The pod interface of delegate `idx`: the requested name, CNI_IFNAME for the master,
 * else net<idx> (Multus); `legacyIndex` numbers the non-master delegates from net0 as
 * Multus v1 did.
 */
export function ifnameOf(d: Delegate, argIfName: string, idx: number, legacyIndex?: number): string {
  if (d.ifnameRequest) return d.ifnameRequest;
  if (d.masterPlugin) return argIfName;
  return `net${legacyIndex ?? idx}`;
}

/** The interface names of a delegate list, in order. */
export function ifnamesOf(delegates: Delegate[], argIfName: string, legacy: boolean): string[] {
  let extra = 0;
  // v1 counted every non-master delegate, named or not (the name was the plugin's own if0name).
  return delegates.map((d, i) => ifnameOf(d, argIfName, i, legacy && !d.masterPlugin ? extra++ : undefined));
}

const DEVINFO_CNI_DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni";

/** Multus's mergeCNIRuntimeConfig + delegateRuntimeConfig: the master gets Multus's runtimeConfig only. */
export function delegateRuntimeConfig(rc: RuntimeConfig | undefined, d: Delegate, containerID: string, ifName: string): RuntimeConfig {
  const out: RuntimeConfig = { ...(rc ?? {}) };
  if (!d.masterPlugin) {
    if (d.portMappingsRequest) out.portMappings = d.portMappingsRequest;
    if (d.bandwidthRequest) out.bandwidth = d.bandwidthRequest;
    if (d.ipRequest) out.ips = d.ipRequest;
    if (d.macRequest) out.mac = d.macRequest;
    if (d.infinibandGUIDRequest) out.infinibandGUID = d.infinibandGUIDRequest;
    if (d.deviceID) out.deviceID = d.deviceID;
  }
  if (out.deviceID) out.CNIDeviceInfoFile = `${DEVINFO_CNI_DIR}/${`${d.name}-${containerID}_${ifName}`.replaceAll("/", "-")}`;
  return out;
}

/**
 * The RuntimeConf of one delegate (Multus's CreateCNIRuntimeConf): CNI_ARGS starts with
 * IgnoreUnknown and the K8S_POD_* keys, then the caller's CNI_ARGS (filling empty keys,
 * appending new ones); the runtime config becomes capability args.
 */
export function delegateRuntimeConf(
  call: { containerID: string; netns: string; args: [string, string][] },
  k8s: K8sArgsLike,
  ifName: string,
  rc: RuntimeConfig | undefined,
  d: Delegate,
): RuntimeConf {
  const args: [string, string][] = [
    ["IgnoreUnknown", "true"],
    ["K8S_POD_NAMESPACE", k8s.K8S_POD_NAMESPACE],
    ["K8S_POD_NAME", k8s.K8S_POD_NAME],
    ["K8S_POD_INFRA_CONTAINER_ID", k8s.K8S_POD_INFRA_CONTAINER_ID],
    ["K8S_POD_UID", k8s.K8S_POD_UID],
  ];
  for (const [k, v] of call.args) {
    const have = args.find(([ek, ev]) => ek === k && ev === "" && v !== "");
    if (have) have[1] = v;
    else if (!args.some(([ek, ev]) => ek === k && ev === v)) args.push([k, v]);
  }
  const drc = delegateRuntimeConfig(rc, d, call.containerID, ifName);
  const capabilityArgs: Record<string, unknown> = {};
  if (drc.portMappings?.length) capabilityArgs.portMappings = drc.portMappings;
  if (drc.bandwidth) capabilityArgs.bandwidth = drc.bandwidth;
  if (drc.ips?.length) capabilityArgs.ips = drc.ips;
  if (drc.mac) capabilityArgs.mac = drc.mac;
  if (drc.infinibandGUID) capabilityArgs.infinibandGUID = drc.infinibandGUID;
  if (drc.deviceID) capabilityArgs.deviceID = drc.deviceID;
  if (drc.CNIDeviceInfoFile) capabilityArgs.CNIDeviceInfoFile = drc.CNIDeviceInfoFile;
  return { containerID: call.containerID, netns: call.netns, ifName, args, capabilityArgs };
}
