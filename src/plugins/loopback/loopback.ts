/**
 * loopback: brings `lo` up inside the container's network namespace, as the reference
 * plugin of the same name does. It has no config of its own and ignores CNI_IFNAME:
 * the only interface it ever touches is lo.
 */
import { NetlinkError } from "../../netlink/error.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { isUp, linkByName, linkSetDown, linkSetUp } from "../../netlink/link.ts";
import { type Addr, addrList } from "../../netlink/addr.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import type { IPConfig, NetConf, Result } from "../../spec/types.ts";
import { NetNSError } from "../../sys/netns.ts";

/** loopback takes only the standard fields (cniVersion, name, type, prevResult). */
export type LoopbackConf = NetConf;

const LO = "lo";
const LO_MAC = "00:00:00:00:00:00";

/** The config, already checked by the SDK for name, type and version. */
export function loadNetConf(args: CmdArgs): LoopbackConf {
  return args.conf;
}

/** Go's IP.IsLoopback: 127.0.0.0/8 and ::1. */
function isLoopbackAddr(a: Addr): boolean {
  return a.family === 4 ? a.ip.startsWith("127.") : a.ip === "::1";
}

/** The first address of a family, after checking that none of them is a non-loopback one. */
function firstLoopbackAddr(addrs: Addr[], family: 4 | 6): Addr | undefined {
  const own = addrs.filter((a) => a.family === family);
  const stray = own.find((a) => !isLoopbackAddr(a));
  if (stray) throw new CniError(ErrorCode.Internal, `loopback interface found with non-loopback address ${JSON.stringify(stray.ip)}`);
  return own[0];
}

/** A handle in the container's namespace; kernel and namespace errors become code 999 with their text. */
function openHandle(netns: string): NetlinkHandle {
  try {
    return NetlinkHandle.atPath(netns);
  } catch (e) {
    throw asCniError(e);
  }
}

function asCniError(e: unknown): unknown {
  if (e instanceof NetlinkError || e instanceof NetNSError) return new CniError(ErrorCode.Internal, e.message, { cause: e });
  return e;
}

/** Brings lo up and reports it with its first IPv4 and IPv6 address, or passes a prevResult through. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using h = openHandle(args.netns);
  let v4: Addr | undefined;
  let v6: Addr | undefined;
  try {
    linkSetUp(h, LO);
    const addrs = addrList(h, { link: LO });
    v4 = firstLoopbackAddr(addrs, 4);
    v6 = firstLoopbackAddr(addrs, 6);
  } catch (e) {
    throw asCniError(e);
  }
  // In a chain loopback adds nothing of its own: what came before goes on unchanged.
  if (args.prevResult) return args.prevResult;
  const ips: IPConfig[] = [v4, v6].filter((a) => a !== undefined).map((a) => ({ interface: 0, address: a.cidr }));
  const result: Result = { cniVersion: conf.cniVersion, interfaces: [{ name: LO, mac: LO_MAC, sandbox: args.netns }] };
  if (ips.length) result.ips = ips;
  return result;
}

/** Fails unless lo is up. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  loadNetConf(args);
  using h = openHandle(args.netns);
  let up: boolean;
  try {
    up = isUp(linkByName(h, LO));
  } catch (e) {
    throw asCniError(e);
  }
  if (!up) throw new CniError(ErrorCode.Internal, "loopback interface is down");
}

/** Brings lo down; succeeds when there is no namespace (any more). */
async function cmdDel(args: CmdArgs): Promise<void> {
  loadNetConf(args);
  if (!args.netns) return;
  let h: NetlinkHandle;
  try {
    h = NetlinkHandle.atPath(args.netns);
  } catch (e) {
    // The runtime may call DEL again after the namespace is gone (kubernetes#43014).
    if (e instanceof NetNSError && e.code === "ENOENT") return;
    throw asCniError(e);
  }
  try {
    linkSetDown(h, LO);
  } catch (e) {
    throw asCniError(e);
  } finally {
    h.close();
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "loopback: brings lo up in the container's network namespace" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
