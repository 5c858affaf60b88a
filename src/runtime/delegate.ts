/**
 * Delegation from inside a plugin (libcni's invoke.DelegateAdd/Del/Check, the
 * reference's ipam.ExecAdd): run another plugin with our own CNI_* environment, the
 * command changed where needed, and the same or a derived config on stdin.
 */
import type { CmdArgs } from "../skel/cmd-args.ts";
import { parseCniArgs } from "../spec/args.ts";
import type { Command, Result } from "../spec/types.ts";
import { entryExec, setEntryExec } from "./entry-exec.ts";
import { defaultExec, type PluginExec } from "./exec.ts";
import { execWithResult, pluginEnv } from "./invoke.ts";

/** How a delegate is found and run; default: the exec the entry point set, else processes only. */
export interface DelegateOptions {
  exec?: PluginExec;
  /** The config the delegate gets; default: the caller's own stdin. */
  stdin?: Uint8Array;
}

/**
 * Sets the exec every delegation uses when the caller names none. The entry point
 * (src/main.ts, a daemon) sets one that runs our own plugin types in-process; the
 * layers below never reach up to a plugin registry for it.
 */
export function setDelegateExec(exec: PluginExec | undefined): void {
  setEntryExec(exec);
}

/** The exec the entry point set (ours in-process), else one that starts processes. */
export function delegateExec(): PluginExec {
  return entryExec() ?? defaultExec();
}

function call(command: Command, type: string, args: CmdArgs, opts: DelegateOptions) {
  const exec = opts.exec ?? entryExec() ?? defaultExec();
  const pluginPath = exec.findInPath(type, args.path);
  const env = pluginEnv({
    command,
    containerID: args.containerID,
    netns: args.netns,
    ifName: args.ifName,
    args: parseCniArgs(args.args),
    path: args.path,
  });
  return { exec, pluginPath, env, stdin: opts.stdin ?? args.stdinData };
}

/** Runs ADD of plugin `type` and returns its result in the 1.x shape. */
export async function delegateAdd(type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<Result> {
  const c = call("ADD", type, args, opts);
  return execWithResult(c.exec, { pluginPath: c.pluginPath, stdin: c.stdin, env: c.env, confVersion: args.conf.cniVersion });
}

/** Runs `command` (DEL, CHECK, GC or STATUS) of plugin `type`. */
export async function delegateCommand(command: Exclude<Command, "ADD" | "VERSION">, type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<void> {
  const c = call(command, type, args, opts);
  await c.exec.execPlugin(c.pluginPath, c.stdin, c.env);
}

/**
 * Throws what ADD of plugin `type` would throw before anything is made: the plugin is
 * not on CNI_PATH, or (when it runs in-process and can tell) its config is bad.
 */
export async function delegateValidate(type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<void> {
  const c = call("ADD", type, args, opts);
  await c.exec.validate?.(c.pluginPath, c.stdin, c.env);
}
