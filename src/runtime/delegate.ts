/**
 * Delegation from inside a plugin (libcni's invoke.DelegateAdd/Del/Check, the
 * reference's ipam.ExecAdd): run another plugin with our own CNI_* environment, the
 * command changed where needed, and the same or a derived config on stdin.
 */
import type { CmdArgs } from "../skel/cmd-args.ts";
import { parseCniArgs } from "../spec/args.ts";
import type { Command, Result } from "../spec/types.ts";
import { entryExec, setEntryExec } from "./entry-exec.ts";
import { defaultExec, type InProcessRunner, inProcessRun, type PluginExec } from "./exec.ts";
import { execWithResult, pluginEnv } from "./invoke.ts";
import { PluginError } from "./plugin-error.ts";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { parseResult } from "../spec/result.ts";

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
  const exec = opts.exec ?? delegateExec();
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

/** The last delegate direct() looked up, with the arguments, type and exec it was for. */
let lastFound: { args: CmdArgs; type: string; exec: PluginExec; pluginPath: string; runner: InProcessRunner | undefined } | undefined;

/**
 * A delegate that is one of ours in this process and gets the caller's own stdin (IPAM):
 * its runner and the caller's arguments with `command` and CNI_ARGS as the delegate's
 * environment would carry them. The caller's skel has checked the same config,
 * environment and namespace, so the delegate's handler runs without the protocol
 * around it: no environment copied, no stdin decoded, no result printed and parsed.
 */
function direct(command: "ADD" | "DEL", type: string, args: CmdArgs, opts: DelegateOptions) {
  if (opts.stdin !== undefined) return undefined;
  const exec = opts.exec ?? delegateExec();
  // A bridge's ADD validates its IPAM, then runs its ADD, with the same arguments: the
  // plugin is looked up on CNI_PATH and its runner made once for both.
  const found = lastFound && lastFound.args === args && lastFound.type === type && lastFound.exec === exec ? lastFound : undefined;
  const pluginPath = found?.pluginPath ?? exec.findInPath(type, args.path);
  const runner = found ? found.runner : exec.inProcess?.(pluginPath);
  lastFound = { args, type, exec, pluginPath, runner };
  if (!runner?.call || !runner.validateCall) return undefined;
  // CNI_ARGS as pluginEnv writes it for a process (a loop: no builtin compiled for it).
  let cniArgs = "";
  for (const [k, v] of parseCniArgs(args.args)) cniArgs += `${cniArgs ? ";" : ""}${k}=${v}`;
  return { runner, pluginPath, args: { ...args, command, args: cniArgs } as CmdArgs };
}

/** A direct call's failure as the process's would come back: a PluginError with its code, message and details. */
async function directly<T>(pluginPath: string, args: CmdArgs, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PluginError) throw e;
    const where = { pluginPath, exitCode: 1, stderr: "" };
    if (e instanceof CniError)
      throw new PluginError(e.code, e.message, where, { details: e.details, cniVersion: e.cniVersion || args.conf.cniVersion, cause: e });
    // What the delegate's skel does with an unplanned failure: code 999 with its message, the story on its stderr.
    const stderr = `${pluginPath.slice(pluginPath.lastIndexOf("/") + 1)}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
    throw new PluginError(ErrorCode.Internal, errorMessage(e), { ...where, stderr }, { cniVersion: args.conf.cniVersion, cause: e });
  }
}

/** Runs ADD of plugin `type` and returns its result in the 1.x shape. */
export async function delegateAdd(type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<Result> {
  const d = direct("ADD", type, args, opts);
  if (d) {
    const printed = await directly(d.pluginPath, d.args, () => d.runner.call!(d.args));
    // As the process's stdout would be read back: JSON drops what it cannot carry.
    return parseResult(JSON.parse(JSON.stringify(printed ?? {})), args.conf.cniVersion);
  }
  const c = call("ADD", type, args, opts);
  return execWithResult(c.exec, { pluginPath: c.pluginPath, stdin: c.stdin, env: c.env, confVersion: args.conf.cniVersion });
}

/** Runs `command` (DEL, CHECK, GC or STATUS) of plugin `type`. */
export async function delegateCommand(command: Exclude<Command, "ADD" | "VERSION">, type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<void> {
  const d = command === "DEL" ? direct("DEL", type, args, opts) : undefined;
  if (d) {
    await directly(d.pluginPath, d.args, () => d.runner.call!(d.args));
    return;
  }
  const c = call(command, type, args, opts);
  await c.exec.execPlugin(c.pluginPath, c.stdin, c.env);
}

/**
 * Throws what ADD of plugin `type` would throw before anything is made: the plugin is
 * not on CNI_PATH, or (when it runs in-process and can tell) its config is bad.
 */
export async function delegateValidate(type: string, args: CmdArgs, opts: DelegateOptions = {}): Promise<void> {
  const d = direct("ADD", type, args, opts);
  if (d) {
    // As the in-process validate always has: the delegate's CniError itself, anything else a failure of the run.
    return inProcessRun(d.pluginPath, () => d.runner.validateCall!(d.args));
  }
  const c = call("ADD", type, args, opts);
  await c.exec.validate?.(c.pluginPath, c.stdin, c.env);
}
