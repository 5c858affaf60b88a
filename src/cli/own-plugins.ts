/**
 * Runs our own plugin types inside the calling process when CNI_PATH resolves them to
 * this very binary: a bridge ADD then calls host-local without a second process start.
 * Anything else (a Go plugin, another version of ours) is started as a process. Wired
 * at the entry point (main.ts, the CLI), so no layer below imports the plugin registry.
 */
import { basename, dirname, join } from "node:path";
import { setDelegateExec } from "../runtime/delegate.ts";
import { defaultExec, type ExecOptions, type InProcessRunner, type PluginExec } from "../runtime/exec.ts";
import { runPlugin, validatePlugin } from "../skel/run.ts";
import { hasPlugin, loadPlugin } from "../plugins/registry.ts";
import { nodeFs } from "../sys/node-fs.ts";

let self: string | undefined;

function realpathOrEmpty(p: string): string {
  try {
    return nodeFs().realpathSync(p);
  } catch {
    return "";
  }
}

/** A runner for `pluginPath` when it is a link to this binary under one of our type names. */
function ownPluginRunner(pluginPath: string): InProcessRunner | undefined {
  const type = basename(pluginPath);
  if (!hasPlugin(type)) return undefined;
  self ??= realpathOrEmpty(process.execPath);
  // A link to this binary, or to the shim beside it (`cni-ts install --daemon`).
  const real = realpathOrEmpty(pluginPath);
  if (self === "" || (real !== self && real !== join(dirname(self), "cni-ts-shim"))) return undefined;
  return {
    run: async (inv) => {
      const plugin = await loadPlugin(type);
      return runPlugin(plugin.funcs, plugin.info, inv);
    },
    validate: async (inv) => {
      const plugin = await loadPlugin(type);
      await validatePlugin(plugin.funcs, plugin.info, inv);
    },
  };
}

/** The PluginExec that the CLI and delegating plugins use: in-process for our own binary, else a process. */
export function ownExec(options: Omit<ExecOptions, "inProcess"> = {}): PluginExec {
  return defaultExec({ ...options, inProcess: ownPluginRunner });
}

/** Makes every delegation (IPAM, chained delegates) run our own plugin types in-process. */
export function wireOwnPlugins(): void {
  setDelegateExec(ownExec());
}
