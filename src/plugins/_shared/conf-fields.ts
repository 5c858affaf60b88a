/**
 * Typed reads of plugin-specific config fields. Go plugins decode into structs, so a
 * field of the wrong JSON type is an error there too; here every such error is code 7
 * and names the field, and it happens before anything is changed.
 */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { parseBoolField } from "../../spec/conf.ts";
import { errorMessage, invalidConfig } from "../../spec/error.ts";
import type { DNS, IPAMConfig, NetConf } from "../../spec/types.ts";
import { validateInterfaceName, validatePluginType } from "../../spec/validate.ts";

/** A string field; "" when absent or null. */
export function stringField(conf: Record<string, unknown>, field: string): string {
  const v = conf[field];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalidConfig(`Invalid "${field}": ${JSON.stringify(v)} is not a string`);
  return v;
}

/** A field naming an interface (a master, a bridge): checked as the kernel would take it; "" when absent. */
export function ifNameField(conf: Record<string, unknown>, field: string): string {
  const name = stringField(conf, field);
  if (!name) return "";
  try {
    validateInterfaceName(name);
  } catch (e) {
    throw invalidConfig(`Invalid "${field}" ${JSON.stringify(name)}: ${errorMessage(e)}`);
  }
  return name;
}

/** The MAC asked for, unchecked: runtimeConfig's `mac`, else CNI_ARGS MAC, else the config's `mac`; "" for none. */
export function requestedMac(args: CmdArgs): string {
  const conf = args.conf;
  let mac = stringField(conf, "mac");
  const envMac = loadArgs(args.args, ["MAC"]).MAC;
  if (envMac) mac = envMac;
  const rc = conf.runtimeConfig?.mac;
  if (rc !== undefined && rc !== null && typeof rc !== "string") throw invalidConfig(`Invalid "runtimeConfig": "mac" must be a string`);
  if (rc) mac = rc;
  return mac;
}

/** A boolean field (true/false, or their strings as libcni accepts); false when absent. */
export function boolField(conf: Record<string, unknown>, field: string): boolean {
  if (conf[field] === null) return false;
  return parseBoolField(conf, field);
}

/** An integer field within [min, max]; `dflt` when absent or null. */
export function intField(conf: Record<string, unknown>, field: string, range: { min: number; max: number; dflt?: number }): number {
  const v = conf[field];
  if (v === undefined || v === null) return range.dflt ?? 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw invalidConfig(`Invalid "${field}": ${JSON.stringify(v)} is not an integer`);
  if (v < range.min || v > range.max) throw invalidConfig(`Invalid "${field}": ${v} is out of range [${range.min}, ${range.max}]`);
  return v;
}

/** The ipam section when it names a type (checked as a file name), else undefined. */
export function ipamOf(conf: NetConf): IPAMConfig | undefined {
  const ipam = conf.ipam;
  if (ipam === undefined || ipam === null) return undefined;
  if (ipam.type === undefined || ipam.type === "") return undefined;
  if (typeof ipam.type !== "string") throw invalidConfig(`Invalid "ipam": "type" must be a string`);
  validatePluginType(ipam.type);
  return ipam;
}

/** True when the config's dns section sets anything (the reference's dnsConfSet). */
export function dnsSet(dns: DNS | undefined): boolean {
  return !!dns && (dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || !!dns.domain);
}

/** Checks the shape of the dns section: string lists and a string domain. */
export function checkDNS(conf: NetConf): void {
  const dns = conf.dns as Record<string, unknown> | undefined;
  if (!dns) return;
  for (const f of ["nameservers", "search", "options"]) {
    const v = dns[f];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.every((s) => typeof s === "string"))) {
      throw invalidConfig(`Invalid "dns": "${f}" must be a list of strings`);
    }
  }
  if (dns.domain !== undefined && dns.domain !== null && typeof dns.domain !== "string") throw invalidConfig(`Invalid "dns": "domain" must be a string`);
}
