import { CniError, ErrorCode, errorMessage } from "./error.ts";
import { parseJSON } from "./json.ts";
import type { NetConf, NetConfList } from "./types.ts";
import { IMPLICIT_VERSION, negotiateListVersion, parseVersion } from "./version.ts";

function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** Decodes JSON bytes or text; code 6 when it is not JSON. */
export function decodeJSON(input: string | Uint8Array, what = "config"): unknown {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  try {
    return parseJSON(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode ${what}: ${errorMessage(e)}`);
  }
}

/**
 * Reads a boolean that may be written as true/false or, as libcni accepts, as the
 * strings "true"/"false" in any case. Absent is false; anything else is code 7.
 */
export function parseBoolField(obj: Record<string, unknown>, field: string): boolean {
  const v = obj[field];
  if (v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  return invalid(`Invalid value for "${field}": ${JSON.stringify(v)} is not a boolean`);
}

/**
 * Validates and types one plugin config (a `.conf` or an element of `plugins`): it
 * needs a "type"; the known fields must have their spec types; every other field is
 * passed through untouched. A missing cniVersion reads as 0.1.0 and a missing name as "".
 */
export function parseNetConf(raw: unknown, where = "config"): NetConf {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ${where}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  if (obj.cniVersion !== undefined && typeof obj.cniVersion !== "string") invalid(`Invalid ${where}: "cniVersion" must be a string`);
  if (obj.cniVersion) parseVersion(obj.cniVersion as string);
  if (obj.name !== undefined && typeof obj.name !== "string") invalid(`Invalid ${where}: "name" must be a string`);
  if (obj.type === undefined || obj.type === "") invalid(`Invalid ${where}: missing "type"`);
  if (typeof obj.type !== "string") invalid(`Invalid ${where}: "type" must be a string`);
  if (obj.capabilities !== undefined && !isBoolMap(obj.capabilities)) {
    invalid(`Invalid ${where}: "capabilities" must be an object of booleans`);
  }
  if (obj.ipam !== undefined && !isObject(obj.ipam)) invalid(`Invalid ${where}: "ipam" must be an object`);
  if (obj.dns !== undefined && !isObject(obj.dns)) invalid(`Invalid ${where}: "dns" must be an object`);
  return { ...obj, cniVersion: (obj.cniVersion as string) || IMPLICIT_VERSION, name: (obj.name as string) ?? "" } as NetConf;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBoolMap(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((b) => typeof b === "boolean");
}

/** Options of parseNetConfList. */
export interface ConfListOptions {
  /**
   * Accept a list without "plugins" (SPEC 1.1: plugins may come from the sibling
   * folder named after the network; the caller loads them and must then refuse a
   * list that still has none). Off by default: a list with no plugins is code 7.
   */
  allowMissingPlugins?: boolean;
}

/**
 * Validates and types a conf list as libcni's NetworkConfFromBytes does, with code 7
 * for every fault: a name is required; disableCheck, disableGC and
 * loadOnlyInlinedPlugins may be strings; the version is negotiated from `cniVersions`;
 * unknown fields pass through untouched.
 */
export function parseNetConfList(raw: unknown, where = "config list", options: ConfListOptions = {}): NetConfList {
  if (!isObject(raw)) invalid(`Invalid ${where}: not a JSON object`);
  const obj = raw;
  if (obj.name === undefined || obj.name === "") invalid(`Invalid ${where}: missing "name"`);
  if (typeof obj.name !== "string") invalid(`Invalid ${where}: "name" must be a string`);
  if (obj.cniVersion !== undefined && typeof obj.cniVersion !== "string") invalid(`Invalid ${where}: "cniVersion" must be a string`);
  let versions: string[] | undefined;
  if (obj.cniVersions !== undefined) {
    if (!Array.isArray(obj.cniVersions) || obj.cniVersions.some((v) => typeof v !== "string")) {
      invalid(`Invalid ${where}: "cniVersions" must be an array of strings`);
    }
    versions = obj.cniVersions as string[];
  }
  const cniVersion = negotiateListVersion(obj.cniVersion as string | undefined, versions) || IMPLICIT_VERSION;
  const flags = {
    disableCheck: parseBoolField(obj, "disableCheck"),
    disableGC: parseBoolField(obj, "disableGC"),
    loadOnlyInlinedPlugins: parseBoolField(obj, "loadOnlyInlinedPlugins"),
  };
  let plugins: NetConf[] = [];
  if (obj.plugins === undefined) {
    if (!options.allowMissingPlugins) invalid(`Invalid ${where} "${obj.name}": missing "plugins"`);
    if (flags.loadOnlyInlinedPlugins) invalid(`Invalid ${where} "${obj.name}": "loadOnlyInlinedPlugins" is true and there is no "plugins"`);
  } else {
    if (!Array.isArray(obj.plugins)) invalid(`Invalid ${where} "${obj.name}": "plugins" must be an array`);
    if (obj.plugins.length === 0) invalid(`Invalid ${where} "${obj.name}": no plugins in list`);
    plugins = obj.plugins.map((p, i) => parseNetConf(p, `plugin ${i} of "${obj.name}"`));
  }
  return { ...obj, ...flags, cniVersion, name: obj.name, plugins };
}

/** Wraps a single config into a list of one, as libcni's ConfListFromConf does. */
export function confListFromConf(conf: NetConf): NetConfList {
  return { cniVersion: conf.cniVersion, name: conf.name, plugins: [conf] };
}
