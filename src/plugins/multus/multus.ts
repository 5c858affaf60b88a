/**
 * The `multus` plugin (thin mode): the kubelet's CNI config names it; it reads its
 * config, finds the pod's networks and runs every delegate in this process when it is
 * ours, else as a process from binDir/CNI_PATH. Kubernetes is reached with a light
 * fetch-based client only when the config has a kubeconfig (or runs in a cluster).
 * The thick daemon runs the same functions with an informer-backed source.
 */
import type { CmdArgs, PluginFuncs, PluginInfo } from "../../skel/cmd-args.ts";
import { delegateExec } from "../../runtime/delegate.ts";
import { setNamespaceTypeReader } from "../../skel/netns-check.ts";
import { namespaceTypeOf } from "../../sys/netns.ts";
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

// Every delegate of ours run in this process checks CNI_NETNS again: with libc bound here
// anyway (netlink), an ioctl tells the namespace's type instead of a read of the mount
// table, which has a line per pod namespace of the node (about 20 ms a read at 2,000).
setNamespaceTypeReader(namespaceTypeOf);

const info: PluginInfo = { about: "multus: a CNI meta-plugin that attaches pods to several networks (cni-ts)" };

export const plugin = { info, funcs: multusFuncs(() => ({ exec: delegateExec(), source: sourceFor })) };
