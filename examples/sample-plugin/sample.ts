/**
 * A chained plugin written with the cni-ts SDK: the TypeScript counterpart of the
 * reference's sample plugin (seed 000). It needs a prevResult with addresses, checks
 * its own config, and passes the result on to the next plugin.
 *
 *   bun build --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
 *     examples/sample-plugin/main.ts --outfile /opt/cni/bin/sample
 *
 * (A plugin runs as root in its caller's directory: without those two flags Bun would
 * read bunfig.toml, whose preload runs code, and .env from there.)
 */
import { CniError, ErrorCode, type NetConf, type Result } from "cni-ts/spec";
import type { CmdArgs, PluginFuncs, PluginInfo } from "cni-ts/skel";

/** The config this plugin expects on stdin, beside the standard fields. */
export interface SampleConf extends NetConf {
  runtimeConfig?: { sample?: Record<string, unknown> };
  myAwesomeFlag?: boolean;
  anotherAwesomeArg: string;
}

/** Checks the plugin's own fields; the SDK already checked name, type and version. */
export function loadNetConf(args: CmdArgs): SampleConf {
  const conf = args.conf as SampleConf;
  if (typeof conf.anotherAwesomeArg !== "string" || conf.anotherAwesomeArg === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "anotherAwesomeArg must be specified");
  }
  return conf;
}

function requirePrevResult(args: CmdArgs): Result {
  // A chained plugin works on what the plugins before it made.
  if (!args.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "must be called as chained plugin");
  if (!args.prevResult.ips?.length) throw new CniError(ErrorCode.InvalidNetworkConfig, "got no container IPs");
  return args.prevResult;
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  loadNetConf(args);
  const result = requirePrevResult(args);
  // Do the plugin's work here, then pass the result on; the SDK prints it in the
  // config's cniVersion.
  return result;
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  loadNetConf(args);
  requirePrevResult(args);
}

async function cmdDel(args: CmdArgs): Promise<void> {
  // DEL must succeed even when ADD never ran: only the config is checked.
  loadNetConf(args);
}

export const info: PluginInfo = { about: "sample: a chained plugin built with the cni-ts SDK" };
export const funcs: PluginFuncs = { add: cmdAdd, check: cmdCheck, del: cmdDel };
