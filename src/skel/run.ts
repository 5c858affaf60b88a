import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { convertResult, parseResult } from "../spec/result.ts";
import type { Attachment, Command, NetConf } from "../spec/types.ts";
import { validateContainerID, validateInterfaceName, validateNetworkName } from "../spec/validate.ts";
import { ALL_VERSIONS, CURRENT_VERSION, IMPLICIT_VERSION, greaterThanOrEqual, isSupported, versionInfo } from "../spec/version.ts";
import type { CmdArgs, PluginFuncs, PluginInfo } from "./cmd-args.ts";

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

const COMMANDS: readonly Command[] = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"];

/** Which CNI_* variables each command requires (the reference skel's table). */
const REQUIRED: Record<string, readonly Command[]> = {
  CNI_CONTAINERID: ["ADD", "CHECK", "DEL"],
  CNI_NETNS: ["ADD", "CHECK"],
  CNI_IFNAME: ["ADD", "CHECK", "DEL"],
  CNI_PATH: ["ADD", "CHECK", "DEL", "GC", "STATUS"],
};

/**
 * Runs one plugin invocation from env + stdin to stdout/stderr/exit code, with every
 * rule of the protocol. pluginMain wraps it for a process; the runtime calls it
 * directly to run our own plugins in-process.
 */
export async function runPlugin(funcs: PluginFuncs, info: PluginInfo, inv: Invocation): Promise<Outcome> {
  const supported = info.supportedVersions ?? ALL_VERSIONS;
  let stderr = "";
  let errVersion: string = CURRENT_VERSION;
  const fail = (e: unknown): Outcome => {
    let err: CniError;
    if (e instanceof CniError) err = e;
    else {
      stderr += `${info.about.split("\n")[0]}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
      err = new CniError(ErrorCode.Internal, errorMessage(e));
    }
    if (!err.cniVersion) err.cniVersion = errVersion;
    return { exitCode: 1, stdout: JSON.stringify(err) + "\n", stderr };
  };
  try {
    const command = inv.env.CNI_COMMAND ?? "";
    if (command === "") {
      return { exitCode: 0, stdout: "", stderr: `${info.about}\nCNI protocol versions supported: ${supported.join(", ")}\n` };
    }
    if (!(COMMANDS as readonly string[]).includes(command)) {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
    }
    const cmd = command as Command;
    if (cmd === "VERSION") {
      return { exitCode: 0, stdout: JSON.stringify(versionInfo(supported)) + "\n", stderr };
    }
    const missing = Object.entries(REQUIRED).filter(([k, cmds]) => cmds.includes(cmd) && !inv.env[k]).map(([k]) => k);
    if (missing.length) {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${missing.join(",")}] missing`);
    }
    const conf = decodeStdin(inv.stdin);
    errVersion = conf.cniVersion;
    if (!isSupported(conf.cniVersion, supported)) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, "incompatible CNI versions", {
        details: `config is "${conf.cniVersion}", plugin supports ${JSON.stringify([...supported])}`,
      });
    }
    validateNetworkName(conf.name);
    const args: CmdArgs = {
      command: cmd,
      containerID: inv.env.CNI_CONTAINERID ?? "",
      netns: inv.env.CNI_NETNS ?? "",
      ifName: inv.env.CNI_IFNAME ?? "",
      args: inv.env.CNI_ARGS ?? "",
      path: (inv.env.CNI_PATH ?? "").split(":").filter(Boolean),
      stdinData: inv.stdin,
      conf,
    };
    if (cmd === "ADD" || cmd === "CHECK" || cmd === "DEL") {
      validateContainerID(args.containerID);
      validateInterfaceName(args.ifName);
      if (args.netns) await checkNetnsPath(args.netns, cmd === "DEL");
    }
    if (conf.prevResult !== undefined && conf.prevResult !== null) args.prevResult = parseResult(conf.prevResult, conf.cniVersion);
    switch (cmd) {
      case "ADD": {
        const result = await funcs.add(args);
        return { exitCode: 0, stdout: JSON.stringify(convertResult(result, conf.cniVersion)) + "\n", stderr };
      }
      case "CHECK":
        if (!greaterThanOrEqual(conf.cniVersion, "0.4.0")) {
          throw new CniError(ErrorCode.IncompatibleCNIVersion, "config version does not allow CHECK", { details: conf.cniVersion });
        }
        await funcs.check?.(args);
        return { exitCode: 0, stdout: "", stderr };
      case "DEL":
        await funcs.del(args);
        return { exitCode: 0, stdout: "", stderr };
      case "GC":
        await funcs.gc?.(args, validAttachments(conf));
        return { exitCode: 0, stdout: "", stderr };
      case "STATUS":
        await funcs.status?.(args);
        return { exitCode: 0, stdout: "", stderr };
    }
  } catch (e) {
    return fail(e);
  }
}

function decodeStdin(stdin: Uint8Array): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(stdin));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config", { details: errorMessage(e) });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config", { details: "not a JSON object" });
  }
  const obj = raw as Record<string, unknown>;
  if (obj.cniVersion !== undefined && typeof obj.cniVersion !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config", { details: "cniVersion is not a string" });
  }
  if (typeof obj.name !== "string" || obj.name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  return { ...obj, cniVersion: (obj.cniVersion as string) || IMPLICIT_VERSION } as NetConf;
}

function validAttachments(conf: NetConf): Attachment[] {
  const raw = conf["cni.dev/valid-attachments"] ?? conf["cni.dev/attachments"];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new CniError(ErrorCode.DecodingFailure, `"cni.dev/valid-attachments" must be an array`);
  return raw.map((a) => {
    if (typeof a?.containerID !== "string" || typeof a?.ifname !== "string") {
      throw new CniError(ErrorCode.DecodingFailure, `Invalid attachment ${JSON.stringify(a)}: needs containerID and ifname`);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/**
 * A namespace path must be an nsfs file (a bind mount under /var/run/netns or a
 * /proc/<pid>/ns/net link) and not the plugin's own namespace: configuring our own
 * namespace as a pod's would break the node. The exact type (net, not mnt) is checked
 * again with NS_GET_NSTYPE when sys opens it.
 */
export async function checkNetnsPath(path: string, allowMissing = false): Promise<void> {
  // node:fs is loaded here, not at the top: VERSION and the about text do not need it.
  const { statSync } = await import("node:fs");
  let st, own;
  try {
    if (allowMissing && !statSync(path, { throwIfNoEntry: false })) return;
    st = statSync(path);
    own = statSync("/proc/self/ns/net");
  } catch (e) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `Cannot use CNI_NETNS "${path}": ${errorMessage(e)}`);
  }
  if (st.dev !== own.dev) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `CNI_NETNS "${path}" is not a network namespace`);
  if (st.ino === own.ino) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `CNI_NETNS "${path}" is the plugin's own network namespace`);
  }
}
