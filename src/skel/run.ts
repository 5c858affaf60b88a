/**
 * One plugin invocation from env + stdin to stdout/stderr/exit code: the reference
 * skel's dispatcher (pkg/skel), with its order of checks and its texts, plus what the
 * spec and DESIGN.md add: GC and STATUS, CNI_NETNS checked before the handler runs,
 * results printed in the config's version, unexpected errors logged as code 999.
 */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { marshalIndent, parseJSON } from "../spec/json.ts";
import { convertResult, parseResult } from "../spec/result.ts";
import type { Attachment } from "../spec/types.ts";
import { ALL_VERSIONS, CURRENT_VERSION, versionInfo } from "../spec/version.ts";
import type { CmdArgs, PluginFuncs, PluginInfo } from "./cmd-args.ts";
import { type CniEnv, readEnv } from "./env.ts";
import { pathExists } from "../sys/stat.ts";
import { checkNetnsPath } from "./netns-check.ts";
import { configVersion, decodeConfig, requireCommandVersion, requireSupported, typedConf } from "./stdin-conf.ts";

/** Input of one plugin invocation: the environment and stdin, as a process gets them. */
export interface Invocation {
  env: Record<string, string | undefined>;
  stdin: Uint8Array;
}

/** Output of one plugin invocation, as a process would produce it. */
export interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The spec version each command appeared in; the skel refuses it below that. */
const SINCE: Record<string, string> = { CHECK: "0.4.0", GC: "1.1.0", STATUS: "1.1.0" };

/**
 * Runs one plugin invocation with every rule of the protocol. pluginMain wraps it for
 * a process; the runtime calls it directly to run our own plugins in-process.
 */
export async function runPlugin(funcs: PluginFuncs, info: PluginInfo, inv: Invocation): Promise<Outcome> {
  const supported = info.supportedVersions ?? ALL_VERSIONS;
  const state = { stderr: "", version: CURRENT_VERSION as string, fromConfig: false };
  try {
    const stdout = await dispatch(funcs, info, supported, inv, state);
    return { exitCode: 0, stdout, stderr: state.stderr };
  } catch (e) {
    return failed(e, info, supported, inv, state);
  }
}

/**
 * The outcome of an invocation that threw `e`. A function of its own: a plugin process
 * pays for a function's whole bytecode at its first call, and most runs succeed.
 */
function failed(
  e: unknown,
  info: PluginInfo,
  supported: readonly string[],
  inv: Invocation,
  state: { stderr: string; version: string; fromConfig: boolean },
): Outcome {
  let err: CniError;
  if (e instanceof CniError) err = e;
  else {
    // Anything but a CniError is a bug or an unplanned failure: the runtime gets
    // code 999 with the message, the log gets the whole story.
    state.stderr += `${info.about.split("\n")[0] || "plugin"}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
    err = new CniError(ErrorCode.Internal, errorMessage(e), { cause: e });
  }
  if (!err.cniVersion) err.cniVersion = state.fromConfig ? state.version : (readableVersion(inv.stdin, supported) ?? state.version);
  return { exitCode: 1, stdout: marshalIndent(err), stderr: state.stderr };
}

async function dispatch(
  funcs: PluginFuncs,
  info: PluginInfo,
  supported: readonly string[],
  inv: Invocation,
  state: { stderr: string; version: string; fromConfig: boolean },
): Promise<string> {
  let env: CniEnv;
  try {
    env = readEnv(inv.env);
  } catch (e) {
    // Run by hand without a command: say what this is, as the reference does.
    if ((inv.env.CNI_COMMAND ?? "") === "" && info.about) {
      state.stderr += `${info.about}\nCNI protocol versions supported: ${supported.join(", ")}\n`;
      return "";
    }
    throw e;
  }
  // The reference ignores stdin for VERSION and answers with the newest version it implements.
  if (env.command === "VERSION") return JSON.stringify(versionInfo(supported)) + "\n";

  const { args, version } = cmdArgsOf(env, supported, inv, state);
  switch (args.command) {
    case "ADD": {
      const result = await funcs.add(args);
      if (typeof result !== "object" || result === null) throw new Error("ADD handler returned no result");
      return marshalIndent(convertResult(result, version));
    }
    case "CHECK":
      await funcs.check?.(args);
      return "";
    case "DEL":
      await funcs.del(args);
      return "";
    case "GC":
      await funcs.gc?.(args, validAttachments(args.conf));
      return "";
    default:
      await funcs.status?.(args);
      return "";
  }
}

/** The handler's arguments of a command other than VERSION, every check of the protocol passed. */
function cmdArgsOf(
  env: CniEnv,
  supported: readonly string[],
  inv: Invocation,
  state: { version: string; fromConfig: boolean },
): { args: CmdArgs; version: string } {
  const command = env.command;
  const obj = decodeConfig(inv.stdin);
  if (!["ADD", "CHECK", "DEL", "GC", "STATUS"].includes(command)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
  }
  const version = configVersion(obj);
  if (supported.includes(version)) state.version = version;
  state.fromConfig = true;
  const since = SINCE[command];
  if (since) requireCommandVersion(command, version, since, supported);
  requireSupported(version, supported);

  // Bad input is refused before a handler changes anything (the reference checks the
  // namespace only after ADD and DEL have run, and not for CHECK).
  const override = inv.env.CNI_NETNS_OVERRIDE;
  const allowOwn = override !== undefined && override !== "" && /^(1|true)$/i.test(override);
  if (command === "ADD" || command === "CHECK") checkNetnsPath(env.netns, { allowOwn });
  // DEL must succeed when the namespace is already gone.
  if (command === "DEL" && env.netns !== "" && pathExists(env.netns)) checkNetnsPath(env.netns, { allowOwn });

  const conf = typedConf(obj, version);
  const args: CmdArgs = {
    command: command as CmdArgs["command"],
    containerID: env.containerID,
    netns: env.netns,
    ifName: env.ifName,
    args: env.args,
    path: pathList(env.path),
    stdinData: inv.stdin,
    conf,
  };
  if (conf.prevResult !== undefined && conf.prevResult !== null) args.prevResult = parseResult(conf.prevResult, version);
  return { args, version };
}

/** CNI_PATH's directories, empty entries dropped (a loop: Array.prototype.filter's first use costs a plugin process 0.15 ms). */
function pathList(path: string): string[] {
  const dirs: string[] = [];
  for (const d of path.split(":")) if (d !== "") dirs.push(d);
  return dirs;
}

/**
 * Runs a plugin's `validate` on an invocation (an ADD's environment and config) after
 * the protocol's own checks: throws the CniError the ADD would fail with, changes
 * nothing. A plugin without `validate` passes.
 */
export async function validatePlugin(funcs: PluginFuncs, info: PluginInfo, inv: Invocation): Promise<void> {
  const supported = info.supportedVersions ?? ALL_VERSIONS;
  const env = readEnv(inv.env);
  const { args } = cmdArgsOf(env, supported, inv, { version: CURRENT_VERSION, fromConfig: false });
  await funcs.validate?.(args);
}

/**
 * ADD or DEL of a plugin on arguments a caller's skel has already checked: a delegate
 * run in-process with the caller's own stdin, environment and CNI_NETNS (IPAM), so the
 * protocol's checks already passed for the same config. Only the handler runs, with no
 * environment or stdin decoded again; ADD resolves to its result as the process would
 * print it for the config's version (an object, not text), DEL to undefined.
 */
export async function callPlugin(funcs: PluginFuncs, info: PluginInfo, args: CmdArgs): Promise<unknown> {
  requireSupported(args.conf.cniVersion, info.supportedVersions ?? ALL_VERSIONS);
  if (args.command === "DEL") {
    await funcs.del(args);
    return undefined;
  }
  if (args.command !== "ADD") throw new Error(`Cannot call ${args.command} in-process: ADD and DEL only`);
  const result = await funcs.add(args);
  if (typeof result !== "object" || result === null) throw new Error("ADD handler returned no result");
  return convertResult(result, args.conf.cniVersion);
}

/** validatePlugin on arguments a caller's skel has already checked (see callPlugin). */
export async function validateCall(funcs: PluginFuncs, info: PluginInfo, args: CmdArgs): Promise<void> {
  requireSupported(args.conf.cniVersion, info.supportedVersions ?? ALL_VERSIONS);
  await funcs.validate?.(args);
}

/** `cni.dev/valid-attachments` of a GC config (SPEC 1.1 "GC"). */
function validAttachments(conf: Record<string, unknown>): Attachment[] {
  const raw = conf["cni.dev/valid-attachments"];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new CniError(ErrorCode.DecodingFailure, `Invalid "cni.dev/valid-attachments": not an array`);
  return raw.map((a) => {
    if (typeof a?.containerID !== "string" || typeof a?.ifname !== "string") {
      throw new CniError(ErrorCode.DecodingFailure, `Invalid attachment ${JSON.stringify(a)}: needs containerID and ifname`);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/**
 * The config's cniVersion for an error raised before the skel read it (a bad
 * environment, a config without a name): the version the runtime speaks, when stdin
 * has one this plugin supports.
 */
function readableVersion(stdin: Uint8Array, supported: readonly string[]): string | undefined {
  try {
    const v = (parseJSON(new TextDecoder().decode(stdin)) as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof v === "string" && supported.includes(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/*
 * Layout, not API: spec helpers that most plugins' configs use (CNI_ARGS, runtimeConfig)
 * and sys/path's functions (tuning's backup file, host-local's store, the firewall's state),
 * re-exported from this module, which every entry of the binary reaches, so the bundler
 * puts them in the chunk a plugin process loads at start. Otherwise each is a chunk of its
 * own that the plugin's import loads apart: about 0.09 ms of CPU per module in a plugin
 * process (see the commit).
 */
export { loadArgs } from "../spec/args.ts";
export { getFold } from "../spec/capabilities.ts";
export { basename, dirname, isAbsolute, join, normalize, resolve } from "../sys/path.ts";
