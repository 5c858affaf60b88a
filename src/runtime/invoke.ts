/** One plugin call on top of a PluginExec: the CNI_* environment, results, VERSION probes. */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { parseResult } from "../spec/result.ts";
import type { Command, Result } from "../spec/types.ts";
import { CURRENT_VERSION, type VersionInfo } from "../spec/version.ts";
import type { PluginExec } from "./exec.ts";

/** The values of the six CNI_* variables of one call. */
export interface PluginArgs {
  command: Command;
  containerID?: string;
  netns?: string;
  ifName?: string;
  args?: readonly (readonly [string, string])[];
  path: readonly string[];
}

/**
 * The environment of one call: the inherited one with the six CNI_* variables set
 * over it, so our own CNI_* values (we may be a plugin that delegates) never replace
 * the call's.
 */
export function pluginEnv(a: PluginArgs, base: Record<string, string | undefined> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.CNI_COMMAND = a.command;
  env.CNI_CONTAINERID = a.containerID ?? "";
  env.CNI_NETNS = a.netns ?? "";
  env.CNI_ARGS = (a.args ?? []).map(([k, v]) => `${k}=${v}`).join(";");
  env.CNI_IFNAME = a.ifName ?? "";
  env.CNI_PATH = a.path.join(":");
  return env;
}

/**
 * Runs an ADD and decodes its result; a result without cniVersion is taken to be in
 * the config's version, as libcni does for plugins that forget it (CNI issue #895).
 */
export async function execWithResult(
  exec: PluginExec,
  call: { pluginPath: string; stdin: Uint8Array; env: Record<string, string>; confVersion: string },
): Promise<Result> {
  const out = await exec.execPlugin(call.pluginPath, call.stdin, call.env);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(out));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode the result of plugin "${call.pluginPath}": ${errorMessage(e)}`);
  }
  return parseResult(raw ?? {}, call.confVersion);
}

/**
 * Asks a plugin which spec versions it supports. Plugins older than VERSION answer
 * "unknown CNI_COMMAND: VERSION" and speak 0.1.0 only. The dummy values satisfy old
 * skels that check CNI_NETNS/CNI_IFNAME/CNI_PATH for every command.
 */
export async function getVersionInfo(exec: PluginExec, pluginPath: string, base?: Record<string, string | undefined>): Promise<VersionInfo> {
  const env = pluginEnv({ command: "VERSION", netns: "dummy", ifName: "dummy", path: ["dummy"] }, base);
  const stdin = new TextEncoder().encode(JSON.stringify({ cniVersion: CURRENT_VERSION }));
  try {
    return exec.decode(await exec.execPlugin(pluginPath, stdin, env));
  } catch (e) {
    if (e instanceof CniError && e.message === "unknown CNI_COMMAND: VERSION") return { cniVersion: "0.1.0", supportedVersions: ["0.1.0"] };
    throw e;
  }
}
