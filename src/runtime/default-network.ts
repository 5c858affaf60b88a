/**
 * Which network a kubelet-style runtime uses when it takes "the first config" of a
 * conf dir: the first file, by name, that parses, has a type or plugins, and whose
 * plugins are all on CNI_PATH and support its version. Every file gets a record so
 * a CLI can say why each other one was skipped.
 */
import type { VersionInfo } from "../spec/version.ts";
import { errorMessage } from "../spec/error.ts";
import { confFiles, loadAnyConfFile } from "./conf-dir.ts";
import type { NetworkConfigList, RuntimeOptions } from "./types.ts";
import { validateNetworkList } from "./validate.ts";

/** What was found out about one conf dir file. */
export interface ConfFileStatus {
  file: string;
  /** The network name, when the file parsed far enough to have one. */
  name?: string;
  /** Parses and every plugin is available for its version. */
  valid: boolean;
  /** Why it is not valid, or why a valid file is not the default; empty for the default. */
  reason: string;
  default: boolean;
  /** The loaded list, when it parsed. */
  list?: NetworkConfigList;
}

/** The default network of a conf dir and the status of every file in it. */
export interface DefaultNetwork {
  network?: NetworkConfigList;
  files: ConfFileStatus[];
}

/** Picks the default network of `dir` with plugins from `cniPath`; every file is checked, each plugin asked VERSION once. */
export async function defaultNetwork(dir: string, cniPath: readonly string[], opts: RuntimeOptions = {}): Promise<DefaultNetwork> {
  const versionCache = new Map<string, Promise<VersionInfo>>();
  const files = confFiles(dir);
  // Loading is cheap and synchronous; the VERSION probes are the cost, so start them all.
  const checks = files.map((file) => check(file, { ...opts, path: cniPath, versionCache }));
  const statuses = await Promise.all(checks);
  const chosen = statuses.find((s) => s.valid);
  if (chosen) {
    chosen.default = true;
    const at = chosen.file.slice(chosen.file.lastIndexOf("/") + 1);
    for (const s of statuses) if (s.valid && s !== chosen) s.reason = `not the default: "${at}" comes first`;
  }
  return chosen?.list ? { network: chosen.list, files: statuses } : { files: statuses };
}

async function check(file: string, opts: RuntimeOptions & { versionCache: Map<string, Promise<VersionInfo>> }): Promise<ConfFileStatus> {
  let list: NetworkConfigList;
  try {
    list = loadAnyConfFile(file);
  } catch (e) {
    return { file, valid: false, reason: errorMessage(e), default: false };
  }
  const status: ConfFileStatus = { file, name: list.conf.name, valid: false, reason: "", default: false, list };
  try {
    await validateNetworkList(list, opts);
    status.valid = true;
  } catch (e) {
    status.reason = errorMessage(e);
  }
  return status;
}
