/**
 * The multus plugin's config (Multus's LoadNetConf): every field with Multus's default,
 * `delegates` loaded as delegate networks (the first is the master), or
 * `clusterNetwork`/`defaultNetworks` left to be resolved per request.
 */
import { decodeJSON } from "../../spec/conf.ts";
import { errorMessage } from "../../spec/error.ts";
import { loadDelegate } from "./delegate.ts";
import { multusError } from "./errors.ts";
import type { Delegate, MultusConf } from "./types.ts";

export const DEFAULT_CNI_DIR = "/var/lib/cni/multus";
export const DEFAULT_CONF_DIR = "/etc/cni/multus/net.d";
export const DEFAULT_BIN_DIR = "/opt/cni/bin";
export const DEFAULT_MULTUS_NAMESPACE = "kube-system";

function fail(msg: string): never {
  throw multusError(`LoadNetConf: ${msg}`);
}

function str(o: Record<string, unknown>, k: string, dflt: string): string {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string") fail(`failed to load netconf: json: cannot unmarshal ${typeof v} into Go struct field NetConf.${k} of type string`);
  return v;
}

function bool(o: Record<string, unknown>, k: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") fail(`failed to load netconf: json: cannot unmarshal ${typeof v} into Go struct field NetConf.${k} of type bool`);
  return v;
}

function strList(o: Record<string, unknown>, k: string, dflt: string[]): string[] {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    fail(`failed to load netconf: json: cannot unmarshal into Go struct field NetConf.${k} of type []string`);
  return v as string[];
}

/** Parses the multus config from stdin bytes. */
export function loadNetConf(bytes: Uint8Array | string): MultusConf {
  let raw: unknown;
  try {
    raw = decodeJSON(bytes, "netconf");
  } catch (e) {
    fail(`failed to load netconf: ${errorMessage(e)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("failed to load netconf: not a JSON object");
  const o = raw as Record<string, unknown>;
  const rawDelegates = o.delegates ?? [];
  if (!Array.isArray(rawDelegates) || rawDelegates.some((d) => typeof d !== "object" || d === null || Array.isArray(d))) {
    fail("failed to load netconf: json: cannot unmarshal into Go struct field NetConf.delegates of type []map[string]interface {}");
  }
  const n: MultusConf = {
    cniVersion: str(o, "cniVersion", ""),
    name: str(o, "name", ""),
    type: str(o, "type", ""),
    confDir: str(o, "confDir", DEFAULT_CONF_DIR),
    cniDir: str(o, "cniDir", DEFAULT_CNI_DIR),
    binDir: str(o, "binDir", DEFAULT_BIN_DIR),
    delegates: [],
    rawDelegates: rawDelegates as Record<string, unknown>[],
    clusterNetwork: str(o, "clusterNetwork", ""),
    defaultNetworks: strList(o, "defaultNetworks", []),
    kubeconfig: str(o, "kubeconfig", ""),
    logFile: str(o, "logFile", ""),
    logLevel: str(o, "logLevel", ""),
    logToStderr: bool(o, "logToStderr", true),
    readinessindicatorfile: str(o, "readinessindicatorfile", ""),
    namespaceIsolation: bool(o, "namespaceIsolation", false),
    nonIsolatedNamespaces: ["default"],
    auxiliaryCNIChainName: str(o, "auxiliaryCNIChainName", ""),
    systemNamespaces: strList(o, "systemNamespaces", ["kube-system"]),
    multusNamespace: str(o, "multusNamespace", DEFAULT_MULTUS_NAMESPACE),
    retryDeleteOnError: bool(o, "retryDeleteOnError", false),
    nadDir: str(o, "nadDir", ""),
    podResourcesSocket: str(o, "podResourcesSocket", ""),
    deviceCheckpointFile: str(o, "deviceCheckpointFile", ""),
    raw: o,
  };
  if (o.logOptions && typeof o.logOptions === "object") n.logOptions = o.logOptions as MultusConf["logOptions"];
  if (o.runtimeConfig && typeof o.runtimeConfig === "object") n.runtimeConfig = o.runtimeConfig as MultusConf["runtimeConfig"];
  if (o.capabilities && typeof o.capabilities === "object") n.capabilities = o.capabilities as Record<string, boolean>;

  if (n.rawDelegates.length === 0 && n.clusterNetwork === "") fail("at least one delegate/clusterNetwork must be specified");

  const globals = str(o, "globalNamespaces", "");
  if (globals !== "") n.nonIsolatedNamespaces = globals.split(",").map((s) => s.trim());

  if (n.clusterNetwork === "") {
    // v1 delegates carried no version (plugins read 0.1.0 and answered without interfaces):
    // they speak the multus config's.
    const legacy = isLegacyDelegates(n);
    n.delegates = n.rawDelegates.map((d, i): Delegate => {
      try {
        const conf = legacy && d.cniVersion === undefined && n.cniVersion ? { ...d, cniVersion: n.cniVersion } : d;
        return loadDelegate(new TextEncoder().encode(JSON.stringify(conf)));
      } catch (e) {
        return fail(`failed to load delegate ${i} config: ${errorMessage(e)}`);
      }
    });
    markMaster(n);
  }
  return n;
}

/**
 * The first delegate is the master, as in Multus; in the v1 form (the seed's) an entry
 * with `"masterplugin": true` is the master wherever it stands.
 */
function markMaster(n: MultusConf): void {
  const legacy = n.rawDelegates.findIndex((d) => d.masterplugin === true);
  n.delegates[legacy >= 0 ? legacy : 0]!.masterPlugin = true;
}

/** True when the config is in the Multus v1 form: some `delegates` entry says `masterplugin`. */
export function isLegacyDelegates(n: MultusConf): boolean {
  return n.rawDelegates.some((d) => d.masterplugin !== undefined);
}
