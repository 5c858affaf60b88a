/** Operations on a network config list: the calls a container runtime makes per pod. */
import type { Result } from "../spec/types.ts";
import { cacheDirOf, listChain, netChain } from "./_chain.ts";
import { type AddOptions, chainAdd, chainCachedResult, chainCheck, chainDel } from "./_ops.ts";
import { readCacheEntry } from "./cache.ts";
import type { NetworkConfig, NetworkConfigList, RuntimeConf, RuntimeOptions } from "./types.ts";

export type { AddOptions };

/** ADD: runs every plugin in order, each with the previous result; caches and returns the last result, in the list's version. */
export function addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: AddOptions = {}): Promise<Result> {
  return chainAdd(listChain(list), rt, opts);
}

/** CHECK (0.4.0 and later): runs every plugin in order with the cached result; nothing when the list sets disableCheck. */
export function checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: RuntimeOptions = {}): Promise<void> {
  return chainCheck(listChain(list), rt, opts);
}

/** DEL: runs every plugin in reverse order with the cached result (if readable), then drops the cache entry. */
export function delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: RuntimeOptions = {}): Promise<void> {
  return chainDel(listChain(list), rt, opts);
}

/** The cached result of the list's attachment, converted to the list's version; undefined when none. */
export function getCachedResult(list: NetworkConfigList, rt: RuntimeConf, opts: RuntimeOptions = {}): Result | undefined {
  return chainCachedResult(listChain(list), rt, opts);
}

/**
 * The config bytes an attachment was made with and its RuntimeConf with the cached
 * CNI_ARGS and capability args (libcni's GetNetworkListCachedConfig); undefined when none.
 */
export function getCachedConfig(list: NetworkConfigList, rt: RuntimeConf, opts: RuntimeOptions = {}): { config: Uint8Array; rt: RuntimeConf } | undefined {
  const entry = readCacheEntry(cacheDirOf(opts, rt), { network: list.conf.name, containerID: rt.containerID, ifName: rt.ifName });
  if (!entry) return undefined;
  const out: RuntimeConf = { ...rt, capabilityArgs: entry.capabilityArgs ?? {} };
  if (entry.cniArgs) out.args = entry.cniArgs;
  return { config: entry.config, rt: out };
}

/** ADD with a single network config. */
export function addNetwork(net: NetworkConfig, rt: RuntimeConf, opts: AddOptions = {}): Promise<Result> {
  return chainAdd(netChain(net), rt, opts);
}

/** CHECK with a single network config (0.4.0 and later). */
export function checkNetwork(net: NetworkConfig, rt: RuntimeConf, opts: RuntimeOptions = {}): Promise<void> {
  return chainCheck(netChain(net), rt, opts);
}

/** DEL with a single network config. */
export function delNetwork(net: NetworkConfig, rt: RuntimeConf, opts: RuntimeOptions = {}): Promise<void> {
  return chainDel(netChain(net), rt, opts);
}

/** The cached result of a single network's attachment, converted to its version. */
export function getNetworkCachedResult(net: NetworkConfig, rt: RuntimeConf, opts: RuntimeOptions = {}): Result | undefined {
  return chainCachedResult(netChain(net), rt, opts);
}
