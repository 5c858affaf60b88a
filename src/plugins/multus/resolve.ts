/**
 * Which delegates a pod gets (Multus's k8sclient): clusterNetwork and defaultNetworks
 * (a NAD name, a config name in confDir, a directory or a file), the pod's
 * default-network and networks annotations, namespace isolation, and the Multus v1
 * forms (`networks` annotation, `Network` objects with `plugin` and `args`).
 */
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { confFiles, loadConfListFile } from "../../runtime/conf-dir.ts";
import { errorMessage } from "../../spec/error.ts";
import { ipFamily } from "../../spec/ip.ts";
import { parseLegacyNetworksAnnotation, parsePodNetworkAnnotation } from "./annotations.ts";
import { loadDelegate } from "./delegate.ts";
import { type DraSource, draResourceMap } from "./dra.ts";
import { multusError } from "./errors.ts";
import { type MultusSource, NotFoundError } from "./source.ts";
import {
  DEFAULT_NETWORK_ANNOT,
  type Delegate,
  LEGACY_NETWORKS_ANNOT,
  type MultusConf,
  NETWORKS_ANNOT,
  type NetAttachDef,
  type NetworkSelectionElement,
  type PodInfo,
  RESOURCE_NAME_ANNOT,
  type ResourceClient,
  type ResourceMap,
} from "./types.ts";

const enc = new TextEncoder();

export type { ResourceClient, ResourceMap } from "./types.ts";

/** What resolution needs besides the config. */
export interface ResolveContext {
  source?: MultusSource;
  resourceClient?: ResourceClient;
  /** Filled on first use, shared by every delegate of one pod. */
  resourceMap?: ResourceMap;
}

/** GetCNIConfigFromFile: the first config in `confDir` named `name` (any when ""), a list's or a config's bytes. */
export function cniConfigFromFile(name: string, confDir: string): Uint8Array {
  let files: string[];
  try {
    files = confFiles(confDir, [".conf", ".json", ".conflist"]);
  } catch {
    files = [];
  }
  if (files.length === 0) throw multusError(`No networks found in ${confDir}`);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      const what = f.endsWith(".conflist") ? "conflist" : "config";
      throw multusError(`Error loading CNI ${what} file ${f}: error parsing configuration: ${errorMessage(e)}`);
    }
    if (o.name === name || name === "") {
      if (!f.endsWith(".conflist") && !o.type) throw multusError(`Error loading CNI config file ${f}: no 'type'; perhaps this is a .conflist?`);
      return bytes;
    }
  }
  throw multusError(`no network available in the name ${name} in cni dir ${confDir}`);
}

/** GetCNIConfig: `spec.config` with the NAD's name put in when it has none, or the config of that name in confDir. */
export function cniConfigOfNAD(nad: NetAttachDef, confDir: string): Uint8Array {
  if (nad.config === "") {
    try {
      return cniConfigFromFile(nad.name, confDir);
    } catch (e) {
      throw multusError(`GetCNIConfig: err in GetCNIConfigFromFile: ${errorMessage(e)}`);
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(nad.config);
  } catch (e) {
    throw multusError(`GetCNIConfig: err in getCNIConfigFromSpec: failed to unmarshal Spec.Config: ${errorMessage(e)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw multusError(
      "GetCNIConfig: err in getCNIConfigFromSpec: failed to unmarshal Spec.Config: json: cannot unmarshal into Go value of type map[string]interface {}",
    );
  }
  const o = raw as Record<string, unknown>;
  if (!o.name) return enc.encode(JSON.stringify({ ...o, name: nad.name }));
  return enc.encode(nad.config);
}

/** getKubernetesDelegate: the NAD a selection names, as a delegate (with a kubelet-allocated device when it names a resource). */
export async function kubernetesDelegate(
  ctx: ResolveContext,
  sel: NetworkSelectionElement,
  conf: MultusConf,
  pod: PodInfo | undefined,
  quiet = false,
): Promise<Delegate> {
  let nad: NetAttachDef;
  try {
    if (!ctx.source) throw new Error("no Kubernetes access configured");
    nad = await ctx.source.getNetAttachDef(sel.namespace, sel.name);
  } catch (e) {
    const msg = `cannot find a network-attachment-definition (${sel.name}) in namespace (${sel.namespace}): ${errorMessage(e)}`;
    if (pod && ctx.source && !quiet) await ctx.source.event(pod, "Warning", "NoNetworkFound", msg);
    throw multusError(`getKubernetesDelegate: ${msg}`, e);
  }
  let deviceID = "";
  const resourceName = nad.annotations[RESOURCE_NAME_ANNOT] ?? "";
  if (resourceName && pod) {
    if (!ctx.resourceMap) {
      let map: ResourceMap = new Map();
      try {
        if (ctx.resourceClient) map = await ctx.resourceClient(pod);
      } catch (e) {
        throw multusError(`getKubernetesDelegate: failed to get resourceMap from ResourceClient: ${errorMessage(e)}`, e);
      }
      const src = ctx.source;
      if (src?.getResourceClaim && src.listResourceSlices) {
        try {
          await draResourceMap(src as DraSource, pod, map);
        } catch (e) {
          throw multusError(`getKubernetesDelegate: failed to get resourceMap from DRA client: ${errorMessage(e)}`, e);
        }
      }
      ctx.resourceMap = map;
    }
    const entry = ctx.resourceMap.get(resourceName);
    if (entry && entry.deviceIDs.length > entry.index) deviceID = entry.deviceIDs[entry.index++]!;
  }
  return loadDelegate(cniConfigOfNAD(nad, conf.confDir), sel, deviceID, resourceName);
}

/** getNetDelegate: clusterNetwork or one of defaultNetworks. */
async function netDelegate(ctx: ResolveContext, pod: PodInfo | undefined, netname: string, conf: MultusConf): Promise<Delegate> {
  if (!netname.includes("/")) {
    if (ctx.source) {
      try {
        return await kubernetesDelegate(ctx, { name: netname, namespace: conf.multusNamespace }, conf, pod, true);
      } catch {
        // not a NAD: a config of that name in confDir
      }
    }
    try {
      return loadDelegate(cniConfigFromFile(netname, conf.confDir));
    } catch {
      throw multusError(`getNetDelegate: cannot find network: ${netname}`);
    }
  }
  let st;
  try {
    st = statSync(netname);
  } catch (e) {
    throw multusError(`stat ${netname}: no such file or directory`, e);
  }
  if (st.isDirectory()) {
    if (confFiles(netname, [".conf", ".conflist"]).length > 0) return loadDelegate(cniConfigFromFile("", netname));
    throw multusError(`getNetDelegate: cannot find network: ${netname}`);
  }
  if (extname(netname) === ".conflist") {
    try {
      // The list with the plugins of <dir>/<name>/ appended (LoadChainedPluginsFromFile).
      return loadDelegate(loadConfListFile(netname).bytes);
    } catch (e) {
      throw multusError(`error loading CNI conflist file ${netname}: ${errorMessage(e)}`, e);
    }
  }
  const bytes = new Uint8Array(readFileSync(netname));
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw multusError(`error loading CNI config file ${netname}: error parsing configuration: ${errorMessage(e)}`);
  }
  if (!o.type) throw multusError(`error loading CNI config file ${netname}: no 'type'; perhaps this is supposed to be a .conflist?`);
  return loadDelegate(bytes);
}

/** GetDefaultNetworks: clusterNetwork as the master, then defaultNetworks unless the pod is in a system namespace. */
export async function defaultNetworks(ctx: ResolveContext, pod: PodInfo | undefined, conf: MultusConf): Promise<Delegate[]> {
  let master: Delegate;
  try {
    master = await netDelegate(ctx, pod, conf.clusterNetwork, conf);
  } catch (e) {
    throw multusError(`GetDefaultNetworks: failed to get clusterNetwork ${conf.clusterNetwork} in namespace ${conf.multusNamespace}`, e);
  }
  master.masterPlugin = true;
  const out = [master];
  if (pod && !conf.systemNamespaces.includes(pod.namespace)) {
    for (const name of conf.defaultNetworks) out.push(await netDelegate(ctx, pod, name, conf));
  }
  return out;
}

/** tryLoadK8sPodDefaultNetwork: the pod's own master network, from the default-network annotation. */
async function podDefaultNetwork(ctx: ResolveContext, pod: PodInfo, conf: MultusConf): Promise<Delegate | undefined> {
  const annot = pod.annotations[DEFAULT_NETWORK_ANNOT];
  if (annot === undefined) return undefined;
  let nets: NetworkSelectionElement[];
  try {
    nets = parsePodNetworkAnnotation(annot, conf.multusNamespace);
  } catch (e) {
    throw multusError(`tryLoadK8sPodDefaultNetwork: failed to parse CRD object: ${errorMessage(e)}`, e);
  }
  if (nets.length > 1) throw multusError(`tryLoadK8sPodDefaultNetwork: more than one default network is specified: ${annot}`);
  let d: Delegate;
  try {
    d = await kubernetesDelegate(ctx, nets[0]!, conf, pod);
  } catch (e) {
    throw multusError(`tryLoadK8sPodDefaultNetwork: failed getting the delegate: ${errorMessage(e)}`, e);
  }
  d.masterPlugin = true;
  return d;
}

/** CheckGatewayConfig: at most one default-route per family; every other delegate loses its default route. */
export function checkGatewayConfig(delegates: Delegate[]): void {
  let v4 = 0;
  let v6 = 0;
  for (const d of delegates) for (const gw of d.gatewayRequest ?? []) ipFamily(gw) === 4 ? v4++ : v6++;
  if (v4 > 1 || v6 > 1) throw multusError("multus does not support ECMP for default-route");
  for (const d of delegates) {
    d.isFilterV4Gateway = !(d.gatewayRequest ?? []).some((gw) => ipFamily(gw) === 4);
    d.isFilterV6Gateway = !(d.gatewayRequest ?? []).some((gw) => ipFamily(gw) === 6);
  }
}

/** Result of tryLoadPodDelegates. */
export interface PodDelegates {
  delegates: Delegate[];
  /** True when the pod used the Multus v1 forms: extra interfaces are numbered from net0. */
  legacy: boolean;
}

/**
 * TryLoadPodDelegates: replaces the master with the pod's default-network, appends a
 * delegate per element of the networks annotation; malformed annotations and missing
 * NADs are refused (and recorded as NoNetworkFound events). Without the modern
 * annotation, the v1 `networks` annotation selects v1 `Network` objects (or NADs).
 */
export async function podDelegates(ctx: ResolveContext, pod: PodInfo, conf: MultusConf, base: Delegate[]): Promise<PodDelegates> {
  const delegates = [...base];
  let dflt: Delegate | undefined;
  try {
    dflt = await podDefaultNetwork(ctx, pod, conf);
  } catch (e) {
    throw multusError(`TryLoadPodDelegates: error in loading K8s cluster default network from pod annotation: ${errorMessage(e)}`, e);
  }
  if (dflt) {
    if (delegates.length === 0) delegates.push(dflt);
    else delegates[0] = dflt;
  }
  const annot = pod.annotations[NETWORKS_ANNOT];
  if (annot === undefined || annot === "") {
    const legacy = pod.annotations[LEGACY_NETWORKS_ANNOT];
    if (legacy !== undefined && legacy !== "") return { delegates: await legacyDelegates(ctx, pod, conf, legacy), legacy: true };
    return { delegates, legacy: false };
  }
  let nets: NetworkSelectionElement[];
  try {
    nets = parsePodNetworkAnnotation(annot, pod.namespace);
  } catch (e) {
    if (ctx.source) await ctx.source.event(pod, "Warning", "NoNetworkFound", errorMessage(e));
    throw e;
  }
  for (const net of nets) {
    if (conf.namespaceIsolation && pod.namespace !== net.namespace && !conf.nonIsolatedNamespaces.includes(net.namespace)) {
      const msg = `GetNetworkDelegates: namespace isolation enabled, annotation violates permission, pod is in namespace ${pod.namespace} but refers to target namespace ${net.namespace}`;
      if (ctx.source) await ctx.source.event(pod, "Warning", "NoNetworkFound", msg);
      throw multusError(`TryLoadPodDelegates: error in getting k8s network for pod: ${msg}`);
    }
    try {
      delegates.push(await kubernetesDelegate(ctx, net, conf, pod));
    } catch (e) {
      throw multusError(`TryLoadPodDelegates: error in getting k8s network for pod: GetNetworkDelegates: failed getting the delegate: ${errorMessage(e)}`, e);
    }
  }
  if (delegates.some((d) => d.gatewayRequest)) checkGatewayConfig(delegates);
  return { delegates, legacy: false };
}

/**
 * The Multus v1 form: the pod's `networks` annotation lists `Network` objects (namespace
 * "default" unless named); each has a `plugin` and `args`, a JSON array of delegate
 * configs of that plugin type. These replace the configured delegates; the first
 * delegate of the first network is the master, and `if0name` names an interface.
 */
async function legacyDelegates(ctx: ResolveContext, pod: PodInfo, conf: MultusConf, annot: string): Promise<Delegate[]> {
  if (!ctx.source) throw multusError("getK8sNetwork: no Kubernetes access configured for the networks annotation");
  const out: Delegate[] = [];
  for (const sel of parseLegacyNetworksAnnotation(annot)) {
    const namespace = sel.namespace ?? "default";
    let configs: Record<string, unknown>[];
    try {
      configs = legacyConfigs(await ctx.source.getLegacyNetwork(namespace, sel.name), conf);
    } catch (e) {
      if (!(e instanceof NotFoundError))
        throw multusError(`getnetplugin: failed to get TRP, refer Multus README.md for the usage guide: ${errorMessage(e)}`, e);
      // The same network written as a NAD.
      const d = await kubernetesDelegate(ctx, { name: sel.name, namespace }, conf, pod);
      if (out.length === 0) d.masterPlugin = true;
      out.push(d);
      continue;
    }
    for (const c of configs) {
      const d = loadDelegate(enc.encode(JSON.stringify(c)));
      d.name = `${namespace}/${sel.name}`;
      if (typeof c.if0name === "string" && c.if0name) d.ifnameRequest = c.if0name;
      if (out.length === 0) d.masterPlugin = true;
      out.push(d);
    }
  }
  return out;
}

/** A v1 Network's delegate configs: each element of `args` with `type` set to `plugin` unless it has its own. */
export function legacyConfigs(net: { name: string; plugin: string; args: string }, conf: Pick<MultusConf, "cniVersion">): Record<string, unknown>[] {
  if (!net.plugin || !net.args) throw multusError("getpluginargs: plugin name/args can't be empty");
  let args: unknown;
  try {
    args = JSON.parse(net.args);
  } catch (e) {
    throw multusError(`getMultusDelegates: failed to load netconf: ${errorMessage(e)}`);
  }
  const list = Array.isArray(args) ? args : [args];
  return list.map((a) => {
    if (typeof a !== "object" || a === null)
      throw multusError(`getMultusDelegates: failed to load netconf: json: cannot unmarshal into Go value of type map[string]interface {}`);
    const c: Record<string, unknown> = { type: net.plugin, ...(a as Record<string, unknown>) };
    // v1 delegates carried no name or version; the runtime's cache needs a name.
    if (!c.name) c.name = net.name;
    if (!c.cniVersion && conf.cniVersion) c.cniVersion = conf.cniVersion;
    return c;
  });
}

/** The v1 `delegates` form: entries with `if0name` name their interface; the master is sorted first (v1 ran it first). */
export function legacyConfDelegates(conf: MultusConf): Delegate[] {
  const ds = conf.delegates.map((d, i) => {
    const raw = conf.rawDelegates[i]!;
    if (typeof raw.if0name === "string" && raw.if0name) d.ifnameRequest = raw.if0name;
    return d;
  });
  return [...ds.filter((d) => d.masterPlugin), ...ds.filter((d) => !d.masterPlugin)];
}
