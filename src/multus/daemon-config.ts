/**
 * Multus's daemon config (`daemon-config.json`): the server's own fields
 * (ControllerNetConf) and the multus config it generates or overrides clients with
 * (MultusConf). The whole file is laid over every request's CNI config, as Multus does.
 */
import { readFileSync } from "node:fs";

export const DEFAULT_DAEMON_CONFIG = "/etc/cni/net.d/multus.d/daemon-config.json";
export const DEFAULT_SOCKET_DIR = "/run/multus/";
export const SOCKET_NAME = "multus.sock";

/** The fields of daemon-config.json the daemon reads itself. */
export interface DaemonConfig {
  socketDir: string;
  logFile: string;
  logLevel: string;
  logToStderr: boolean;
  chrootDir: string;
  connectionLimit?: number;
  /** "auto": generate 00-multus.conf from the first config of multusAutoconfigDir; else a file to copy. */
  multusConfigFile: string;
  cniVersion: string;
  cniConfigDir: string;
  multusAutoconfigDir: string;
  multusMasterCNI: string;
  readinessindicatorfile: string;
  forceCNIVersion: boolean;
  overrideNetworkName: boolean;
  /** Ours: Kubernetes access (Multus uses the in-cluster config or per-node certificates). */
  kubeconfig: string;
  /** Ours: the node whose pods are cached; default $MULTUS_NODE_NAME. */
  nodeName: string;
  /** The file's bytes, laid over each request's config. */
  contents: Record<string, unknown>;
}

/** Reads and checks daemon-config.json. */
export function loadDaemonConfig(path: string, env = process.env): DaemonConfig {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`failed to load the CNI server configuration "${path}": ${(e as Error).message}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error(`failed to load the CNI server configuration "${path}": not a JSON object`);
  const s = (k: string, d: string) => (typeof o[k] === "string" ? (o[k] as string) : d);
  const b = (k: string, d: boolean) => (typeof o[k] === "boolean" ? (o[k] as boolean) : d);
  if ((o.perNodeCertificate as { enabled?: boolean } | undefined)?.enabled)
    throw new Error("perNodeCertificate is not supported: give the daemon a kubeconfig");
  const cfg: DaemonConfig = {
    socketDir: s("socketDir", "") || DEFAULT_SOCKET_DIR,
    logFile: s("logFile", ""),
    logLevel: s("logLevel", ""),
    logToStderr: b("logToStderr", false),
    chrootDir: s("chrootDir", ""),
    multusConfigFile: s("multusConfigFile", "auto"),
    cniVersion: s("cniVersion", ""),
    cniConfigDir: s("cniConfigDir", "/etc/cni/net.d"),
    multusAutoconfigDir: s("multusAutoconfigDir", ""),
    multusMasterCNI: s("multusMasterCNI", ""),
    readinessindicatorfile: s("readinessindicatorfile", ""),
    forceCNIVersion: b("forceCNIVersion", false),
    overrideNetworkName: b("overrideNetworkName", false),
    kubeconfig: s("kubeconfig", ""),
    nodeName: s("nodeName", "") || env.MULTUS_NODE_NAME || "",
    contents: o,
  };
  if (cfg.chrootDir) throw new Error("chrootDir is not supported: run the daemon in the host's file system");
  if (typeof o.connectionLimit === "number") {
    if (o.connectionLimit <= 0) throw new Error(`connection limit must be greater than 0, got ${o.connectionLimit}`);
    cfg.connectionLimit = o.connectionLimit;
  }
  cfg.multusAutoconfigDir ||= cfg.cniConfigDir;
  return cfg;
}

/**
 * overrideCNIConfigWithServerConfig: the daemon config's keys over the client's CNI
 * config; with the readiness indicator handled by the daemon, that key is dropped from both.
 */
export function overrideConfig(client: Uint8Array, server: Record<string, unknown>, ignoreReadinessIndicator: boolean): Uint8Array {
  if (Object.keys(server).length === 0 && !ignoreReadinessIndicator) return client;
  const conf = JSON.parse(new TextDecoder().decode(client)) as Record<string, unknown>;
  if (ignoreReadinessIndicator) delete conf.readinessindicatorfile;
  for (const [k, v] of Object.entries(server)) if (!ignoreReadinessIndicator || k !== "readinessindicatorfile") conf[k] = v;
  return new TextEncoder().encode(JSON.stringify(conf));
}
