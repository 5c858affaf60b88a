/** The runtime's data types: what a caller passes in, and a loaded config with its bytes. */
import type { NetConf, NetConfList } from "../spec/types.ts";
import type { PluginExec } from "./exec.ts";

/**
 * The arguments of one attachment, everything but the network config (libcni's
 * RuntimeConf). `capabilityArgs` is filtered through each plugin's `capabilities`
 * into its `runtimeConfig`.
 */
export interface RuntimeConf {
  containerID: string;
  /** CNI_NETNS; may be empty for DEL when the namespace is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS as ordered pairs. */
  args?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** Where the result cache lives; RuntimeOptions.cacheDir wins over it, as in libcni. */
  cacheDir?: string;
}

/** One plugin config loaded from a `.conf`/`.json` file, with the bytes the cache records. */
export interface NetworkConfig {
  conf: NetConf;
  bytes: Uint8Array;
  /** The file it came from, when it came from one. */
  file?: string;
}

/**
 * A network config list with the bytes the result cache records (libcni's
 * NetworkConfigList); `conf.cniVersion` is already negotiated from `cniVersions`.
 */
export interface NetworkConfigList {
  conf: NetConfList;
  bytes: Uint8Array;
  file?: string;
}

/** How the runtime finds and runs plugins; every field has a default. */
export interface RuntimeOptions {
  /** CNI_PATH directories; default: $CNI_PATH split on ":", else /opt/cni/bin. */
  path?: readonly string[];
  /** Finds and runs plugins; default: defaultExec(). */
  exec?: PluginExec;
  /** The result cache directory; wins over RuntimeConf.cacheDir; default /var/lib/cni. */
  cacheDir?: string;
  /** The environment plugins inherit (the CNI_* variables are set over it); default process.env. */
  env?: Record<string, string | undefined>;
}

/** libcni's default cache directory, shared with containerd, CRI-O and podman. */
export const DEFAULT_CACHE_DIR = "/var/lib/cni";

/** libcni's conventional plugin directory. */
export const DEFAULT_CNI_PATH = "/opt/cni/bin";
