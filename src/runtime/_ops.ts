/** ADD, CHECK and DEL of a chain, with the result cache (libcni's CNIConfig). */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { convertResult, parseResult } from "../spec/result.ts";
import type { Result } from "../spec/types.ts";
import { greaterThanOrEqual } from "../spec/version.ts";
import { cacheDirOf, type Chain, pluginFailed, resolve, runOne } from "./_chain.ts";
import { cacheFileName, deleteCacheEntry, readCachedResult, writeCacheEntry } from "./cache.ts";
import type { RuntimeConf, RuntimeOptions } from "./types.ts";

/** Options of an ADD. */
export interface AddOptions extends RuntimeOptions {
  /**
   * When a plugin fails, DEL the whole chain before reporting the error, as the
   * kubelet does after a failed ADD, so plugins that did their part undo it.
   */
  delOnFailure?: boolean;
}

/** The attachment's names, checked before any plugin runs: they also name its cache file. */
function checkRuntimeConf(chain: Chain, rt: RuntimeConf): void {
  cacheFileName({ network: chain.name, containerID: rt.containerID, ifName: rt.ifName });
}

export async function chainAdd(chain: Chain, rt: RuntimeConf, opts: AddOptions): Promise<Result> {
  checkRuntimeConf(chain, rt);
  if (chain.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `Cannot ADD network "${chain.name}": it has no plugins`);
  const r = resolve(opts);
  let result: Result | undefined;
  try {
    for (const conf of chain.plugins) {
      try {
        result = await runOne(r, chain, { command: "ADD", conf, rt, prevResult: result });
      } catch (e) {
        throw pluginFailed(conf, "add", e);
      }
    }
  } catch (e) {
    if (opts.delOnFailure) {
      // Best effort: the ADD's error is the one worth reporting.
      await chainDel(chain, rt, opts).catch(() => undefined);
    }
    throw e;
  }
  // Stored in the list's version: what the last plugin returned, as the next reader expects it.
  const stored = convertResult(result!, chain.cniVersion);
  writeCacheEntry(cacheDirOf(opts, rt), {
    network: chain.name,
    containerID: rt.containerID,
    ifName: rt.ifName,
    config: chain.bytes,
    netns: rt.netns,
    cniArgs: rt.args,
    capabilityArgs: rt.capabilityArgs,
    result: stored,
  });
  return parseResult(stored, chain.cniVersion);
}

export async function chainCheck(chain: Chain, rt: RuntimeConf, opts: RuntimeOptions): Promise<void> {
  if (!greaterThanOrEqual(chain.cniVersion, "0.4.0")) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `configuration version "${chain.cniVersion}" does not support the CHECK command`);
  }
  if (chain.disableCheck) return;
  checkRuntimeConf(chain, rt);
  const r = resolve(opts);
  let cached: Result | undefined;
  try {
    cached = chainCachedResult(chain, rt, opts);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to get network "${chain.name}" cached result: ${errorMessage(e)}`, { cause: e });
  }
  if (!cached) {
    throw new CniError(
      ErrorCode.UnknownContainer,
      `Cannot CHECK network "${chain.name}": no cached result for container "${rt.containerID}" interface "${rt.ifName}"`,
    );
  }
  for (const conf of chain.plugins) {
    try {
      await runOne(r, chain, { command: "CHECK", conf, rt, prevResult: cached });
    } catch (e) {
      throw pluginFailed(conf, "check", e);
    }
  }
}

export async function chainDel(chain: Chain, rt: RuntimeConf, opts: RuntimeOptions): Promise<void> {
  checkRuntimeConf(chain, rt);
  const r = resolve(opts);
  const dir = cacheDirOf(opts, rt);
  const key = { network: chain.name, containerID: rt.containerID, ifName: rt.ifName };
  let cached: Result | undefined;
  // The cached result is passed from 0.4.0 on. A corrupt entry must not block the
  // DEL, or the attachment could never be removed: drop it and go on without.
  if (greaterThanOrEqual(chain.cniVersion, "0.4.0")) {
    try {
      cached = readCachedResult(dir, { ...key, toVersion: chain.cniVersion });
    } catch {
      deleteCacheEntry(dir, key);
    }
  }
  for (const conf of [...chain.plugins].reverse()) {
    try {
      await runOne(r, chain, { command: "DEL", conf, rt, prevResult: cached });
    } catch (e) {
      throw pluginFailed(conf, "delete", e);
    }
  }
  deleteCacheEntry(dir, key);
}

export function chainCachedResult(chain: Chain, rt: RuntimeConf, opts: RuntimeOptions): Result | undefined {
  return readCachedResult(cacheDirOf(opts, rt), { network: chain.name, containerID: rt.containerID, ifName: rt.ifName, toVersion: chain.cniVersion });
}
