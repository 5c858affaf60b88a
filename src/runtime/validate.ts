/** Is a config usable here? Every plugin found on CNI_PATH and speaking its version (libcni's Validate*). */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { NetConf } from "../spec/types.ts";
import { validateNetworkName } from "../spec/validate.ts";
import { isSupported, type VersionInfo } from "../spec/version.ts";
import { type Resolved, listChain, netChain, resolve } from "./_chain.ts";
import { getVersionInfo } from "./invoke.ts";
import type { NetworkConfig, NetworkConfigList, RuntimeOptions } from "./types.ts";

/** Options of the validate calls. */
export interface ValidateOptions extends RuntimeOptions {
  /** VERSION answers by plugin path, shared between calls so each plugin is asked once. */
  versionCache?: Map<string, Promise<VersionInfo>>;
}

/** The VERSION answer of plugin `type` as found on CNI_PATH. */
export function pluginVersionInfo(type: string, opts: ValidateOptions = {}): Promise<VersionInfo> {
  return probe(resolve(opts), type, opts.versionCache);
}

/**
 * Checks a list: a valid network name, every plugin found and supporting the list's
 * version, capabilities a map of booleans. Resolves to the capabilities the list
 * enables (sorted); rejects with every problem at once.
 */
export async function validateNetworkList(list: NetworkConfigList, opts: ValidateOptions = {}): Promise<string[]> {
  const chain = listChain(list);
  return validatePlugins(chain.name, chain.cniVersion, chain.plugins, opts);
}

/** Checks a single network config the same way; resolves to its enabled capabilities. */
export async function validateNetwork(net: NetworkConfig, opts: ValidateOptions = {}): Promise<string[]> {
  const chain = netChain(net);
  return validatePlugins(chain.name, chain.cniVersion, chain.plugins, opts);
}

async function validatePlugins(name: string, version: string, plugins: NetConf[], opts: ValidateOptions): Promise<string[]> {
  const r = resolve(opts);
  const errors: string[] = [];
  const caps = new Set<string>();
  try {
    validateNetworkName(name);
  } catch (e) {
    errors.push(`${errorMessage(e)} ${JSON.stringify(name)}`);
  }
  // Probe in parallel: each VERSION is a process start, and a conf dir scan asks many.
  const probes = plugins.map((p) =>
    probe(r, p.type, opts.versionCache).then(
      (vi) => ({ vi }),
      (err: unknown) => ({ err }),
    ),
  );
  for (const [i, conf] of plugins.entries()) {
    const res = await probes[i]!;
    if ("err" in res) errors.push(errorMessage(res.err));
    else if (!isSupported(version, res.vi.supportedVersions)) errors.push(`plugin ${conf.type} does not support config version "${version}"`);
    for (const [cap, enabled] of Object.entries(conf.capabilities ?? {})) {
      if (typeof enabled !== "boolean") errors.push(`plugin ${conf.type}: capability "${cap}" must be true or false, not ${JSON.stringify(enabled)}`);
      else if (enabled) caps.add(cap);
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.InvalidNetworkConfig, errors.join("; "));
  return [...caps].sort();
}

function probe(r: Resolved, type: string, cache?: Map<string, Promise<VersionInfo>>): Promise<VersionInfo> {
  let pluginPath: string;
  try {
    pluginPath = r.exec.findInPath(type, r.path);
  } catch (e) {
    return Promise.reject(e);
  }
  const hit = cache?.get(pluginPath);
  if (hit) return hit;
  const p = getVersionInfo(r.exec, pluginPath, r.env);
  cache?.set(pluginPath, p);
  return p;
}
