/** What the Multus commands share: options, CNI_ARGS, the pod, delegate runs and their undoing. */
import { existsSync } from "node:fs";
import { confFromBytes, confListFromBytes } from "../../runtime/conf-dir.ts";
import type { PluginExec } from "../../runtime/exec.ts";
import { addNetwork, addNetworkList, checkNetwork, checkNetworkList, delNetwork, delNetworkList } from "../../runtime/network-list.ts";
import type { RuntimeConf, RuntimeOptions } from "../../runtime/types.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { errorMessage } from "../../spec/error.ts";
import type { Result } from "../../spec/types.ts";
import { NetlinkHandle, linkFind } from "../../netlink/index.ts";
import { checkIPRequest } from "./annotations.ts";
import { auxiliaryChain } from "./aux-chain.ts";
import { isLegacyDelegates, loadNetConf } from "./conf.ts";
import { delegateRuntimeConf } from "./delegate.ts";
import { cmdErr, type K8sArgsLike, multusError } from "./errors.ts";
import { Logger } from "./log.ts";
import { defaultNetworks, legacyConfDelegates, podDelegates, type ResolveContext, type ResourceClient } from "./resolve.ts";
import { type MultusSource, NotFoundError } from "./source.ts";
import type { Delegate, MultusConf, PodInfo, RuntimeConfig } from "./types.ts";

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

export const K8S_KEYS = ["IP", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"] as const;

export function k8sArgsOf(args: CmdArgs): K8sArgsLike {
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

export function runtimeOptions(n: MultusConf, args: CmdArgs, exec: PluginExec): RuntimeOptions {
  return { path: [n.binDir, ...args.path], exec, cacheDir: n.cniDir };
}

/**
 * A command's start, as Multus's Cmd* begin: the config (a broken one is "error loading
 * netconf" for ADD, STATUS and GC, Go's plain error for DEL and CHECK), the logger it
 * configures, the pod keys of CNI_ARGS, and the readiness indicator file: ADD, STATUS
 * and GC wait for it (45 s), DEL only notes that it is missing, CHECK ignores it.
 */
export async function startCommand(
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC",
  args: CmdArgs,
  o: EngineOptions,
): Promise<{ n: MultusConf; log: Logger; k8s: K8sArgsLike }> {
  const waits = command === "ADD" || command === "STATUS" || command === "GC";
  let n: MultusConf;
  try {
    n = loadNetConf(args.stdinData);
  } catch (e) {
    if (!waits) throw e;
    throw cmdErr(undefined, `error loading netconf: ${errorMessage(e)}`, e);
  }
  const log = (o.logger ?? new Logger()).configure(n);
  // STATUS and GC are not about a pod: their CNI_ARGS are not read.
  const k8s = command === "STATUS" || command === "GC" ? NO_POD : k8sArgsOf(args);
  const file = n.readinessindicatorfile;
  if (file && waits && !(await waitForFile(file, o.readinessTimeoutMs ?? 45_000))) {
    throw cmdErr(
      command === "ADD" ? k8s : undefined,
      `have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${file}. pollimmediate error: timed out waiting for the condition`,
    );
  }
  if (file && command === "DEL" && !existsSync(file)) log.verbose(`warning: readinessindicatorfile @ ${file} does not exist on CNI DEL`);
  return { n, log, k8s };
}

const NO_POD: K8sArgsLike = { K8S_POD_NAMESPACE: "", K8S_POD_NAME: "", K8S_POD_INFRA_CONTAINER_ID: "", K8S_POD_UID: "" };

export async function waitForFile(path: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) return true;
    if (Date.now() >= until) return false;
    await Bun.sleep(Math.min(1000, Math.max(0, until - Date.now())));
  }
}

export function isStaticPod(pod: PodInfo): boolean {
  const src = pod.annotations["kubernetes.io/config.source"];
  return src !== undefined && src !== "api";
}

/**
 * GetPod: the pod of CNI_ARGS; undefined without a source or when it does not exist.
 * Errors reaching the API server are retried for 2.5 s, then asked once more live.
 */
export async function getPod(source: MultusSource | undefined, k8s: K8sArgsLike, isDel: boolean, o: EngineOptions): Promise<PodInfo | undefined> {
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

export function emptyResult(args: CmdArgs, cniVersion: string): Result {
  return {
    cniVersion: cniVersion || "1.0.0",
    interfaces: [{ name: args.ifName, sandbox: args.netns }],
    ips: [{ address: "0.0.0.0/0", gateway: "0.0.0.0" }],
  };
}

export function validateIfName(netns: string, ifName: string): void {
  let found;
  try {
    using h = NetlinkHandle.atPath(netns);
    found = linkFind(h, ifName);
  } catch (e) {
    throw multusError(`validateIfName: no net namespace ${netns} found: ${errorMessage(e)}`, e);
  }
  if (found) throw multusError(`validateIfName: interface name ${ifName} already exists`);
}

/** The delegates a request works on (the auxiliary chain last), and whether they are numbered the v1 way. */
export async function resolveDelegates(
  n: MultusConf,
  ctx: ResolveContext,
  pod: PodInfo | undefined,
  k8s: K8sArgsLike,
  log: Logger,
): Promise<{ delegates: Delegate[]; legacy: boolean }> {
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
  const aux = auxiliaryChain(n, k8s, log);
  if (aux) delegates = [...delegates, aux];
  return { delegates, legacy };
}

/** The RuntimeConf delegate `d` runs with on `ifName` for this request (Multus's CreateCNIRuntimeConf). */
export function delegateRuntimeConfOf(args: CmdArgs, k8s: K8sArgsLike, d: Delegate, ifName: string, rc: RuntimeConfig | undefined): RuntimeConf {
  return delegateRuntimeConf({ containerID: args.containerID, netns: args.netns, args: parseArgs(args) }, k8s, ifName, rc, d);
}

export function addDelegateArgs(d: Delegate, rt: RuntimeConf): void {
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

export async function runDelegate(command: "ADD" | "DEL" | "CHECK", d: Delegate, rt: RuntimeConf, opts: RuntimeOptions): Promise<Result | undefined> {
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

export function delegateLabel(d: Delegate): string {
  return d.confList ? d.confList.name : (d.conf?.type ?? "");
}

/** delPlugins: DEL of delegates lastIdx..0 in reverse, every error collected. */
export async function delPlugins(
  args: CmdArgs,
  k8s: K8sArgsLike,
  n: MultusConf,
  delegates: Delegate[],
  ifNames: string[],
  lastIdx: number,
  opts: RuntimeOptions,
): Promise<string[]> {
  const errors: string[] = [];
  for (let i = lastIdx; i >= 0; i--) {
    const d = delegates[i]!;
    const rt = delegateRuntimeConfOf(args, k8s, d, ifNames[i]!, n.runtimeConfig);
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      errors.push(
        d.confList
          ? `DelegateDel: error invoking ConflistDel - "${delegateLabel(d)}": conflistDel: error in getting result from DelNetworkList: ${errorMessage(e)}`
          : `DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": error in getting result from DelNetwork: ${errorMessage(e)}`,
      );
    }
  }
  return errors;
}

export function parseArgs(args: CmdArgs): [string, string][] {
  return args.args
    .split(";")
    .filter((s) => s.includes("="))
    .map((s) => {
      const i = s.indexOf("=");
      return [s.slice(0, i), s.slice(i + 1)];
    });
}

export function sourceOf(n: MultusConf, o: EngineOptions, k8s?: K8sArgsLike): MultusSource | undefined {
  try {
    return o.source(n);
  } catch (e) {
    throw cmdErr(k8s, `error getting k8s client: ${errorMessage(e)}`, e);
  }
}
