/**
 * The `multus` plugin (thin mode): the kubelet's CNI config names it; it reads its
 * config, finds the pod's networks and runs every delegate in this process when it is
 * ours, else as a process from binDir/CNI_PATH. Kubernetes is reached with a light
 * fetch-based client only when the config has a kubeconfig (or runs in a cluster).
 */
import type { CmdArgs, PluginFuncs, PluginInfo } from "../../skel/cmd-args.ts";
import { cmdAdd, cmdCheck, cmdDel, cmdStatus, type EngineOptions } from "./engine.ts";
import { sourceFor } from "./sources.ts";
import { delegateExec } from "../../runtime/delegate.ts";

function engine(): EngineOptions {
  return { exec: delegateExec(), source: sourceFor };
}

const funcs: PluginFuncs = {
  add: (args: CmdArgs) => cmdAdd(args, engine()),
  del: (args: CmdArgs) => cmdDel(args, engine()),
  check: (args: CmdArgs) => cmdCheck(args, engine()),
  status: (args: CmdArgs) => cmdStatus(args, engine()),
};

const info: PluginInfo = { about: "multus: a CNI meta-plugin that attaches pods to several networks (cni-ts)" };

export const plugin = { info, funcs };
