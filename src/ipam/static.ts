/**
 * The static IPAM: addresses, routes and DNS written in the config (or handed over
 * through CNI_ARGS, `args.cni.ips` or `runtimeConfig.ips`), returned as they are.
 * Nothing is allocated, so DEL and GC have nothing to do. The reference's rules and
 * texts, in its order of precedence.
 */
import { loadArgs } from "../spec/args.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { cidrOf, netContains, normalizeCIDR, normalizeIP, parseIP } from "../spec/ip.ts";
import type { DNS, IPConfig, NetConf, Result, Route } from "../spec/types.ts";
import { CURRENT_VERSION, greaterThanOrEqual } from "../spec/version.ts";
import { type Obj, arrayField, decodeRoutes, invalid, objectField, stringField, stringList } from "./_decode.ts";
import type { IPAMRequest } from "./types.ts";

/** One configured address: "addr/prefix" as the reference prints it, and its gateway. */
export interface StaticAddress {
  address: string;
  gateway?: string;
}

/** A checked static config. */
export interface StaticConfig {
  addresses: StaticAddress[];
  routes: Route[];
  dns: DNS;
}

function cidr(s: string, msg: string): string {
  return normalizeCIDR(s) ?? invalid(msg);
}

function fromList(list: string[]): StaticAddress[] {
  return list.map((s) => ({ address: cidr(s, `an entry in the 'ips' field is NOT in CIDR notation, got: '${s}'`) }));
}

function decodeDNS(ipam: Obj): DNS {
  const d = objectField(ipam, "dns", "ipam");
  const out: DNS = {};
  const ns = stringList(d, "nameservers", "ipam.dns");
  if (ns.length) out.nameservers = ns;
  const domain = stringField(d, "domain", "ipam.dns");
  if (domain) out.domain = domain;
  const search = stringList(d, "search", "ipam.dns");
  if (search.length) out.search = search;
  const options = stringList(d, "options", "ipam.dns");
  if (options.length) out.options = options;
  return out;
}

/** CNI_ARGS IP (comma-separated CIDRs) appended to the config's, then GATEWAY set on every address whose subnet holds it. */
function applyEnvArgs(addresses: StaticAddress[], envArgs: string): void {
  const env = loadArgs(envArgs, ["IP", "GATEWAY"]);
  if (env.IP) {
    for (const item of env.IP.split(",")) {
      const s = item.trim();
      addresses.push({ address: cidr(s, `the 'ip' field is expected to be in CIDR notation, got: '${s}'`) });
    }
  }
  if (env.GATEWAY) {
    for (const item of env.GATEWAY.split(",")) {
      const gw = parseIP(item.trim()) ?? invalid(`invalid gateway address: ${item}`);
      for (const a of addresses) if (netContains(cidrOf(a.address), gw)) a.gateway = normalizeIP(item.trim())!;
    }
  }
}

/**
 * Reads the static config of `conf`: `ipam.addresses`, plus CNI_ARGS IP/GATEWAY;
 * `args.cni.ips`, then `runtimeConfig.ips`, replace the list when given. Code 7 for a
 * bad config, 4 for bad CNI_ARGS.
 */
export function loadStaticConfig(conf: NetConf, envArgs: string): StaticConfig {
  const ipam = objectField(conf, "ipam", "config") ?? invalid("IPAM config missing 'ipam' key");
  let addresses = arrayField(ipam, "addresses", "ipam").map((raw, i): StaticAddress => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ipam.addresses[${i}]: expected an object`);
    const text = stringField(raw as Obj, "address", `ipam.addresses[${i}]`);
    const gw = stringField(raw as Obj, "gateway", `ipam.addresses[${i}]`);
    const a: StaticAddress = { address: cidr(text, `the 'address' field is expected to be in CIDR notation, got: '${text}'`) };
    if (gw) a.gateway = normalizeIP(gw) ?? invalid(`invalid IP address: ${gw}`);
    return a;
  });
  try {
    applyEnvArgs(addresses, envArgs);
  } catch (e) {
    // A CNI_ARGS value the runtime passed is an environment fault (code 4), not a config one.
    if (e instanceof CniError && e.code === ErrorCode.InvalidNetworkConfig) throw new CniError(ErrorCode.InvalidEnvironmentVariables, e.message);
    throw e;
  }
  const argIPs = stringList(objectField(objectField(conf, "args", "config"), "cni", "args"), "ips", "args.cni");
  if (argIPs.length) addresses = fromList(argIPs);
  const rtIPs = stringList(objectField(conf, "runtimeConfig", "config"), "ips", "runtimeConfig");
  if (rtIPs.length) addresses = fromList(rtIPs);

  const v4 = addresses.filter((a) => !a.address.includes(":")).length;
  if ((v4 > 1 || addresses.length - v4 > 1) && !greaterThanOrEqual(conf.cniVersion || "0.1.0", "0.3.0")) {
    invalid(`CNI version ${conf.cniVersion} does not support more than 1 address per family`);
  }
  return { addresses, routes: decodeRoutes(ipam, "ipam"), dns: decodeDNS(ipam) };
}

/** The result of a static ADD, in the 1.x shape (no interface index, as the reference). */
export function staticAdd(req: IPAMRequest): Result {
  const c = loadStaticConfig(req.conf, req.args);
  const result: Result = { cniVersion: CURRENT_VERSION };
  if (c.addresses.length) result.ips = c.addresses.map((a): IPConfig => (a.gateway ? { address: a.address, gateway: a.gateway } : { address: a.address }));
  if (c.routes.length) result.routes = c.routes;
  result.dns = c.dns;
  return result;
}

/**
 * Checks a prevResult against the config as the reference does: an address of the
 * config found in the result must carry the configured gateway, when there is one.
 */
export function staticCheck(req: IPAMRequest, prevResult: Result | undefined): void {
  const c = loadStaticConfig(req.conf, req.args);
  if (!prevResult) throw new CniError(ErrorCode.Internal, "Required prevResult missing");
  for (const a of c.addresses) {
    const ip = a.address.slice(0, a.address.indexOf("/"));
    const found = (prevResult.ips ?? []).find((r) => r.address.slice(0, r.address.indexOf("/")) === ip);
    if (found && a.gateway && found.gateway !== a.gateway) {
      throw new CniError(ErrorCode.Internal, `static: Failed to match addr ${ip} on interface ${req.ifName}`);
    }
  }
}
