/** The cnitool environment the CLI reads: where configs, plugins and the cache are. */
import { resolve } from "node:path";
import { ownExec } from "./own-plugins.ts";
import { parseCniArgs } from "../spec/args.ts";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { RuntimeConf, RuntimeOptions } from "../runtime/types.ts";
import { DEFAULT_CACHE_DIR, DEFAULT_CNI_PATH } from "../runtime/types.ts";

export const DEFAULT_CONF_DIR = "/etc/cni/net.d";

/** NETCONFPATH, or the kubelet's default conf dir. */
export function confDir(env = process.env): string {
  return env.NETCONFPATH || DEFAULT_CONF_DIR;
}

/** CNI_PATH split on ":", or /opt/cni/bin. */
export function cniPath(env = process.env): string[] {
  const p = (env.CNI_PATH ?? "").split(":").filter(Boolean);
  return p.length ? p : [DEFAULT_CNI_PATH];
}

/** Runtime options: our own plugins run in-process when CNI_PATH resolves to this binary. */
export function runtimeOptions(env = process.env): RuntimeOptions {
  return { path: cniPath(env), exec: ownExec(), cacheDir: env.CNI_CACHE_DIR || DEFAULT_CACHE_DIR };
}

/** cnitool's container id: "cni-" and the first 10 bytes of sha512(absolute netns path), in hex. */
export function containerIDFor(netns: string): string {
  const h = new Bun.CryptoHasher("sha512").update(netns).digest("hex");
  return `cni-${h.slice(0, 20)}`;
}

/** The RuntimeConf of one attachment, from NETNS and the environment. */
export function runtimeConf(netnsArg: string, env = process.env): RuntimeConf {
  const netns = resolve(netnsArg);
  let capabilityArgs: Record<string, unknown> = {};
  if (env.CAP_ARGS) {
    try {
      capabilityArgs = JSON.parse(env.CAP_ARGS);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, `Cannot parse CAP_ARGS: ${errorMessage(e)}`);
    }
    if (typeof capabilityArgs !== "object" || capabilityArgs === null || Array.isArray(capabilityArgs)) {
      throw new CniError(ErrorCode.DecodingFailure, "Cannot parse CAP_ARGS: not a JSON object");
    }
  }
  return {
    containerID: env.CNI_CONTAINERID || containerIDFor(netns),
    netns,
    ifName: env.CNI_IFNAME || "eth0",
    args: parseCniArgs(env.CNI_ARGS),
    capabilityArgs,
  };
}
