/** The sbr config: the reference's fields (table, gateways, addSourceHints), checked before anything changes. */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { parseIP, to4 } from "../../spec/ip.ts";
import type { IPConfig, NetConf, Result } from "../../spec/types.ts";
import { boolField } from "../_shared/conf-fields.ts";
import { failure, invalidConfig } from "../../spec/error.ts";

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

/**
 * The addresses the prevResult gives this interface (none when there is no prevResult).
 * As the reference, only an address whose index names another interface is left out:
 * one without an index (a converted 0.1/0.2 result) or with an index past the list counts.
 */
export function ifaceIPs(prev: Result | undefined, ifName: string): IPConfig[] {
  return (prev?.ips ?? []).filter((ipc) => {
    const other = ipc.interface === undefined ? undefined : prev?.interfaces?.[ipc.interface];
    return other === undefined || other.name === ifName;
  });
}

/** The addresses of this interface in the prevResult; an ADD without any is an error, as the reference. */
export function ipConfigs(prev: Result, ifName: string): IPConfig[] {
  if (!prev.ips?.length) throw failure(`No IP addresses supplied on interface: ${ifName}`);
  const out = ifaceIPs(prev, ifName);
  // The reference goes on with none and strips the interface's routes from main: refuse.
  if (out.length === 0) throw failure(`no IP addresses on interface: ${ifName}`);
  return out;
}
