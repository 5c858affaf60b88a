/**
 * The `multus` plugin (thin mode): the kubelet's CNI config names it; it reads its
 * config, finds the pod's networks and runs every delegate in this process when it is
 * ours, else as a process from binDir/CNI_PATH. Kubernetes is reached with a light
 * fetch-based client only when the config has a kubeconfig (or runs in a cluster).
 * The thick daemon runs the same functions with an informer-backed source.
 */
import type { CmdArgs, PluginFuncs, PluginInfo } from "../../skel/cmd-args.ts";
import { delegateExec } from "../../runtime/delegate.ts";
import { cmdAdd, cmdCheck, cmdDel, cmdGC, cmdStatus, type EngineOptions } from "./engine.ts";
import { sourceFor } from "./sources.ts";

/** The plugin's functions over an engine (the thin plugin's, or the daemon's). */
export function multusFuncs(engine: () => EngineOptions): PluginFuncs {
  return {
    add: (args: CmdArgs) => cmdAdd(args, engine()),
    del: (args: CmdArgs) => cmdDel(args, engine()),
    check: (args: CmdArgs) => cmdCheck(args, engine()),
    status: (args: CmdArgs) => cmdStatus(args, engine()),
    gc: (args: CmdArgs) => cmdGC(args, engine()),
  };
}

const info: PluginInfo = { about: "multus: a CNI meta-plugin that attaches pods to several networks (cni-ts)" };

export const plugin = { info, funcs: multusFuncs(() => ({ exec: delegateExec(), source: sourceFor })) };
