/** ADD (Multus's CmdAdd): every delegate of the pod, recorded first, undone in reverse when one fails. */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { errorMessage } from "../../spec/error.ts";
import type { Result } from "../../spec/types.ts";
import { delegateNetName, ifnamesOf } from "./delegate.ts";
import { cmdErr, cmdPluginErr, type K8sArgsLike } from "./errors.ts";
import { addDefaultGWCache, deleteDefaultGW, deleteDefaultGWCache, setDefaultGW } from "./gateway.ts";
import { createNetworkStatuses, formatNetworkStatus } from "./network-status.ts";
import type { ResolveContext } from "./resolve.ts";
import { resourceClientFor } from "./pod-resources.ts";
import { saveDelegates } from "./scratch.ts";
import type { Delegate, MultusConf, NetworkStatus } from "./types.ts";
import {
  addDelegateArgs,
  delegateLabel,
  delegateRuntimeConfOf,
  delPlugins,
  emptyResult,
  type EngineOptions,
  getPod,
  resolveDelegates,
  runDelegate,
  runtimeOptions,
  sourceOf,
  startCommand,
  validateIfName,
} from "./_engine-kit.ts";

/** ADD: the master's result; every delegate's interface, or none of them. */
export async function cmdAdd(args: CmdArgs, o: EngineOptions): Promise<Result> {
  const { n, log, k8s } = await startCommand("ADD", args, o);
  const source = sourceOf(n, o);
  const pod = await getPod(source, k8s, false, o);
  // A pod the API server does not know (deleted meanwhile) gets Multus's empty result;
  // without pod keys in CNI_ARGS (a runtime that is not a kubelet) the delegates still run.
  if (source?.kind === "kubernetes" && !pod && k8s.K8S_POD_NAME && k8s.K8S_POD_NAMESPACE) {
    log.verbose(`CmdAdd: Warning: pod [${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}] not found, exiting with empty CNI result`);
    return emptyResult(args, n.cniVersion);
  }
  const ctx: ResolveContext = { source, resourceClient: o.resourceClient ?? resourceClientFor(n) };
  const { delegates, legacy } = await resolveDelegates(n, ctx, pod, k8s, log);
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
  // Events are best effort: sent as the delegates finish, one after the other (a plugin
  // process then needs one TLS connection to the API server, not one per event), awaited
  // at the end.
  let events: Promise<void> = Promise.resolve();
  let result: Result | undefined;
  for (let idx = 0; idx < delegates.length; idx++) {
    const d = delegates[idx]!;
    const ifName = ifNames[idx]!;
    const netName = delegateNetName(d);
    const rt = delegateRuntimeConfOf(args, k8s, d, ifName, n.runtimeConfig);
    let r: Result;
    try {
      validateIfName(args.netns, ifName);
      addDelegateArgs(d, rt);
      r = (await runDelegate("ADD", d, rt, opts))!;
    } catch (e) {
      // Tear down what was added, this one included; DEL is idempotent.
      await delPlugins(args, k8s, n, delegates, ifNames, idx, opts);
      const why =
        e instanceof Error && e.message.startsWith("validateIfName")
          ? `DelegateAdd: cannot set "${d.conf?.type ?? delegateLabel(d)}" interface name to "${ifName}": ${e.message}`
          : errorMessage(e);
      throw cmdPluginErr(k8s, netName, `error adding container to network "${netName}": ${why}`, e);
    }
    log.verbose(`Add: ${k8s.K8S_POD_NAMESPACE}:${k8s.K8S_POD_NAME}:${pod?.uid ?? "unknownUID"}:${d.name}(${netName}):${ifName} ${JSON.stringify(r)}`);
    const ips = (r.ips ?? []).map((ip) => ip.address);
    if (pod && source && (r.interfaces || r.ips)) {
      const msg = d.name ? `Add ${ifName} [${ips.join(" ")}] from ${d.name}` : `Add ${ifName} [${ips.join(" ")}]`;
      events = events.then(() => source.event(pod, "Normal", "AddedInterface", msg));
    }
    if (d.masterPlugin || !result) result = r;
    if (r.interfaces || r.ips) await applyDefaultRoute(args, k8s, n, d, ifName, netName);
    if (pod && source && !n.systemNamespaces.includes(pod.namespace)) statuses.push(...createNetworkStatuses(r, d.name, d.masterPlugin));
  }
  if (pod && source && !n.systemNamespaces.includes(pod.namespace)) {
    try {
      // A plugin process writes the status once its events are out, on the same connection;
      // a daemon sends events in the background.
      if (o.awaitEvents !== false) await events;
      await source.setNetworkStatus(pod, formatNetworkStatus(statuses));
    } catch (e) {
      const msg = errorMessage(e);
      if (msg.includes(`pod "`) && msg.includes(`" not found`)) log.verbose(`warning: tolerated failure writing network status (pod not found): ${msg}`);
      else throw cmdErr(k8s, `error setting the networks status: SetNetworkStatus: failed to update the pod ${pod.name} in out of cluster comm: ${msg}`, e);
    }
  }
  if (o.awaitEvents !== false) await events;
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
