/**
 * The delegation engine (Multus's pkg/multus): ADD runs the master and every extra
 * network of a pod through the runtime library, records the delegate list before the
 * first one runs and undoes them in reverse when one fails; DEL undoes them from that
 * record, or from what it can rebuild when the record is gone; network-status and
 * events go through the MultusSource.
 */
import { existsSync } from "node:fs";
import { confFromBytes, confListFromBytes } from "../../runtime/conf-dir.ts";
import { listCacheEntries } from "../../runtime/cache.ts";
import type { PluginExec } from "../../runtime/exec.ts";
import { addNetwork, addNetworkList, checkNetwork, checkNetworkList, delNetwork, delNetworkList } from "../../runtime/network-list.ts";
import { getStatusNetworkList } from "../../runtime/status.ts";
import { gcNetworkList } from "../../runtime/gc.ts";
import type { RuntimeConf, RuntimeOptions } from "../../runtime/types.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { errorMessage } from "../../spec/error.ts";
import type { Result } from "../../spec/types.ts";
import { greaterThanOrEqual } from "../../spec/version.ts";
import { NetlinkHandle, linkFind } from "../../netlink/index.ts";
import { checkIPRequest } from "./annotations.ts";
import { isLegacyDelegates, loadNetConf } from "./conf.ts";
import { delegateNetName, delegateRuntimeConf, ifnamesOf, loadDelegate } from "./delegate.ts";
import { cmdErr, cmdPluginErr, type K8sArgsLike, multusError } from "./errors.ts";
import { addDefaultGWCache, deleteDefaultGW, deleteDefaultGWCache, setDefaultGW } from "./gateway.ts";
import { Logger } from "./log.ts";
import { createNetworkStatuses, formatNetworkStatus } from "./network-status.ts";
import { defaultNetworks, legacyConfDelegates, podDelegates, type ResolveContext, type ResourceClient } from "./resolve.ts";
import { podResourcesClient } from "./pod-resources.ts";
import { readDelegates, removeDelegates, saveDelegates } from "./scratch.ts";
import { type MultusSource, NotFoundError } from "./source.ts";
import type { Delegate, MultusConf, NetworkStatus, PodInfo } from "./types.ts";

/** How the engine reaches plugins and the cluster. */
export interface EngineOptions {
  /** Runs delegates (ours in-process, others as processes). */
  exec: PluginExec;
  /** The cluster (or file) view for a config; undefined when Multus runs without one. */
  source: (conf: MultusConf) => MultusSource | undefined;
  resourceClient?: ResourceClient;
  /** True when the source is an informer cache that may lag the API server (the daemon). */
  cached?: boolean;
  logger?: Logger;
  /** False in a daemon: events go out in the background (a plugin process must wait for them before it exits). */
  awaitEvents?: boolean;
  /** The readiness indicator wait on ADD; Multus polls 45 s. */
  readinessTimeoutMs?: number;
}

const K8S_KEYS = ["IP", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"] as const;

function k8sArgsOf(args: CmdArgs): K8sArgsLike {
  try {
    const a = loadArgs(args.args, K8S_KEYS);
    return {
      K8S_POD_NAMESPACE: a.K8S_POD_NAMESPACE ?? "",
      K8S_POD_NAME: a.K8S_POD_NAME ?? "",
      K8S_POD_INFRA_CONTAINER_ID: a.K8S_POD_INFRA_CONTAINER_ID ?? "",
      K8S_POD_UID: a.K8S_POD_UID ?? "",
    };
  } catch (e) {
    throw cmdErr(undefined, `error getting k8s args: ${errorMessage(e)}`, e);
  }
}

function runtimeOptions(n: MultusConf, args: CmdArgs, exec: PluginExec): RuntimeOptions {
  return { path: [n.binDir, ...args.path], exec, cacheDir: n.cniDir };
}

async function waitForFile(path: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) return true;
    if (Date.now() >= until) return false;
    await Bun.sleep(Math.min(1000, Math.max(0, until - Date.now())));
  }
}

function isStaticPod(pod: PodInfo): boolean {
  const src = pod.annotations["kubernetes.io/config.source"];
  return src !== undefined && src !== "api";
}

/**
 * GetPod: the pod of CNI_ARGS; undefined without a source or when it does not exist.
 * Errors reaching the API server are retried for 2.5 s, then asked once more live.
 */
async function getPod(source: MultusSource | undefined, k8s: K8sArgsLike, isDel: boolean, o: EngineOptions): Promise<PodInfo | undefined> {
  if (!source || !k8s.K8S_POD_NAME || !k8s.K8S_POD_NAMESPACE) return undefined;
  const poll = o.cached ? 50 : 250;
  const until = Date.now() + 2500;
  let pod: PodInfo | undefined;
  let last: unknown;
  while (!pod) {
    try {
      pod = await source.getPod(k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME);
    } catch (e) {
      last = e;
      // An informer may not have seen a new pod yet; an API server may be restarting.
      const retry = !(e instanceof NotFoundError) || (o.cached && !isDel);
      if (!retry || Date.now() >= until) break;
      await Bun.sleep(poll);
    }
  }
  if (!pod) {
    if (last instanceof NotFoundError && !o.cached) return undefined;
    try {
      pod = await (source.getPodLive ?? source.getPod).call(source, k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw cmdErr(k8s, `error waiting for pod: ${errorMessage(e)}`, e);
    }
  }
  if (k8s.K8S_POD_UID && pod.uid !== k8s.K8S_POD_UID && !isStaticPod(pod)) {
    const msg = `expected pod UID "${k8s.K8S_POD_UID}" but got "${pod.uid}" from Kube API`;
    // On DEL the record decides: a stateful set's pod may come back under the same name.
    if (isDel) return undefined;
    throw cmdErr(k8s, msg);
  }
  return pod;
}

function emptyResult(args: CmdArgs, cniVersion: string): Result {
  return {
    cniVersion: cniVersion || "1.0.0",
    interfaces: [{ name: args.ifName, sandbox: args.netns }],
    ips: [{ address: "0.0.0.0/0", gateway: "0.0.0.0" }],
  };
}

function validateIfName(netns: string, ifName: string): void {
  let found;
  try {
    using h = NetlinkHandle.atPath(netns);
    found = linkFind(h, ifName);
  } catch (e) {
    throw multusError(`validateIfName: no net namespace ${netns} found: ${errorMessage(e)}`, e);
  }
  if (found) throw multusError(`validateIfName: interface name ${ifName} already exists`);
}

/** The delegates a request works on, and whether they are numbered the v1 way. */
async function resolveDelegates(n: MultusConf, ctx: ResolveContext, pod: PodInfo | undefined, k8s: K8sArgsLike): Promise<{ delegates: Delegate[]; legacy: boolean }> {
  let delegates: Delegate[];
  let legacy = isLegacyDelegates(n);
  if (n.clusterNetwork) {
    try {
      delegates = await defaultNetworks(ctx, pod, n);
    } catch (e) {
      throw cmdErr(k8s, `failed to get clusterNetwork/defaultNetworks: ${errorMessage(e)}`, e);
    }
  } else delegates = legacy ? legacyConfDelegates(n) : n.delegates;
  if (pod) {
    try {
      const r = await podDelegates(ctx, pod, n, delegates);
      delegates = r.delegates;
      legacy ||= r.legacy;
    } catch (e) {
      throw cmdErr(k8s, `error loading k8s delegates k8s args: ${errorMessage(e)}`, e);
    }
  }
  return { delegates, legacy };
}

function addDelegateArgs(d: Delegate, rt: RuntimeConf): void {
  // Deprecated in Multus 3.5 but still done: MAC and IP also as CNI_ARGS.
  if (d.macRequest) {
    if (!/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(d.macRequest)) throw multusError(`DelegateAdd: failed to parse mac address "${d.macRequest}"`);
    rt.args!.push(["MAC", d.macRequest]);
  }
  if (d.ipRequest) {
    for (const ip of d.ipRequest) {
      try {
        checkIPRequest(ip);
      } catch {
        throw multusError(`DelegateAdd: failed to parse IP address "${ip}"`);
      }
    }
    rt.args!.push(["IP", d.ipRequest.join(",")]);
  }
}

async function runDelegate(command: "ADD" | "DEL" | "CHECK", d: Delegate, rt: RuntimeConf, opts: RuntimeOptions): Promise<Result | undefined> {
  if (d.confList) {
    const list = confListFromBytes(d.bytes);
    if (command === "ADD") return addNetworkList(list, rt, opts);
    if (command === "DEL") return void (await delNetworkList(list, rt, opts));
    return void (await checkNetworkList(list, rt, opts));
  }
  const net = confFromBytes(d.bytes);
  if (command === "ADD") return addNetwork(net, rt, opts);
  if (command === "DEL") return void (await delNetwork(net, rt, opts));
  return void (await checkNetwork(net, rt, opts));
}

function delegateLabel(d: Delegate): string {
  return d.confList ? d.confList.name : (d.conf?.type ?? "");
}

/** delPlugins: DEL of delegates lastIdx..0 in reverse, every error collected. */
async function delPlugins(args: CmdArgs, k8s: K8sArgsLike, n: MultusConf, delegates: Delegate[], ifNames: string[], lastIdx: number, opts: RuntimeOptions): Promise<string[]> {
  const errors: string[] = [];
  for (let i = lastIdx; i >= 0; i--) {
    const d = delegates[i]!;
    const rt = delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, ifNames[i]!, n.runtimeConfig, d);
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      errors.push(d.confList
        ? `DelegateDel: error invoking ConflistDel - "${delegateLabel(d)}": conflistDel: error in getting result from DelNetworkList: ${errorMessage(e)}`
        : `DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": error in getting result from DelNetwork: ${errorMessage(e)}`);
    }
  }
  return errors;
}

function parseArgs(args: CmdArgs): [string, string][] {
  return args.args.split(";").filter((s) => s.includes("=")).map((s) => {
    const i = s.indexOf("=");
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

function sourceOf(n: MultusConf, o: EngineOptions, k8s?: K8sArgsLike): MultusSource | undefined {
  try {
    return o.source(n);
  } catch (e) {
    throw cmdErr(k8s, `error getting k8s client: ${errorMessage(e)}`, e);
  }
}

/** ADD: the master's result; every delegate's interface, or none of them. */
export async function cmdAdd(args: CmdArgs, o: EngineOptions): Promise<Result> {
  let n: MultusConf;
  try {
    n = loadNetConf(args.stdinData);
  } catch (e) {
    throw cmdErr(undefined, `error loading netconf: ${errorMessage(e)}`, e);
  }
  const log = (o.logger ?? new Logger()).configure(n);
  if (n.auxiliaryCNIChainName) throw cmdErr(undefined, `auxiliaryCNIChainName "${n.auxiliaryCNIChainName}" is not supported by this Multus`);
  const source = sourceOf(n, o);
  const k8s = k8sArgsOf(args);
  if (n.readinessindicatorfile && !(await waitForFile(n.readinessindicatorfile, o.readinessTimeoutMs ?? 45_000))) {
    throw cmdErr(k8s, `have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${n.readinessindicatorfile}. pollimmediate error: timed out waiting for the condition`);
  }
  const pod = await getPod(source, k8s, false, o);
  // A pod the API server does not know (deleted meanwhile) gets Multus's empty result;
  // without pod keys in CNI_ARGS (a runtime that is not a kubelet) the delegates still run.
  if (source?.kind === "kubernetes" && !pod && k8s.K8S_POD_NAME && k8s.K8S_POD_NAMESPACE) {
    log.verbose(`CmdAdd: Warning: pod [${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}] not found, exiting with empty CNI result`);
    return emptyResult(args, n.cniVersion);
  }
  const ctx: ResolveContext = { source, resourceClient: o.resourceClient ?? podResourcesClient(n.podResourcesSocket || undefined) };
  const { delegates, legacy } = await resolveDelegates(n, ctx, pod, k8s);
  if (delegates.length === 0) throw cmdErr(k8s, "error loading k8s delegates k8s args: TryLoadPodDelegates: must have either Kubernetes config or delegates");
  const ifNames = ifnamesOf(delegates, args.ifName, legacy);
  const dup = ifNames.find((name, i) => ifNames.indexOf(name) !== i);
  if (dup) throw cmdErr(k8s, `error loading k8s delegates k8s args: two networks ask for interface "${dup}"`);
  try {
    saveDelegates(n.cniDir, args.containerID, delegates, ifNames);
  } catch (e) {
    throw cmdErr(k8s, `error saving the delegates: ${errorMessage(e)}`, e);
  }

  const opts = runtimeOptions(n, args, o.exec);
  const statuses: NetworkStatus[] = [];
  // Events are best effort: sent as the delegates finish, awaited together at the end.
  const events: Promise<void>[] = [];
  let result: Result | undefined;
  for (let idx = 0; idx < delegates.length; idx++) {
    const d = delegates[idx]!;
    const ifName = ifNames[idx]!;
    const netName = delegateNetName(d);
    const rt = delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, ifName, n.runtimeConfig, d);
    let r: Result;
    try {
      validateIfName(args.netns, ifName);
      addDelegateArgs(d, rt);
      r = (await runDelegate("ADD", d, rt, opts))!;
    } catch (e) {
      // Tear down what was added, this one included; DEL is idempotent.
      await delPlugins(args, k8s, n, delegates, ifNames, idx, opts);
      const why = e instanceof Error && e.message.startsWith("validateIfName")
        ? `DelegateAdd: cannot set "${d.conf?.type ?? delegateLabel(d)}" interface name to "${ifName}": ${e.message}`
        : errorMessage(e);
      throw cmdPluginErr(k8s, netName, `error adding container to network "${netName}": ${why}`, e);
    }
    log.verbose(`Add: ${k8s.K8S_POD_NAMESPACE}:${k8s.K8S_POD_NAME}:${pod?.uid ?? "unknownUID"}:${d.name}(${netName}):${ifName} ${JSON.stringify(r)}`);
    const ips = (r.ips ?? []).map((ip) => ip.address);
    if (pod && source && (r.interfaces || r.ips)) {
      events.push(source.event(pod, "Normal", "AddedInterface", d.name ? `Add ${ifName} [${ips.join(" ")}] from ${d.name}` : `Add ${ifName} [${ips.join(" ")}]`));
    }
    if (d.masterPlugin || !result) result = r;
    if (r.interfaces || r.ips) await applyDefaultRoute(args, k8s, n, d, ifName, netName);
    if (pod && source && !n.systemNamespaces.includes(pod.namespace)) statuses.push(...createNetworkStatuses(r, d.name, d.masterPlugin));
  }
  if (pod && source && !n.systemNamespaces.includes(pod.namespace)) {
    try {
      await Promise.all([source.setNetworkStatus(pod, formatNetworkStatus(statuses)), ...(o.awaitEvents === false ? [] : events)]);
    } catch (e) {
      const msg = errorMessage(e);
      if (msg.includes(`pod "`) && msg.includes(`" not found`)) log.verbose(`warning: tolerated failure writing network status (pod not found): ${msg}`);
      else throw cmdErr(k8s, `error setting the networks status: SetNetworkStatus: failed to update the pod ${pod.name} in out of cluster comm: ${msg}`, e);
    }
  }
  if (o.awaitEvents !== false) await Promise.all(events);
  return result!;
}

async function applyDefaultRoute(args: CmdArgs, k8s: K8sArgsLike, n: MultusConf, d: Delegate, ifName: string, netName: string): Promise<void> {
  const wants = (d.gatewayRequest ?? []).length > 0;
  const delV4 = d.isFilterV4Gateway || (!d.isFilterV4Gateway && wants);
  const delV6 = d.isFilterV6Gateway || (!d.isFilterV6Gateway && wants);
  try {
    if (delV4 || delV6) {
      deleteDefaultGW(args.netns, ifName, { v4: delV4, v6: delV6 });
      deleteDefaultGWCache(n.cniDir, netName, args.containerID, ifName, delV4, delV6);
    }
  } catch (e) {
    throw cmdErr(k8s, `error deleting default gateway: ${errorMessage(e)}`, e);
  }
  if (wants && (!d.isFilterV4Gateway || !d.isFilterV6Gateway)) {
    try {
      setDefaultGW(args.netns, ifName, d.gatewayRequest!);
      addDefaultGWCache(n.cniDir, netName, args.containerID, ifName, d.gatewayRequest!);
    } catch (e) {
      throw cmdErr(k8s, `error setting default gateway: ${errorMessage(e)}`, e);
    }
  }
}

/**
 * DEL: from the recorded delegate list in reverse, every error collected. Without a
 * usable record (Multus then gives up silently), it rebuilds: the attachments the
 * runtime's result cache in cniDir still holds for the container, then what the config
 * (and the pod's annotations, while the pod exists) says it should have.
 */
export async function cmdDel(args: CmdArgs, o: EngineOptions): Promise<void> {
  const n = loadNetConf(args.stdinData);
  const log = (o.logger ?? new Logger()).configure(n);
  const k8s = k8sArgsOf(args);
  if (n.readinessindicatorfile && !existsSync(n.readinessindicatorfile)) log.verbose(`warning: readinessindicatorfile @ ${n.readinessindicatorfile} does not exist on CNI DEL`);
  let source: MultusSource | undefined;
  let pod: PodInfo | undefined;
  try {
    source = sourceOf(n, o, k8s);
    pod = await getPod(source, k8s, true, o);
  } catch (e) {
    log.error(`Multus: GetPod failed: ${errorMessage(e)}, but continue to delete`);
  }
  const opts = runtimeOptions(n, args, o.exec);
  const record = readDelegates(n.cniDir, args.containerID);
  let errors: string[];
  if (record.state === "ok") {
    const ifNames = ifnamesOf(record.delegates, args.ifName, false);
    errors = await delPlugins(args, k8s, n, record.delegates, ifNames, record.delegates.length - 1, opts);
  } else {
    if (record.state === "corrupt") log.error(`Multus: failed to load netconf: ${record.error}`);
    errors = await delRebuilt(args, k8s, n, { source, resourceClient: o.resourceClient }, pod, opts, log);
  }
  if (!n.retryDeleteOnError || errors.length === 0 || errors.join(" / ").includes("no such file or directory")) {
    removeDelegates(n.cniDir, args.containerID);
  }
  if (errors.length) throw multusError(`errors: ${errors.join(" / ")}`);
}

async function delRebuilt(args: CmdArgs, k8s: K8sArgsLike, n: MultusConf, ctx: ResolveContext, pod: PodInfo | undefined, opts: RuntimeOptions, log: Logger): Promise<string[]> {
  const errors: string[] = [];
  const done = new Set<string>();
  // 1. What the runtime cached for this container: exact configs and arguments.
  const entries = listCacheEntries(n.cniDir, args.containerID).reverse();
  for (const e of entries) {
    const rt: RuntimeConf = { containerID: args.containerID, netns: args.netns, ifName: e.ifName, args: e.cniArgs ?? [], capabilityArgs: e.capabilityArgs ?? {} };
    try {
      // libcni caches a single config's own bytes, a list's as a list.
      const raw = JSON.parse(new TextDecoder().decode(e.config));
      if (Array.isArray(raw.plugins)) await delNetworkList(confListFromBytes(e.config), rt, opts);
      else await delNetwork(confFromBytes(e.config), rt, opts);
    } catch (err) {
      errors.push(`DelegateDel: error invoking ConflistDel - "${e.network}": ${errorMessage(err)}`);
    }
    done.add(`${e.network}/${e.ifName}`);
  }
  // 2. What the config and the pod say (a delegate that never got to its cache entry).
  let delegates: Delegate[] = [];
  let legacy = false;
  try {
    const r = await resolveDelegates(n, ctx, pod, k8s);
    delegates = r.delegates;
    legacy = r.legacy;
    if (!pod && n.clusterNetwork && !n.systemNamespaces.includes(k8s.K8S_POD_NAMESPACE)) {
      // The pod is gone: its defaultNetworks may still be attached.
      for (const name of n.defaultNetworks) {
        try {
          delegates.push(...(await defaultNetworks(ctx, { namespace: k8s.K8S_POD_NAMESPACE, name: k8s.K8S_POD_NAME, uid: "", annotations: {} }, { ...n, clusterNetwork: n.clusterNetwork, defaultNetworks: [name] })).slice(1));
        } catch {
          // cannot be rebuilt
        }
      }
    }
  } catch (e) {
    log.error(`Multus: failed to get delegates: ${errorMessage(e)}, but continue to delete`);
  }
  const ifNames = ifnamesOf(delegates, args.ifName, legacy);
  const todo = delegates.map((d, i) => ({ d, ifName: ifNames[i]! })).filter(({ d, ifName }) => !done.has(`${delegateNetName(d)}/${ifName}`));
  for (const { d, ifName } of todo.reverse()) {
    const rt = delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, ifName, n.runtimeConfig, d);
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      errors.push(`DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": ${errorMessage(e)}`);
    }
  }
  if (entries.length === 0 && todo.length === 0) log.error("Multus: failed to get the cached delegates file: nothing to rebuild, cannot properly delete");
  return errors;
}

/** CHECK: every recorded delegate (the configured ones when there is no record). */
export async function cmdCheck(args: CmdArgs, o: EngineOptions): Promise<void> {
  const n = loadNetConf(args.stdinData);
  const k8s = k8sArgsOf(args);
  const record = readDelegates(n.cniDir, args.containerID);
  const delegates = record.state === "ok" ? record.delegates : n.delegates;
  const ifNames = ifnamesOf(delegates, args.ifName, record.state !== "ok" && isLegacyDelegates(n));
  const opts = runtimeOptions(n, args, o.exec);
  for (let i = 0; i < delegates.length; i++) {
    const d = delegates[i]!;
    const rt = delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, ifNames[i]!, n.runtimeConfig, d);
    try {
      await runDelegate("CHECK", d, rt, opts);
    } catch (e) {
      throw multusError(d.confList
        ? `DelegateCheck: error invoking ConflistCheck - "${delegateLabel(d)}": conflistCheck: error in getting result from CheckNetworkList: ${errorMessage(e)}`
        : `DelegateCheck: error invoking DelegateCheck - "${delegateLabel(d)}": error in getting result from CheckNetwork: ${errorMessage(e)}`, e);
    }
  }
}

/** STATUS: the cluster network's (1.1.0 and later; older ones have none). */
export async function cmdStatus(args: CmdArgs, o: EngineOptions): Promise<void> {
  let n: MultusConf;
  try {
    n = loadNetConf(args.stdinData);
  } catch (e) {
    throw cmdErr(undefined, `error loading netconf: ${errorMessage(e)}`, e);
  }
  if (n.readinessindicatorfile && !(await waitForFile(n.readinessindicatorfile, o.readinessTimeoutMs ?? 45_000))) {
    throw cmdErr(undefined, `have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${n.readinessindicatorfile}. pollimmediate error: timed out waiting for the condition`);
  }
  let master = n.delegates[0];
  if (n.clusterNetwork) {
    try {
      master = (await defaultNetworks({ source: sourceOf(n, o) }, undefined, n))[0];
    } catch (e) {
      throw cmdErr(undefined, `failed to get clusterNetwork: ${errorMessage(e)}`, e);
    }
  }
  if (!master) return;
  const list = master.confList ? confListFromBytes(master.bytes) : confListFromBytes(new TextEncoder().encode(JSON.stringify({ name: master.conf!.name, cniVersion: master.conf!.cniVersion, plugins: [JSON.parse(new TextDecoder().decode(master.bytes))] })));
  if (!greaterThanOrEqual(list.conf.cniVersion, "1.1.0")) return;
  await getStatusNetworkList(list, runtimeOptions(n, args, o.exec));
}

/** The interface attributes of a /delegate request (Multus's DelegateInterfaceAttributes). */
export interface InterfaceAttributes {
  ips?: string[];
  mac?: string;
  "cni-args"?: Record<string, unknown> | null;
}

/**
 * One delegate added to or removed from a running pod (Multus's /delegate, for hotplug):
 * the config on stdin is the delegate itself, CNI_IFNAME its interface; the pod must exist.
 */
export async function cmdDelegate(args: CmdArgs, o: EngineOptions, multusConf: MultusConf, attrs?: InterfaceAttributes): Promise<Result | undefined> {
  const k8s = k8sArgsOf(args);
  if (!k8s.K8S_POD_NAMESPACE || !k8s.K8S_POD_NAME) {
    throw multusError(`required CNI variable missing. pod name: ${k8s.K8S_POD_NAME}; pod namespace: ${k8s.K8S_POD_NAMESPACE}`);
  }
  const opts = runtimeOptions(multusConf, args, o.exec);
  const sel = attrs ? { name: "", namespace: "", ips: attrs.ips, mac: attrs.mac, "cni-args": attrs["cni-args"] ?? undefined } : undefined;
  const d = loadDelegate(args.stdinData, sel);
  const rt = delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, args.ifName, undefined, d);
  if (args.command === "ADD") {
    const source = sourceOf(multusConf, o, k8s);
    const pod = await getPod(source, k8s, false, o);
    try {
      validateIfName(args.netns, args.ifName);
      addDelegateArgs(d, rt);
      const r = (await runDelegate("ADD", d, rt, opts))!;
      if (pod && source && (r.interfaces || r.ips)) {
        await source.event(pod, "Normal", "AddedInterface", `Add ${args.ifName} [${(r.ips ?? []).map((ip) => ip.address).join(" ")}]${d.name ? ` from ${d.name}` : ""}`);
      }
      return r;
    } catch (e) {
      throw multusError(`error configuring pod [${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}] networking: ${errorMessage(e)}`, e);
    }
  }
  if (args.command === "DEL") {
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      throw multusError(`DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": ${errorMessage(e)}`, e);
    }
    return undefined;
  }
  if (args.command === "CHECK") {
    await runDelegate("CHECK", d, rt, opts);
    return undefined;
  }
  throw multusError(`unknown cmd type: ${args.command}`);
}

/**
 * GC (1.1.0): the cluster network's GC, with every attachment the delegates' result
 * cache in cniDir still holds as valid (Multus's CmdGC; the runtime's own list of valid
 * attachments names Multus's attachments, not its delegates', so it is not used).
 */
export async function cmdGC(args: CmdArgs, o: EngineOptions): Promise<void> {
  let n: MultusConf;
  try {
    n = loadNetConf(args.stdinData);
  } catch (e) {
    throw cmdErr(undefined, `error loading netconf: ${errorMessage(e)}`, e);
  }
  if (n.readinessindicatorfile && !(await waitForFile(n.readinessindicatorfile, o.readinessTimeoutMs ?? 45_000))) {
    throw cmdErr(undefined, `have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${n.readinessindicatorfile}. pollimmediate error: timed out waiting for the condition`);
  }
  let master = n.delegates[0];
  if (n.clusterNetwork) {
    try {
      master = (await defaultNetworks({ source: sourceOf(n, o) }, undefined, n))[0];
    } catch (e) {
      throw cmdErr(undefined, `failed to get clusterNetwork: ${errorMessage(e)}`, e);
    }
  }
  if (!master) return;
  const list = master.confList ? confListFromBytes(master.bytes) : confListFromBytes(new TextEncoder().encode(JSON.stringify({ name: master.conf!.name, cniVersion: master.conf!.cniVersion, plugins: [JSON.parse(new TextDecoder().decode(master.bytes))] })));
  const valid = listCacheEntries(n.cniDir).map((e) => ({ containerID: e.containerID, ifname: e.ifName }));
  try {
    await gcNetworkList(list, valid, runtimeOptions(n, args, o.exec));
  } catch (e) {
    throw multusError(`error in GC command: ${errorMessage(e)}`, e);
  }
}
