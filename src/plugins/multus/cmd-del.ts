/** DEL (Multus's CmdDel), and what it can rebuild when the delegate record is gone. */
import { confFromBytes, confListFromBytes } from "../../runtime/conf-dir.ts";
import { isAuxiliaryChain } from "./aux-chain.ts";
import { listCacheEntries } from "../../runtime/cache.ts";
import { delNetwork, delNetworkList } from "../../runtime/network-list.ts";
import type { RuntimeConf, RuntimeOptions } from "../../runtime/types.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { errorMessage } from "../../spec/error.ts";
import { delegateNetName, ifnamesOf } from "./delegate.ts";
import { type K8sArgsLike, multusError } from "./errors.ts";
import { Logger } from "./log.ts";
import { defaultNetworks, type ResolveContext } from "./resolve.ts";
import { readDelegates, removeDelegates } from "./scratch.ts";
import { type MultusSource } from "./source.ts";
import type { Delegate, MultusConf, PodInfo } from "./types.ts";
import {
  delegateLabel,
  delegateRuntimeConfOf,
  delPlugins,
  type EngineOptions,
  getPod,
  resolveDelegates,
  runDelegate,
  runtimeOptions,
  sourceOf,
  startCommand,
} from "./_engine-kit.ts";

/**
 * DEL: from the recorded delegate list in reverse, every error collected. Without a
 * usable record (Multus then gives up silently), it rebuilds: the attachments the
 * runtime's result cache in cniDir still holds for the container, then what the config
 * (and the pod's annotations, while the pod exists) says it should have.
 */
export async function cmdDel(args: CmdArgs, o: EngineOptions): Promise<void> {
  const { n, log, k8s } = await startCommand("DEL", args, o);
  const opts = runtimeOptions(n, args, o.exec);
  const record = readDelegates(n.cniDir, args.containerID);
  let errors: string[];
  if (record.state === "ok") {
    // The record says it all: Multus reads the pod here only to log its UID, so no API
    // request (and no TLS connection) is made.
    const ifNames = ifnamesOf(record.delegates, args.ifName, false);
    errors = await delPlugins(args, k8s, n, record.delegates, ifNames, record.delegates.length - 1, opts);
  } else {
    if (record.state === "corrupt") log.error(`Multus: failed to load netconf: ${record.error}`);
    let source: MultusSource | undefined;
    let pod: PodInfo | undefined;
    try {
      source = sourceOf(n, o, k8s);
      pod = await getPod(source, k8s, true, o);
    } catch (e) {
      log.error(`Multus: GetPod failed: ${errorMessage(e)}, but continue to delete`);
    }
    errors = await delRebuilt(args, k8s, n, { source, resourceClient: o.resourceClient }, pod, opts, log);
  }
  if (!n.retryDeleteOnError || errors.length === 0 || errors.join(" / ").includes("no such file or directory")) {
    removeDelegates(n.cniDir, args.containerID);
  }
  if (errors.length) throw multusError(`errors: ${errors.join(" / ")}`);
}

async function delRebuilt(
  args: CmdArgs,
  k8s: K8sArgsLike,
  n: MultusConf,
  ctx: ResolveContext,
  pod: PodInfo | undefined,
  opts: RuntimeOptions,
  log: Logger,
): Promise<string[]> {
  const errors: string[] = [];
  const done = new Set<string>();
  // 1. What the runtime cached for this container: exact configs and arguments.
  const entries = listCacheEntries(n.cniDir, args.containerID).reverse();
  for (const e of entries) {
    const rt: RuntimeConf = {
      containerID: args.containerID,
      netns: args.netns,
      ifName: e.ifName,
      args: e.cniArgs ?? [],
      capabilityArgs: e.capabilityArgs ?? {},
    };
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
    const r = await resolveDelegates(n, ctx, pod, k8s, log);
    delegates = r.delegates;
    legacy = r.legacy;
    if (!pod && n.clusterNetwork && !n.systemNamespaces.includes(k8s.K8S_POD_NAMESPACE)) {
      // The pod is gone: its defaultNetworks may still be attached.
      for (const name of n.defaultNetworks) {
        try {
          delegates.push(
            ...(
              await defaultNetworks(
                ctx,
                { namespace: k8s.K8S_POD_NAMESPACE, name: k8s.K8S_POD_NAME, uid: "", annotations: {} },
                { ...n, clusterNetwork: n.clusterNetwork, defaultNetworks: [name] },
              )
            ).slice(1),
          );
        } catch {
          // cannot be rebuilt
        }
      }
    }
  } catch (e) {
    log.error(`Multus: failed to get delegates: ${errorMessage(e)}, but continue to delete`);
  }
  // The auxiliary chain ran last, after the defaultNetworks added above: its interface name is its place.
  delegates = [...delegates.filter((d) => !isAuxiliaryChain(d)), ...delegates.filter(isAuxiliaryChain)];
  const ifNames = ifnamesOf(delegates, args.ifName, legacy);
  const todo = delegates.map((d, i) => ({ d, ifName: ifNames[i]! })).filter(({ d, ifName }) => !done.has(`${delegateNetName(d)}/${ifName}`));
  for (const { d, ifName } of todo.reverse()) {
    const rt = delegateRuntimeConfOf(args, k8s, d, ifName, n.runtimeConfig);
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      errors.push(`DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": ${errorMessage(e)}`);
    }
  }
  if (entries.length === 0 && todo.length === 0) log.error("Multus: failed to get the cached delegates file: nothing to rebuild, cannot properly delete");
  return errors;
}
