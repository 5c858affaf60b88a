/**
 * sbr: source-based routing for the container interface, chained after a main plugin,
 * as the reference sbr plugin does: for each address of the interface a routing table
 * (the first unused one from 100 up, or `table`) with the interface's routes and a
 * default route via the gateway, and a rule "from ADDRESS lookup TABLE"; the routes
 * leave the main table (or, with addSourceHints, only the non-subnet ones do).
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import { ruleList } from "../../netlink/rule.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Result } from "../../spec/types.ts";
import { FileLock } from "../../sys/lock.ts";
import { NetNS } from "../../sys/netns.ts";
import { failure } from "../../spec/error.ts";
import { ifaceIPs, ipConfigs, loadNetConf } from "./_conf.ts";
import { doRoutes, hostCIDR, rulesOnly, tidyRules } from "./_tables.ts";
import { bestEffort } from "../_shared/del-conf.ts";

/**
 * Takes the reference's lock: flock on the namespace file, so sbr runs on one pod (ours
 * and the Go ones, e.g. two interfaces added at once) do not pick the same free table.
 * Synchronous work only while it is held.
 */
function lockNetns(path: string): FileLock {
  const lock = FileLock.open(path);
  lock.lock();
  return lock;
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("This plugin must be called as chained plugin");
  const ipcs = ipConfigs(args.prevResult, args.ifName);
  using ns = NetNS.open(args.netns);
  using _lock = lockNetns(args.netns);
  using h = NetlinkHandle.at(ns);
  try {
    if (conf.table !== undefined) rulesOnly(h, ipcs, conf.table);
    else doRoutes(h, args.ifName, ipcs, conf);
  } catch (e) {
    tidyRules(
      h,
      args.ifName,
      conf.table,
      ipcs.map((i) => i.address),
    );
    throw failure("failed to set up source-based routing", e);
  }
  return args.prevResult;
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

/**
 * Removes the rules (by the interface's addresses and the prevResult's, so a link
 * already stripped of its addresses is tidied too) and the tables made for them; a
 * vanished namespace or interface has nothing left to remove.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Only the table: unreadable, the tables are taken to be ours (the rules of the pod's addresses go).
  const conf = { table: bestEffort(() => loadNetConf(args).table, undefined) };
  let ns: NetNS;
  try {
    ns = NetNS.open(args.netns);
  } catch {
    return;
  }
  try {
    using _lock = lockNetns(args.netns);
    using h = NetlinkHandle.at(ns);
    tidyRules(
      h,
      args.ifName,
      conf.table,
      ifaceIPs(args.prevResult, args.ifName).map((i) => i.address),
    );
  } finally {
    ns.close();
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "sbr: source-based routing tables for the container interface (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
