/**
 * The routing work of sbr inside the pod namespace: per address a table, its rule and
 * the interface's routes (the reference's doRoutes), and the tidy-up on DEL.
 */
import { addrList } from "../../netlink/addr.ts";
import { isExists, isNotFound } from "../../netlink/error.ts";
import type { NetlinkHandle } from "../../netlink/handle.ts";
import { linkFind } from "../../netlink/link.ts";
import { RT_SCOPE_LINK, RT_TABLE_MAIN } from "../../netlink/route.ts";
import { type RouteEntry, routeAdd, routeDel, routeList, routeReplace, type RouteSpec } from "../../netlink/route.ts";
import { ruleAdd, ruleDel, ruleList } from "../../netlink/rule.ts";
import { cidrOf, formatIP, ipOf, netContains, networkOf, to4 } from "../../spec/ip.ts";
import type { IPConfig } from "../../spec/types.ts";
import { failure } from "../../spec/error.ts";
import type { SbrConf } from "./_conf.ts";

/** The reference's first candidate table id. */
const FIRST_TABLE = 100;

/** RT_TABLE_DEFAULT, RT_TABLE_MAIN, RT_TABLE_LOCAL: never emptied. */
const RESERVED = new Set([253, RT_TABLE_MAIN, 255]);

/** The first table id from `from` that no rule and no route uses. */
function nextTable(from: number, taken: Set<number>): number {
  let t = from;
  while (taken.has(t)) t++;
  return t;
}

/** A listed route as a spec for re-adding it elsewhere. */
function specOf(r: RouteEntry, table: number): RouteSpec {
  return {
    family: r.family,
    table,
    ...(r.dst ? { dst: r.dst } : {}),
    ...(r.gw ? { gw: r.gw } : {}),
    ...(r.src ? { src: r.src } : {}),
    ...(r.linkIndex !== undefined ? { link: r.linkIndex } : {}),
    scope: r.scope,
    protocol: r.protocol,
    type: r.type,
    ...(r.priority !== undefined ? { priority: r.priority } : {}),
    ...(r.mtu ? { mtu: r.mtu } : {}),
    ...(r.advmss ? { advmss: r.advmss } : {}),
  };
}

/** "10.9.0.2/24" -> "10.9.0.2/32": the source of a rule. */
export function hostCIDR(address: string): string {
  const n = cidrOf(address);
  return `${formatIP(n.ip)}/${n.ip.length * 8}`;
}

/** The reference's doRoutes: per address a table, its rule, the interface's routes copied in, then moved out of main. */
export function doRoutes(h: NetlinkHandle, ifName: string, ipcs: IPConfig[], conf: SbrConf): void {
  const link = linkFind(h, ifName);
  if (!link) throw failure(`Cannot find network interface ${ifName}`);
  const taken = new Set<number>([...ruleList(h).map((r) => r.table), ...routeList(h, { table: 0 }).map((r) => r.table)]);
  const routes = routeList(h, { link });
  let table = nextTable(FIRST_TABLE, taken);
  for (const ipc of ipcs) {
    const n = cidrOf(ipc.address);
    const family = to4(n.ip) ? 4 : 6;
    ruleAdd(h, { family, src: hostCIDR(ipc.address), table });
    const gw = conf.gateways[family] ?? ipc.gateway;
    if (gw) routeAdd(h, { family, dst: family === 4 ? "0.0.0.0/0" : "::/0", gw, link, table });
    for (const r of routes) {
      const viaThis = (r.src && netContains(n, ipOf(r.src))) || (r.gw && netContains(n, ipOf(r.gw))) || (!r.src && !r.gw);
      if (viaThis && r.family === family) routeReplace(h, specOf(r, table));
    }
    taken.add(table);
    table = nextTable(table + 1, taken);
  }
  if (conf.addSourceHints) {
    for (const ipc of ipcs) {
      const net = networkOf(cidrOf(ipc.address));
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
      // With addSourceHints the reference only warns: the source rules already work.
      if (!isNotFound(e) && !conf.addSourceHints) throw e;
    }
  }
}

/** With `table`: just the rules, the routes are the operator's. */
export function rulesOnly(h: NetlinkHandle, ipcs: IPConfig[], table: number): void {
  for (const ipc of ipcs) {
    try {
      ruleAdd(h, { src: hostCIDR(ipc.address), table, family: ipc.address.includes(":") ? 6 : 4 });
    } catch (e) {
      if (!isExists(e)) throw e;
    }
  }
}

/**
 * Deletes the rules whose source is an address of the interface or one of `known`
 * (of `table` when given). Without `table` the tables were ours: the interface's routes
 * in a table no rule points at any more go too (the reference leaves them to vanish
 * with the link; a DEL that leaves the link must not leave them behind).
 */
export function tidyRules(h: NetlinkHandle, ifName: string, table: number | undefined, known: string[] = []): void {
  const link = linkFind(h, ifName);
  const mine = new Set([...known.map(hostCIDR), ...(link ? addrList(h, { link }).map((a) => hostCIDR(a.cidr)) : [])]);
  const dropped = new Set<number>();
  for (const r of ruleList(h)) {
    if (!r.src || !mine.has(r.src) || (table !== undefined && r.table !== table)) continue;
    try {
      ruleDel(h, { family: r.family, src: r.src, table: r.table, ...(r.priority !== undefined ? { priority: r.priority } : {}) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    dropped.add(r.table);
  }
  if (!link || table !== undefined) return;
  const stillUsed = new Set(ruleList(h).map((r) => r.table));
  for (const t of dropped) {
    if (t < FIRST_TABLE || RESERVED.has(t) || stillUsed.has(t)) continue;
    for (const r of routeList(h, { table: t, link })) {
      try {
        routeDel(h, specOf(r, t));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}
