/**
 * portmap: forwards host ports to the container (runtimeConfig.portMappings), chained
 * after a main plugin, as the reference portmap plugin's iptables backend does: same
 * chains, rules and comments, so a DEL by either removes what the other made. Each
 * call is one iptables-restore batch per address family.
 */
import { IPPROTO_UDP, conntrackDelete, conntrackHandle, conntrackList } from "../../netlink/conntrack.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { linkByIndex } from "../../netlink/link.ts";
import { routeList } from "../../netlink/route.ts";
import { type Family, TableBatch } from "../../netfilter/iptables.ts";
import { checkChainName } from "../../netfilter/rule-text.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { type PortMapping, portMappingsOf } from "../../spec/capabilities.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import { familyOf, formatIP, netContains, networkOf, parseCIDR, parseIP } from "../../spec/ip.ts";
import type { Attachment, NetConf, Result } from "../../spec/types.ts";
import { sysctlSet } from "../../sys/sysctl.ts";
import { boolField, intField, stringField } from "../_shared/conf-fields.ts";
import { failure, invalidConfig } from "../_shared/errors.ts";
import { MASQ, SETMARK, TOP_DNAT, dnatChainName, dnatRules, masqRules, setMarkRule, topLevelJumps } from "./_chains.ts";
import { containerRules, countRulesNft, forwardPortsNft, unforwardPortsNft } from "./_nft.ts";
import { nftAvailable } from "../../netfilter/nft.ts";

/** The portmap config: the standard fields plus these, defaults applied. */
export interface PortMapConf extends NetConf {
  backend: "iptables" | "nftables";
  snat: boolean;
  masqAll: boolean;
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4: string[];
  conditionsV6: string[];
  mappings: PortMapping[];
}

function conditions(conf: NetConf, field: string): string[] {
  const v = conf[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || /[\n\r\0]/.test(s))) throw invalidConfig(`Invalid "${field}": must be a list of iptables arguments`);
  return v as string[];
}

function checkMappings(mappings: PortMapping[]): PortMapping[] {
  for (const m of mappings) {
    const port = (p: unknown, what: string) => {
      if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535) throw invalidConfig(`Invalid port mapping: ${what} ${JSON.stringify(p)} is not a port`);
    };
    port(m.hostPort, "hostPort");
    port(m.containerPort, "containerPort");
    if (!["tcp", "udp", "sctp"].includes(m.protocol)) throw invalidConfig(`Invalid port mapping: unknown protocol ${JSON.stringify(m.protocol)}`);
    if (m.hostIP && !parseIP(m.hostIP)) throw invalidConfig(`Invalid port mapping: hostIP ${JSON.stringify(m.hostIP)} is not an address`);
  }
  return mappings;
}

/** Reads and checks the whole config, mappings included, before anything is changed. */
export function loadNetConf(args: CmdArgs): PortMapConf {
  const conf = args.conf;
  const backend = stringField(conf, "backend") || "iptables";
  if (backend !== "iptables" && backend !== "nftables") throw invalidConfig(`Invalid "backend": ${JSON.stringify(backend)}, must be "iptables" or "nftables"`);
  if (backend === "nftables" && !nftAvailable()) throw new CniError(ErrorCode.UnsupportedField, `"backend": "nftables" needs the nft command on the node`);
  const external = stringField(conf, "externalSetMarkChain");
  if (external) {
    try {
      checkChainName(external);
    } catch {
      throw invalidConfig(`Invalid "externalSetMarkChain": ${JSON.stringify(external)}`);
    }
  }
  const conditionsV4 = conditions(conf, "conditionsV4");
  const conditionsV6 = conditions(conf, "conditionsV6");
  if (backend === "nftables" && [...conditionsV4, ...conditionsV6].some((c) => /[;#{}]/.test(c))) throw invalidConfig("Invalid conditions: ; # { } are not allowed");
  return {
    ...conf,
    backend,
    snat: conf.snat === undefined || conf.snat === null ? true : boolField(conf, "snat"),
    masqAll: boolField(conf, "masqAll"),
    markMasqBit: intField(conf, "markMasqBit", { min: 0, max: 31, dflt: 13 }),
    ...(external ? { externalSetMarkChain: external } : {}),
    conditionsV4,
    conditionsV6,
    mappings: checkMappings(portMappingsOf(conf.runtimeConfig)),
  };
}

/** The container's first v4 and v6 address, skipping addresses of other interfaces (the reference's rule). */
function containerAddrs(prev: Result, ifName: string): Map<Family, string> {
  const out = new Map<Family, string>();
  for (const ipc of prev.ips ?? []) {
    const intf = ipc.interface !== undefined ? prev.interfaces?.[ipc.interface] : undefined;
    if (intf && (intf.name !== ifName || !intf.sandbox)) continue;
    const family = familyOf(parseCIDR(ipc.address)!.ip);
    if (!out.has(family)) out.set(family, ipc.address);
  }
  return out;
}

/** route_localnet on the node interface that routes to the container, so 127.0.0.1:hostPort reaches it. */
function enableLocalnet(addr: string): void {
  using h = NetlinkHandle.at();
  const ip = parseCIDR(addr)!.ip;
  let best: { prefix: number; index: number } | undefined;
  for (const r of routeList(h, { family: 4 })) {
    if (!r.dst || r.linkIndex === undefined) continue;
    const n = parseCIDR(r.dst)!;
    if (netContains(n, ip) && (!best || n.prefix > best.prefix)) best = { prefix: n.prefix, index: r.linkIndex };
  }
  if (!best) return;
  const name = linkByIndex(h, best.index).name;
  sysctlSet(`net/ipv4/conf/${name}/route_localnet`, "1");
}

function forwardPorts(conf: PortMapConf, args: CmdArgs, family: Family, addr: string): void {
  if (conf.backend === "nftables") {
    return forwardPortsNft({
      family, containerID: args.containerID, ip: addr.split("/")[0]!, mappings: conf.mappings, snat: conf.snat, masqAll: conf.masqAll,
      conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
    });
  }
  const n = parseCIDR(addr)!;
  const net = networkOf(n);
  const b = new TableBatch(family, "nat");
  if (conf.snat && !conf.externalSetMarkChain) {
    const masq = masqRules(conf.markMasqBit);
    b.ensureChain(SETMARK).appendUnique(setMarkRule(conf.markMasqBit));
    b.ensureChain(MASQ).appendUnique(masq.rule).insertUnique(masq.jump);
  }
  b.ensureChain(TOP_DNAT);
  for (const j of topLevelJumps()) b.appendUnique(j);
  const d = dnatRules({
    net: conf.name, containerID: args.containerID, containerAddr: addr, containerNet: `${formatIP(net.ip)}/${net.prefix}`, family,
    mappings: conf.mappings, snat: conf.snat, masqAll: conf.masqAll, setMarkChain: conf.externalSetMarkChain ?? SETMARK,
    conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
  });
  // A fresh chain every ADD: whatever an earlier, interrupted ADD left is replaced.
  b.deleteMatching(TOP_DNAT, ` -j ${d.chain}`).resetChain(d.chain);
  for (const r of d.rules) b.append(r);
  for (const e of d.entries) b.append(e);
  b.commit();
}

/** Forwards the mapped ports to the container; passes prevResult on. No mappings: nothing changes. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("must be called as chained plugin");
  if (conf.mappings.length === 0) return args.prevResult;
  const addrs = containerAddrs(args.prevResult, args.ifName);
  try {
    for (const [family, addr] of addrs) {
      if (family === 4 && conf.snat) enableLocalnet(addr);
      forwardPorts(conf, args, family, addr);
    }
  } catch (e) {
    unforwardAll(conf, args.containerID);
    throw failure("failed to set up port mappings", e);
  }
  flushStaleUdp(conf, [...addrs.keys()]);
  return args.prevResult;
}

/**
 * Drops the tracked UDP flows to the mapped host ports: a flow tracked before the DNAT
 * existed (a client sending before the pod started) would bypass it until it times
 * out. Best effort, as in the reference: a failure leaves only that delay.
 */
function flushStaleUdp(conf: PortMapConf, families: Family[]): void {
  const ports = new Set(conf.mappings.filter((m) => m.protocol === "udp").map((m) => m.hostPort));
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
    console.error(`portmap: failed to delete stale UDP conntrack entries: ${(e as Error).message}`);
  }
}

/** Removes the container's port maps from both backends (the backend may have changed since ADD). */
function unforwardAll(conf: PortMapConf, containerID: string): void {
  unforwardPorts(dnatChainName(conf.name, containerID));
  if (conf.backend === "nftables" || nftAvailable()) unforwardPortsNft(containerID);
}

/** Removes the container's chain and its entry rules, in both families. */
function unforwardPorts(chain: string): void {
  for (const family of [4, 6] as const) {
    const b = new TableBatch(family, "nat");
    b.deleteMatching(TOP_DNAT, ` -j ${chain}`).deleteChain(chain).commit();
  }
}

/** Fails unless the container's chain holds what ADD put there. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("must be called as chained plugin");
  if (conf.mappings.length === 0) return;
  for (const [family, addr] of containerAddrs(args.prevResult, args.ifName)) {
    if (conf.backend === "nftables") {
      const want = containerRules({ family, containerID: args.containerID, ip: addr.split("/")[0]!, mappings: conf.mappings, snat: conf.snat, masqAll: conf.masqAll, conditions: [] });
      for (const chain of ["hostports", "masquerading"] as const) {
        if (countRulesNft(family, chain, args.containerID) !== want[chain].length) throw failure(`${chain}: expected ${want[chain].length} rules of ${args.containerID}`);
      }
      continue;
    }
    const net = networkOf(parseCIDR(addr)!);
    const d = dnatRules({
      net: conf.name, containerID: args.containerID, containerAddr: addr, containerNet: `${formatIP(net.ip)}/${net.prefix}`, family,
      mappings: conf.mappings, snat: conf.snat, masqAll: conf.masqAll, setMarkChain: conf.externalSetMarkChain ?? SETMARK,
      conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
    });
    const b = new TableBatch(family, "nat");
    if (!b.hasChain(d.chain)) throw failure(`chain ${d.chain} not found`);
    for (const r of [...d.rules, ...d.entries]) if (!b.hasRule(r)) throw failure(`expected ${r.chain} rule ${JSON.stringify(r.tokens.join(" "))} not found`);
  }
}

/** Removes the container's port mappings by its id, whatever runtimeConfig the DEL carries. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  try {
    unforwardAll(conf, args.containerID);
  } catch (e) {
    throw failure("failed to remove port mappings", e);
  }
}

/**
 * Removes the chains of this network's containers that have no valid attachment left.
 * iptables only: the nftables rules carry the container id but not the network, so a
 * container of another network could not be told from a stale one.
 */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  const conf = loadNetConf(args);
  const keep = new Set(valid.map((v) => dnatChainName(conf.name, v.containerID)));
  const mark = `--comment "dnat name: \\"${conf.name}\\" id: `;
  for (const family of [4, 6] as const) {
    const b = new TableBatch(family, "nat");
    const mine = new Set(b.rulesOf(TOP_DNAT).filter((l) => l.includes(mark)).map((l) => l.split(" -j ").pop()!));
    for (const chain of mine) if (!keep.has(chain)) b.deleteMatching(TOP_DNAT, ` -j ${chain}`).deleteChain(chain);
    b.commit();
  }
}

/** Ready when iptables answers. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  loadNetConf(args);
  try {
    new TableBatch(4, "nat");
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `iptables is not usable: ${(e as Error).message}`);
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "portmap: forwards host ports to the container (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
