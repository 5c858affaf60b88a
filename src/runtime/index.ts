/**
 * The runtime library (the libcni side): load configs from a conf dir, find and run
 * plugins, chain them, keep the result cache, and ADD/CHECK/DEL/GC/STATUS networks.
 */
export type { NetworkConfig, NetworkConfigList, RuntimeConf, RuntimeOptions } from "./types.ts";
export { DEFAULT_CACHE_DIR, DEFAULT_CNI_PATH } from "./types.ts";
export {
  CONF_EXTENSIONS,
  confFiles,
  confFromBytes,
  confListFromBytes,
  confListFromConf,
  loadAnyConfFile,
  loadConf,
  loadConfFile,
  loadConfList,
  loadConfListFile,
  pluginConfsFromDir,
} from "./conf-dir.ts";
export { defaultNetwork, type ConfFileStatus, type DefaultNetwork } from "./default-network.ts";
export { decodeVersionInfo, defaultExec, findInPath, type ExecOptions, type InProcessRunner, type PluginExec } from "./exec.ts";
export { PluginError, decodePluginFailure, type PluginFailure } from "./plugin-error.ts";
export { execWithResult, getVersionInfo, pluginEnv, type PluginArgs } from "./invoke.ts";
export { buildPluginConfig, describePlugin, type BuildInput } from "./build-config.ts";
export {
  CACHE_KIND_V1,
  cacheFilePath,
  deleteCacheEntry,
  listCacheEntries,
  readCacheEntry,
  readCachedResult,
  writeCacheEntry,
  type CacheEntry,
  type CacheKey,
} from "./cache.ts";
export {
  addNetwork,
  addNetworkList,
  checkNetwork,
  checkNetworkList,
  delNetwork,
  delNetworkList,
  getCachedConfig,
  getCachedResult,
  getNetworkCachedResult,
  type AddOptions,
} from "./network-list.ts";
export { gcNetworkList } from "./gc.ts";
export { getStatusNetworkList } from "./status.ts";
export { pluginVersionInfo, validateNetwork, validateNetworkList, type ValidateOptions } from "./validate.ts";
