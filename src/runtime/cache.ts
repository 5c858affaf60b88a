/**
 * The result cache, in libcni's layout and format so that libcni-based runtimes
 * (containerd, CRI-O, podman) and ours read each other's entries:
 * `<cacheDir>/results/<network>-<containerID>-<ifName>`, a JSON object of kind
 * "cniCacheV1" whose `config` is the list's bytes in base64 (Go's []byte encoding).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { convertResult, parseResult } from "../spec/result.ts";
import type { Result } from "../spec/types.ts";
import { validateContainerID, validateInterfaceName, validateNetworkName } from "../spec/validate.ts";
import { ensureStateDir, readStateFile, removeStateFile, writeStateFile } from "../sys/state-file.ts";

/** libcni's cache kind tag. */
export const CACHE_KIND_V1 = "cniCacheV1";

/** Which attachment an entry belongs to. */
export interface CacheKey {
  network: string;
  containerID: string;
  ifName: string;
}

/** One cache entry, decoded. */
export interface CacheEntry extends CacheKey {
  /** The list (or single config) bytes the attachment was made with. */
  config: Uint8Array;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The result as stored, in the version it was stored in. */
  result?: unknown;
}

/** The JSON shape on disk; field names and order are libcni's cachedInfo. */
interface CacheFile {
  kind: string;
  containerId: string;
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: unknown;
}

/** The longest file name Linux file systems take (NAME_MAX). */
const NAME_MAX = 255;

/**
 * The entry's file name; every part is validated since it names a file, and the whole
 * must fit NAME_MAX (code 4: in practice the container id is what is too long).
 */
export function cacheFileName(key: CacheKey): string {
  validateNetworkName(key.network);
  validateContainerID(key.containerID);
  validateInterfaceName(key.ifName);
  const name = `${key.network}-${key.containerID}-${key.ifName}`;
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `containerID too long: the cache file name "<network>-<containerID>-<ifName>" would be ${bytes} bytes, more than ${NAME_MAX}`,
      { details: key.containerID },
    );
  }
  return name;
}

/** Path of the entry of one attachment (see cacheFileName). */
export function cacheFilePath(cacheDir: string, key: CacheKey): string {
  return join(cacheDir, "results", cacheFileName(key));
}

/** Writes an entry (atomically: a reader never sees half a file). */
export function writeCacheEntry(cacheDir: string, entry: CacheEntry): void {
  const file = cacheFilePath(cacheDir, entry);
  const body: CacheFile = {
    kind: CACHE_KIND_V1,
    containerId: entry.containerID,
    config: Buffer.from(entry.config).toString("base64"),
    ifName: entry.ifName,
    networkName: entry.network,
  };
  // Go's omitempty drops empty strings, slices and maps; match it so files look alike.
  if (entry.netns) body.netns = entry.netns;
  if (entry.cniArgs?.length) body.cniArgs = entry.cniArgs;
  if (entry.capabilityArgs && Object.keys(entry.capabilityArgs).length) body.capabilityArgs = entry.capabilityArgs;
  if (entry.result !== undefined) body.result = entry.result;
  try {
    ensureStateDir(cacheDir, "results");
    writeStateFile(file, JSON.stringify(body));
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `Cannot write cache file "${file}": ${errorMessage(e)}`);
  }
}

/** Reads the entry of one attachment; undefined when there is none, code 6 when it is not a cniCacheV1 entry. */
export function readCacheEntry(cacheDir: string, key: CacheKey): CacheEntry | undefined {
  const file = cacheFilePath(cacheDir, key);
  const text = readIfExists(file);
  if (text === undefined) return undefined;
  const entry = decodeEntry(text);
  if (!entry) throw new CniError(ErrorCode.DecodingFailure, `Cannot decode cache file "${file}": not a ${CACHE_KIND_V1} entry`);
  return entry;
}

/**
 * The cached result of an attachment converted to `toVersion` (so a plugin gets a
 * prevResult in its config's version); undefined when nothing is cached. A file that
 * is not a cniCacheV1 entry is read as a bare result, libcni's legacy format.
 */
export function readCachedResult(cacheDir: string, key: CacheKey & { toVersion: string }): Result | undefined {
  const file = cacheFilePath(cacheDir, key);
  const text = readIfExists(file);
  if (text === undefined) return undefined;
  const entry = decodeEntry(text);
  let raw: unknown;
  if (entry) raw = entry.result;
  else {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, `Cannot decode cache file "${file}": ${errorMessage(e)}`);
    }
  }
  if (raw === undefined || raw === null) throw new CniError(ErrorCode.DecodingFailure, `Cache file "${file}" has no result`);
  return parseResult(convertResult(parseResult(raw), key.toVersion), key.toVersion);
}

/** Removes the entry of one attachment; nothing to remove is fine. */
export function deleteCacheEntry(cacheDir: string, key: CacheKey): void {
  removeStateFile(cacheFilePath(cacheDir, key));
}

/**
 * Every cniCacheV1 entry in the cache, optionally of one container, sorted by file
 * name (libcni's GetCachedAttachments); unreadable and foreign files are skipped.
 */
export function listCacheEntries(cacheDir: string, containerID?: string): CacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(join(cacheDir, "results")).sort();
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IOFailure, `Cannot list cache dir "${cacheDir}": ${errorMessage(e)}`);
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    if (containerID && !name.includes(`-${containerID}-`)) continue;
    const text = readIfExists(join(cacheDir, "results", name));
    const entry = text === undefined ? undefined : decodeEntry(text);
    if (!entry || !entry.ifName || !entry.network) continue;
    if (containerID && entry.containerID !== containerID) continue;
    out.push(entry);
  }
  return out;
}

function readIfExists(file: string): string | undefined {
  try {
    // A symlink planted in the cache reads as no entry: its target is never used.
    return readStateFile(file);
  } catch {
    // libcni ignores read errors here too: a missing entry is the normal case.
    return undefined;
  }
}

function decodeEntry(text: string): CacheEntry | undefined {
  let o: Partial<CacheFile>;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || o.kind !== CACHE_KIND_V1) return undefined;
  const entry: CacheEntry = {
    network: String(o.networkName ?? ""),
    containerID: String(o.containerId ?? ""),
    ifName: String(o.ifName ?? ""),
    config: typeof o.config === "string" ? new Uint8Array(Buffer.from(o.config, "base64")) : new Uint8Array(),
  };
  if (typeof o.netns === "string" && o.netns) entry.netns = o.netns;
  if (Array.isArray(o.cniArgs)) entry.cniArgs = o.cniArgs.filter((p) => Array.isArray(p) && p.length === 2).map(([k, v]) => [String(k), String(v)]);
  if (o.capabilityArgs && typeof o.capabilityArgs === "object") entry.capabilityArgs = o.capabilityArgs;
  if (o.result !== undefined && o.result !== null) entry.result = o.result;
  return entry;
}
