/**
 * sbr: source-based routing for the container interface, chained after a main plugin,
 * as the reference sbr plugin does: for each address of the interface a routing table
 * (the first unused one from 100 up, or `table`) with the interface's routes and a
 * default route via the gateway, and a rule "from ADDRESS lookup TABLE"; the routes
 * leave the main table (or, with addSourceHints, only the non-subnet ones do).
 */
import { addrList } from "../../netlink/addr.ts";
import { isExists, isNotFound } from "../../netlink/error.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { linkFind } from "../../netlink/link.ts";
import { RT_SCOPE_LINK, RT_TABLE_MAIN } from "../../netlink/nl/rtnetlink-consts.ts";
import { type RouteEntry, routeDel, routeList, routeReplace, routeAdd, type RouteSpec } from "../../netlink/route.ts";
import { ruleAdd, ruleDel, ruleList } from "../../netlink/rule.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { formatIP, netContains, networkOf, parseCIDR, parseIP, to4 } from "../../spec/ip.ts";
import type { IPConfig, NetConf, Result } from "../../spec/types.ts";
import { NetNS } from "../../sys/netns.ts";
import { boolField } from "../_shared/conf-fields.ts";
import { failure, invalidConfig } from "../_shared/errors.ts";

const FIRST_TABLE = 100;

/** The sbr config: the standard fields plus these. */
export interface SbrConf extends NetConf {
  table?: number;
  gateways: { 4?: string; 6?: string };
  addSourceHints: boolean;
}

/** Reads and checks the whole config before anything is changed. */
export function loadNetConf(args: CmdArgs): SbrConf {
  const conf = args.conf;
  const table = conf.table;
  if (table !== undefined && table !== null && (!Number.isInteger(table) || (table as number) < 1 || (table as number) > 0xffffffff)) {
    throw invalidConfig(`Invalid "table": ${JSON.stringify(table)}`);
  }
  const gws = conf.gateways ?? [];
  if (!Array.isArray(gws) || gws.length > 2) throw invalidConfig("gateways list cannot contain more than 2 entries (one IPv4, one IPv6)");
  const gateways: { 4?: string; 6?: string } = {};
  for (const gw of gws) {
    const ip = typeof gw === "string" ? parseIP(gw) : null;
    if (!ip) throw invalidConfig(`invalid static gateway IP address: ${gw}`);
    const fam = to4(ip) ? 4 : 6;
    if (gateways[fam]) throw invalidConfig(`gateways list contains multiple IPv${fam} addresses: ${gateways[fam]} and ${gw}`);
    gateways[fam] = gw;
  }
  return { ...conf, ...(typeof table === "number" ? { table } : {}), gateways, addSourceHints: boolField(conf, "addSourceHints") };
}

/** The addresses the prevResult gives this interface. */
function ipConfigs(prev: Result, ifName: string): IPConfig[] {
  const out = (prev.ips ?? []).filter((ipc) => ipc.interface !== undefined && prev.interfaces?.[ipc.interface]?.name === ifName);
  if (out.length === 0) throw failure(`no IP addresses on interface: ${ifName}`);
  return out;
}

/** The first table id from `from` that no rule and no route uses. */
function nextTable(from: number, taken: Set<number>): number {
  let t = from;
  while (taken.has(t)) t++;
  return t;
}

/** A listed route as a spec for re-adding it elsewhere. */
function specOf(r: RouteEntry, table: number): RouteSpec {
  return {
    family: r.family, table, ...(r.dst ? { dst: r.dst } : {}), ...(r.gw ? { gw: r.gw } : {}), ...(r.src ? { src: r.src } : {}),
    ...(r.linkIndex !== undefined ? { link: r.linkIndex } : {}), scope: r.scope, protocol: r.protocol, type: r.type,
    ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(r.mtu ? { mtu: r.mtu } : {}), ...(r.advmss ? { advmss: r.advmss } : {}),
  };
}

function hostCIDR(address: string): string {
  const n = parseCIDR(address)!;
  return `${formatIP(n.ip)}/${n.ip.length * 8}`;
}

/** The reference's doRoutes: per address a table, its rule, the interface's routes copied in, then moved out of main. */
function doRoutes(h: NetlinkHandle, ifName: string, ipcs: IPConfig[], conf: SbrConf): void {
  const link = linkFind(h, ifName);
  if (!link) throw failure(`Cannot find network interface ${ifName}`);
  const taken = new Set<number>([...ruleList(h).map((r) => r.table), ...routeList(h, { table: 0 }).map((r) => r.table)]);
  const routes = routeList(h, { link });
  let table = nextTable(FIRST_TABLE, taken);
  for (const ipc of ipcs) {
    const n = parseCIDR(ipc.address)!;
    const family = to4(n.ip) ? 4 : 6;
    ruleAdd(h, { family, src: hostCIDR(ipc.address), table });
    const gw = conf.gateways[family] ?? ipc.gateway;
    if (gw) routeAdd(h, { family, dst: family === 4 ? "0.0.0.0/0" : "::/0", gw, link, table });
    for (const r of routes) {
      const viaThis = (r.src && netContains(n, parseIP(r.src)!)) || (r.gw && netContains(n, parseIP(r.gw)!)) || (!r.src && !r.gw);
      if (viaThis && r.family === family) routeReplace(h, specOf(r, table));
    }
    taken.add(table);
    table = nextTable(table + 1, taken);
  }
  if (conf.addSourceHints) {
    for (const ipc of ipcs) {
      const net = networkOf(parseCIDR(ipc.address)!);
      try {
        routeReplace(h, { dst: `${formatIP(net.ip)}/${net.prefix}`, src: ipc.address.split("/")[0]!, link, table: RT_TABLE_MAIN, scope: RT_SCOPE_LINK });
      } catch {
        // best effort, as the reference: the subnet route may be of another kind
      }
    }
  }
  for (const r of routes) {
    if (conf.addSourceHints && r.scope === RT_SCOPE_LINK) continue;
    try {
      routeDel(h, specOf(r, r.table));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** With `table`: just the rules, the routes are the operator's. */
function rulesOnly(h: NetlinkHandle, ipcs: IPConfig[], table: number): void {
  for (const ipc of ipcs) {
    try {
      ruleAdd(h, { src: hostCIDR(ipc.address), table, family: ipc.address.includes(":") ? 6 : 4 });
    } catch (e) {
      if (!isExists(e)) throw e;
    }
  }
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("This plugin must be called as chained plugin");
  const ipcs = ipConfigs(args.prevResult, args.ifName);
  using ns = NetNS.open(args.netns);
  using h = NetlinkHandle.at(ns);
  try {
    if (conf.table !== undefined) rulesOnly(h, ipcs, conf.table);
    else doRoutes(h, args.ifName, ipcs, conf);
  } catch (e) {
    tidyRules(h, args.ifName, conf.table);
    throw failure("failed to set up source-based routing", e);
  }
  return args.prevResult;
}

/** Deletes the rules whose source is an address of the interface (of `table` when given). */
function tidyRules(h: NetlinkHandle, ifName: string, table?: number): void {
  const link = linkFind(h, ifName);
  if (!link) return;
  const mine = new Set(addrList(h, { link }).map((a) => hostCIDR(a.cidr)));
  for (const r of ruleList(h)) {
    if (!r.src || !mine.has(r.src) || (table !== undefined && r.table !== table)) continue;
    try {
      ruleDel(h, { family: r.family, src: r.src, table: r.table, ...(r.priority !== undefined ? { priority: r.priority } : {}) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Each address of the interface must have its rule. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("This plugin must be called as chained plugin");
  using ns = NetNS.open(args.netns);
  using h = NetlinkHandle.at(ns);
  const rules = ruleList(h);
  for (const ipc of ipConfigs(args.prevResult, args.ifName)) {
    const src = hostCIDR(ipc.address);
    if (!rules.some((r) => r.src === src && (conf.table === undefined || r.table === conf.table))) throw failure(`no source rule for ${src}`);
  }
}

/** Removes the rules; a vanished namespace or interface has nothing left to remove. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  let ns: NetNS;
  try {
    ns = NetNS.open(args.netns);
  } catch {
    return;
  }
  try {
    using h = NetlinkHandle.at(ns);
    tidyRules(h, args.ifName, conf.table);
  } finally {
    ns.close();
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "sbr: source-based routing tables for the container interface (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
