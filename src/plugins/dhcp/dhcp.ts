/**
 * dhcp: the IPAM plugin that gets addresses from a DHCP server through the dhcp
 * daemon (`dhcp daemon`, see daemon.ts). A plugin run only connects to the daemon's
 * unix socket and makes one call; the daemon does DHCP and keeps the lease renewed.
 * The calls are Go net/rpc, so this plugin also works with the reference daemon.
 */
import { resolve } from "node:path";
import { rpcCall, RpcServerError } from "../../ipam/dhcp/rpc-client.ts";
import { resultFromGob } from "../../ipam/dhcp/rpc-result.ts";
import { CMD_ARGS } from "../../ipam/dhcp/rpc-schema.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, errorMessage } from "../../spec/error.ts";
import type { Attachment, NetConf, Result } from "../../spec/types.ts";

/** The reference daemon's socket. */
export const DEFAULT_SOCKET_PATH = "/run/cni/dhcp.sock";

/** The `ipam` section; provide, request and priority are read by the daemon. */
export interface DhcpIpamConf {
  type: string;
  daemonSocketPath?: string;
  provide?: { option: string; value?: string; fromArg?: string }[];
  request?: { option?: string; skipDefault?: boolean }[];
  priority?: number;
  [key: string]: unknown;
}

/** The config as this plugin reads it. */
export interface DhcpNetConf extends NetConf {
  ipam: DhcpIpamConf;
}

/** The socket path from the config; code 7 when there is no ipam section. */
export function loadNetConf(args: CmdArgs): { conf: DhcpNetConf; socketPath: string } {
  const ipam = args.conf.ipam as DhcpIpamConf | undefined;
  if (typeof ipam !== "object" || ipam === null) throw new CniError(ErrorCode.InvalidNetworkConfig, 'error obtaining socketPath: missing "ipam" section');
  const path = ipam.daemonSocketPath;
  if (path !== undefined && typeof path !== "string")
    throw new CniError(ErrorCode.DecodingFailure, "error parsing socket path conf: daemonSocketPath is not a string");
  return { conf: args.conf as DhcpNetConf, socketPath: path || DEFAULT_SOCKET_PATH };
}

/** One call to the daemon with the plugin's arguments; errors read as the reference's. */
async function call(args: CmdArgs, method: string, stdin: Uint8Array = args.stdinData): Promise<unknown> {
  const { socketPath } = loadNetConf(args);
  const rpcArgs = {
    ContainerID: args.containerID,
    // The daemon may run in another working directory.
    Netns: args.netns ? resolve(args.netns) : "",
    IfName: args.ifName,
    Args: args.args,
    Path: args.path.join(":"),
    StdinData: stdin,
  };
  try {
    return await rpcCall(socketPath, method, { type: CMD_ARGS, args: rpcArgs });
  } catch (e) {
    if (e instanceof RpcServerError) throw new CniError(ErrorCode.Internal, `error calling ${method}: ${e.message}`, { cause: e });
    throw new CniError(ErrorCode.Internal, `error dialing DHCP daemon: ${errorMessage(e)}`, { cause: e });
  }
}

/** Asks the daemon for a lease; the result carries the address, gateway and routes. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const { conf } = loadNetConf(args);
  return resultFromGob(await call(args, "DHCP.Allocate"), conf.cniVersion);
}

/** Asks the daemon to check the lease (it acquires one when it has none, as the reference does). */
async function cmdCheck(args: CmdArgs): Promise<void> {
  await call(args, "DHCP.Allocate");
}

/** Has the daemon release the lease; succeeds when there is none. */
async function cmdDel(args: CmdArgs): Promise<void> {
  await call(args, "DHCP.Release");
}

/**
 * Has the daemon release this network's leases of attachments not in the list. The
 * Go daemon has no GC method; with it there is nothing to do, which is not an error.
 */
async function cmdGc(args: CmdArgs, _valid: Attachment[]): Promise<void> {
  try {
    await call(args, "DHCP.GC");
  } catch (e) {
    if (e instanceof CniError && e.cause instanceof RpcServerError && e.cause.message.startsWith("rpc: can't find method")) return;
    throw e;
  }
}

/** Ready when the daemon answers on its socket (code 50 otherwise). */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const { socketPath } = loadNetConf(args);
  try {
    const s = await Bun.connect({ unix: socketPath, socket: { data() {} } });
    s.end();
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `DHCP daemon not reachable at ${JSON.stringify(socketPath)}: ${errorMessage(e)}`);
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "dhcp: IPAM plugin that leases addresses from a DHCP server through the dhcp daemon (dhcp daemon -socketpath ...)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
