/**
 * One plugin command run as the plugin process would have run it: what every thread of
 * `cni-ts daemon` does with a request. Loaded by the daemon's worker threads, each with
 * its own copy of this module and of every plugin module (no state shared between them).
 */
import { wireOwnPlugins } from "../cli/own-plugins.ts";
import { hasPlugin, loadPlugin } from "../plugins/registry.ts";
import { runPlugin } from "../skel/run.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { marshalIndent } from "../spec/json.ts";
import type { CniAnswer, CniRequest } from "./protocol.ts";

/** Readies this thread to run commands: our own IPAM and delegates run in-process, as in a plugin process. */
export function wireCommandRunner(): void {
  wireOwnPlugins();
}

/** The plugin types a node runs for most pods (a runtime's default networks and podman's), loaded up front. */
const COMMON_TYPES = ["bridge", "host-local", "portmap", "firewall", "tuning", "loopback", "ptp", "macvlan", "bandwidth", "static"];

/** Loads the modules of the common plugin types; one that fails to load is left to its first command. */
export async function preloadPlugins(): Promise<void> {
  await Promise.all(COMMON_TYPES.filter(hasPlugin).map((t) => loadPlugin(t).catch(() => undefined)));
}

/** Runs one plugin command as the plugin process would have. */
export async function runCommand(req: CniRequest): Promise<CniAnswer> {
  const type = req.plugin ?? configType(req.config);
  if (!type || !hasPlugin(type)) {
    const err = new CniError(ErrorCode.InvalidNetworkConfig, `cni-ts daemon: no plugin type "${type ?? ""}" in this binary`);
    err.cniVersion = configVersion(req.config);
    return { exitCode: 1, stdout: marshalIndent(err), stderr: "" };
  }
  const plugin = await loadPlugin(type);
  const answer = await runPlugin(plugin.funcs, plugin.info, { env: req.env, stdin: req.config });
  // One line per command: what a node's operator looks for when a pod's network fails.
  const e = req.env;
  console.error(`cni-ts daemon: ${e.CNI_COMMAND} ${type} container=${e.CNI_CONTAINERID ?? ""} ifname=${e.CNI_IFNAME ?? ""}: exit ${answer.exitCode}`);
  return answer;
}

function configField(config: Uint8Array, field: string): string | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(config))?.[field];
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
const configType = (c: Uint8Array) => configField(c, "type");
const configVersion = (c: Uint8Array) => configField(c, "cniVersion") ?? "";
