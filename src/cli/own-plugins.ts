/**
 * Runs our own plugin types inside the calling process when CNI_PATH resolves them to
 * this very binary: a bridge ADD then calls host-local without a second process start.
 * Anything else (a Go plugin, another version of ours) is started as a process. Wired
 * at the entry point (main.ts, the CLI), so no layer below imports the plugin registry.
 */
import { basename, dirname, join } from "../sys/path.ts";
import { setDelegateExec } from "../runtime/delegate.ts";
import { defaultExec, type ExecOptions, type InProcessRunner, type PluginExec } from "../runtime/exec.ts";
import { callPlugin, runPlugin, validateCall, validatePlugin } from "../skel/run.ts";
import { hasPlugin, loadPlugin } from "../plugins/registry.ts";
import type { PluginFuncs, PluginInfo } from "../skel/cmd-args.ts";
import { type FileStat, statPath } from "../sys/stat.ts";

/** The files that are this binary: itself and the shim beside it (`cni-ts install --daemon`); undefined until asked. */
let selves: FileStat[] | undefined;

/** The file at `p` (links followed), or undefined. statx, not node:fs's realpath: a plugin process need not load node:fs. */
function fileAt(p: string): FileStat | undefined {
  try {
    return statPath(p);
  } catch {
    return undefined;
  }
}

const sameFile = (a: FileStat, b: FileStat) => a.dev === b.dev && a.ino === b.ino;

/** A runner for `pluginPath` when it is a link to this binary under one of our type names. */
function ownPluginRunner(pluginPath: string): InProcessRunner | undefined {
  const type = basename(pluginPath);
  if (!hasPlugin(type)) return undefined;
  // process.execPath is the binary's real path, whatever link it was started through.
  // Loops, not filter/some: a builtin's first use is compiled, time a plugin process pays.
  if (!selves) {
    selves = [];
    for (const p of [process.execPath, join(dirname(process.execPath), "cni-ts-shim")]) {
      const f = fileAt(p);
      if (f) selves.push(f);
    }
  }
  const file = fileAt(pluginPath);
  let ours = false;
  for (const s of file ? selves : []) ours ||= sameFile(s, file!);
  if (!ours) return undefined;
  // Each entry loads the plugin's module (once: the registry keeps it) and hands it to the skel's function.
  const on =
    <A, R>(f: (funcs: PluginFuncs, info: PluginInfo, a: A) => Promise<R>) =>
    async (a: A): Promise<R> => {
      const plugin = await loadPlugin(type);
      return f(plugin.funcs, plugin.info, a);
    };
  return { run: on(runPlugin), validate: on(validatePlugin), call: on(callPlugin), validateCall: on(validateCall) };
}

/** The PluginExec that the CLI and delegating plugins use: in-process for our own binary, else a process. */
export function ownExec(options: Omit<ExecOptions, "inProcess"> = {}): PluginExec {
  return defaultExec({ ...options, inProcess: ownPluginRunner });
}

/** Makes every delegation (IPAM, chained delegates) run our own plugin types in-process. */
export function wireOwnPlugins(): void {
  setDelegateExec(ownExec());
}
