/**
 * Network configs on disk, as libcni reads them: `.conflist` lists, `.conf`/`.json`
 * single configs (wrapped into lists of one), and plugin configs in
 * `<dir>/<network>/*.conf` appended to a list unless it sets `loadOnlyInlinedPlugins`.
 */
import { readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { confListFromConf as wrapConf, decodeJSON, parseBoolField, parseNetConf, parseNetConfList } from "../spec/conf.ts";
import { validateNetworkName } from "../spec/validate.ts";
import type { NetworkConfig, NetworkConfigList } from "./types.ts";

/** Every extension a conf dir may hold, in libcni's spelling. */
export const CONF_EXTENSIONS = [".conf", ".conflist", ".json"] as const;

/** Files of `dir` with one of `extensions`, sorted by name; a missing dir has none. Directories are skipped. */
export function confFiles(dir: string, extensions: readonly string[] = CONF_EXTENSIONS): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IOFailure, `Cannot read conf dir "${dir}": ${errorMessage(e)}`);
  }
  return entries
    .filter((e) => !e.isDirectory() && extensions.includes(extname(e.name)))
    .map((e) => e.name)
    .sort()
    .map((n) => join(dir, n));
}

/** Parses one plugin config (a `.conf` file's bytes); it must have a type. */
export function confFromBytes(bytes: Uint8Array, file?: string): NetworkConfig {
  const conf = parseNetConf(decodeJSON(bytes, file ? `"${file}"` : "config"), file ? `config "${file}"` : "config");
  return file ? { conf, bytes, file } : { conf, bytes };
}

/**
 * Parses a list's bytes. With `dir`, plugin configs in `<dir>/<name>/*.conf` are
 * appended (a list may then leave out `plugins`); the bytes of such a list are the
 * merged list, so the result cache holds everything a later DEL or GC needs.
 */
export function confListFromBytes(bytes: Uint8Array, options: { file?: string; dir?: string } = {}): NetworkConfigList {
  const where = options.file ? `config list "${options.file}"` : "config list";
  const raw = decodeJSON(bytes, where);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid ${where}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  const inlineOnly = parseBoolField(obj, "loadOnlyInlinedPlugins");
  if (obj.plugins === undefined && inlineOnly) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid ${where}: "loadOnlyInlinedPlugins" is true and there is no "plugins" key`);
  }
  if (Array.isArray(obj.plugins) && obj.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid ${where}: no plugins in list`);
  // The name becomes a path: only a valid network name may pick a plugin folder.
  const extra = options.dir !== undefined && !inlineOnly && isNetworkName(obj.name) ? pluginConfsFromDir(join(options.dir, obj.name)) : [];
  if (obj.plugins === undefined && extra.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid ${where}: no plugin configs found`);
  let effective = obj;
  let outBytes = bytes;
  if (extra.length > 0) {
    const inline = Array.isArray(obj.plugins) ? obj.plugins : [];
    effective = { ...obj, plugins: [...inline, ...extra.map((p) => decodeJSON(p.bytes))], loadOnlyInlinedPlugins: true };
    outBytes = new TextEncoder().encode(JSON.stringify(effective));
  }
  const conf = parseNetConfList(effective, where);
  const list: NetworkConfigList = { conf, bytes: outBytes };
  if (options.file) list.file = options.file;
  return list;
}

/** The plugin configs of `<dir>/<network>/*.conf`, sorted by file name. */
export function pluginConfsFromDir(pluginDir: string): NetworkConfig[] {
  return confFiles(pluginDir, [".conf"]).map((f) => confFromBytes(readBytes(f), f));
}

/** Wraps a single config into a list of one; its bytes become the list's JSON, as libcni's ConfListFromConf. */
export function confListFromConf(net: NetworkConfig): NetworkConfigList {
  const raw = decodeJSON(net.bytes) as Record<string, unknown>;
  const bytes = new TextEncoder().encode(JSON.stringify({ name: net.conf.name, cniVersion: net.conf.cniVersion, plugins: [raw] }));
  const list: NetworkConfigList = { conf: wrapConf(net.conf), bytes };
  if (net.file) list.file = net.file;
  return list;
}

/** Loads a `.conflist` file, merging plugin configs from `<its dir>/<name>/`. */
export function loadConfListFile(file: string): NetworkConfigList {
  return confListFromBytes(readBytes(file), { file, dir: join(file, "..") });
}

/** Loads a `.conf`/`.json` file. */
export function loadConfFile(file: string): NetworkConfig {
  return confFromBytes(readBytes(file), file);
}

/** Loads any conf dir file as a list: a `.conflist` as is, a single config wrapped. */
export function loadAnyConfFile(file: string): NetworkConfigList {
  return extname(file) === ".conflist" ? loadConfListFile(file) : confListFromConf(loadConfFile(file));
}

/**
 * Loads network `name` from `dir`: the first `.conflist` of that name, else the first
 * `.conf`/`.json` of that name as a list of one. Like libcni, a file that does not
 * parse is an error even when it is not the one asked for.
 */
export function loadConfList(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, [".conflist"]);
  for (const f of lists) {
    const list = loadConfListFile(f);
    if (list.conf.name === name) return list;
  }
  const singles = confFiles(dir, [".conf", ".json"]);
  if (lists.length === 0 && singles.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  return confListFromConf(findConf(dir, name, singles));
}

/** Loads the single config (`.conf`/`.json`) named `name` from `dir`. */
export function loadConf(dir: string, name: string): NetworkConfig {
  const singles = confFiles(dir, [".conf", ".json"]);
  if (singles.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  return findConf(dir, name, singles);
}

function findConf(dir: string, name: string, files: string[]): NetworkConfig {
  for (const f of files) {
    const net = loadConfFile(f);
    if (net.conf.name === name) return net;
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configuration with name "${name}" in ${dir}`);
}

function isNetworkName(name: unknown): name is string {
  try {
    validateNetworkName(name as string);
    return typeof name === "string";
  } catch {
    return false;
  }
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `Cannot read "${file}": ${errorMessage(e)}`);
  }
}
