/**
 * `cni-ts daemon`: the optional warm path of a node. It serves our plugin types on a
 * root-only unix socket; a plugin process started by the runtime hands its command over
 * (hand-over.ts) and prints the answer, so the command runs in an already started,
 * already compiled process. Without it, plugins run in their own process as always.
 */
import { parseArgs } from "node:util";
import { hasPlugin, loadPlugin } from "../plugins/registry.ts";
import { runPlugin } from "../skel/run.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { marshalIndent } from "../spec/json.ts";
import { DEFAULT_SOCKET } from "./hand-over.ts";
import type { CniAnswer, CniRequest } from "./protocol.ts";
import { serveDaemon } from "./server.ts";

export const DAEMON_HELP = `usage: cni-ts daemon [--socket PATH]

Serves this binary's plugin types to plugin processes on a root-only unix socket
(default ${DEFAULT_SOCKET}; 0600 in a 0700 directory). A plugin started by the runtime
hands its command over when the socket answers and runs in its own process when it
does not, so stopping the daemon never fails a pod. The work happens in the daemon's
network namespace: a plugin process in another one (or one that does not say which)
is refused and runs in its own process. Plugin processes look for the
socket at CNI_TS_DAEMON_SOCKET when set; CNI_TS_DAEMON=off makes them not look.
Stops on SIGTERM or SIGINT.`;

/** Runs one plugin command as the plugin process would have. */
export async function runCommand(req: CniRequest): Promise<CniAnswer> {
  const type = req.plugin ?? configType(req.config);
  if (!type || !hasPlugin(type)) {
    const err = new CniError(ErrorCode.InvalidNetworkConfig, `cni-ts daemon: no plugin type "${type ?? ""}" in this binary`);
    err.cniVersion = configVersion(req.config);
    return { exitCode: 1, stdout: marshalIndent(err), stderr: "" };
  }
  const plugin = await loadPlugin(type);
  const answer = await runPlugin(plugin.funcs, plugin.info, { env: req.env, stdin: req.config });
  // One line per command: what a node's operator looks for when a pod's network fails.
  const e = req.env;
  console.error(`cni-ts daemon: ${e.CNI_COMMAND} ${type} container=${e.CNI_CONTAINERID ?? ""} ifname=${e.CNI_IFNAME ?? ""}: exit ${answer.exitCode}`);
  return answer;
}

function configField(config: Uint8Array, field: string): string | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(config))?.[field];
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
const configType = (c: Uint8Array) => configField(c, "type");
const configVersion = (c: Uint8Array) => configField(c, "cniVersion") ?? "";

/** `cni-ts daemon [--socket PATH]`; resolves to the exit status when stopped. */
export async function daemonCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { socket: { type: "string", default: DEFAULT_SOCKET }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(DAEMON_HELP);
    return 0;
  }
  // Our clients always say their namespace: one that does not is refused and runs in-process.
  const server = await serveDaemon(values.socket!, { cni: runCommand }, { noNetns: "refuse", name: "cni-ts daemon" });
  console.error(`cni-ts daemon: serving plugins on ${server.socketPath}`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await server.stop();
  console.error("cni-ts daemon: stopped");
  return 0;
}
