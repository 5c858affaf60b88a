import { CniError, ErrorCode } from "./error.ts";
import type { NetConf, NetConfList } from "./types.ts";
import { IMPLICIT_VERSION, negotiateListVersion, parseVersion } from "./version.ts";

function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** Decodes JSON bytes or text; code 6 when it is not JSON. */
export function decodeJSON(input: string | Uint8Array, what = "config"): unknown {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode ${what}: ${(e as Error).message}`);
  }
}

/** Reads a boolean that may be written as true/false or "true"/"false" (libcni accepts both). */
export function parseBoolField(obj: Record<string, unknown>, field: string): boolean {
  const v = obj[field];
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  return invalid(`Invalid value for "${field}": ${JSON.stringify(v)} is not a boolean`);
}

/** Validates and types one plugin config (a `.conf` or an element of `plugins`). */
export function parseNetConf(raw: unknown, where = "config"): NetConf {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ${where}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  if (obj.cniVersion !== undefined && typeof obj.cniVersion !== "string") invalid(`Invalid ${where}: "cniVersion" must be a string`);
  if (obj.cniVersion) parseVersion(obj.cniVersion as string);
  if (obj.name !== undefined && typeof obj.name !== "string") invalid(`Invalid ${where}: "name" must be a string`);
  if (typeof obj.type !== "string" || obj.type === "") invalid(`Invalid ${where}: missing "type"`);
  if (obj.capabilities !== undefined && (typeof obj.capabilities !== "object" || obj.capabilities === null)) {
    invalid(`Invalid ${where}: "capabilities" must be an object`);
  }
  if (obj.ipam !== undefined && (typeof obj.ipam !== "object" || obj.ipam === null)) invalid(`Invalid ${where}: "ipam" must be an object`);
  return { ...obj, cniVersion: (obj.cniVersion as string) || IMPLICIT_VERSION, name: (obj.name as string) ?? "" } as NetConf;
}

/** Validates and types a conf list; booleans may be strings; `cniVersions` is negotiated. */
export function parseNetConfList(raw: unknown, where = "config list"): NetConfList {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ${where}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  if (typeof obj.name !== "string" || obj.name === "") invalid(`Invalid ${where}: missing "name"`);
  if (obj.cniVersion !== undefined && typeof obj.cniVersion !== "string") invalid(`Invalid ${where}: "cniVersion" must be a string`);
  let versions: string[] | undefined;
  if (obj.cniVersions !== undefined) {
    if (!Array.isArray(obj.cniVersions) || obj.cniVersions.some((v) => typeof v !== "string")) {
      invalid(`Invalid ${where}: "cniVersions" must be an array of strings`);
    }
    versions = obj.cniVersions as string[];
  }
  const cniVersion = negotiateListVersion(obj.cniVersion as string | undefined, versions);
  if (!Array.isArray(obj.plugins)) invalid(`Invalid ${where} "${obj.name}": missing "plugins" array`);
  const flags = {
    disableCheck: parseBoolField(obj, "disableCheck"),
    disableGC: parseBoolField(obj, "disableGC"),
    loadOnlyInlinedPlugins: parseBoolField(obj, "loadOnlyInlinedPlugins"),
  };
  const plugins = (obj.plugins as unknown[]).map((p, i) => parseNetConf(p, `plugin ${i} of "${obj.name}"`));
  return { ...obj, ...flags, cniVersion, name: obj.name as string, plugins };
}

/** Wraps a single config into a list of one, as libcni's ConfListFromConf does. */
export function confListFromConf(conf: NetConf): NetConfList {
  return { cniVersion: conf.cniVersion, name: conf.name, plugins: [conf] };
}
