/**
 * flannel: the meta-plugin of flannel-io/cni-plugin. It reads the node's subnet.env
 * (written by flanneld), builds a bridge + host-local config from it, saves that
 * config to <dataDir>/<containerID> and delegates to it; DEL delegates the saved
 * config, so a pod is removed as it was added even after subnet.env changed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { delegateAdd, delegateCommand } from "../../runtime/delegate.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { errorMessage, failure } from "../../spec/error.ts";
import type { Result } from "../../spec/types.ts";
import { ensureStateDir, readStateFile, removeStateFile, writeStateFile } from "../../sys/state-file.ts";
import { buildDelegate, goMapJSON } from "./_delegate.ts";
import { type SubnetEnv, parseSubnetEnv } from "./subnet-env.ts";

export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";
export const DEFAULT_DATA_DIR = "/var/lib/cni/flannel";

/** The flannel plugin's config. */
export interface FlannelConf {
  name: string;
  cniVersion: string;
  subnetFile: string;
  dataDir: string;
  delegate?: Record<string, unknown>;
  ipam?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
}

function optionalObject(raw: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw failure(`failed to load netconf: ${JSON.stringify(key)} must be an object`);
  return v as Record<string, unknown>;
}

function path(raw: Record<string, unknown>, key: string, fallback: string): string {
  const v = raw[key];
  if (v === undefined || v === null || v === "") return fallback;
  if (typeof v !== "string" || v.includes("\0")) throw failure(`failed to load netconf: ${JSON.stringify(key)} must be a path`);
  return v;
}

/** The config with flannel's defaults (subnetFile /run/flannel/subnet.env, dataDir /var/lib/cni/flannel). */
export function loadNetConf(args: CmdArgs): FlannelConf {
  const raw = JSON.parse(new TextDecoder().decode(args.stdinData)) as Record<string, unknown>;
  return {
    name: args.conf.name,
    cniVersion: typeof raw.cniVersion === "string" ? raw.cniVersion : "",
    subnetFile: path(raw, "subnetFile", DEFAULT_SUBNET_FILE),
    dataDir: path(raw, "dataDir", DEFAULT_DATA_DIR),
    delegate: optionalObject(raw, "delegate"),
    ipam: optionalObject(raw, "ipam"),
    runtimeConfig: optionalObject(raw, "runtimeConfig"),
  };
}

/** subnet.env, or the error users meet first when flanneld has not written it (yet). */
function loadSubnetEnv(file: string): SubnetEnv {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? `open ${file}: no such file or directory` : errorMessage(e);
    throw failure(`failed to load flannel 'subnet.env' file: ${why}. Check the flannel pod log for this node (is flanneld running?)`);
  }
  try {
    return parseSubnetEnv(text, file);
  } catch (e) {
    throw failure(`failed to load flannel 'subnet.env' file: ${errorMessage(e)}. Check the flannel pod log for this node`);
  }
}

/** Writes the delegate's config for DEL: fsynced, renamed into place, 0600 in a 0700 dir. */
function saveScratchNetConf(dataDir: string, containerID: string, data: string): void {
  ensureStateDir(dataDir);
  writeStateFile(join(dataDir, containerID), data, { durable: true });
}

/** Builds the delegate from subnet.env, saves it, runs its ADD and returns its result. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  const env = loadSubnetEnv(conf.subnetFile);
  const delegate = buildDelegate(conf, env);
  const bytes = goMapJSON(delegate);
  try {
    saveScratchNetConf(conf.dataDir, args.containerID, bytes);
  } catch (e) {
    throw failure(`failed to save delegate config in ${JSON.stringify(conf.dataDir)}`, e);
  }
  try {
    return await delegateAdd(delegate.type as string, args, { stdin: new TextEncoder().encode(bytes) });
  } catch (e) {
    throw failure("failed to delegate add", e);
  }
}

/** As the reference: nothing to check of its own (its delegate is checked through its own plugin's CHECK when chained). */
function cmdCheck(args: CmdArgs): void {
  loadNetConf(args);
}

/** Delegates DEL with the saved config and removes it; nothing saved means nothing to delete. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  const file = join(conf.dataDir, args.containerID);
  let bytes: Uint8Array;
  try {
    // A symlink planted there reads as nothing saved: its target is never used.
    const text = readStateFile(file);
    if (text === undefined) return removeStateFile(file);
    bytes = new TextEncoder().encode(text);
  } catch (e) {
    throw failure(`failed to read saved delegate config ${JSON.stringify(file)}`, e);
  }
  let type: unknown;
  try {
    type = (JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>).type;
  } catch (e) {
    // As the reference: the pod's interface stays until the node reboots, DEL does not fail.
    process.stderr.write(`flannel: failed to parse saved delegate config ${file}: ${errorMessage(e)}\n`);
    return;
  }
  if (typeof type !== "string" || type === "") throw failure(`saved delegate config ${JSON.stringify(file)} has no type`);
  await delegateCommand("DEL", type, args, { stdin: bytes });
  removeStateFile(file);
}

export const plugin = {
  info: { about: "flannel: builds a bridge + host-local config from flanneld's subnet.env and delegates to it" } satisfies PluginInfo,
  funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel },
};
