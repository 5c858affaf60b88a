/**
 * The work shared by list and single-network operations: a chain is a name, a version,
 * plugins and the bytes the cache records, however it was loaded.
 */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { Command, NetConf, Result } from "../spec/types.ts";
import { buildPluginConfig, describePlugin } from "./build-config.ts";
import { defaultExec, type PluginExec } from "./exec.ts";
import { execWithResult, pluginEnv } from "./invoke.ts";
import { DEFAULT_CACHE_DIR, DEFAULT_CNI_PATH, type NetworkConfig, type NetworkConfigList, type RuntimeConf, type RuntimeOptions } from "./types.ts";

export interface Chain {
  name: string;
  cniVersion: string;
  plugins: NetConf[];
  bytes: Uint8Array;
  disableCheck: boolean;
  disableGC: boolean;
}

export interface Resolved {
  path: readonly string[];
  exec: PluginExec;
  env: Record<string, string | undefined>;
}

export function listChain(list: NetworkConfigList): Chain {
  const c = list.conf;
  return { name: c.name, cniVersion: c.cniVersion, plugins: c.plugins, bytes: list.bytes, disableCheck: !!c.disableCheck, disableGC: !!c.disableGC };
}

export function netChain(net: NetworkConfig): Chain {
  return { name: net.conf.name, cniVersion: net.conf.cniVersion, plugins: [net.conf], bytes: net.bytes, disableCheck: false, disableGC: false };
}

let sharedExec: PluginExec | undefined;

export function resolve(opts: RuntimeOptions): Resolved {
  const env = opts.env ?? process.env;
  const path = opts.path ?? (env.CNI_PATH ? env.CNI_PATH.split(":").filter(Boolean) : [DEFAULT_CNI_PATH]);
  return { path, exec: opts.exec ?? (sharedExec ??= defaultExec()), env };
}

/** libcni's order: the runtime's own cache dir, then the RuntimeConf's, then the default. */
export function cacheDirOf(opts: RuntimeOptions, rt?: RuntimeConf): string {
  return opts.cacheDir || rt?.cacheDir || DEFAULT_CACHE_DIR;
}

/** Runs one plugin of a chain for ADD/CHECK/DEL; ADD resolves to its result. */
export async function runOne(
  r: Resolved,
  chain: Chain,
  call: { command: Command; conf: NetConf; rt: RuntimeConf; prevResult?: Result },
): Promise<Result | undefined> {
  const pluginPath = r.exec.findInPath(call.conf.type, r.path);
  const stdin = buildPluginConfig(call.conf, {
    name: chain.name,
    cniVersion: chain.cniVersion,
    prevResult: call.prevResult,
    capabilityArgs: call.rt.capabilityArgs,
  });
  const env = pluginEnv(
    { command: call.command, containerID: call.rt.containerID, netns: call.rt.netns, ifName: call.rt.ifName, args: call.rt.args, path: r.path },
    r.env,
  );
  if (call.command === "ADD") return execWithResult(r.exec, { pluginPath, stdin, env, confVersion: chain.cniVersion });
  await r.exec.execPlugin(pluginPath, stdin, env);
  return undefined;
}

/** Runs one plugin for GC/STATUS: only name and version are injected, no attachment. */
export async function runWithoutAttachment(
  r: Resolved,
  chain: Chain,
  call: { command: "GC" | "STATUS"; conf: NetConf; inject?: Record<string, unknown> },
): Promise<void> {
  const pluginPath = r.exec.findInPath(call.conf.type, r.path);
  const stdin = new TextEncoder().encode(JSON.stringify({ ...call.conf, ...call.inject, name: chain.name, cniVersion: chain.cniVersion }));
  await r.exec.execPlugin(pluginPath, stdin, pluginEnv({ command: call.command, path: r.path }, r.env));
}

/** Prefixes an error with the plugin and verb, keeping its CNI code (libcni: `plugin type="x" failed (add): ...`). */
export function pluginFailed(conf: NetConf, verb: string, e: unknown): CniError {
  const msg = `plugin ${describePlugin(conf)} failed (${verb}): ${errorMessage(e)}`;
  if (e instanceof CniError) return new CniError(e.code, msg, { details: e.details, cniVersion: e.cniVersion, cause: e });
  return new CniError(ErrorCode.Internal, msg, { cause: e });
}
