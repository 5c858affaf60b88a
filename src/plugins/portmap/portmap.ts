/**
 * portmap: forwards host ports to the container (runtimeConfig.portMappings), chained
 * after a main plugin, as the reference portmap plugin does on either backend: same
 * chains, rules and comments, so a DEL by either removes what the other made.
 */
import { IPPROTO_UDP, conntrackDelete, conntrackHandle, conntrackList } from "../../netlink/conntrack.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { IPV4_DEVCONF_ROUTE_LOCALNET, ipv4Conf, linkByIndex } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import { type Family, saveTable } from "../../netfilter/iptables.ts";
import { nftAvailable } from "../../netfilter/nft-available.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, errorMessage, failure } from "../../spec/error.ts";
import { cidrOf, familyOf, netContains, parseCIDR } from "../../spec/ip.ts";
import type { Attachment, Result } from "../../spec/types.ts";
import { sysctlWrite } from "../../sys/sysctl.ts";
import { type PortMapConf, loadNetConf } from "./_conf.ts";
import type { ContainerAddrs, PortMapBackend } from "./_backend.ts";
import { iptablesBackend } from "./_iptables.ts";
import { nftBackend } from "./_nft.ts";

const BACKENDS: Record<PortMapConf["backend"], PortMapBackend> = { iptables: iptablesBackend, nftables: nftBackend };

/** The container's first v4 and v6 address, skipping addresses of other interfaces (the reference's rule). */
function containerAddrs(prev: Result, ifName: string): ContainerAddrs {
  const out: ContainerAddrs = new Map();
  for (const ipc of prev.ips ?? []) {
    const intf = ipc.interface !== undefined ? prev.interfaces?.[ipc.interface] : undefined;
    if (intf && (intf.name !== ifName || !intf.sandbox)) continue;
    const n = parseCIDR(ipc.address);
    if (!n) continue;
    const family = familyOf(n.ip);
    if (!out.has(family)) out.set(family, ipc.address);
  }
  return out;
}

/**
 * route_localnet on the node interface that routes to the container, so a connection
 * to 127.0.0.1:hostPort, DNATed to the container, is not dropped as martian on the way.
 */
function enableLocalnet(addr: string): void {
  using h = NetlinkHandle.at();
  const ip = cidrOf(addr).ip;
  let best: { prefix: number; index: number } | undefined;
  for (const r of routeList(h, { family: 4 })) {
    if (!r.dst || r.linkIndex === undefined) continue;
    const n = parseCIDR(r.dst);
    if (n && netContains(n, ip) && (!best || n.prefix > best.prefix)) best = { prefix: n.prefix, index: r.linkIndex };
  }
  if (!best) return;
  const link = linkByIndex(h, best.index);
  // Written once: the lookup says whether it is on, and every /proc/sys open walks a
  // dentry per network namespace on the machine (about 1 ms with a thousand pods).
  if (ipv4Conf(link, IPV4_DEVCONF_ROUTE_LOCALNET) !== 1) sysctlWrite(`net/ipv4/conf/${link.name}/route_localnet`, "1");
}

/**
 * Drops the tracked UDP flows to the mapped host ports: a flow tracked before the DNAT
 * existed (a client sending before the pod started) would bypass it until it times
 * out. Best effort, as in the reference: a failure leaves only that delay.
 */
function flushStaleUdp(conf: PortMapConf, families: Iterable<Family>): void {
  const ports = new Set<number>();
  for (const m of conf.mappings) if (m.protocol === "udp") ports.add(m.hostPort);
  if (ports.size === 0) return;
  try {
    using h = conntrackHandle();
    for (const family of families) {
      for (const t of conntrackList(h, family)) {
        if (t.proto !== IPPROTO_UDP || !ports.has(t.dstPort)) continue;
        try {
          conntrackDelete(h, t);
        } catch {
          // gone already
        }
      }
    }
  } catch (e) {
    console.error(`portmap: failed to delete stale UDP conntrack entries: ${errorMessage(e)}`);
  }
}

/** The backends a DEL or GC cleans: both that are installed, since the backend may have changed since ADD. */
function installedBackends(): PortMapBackend[] {
  return nftAvailable() ? [iptablesBackend, nftBackend] : [iptablesBackend];
}

/** Removes the container's port maps from every installed backend. */
function unforwardAll(net: string, containerID: string): void {
  for (const b of installedBackends()) b.unforward(net, containerID);
}

/** Forwards the mapped ports to the container; passes prevResult on. No mappings: nothing changes. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("must be called as chained plugin");
  if (conf.mappings.length === 0) return args.prevResult;
  const addrs = containerAddrs(args.prevResult, args.ifName);
  try {
    BACKENDS[conf.backend].forward(conf, args.containerID, addrs);
    const v4 = addrs.get(4);
    if (v4 && conf.snat) enableLocalnet(v4);
  } catch (e) {
    try {
      unforwardAll(conf.name, args.containerID);
    } catch {
      // The ADD's own error says more.
    }
    throw failure("failed to set up port mappings", e);
  }
  flushStaleUdp(conf, addrs.keys());
  return args.prevResult;
}

/** Fails unless the container's rules are what ADD put there. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("Required prevResult missing");
  if (conf.mappings.length === 0) return;
  const missing = BACKENDS[conf.backend].check(conf, args.containerID, containerAddrs(args.prevResult, args.ifName));
  if (missing) throw failure(missing);
}

/**
 * Removes the container's port maps by its id (and the network name, which names the
 * iptables chain), from both backends, whatever runtimeConfig the DEL carries: the
 * mappings and the rest of the plugin's fields are not even read, so a DEL with
 * other or broken runtimeConfig still cleans up.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  try {
    unforwardAll(args.conf.name, args.containerID);
  } catch (e) {
    throw failure("failed to remove port mappings", e);
  }
}

/**
 * Removes the port maps of this network's containers that have no valid attachment
 * left, on every installed backend (nftables keeps its rules: see nftBackend.gc).
 */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  try {
    const keep = new Set(valid.map((v) => v.containerID));
    for (const b of installedBackends()) b.gc(args.conf.name, keep);
  } catch (e) {
    throw failure("failed to collect port mappings", e);
  }
}

/** Ready when the configured backend answers. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (conf.backend === "nftables") return;
  try {
    saveTable(4, "nat");
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `iptables is not usable: ${errorMessage(e)}`);
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "portmap: forwards host ports to the container (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
