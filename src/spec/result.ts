import { CniError, ErrorCode } from "./error.ts";
import { parseCIDR, parseIP, to4 } from "./ip.ts";
import type { AnyResult, DNS, IPConfig020, Interface, Result, Result020, Result040, Route } from "./types.ts";
import { IMPLICIT_VERSION, isSupported } from "./version.ts";

type Family = "020" | "040" | "100";

/** Which result shape a spec version uses. */
export function resultFamily(version: string): Family {
  switch (version) {
    case "0.1.0":
    case "0.2.0":
      return "020";
    case "0.3.0":
    case "0.3.1":
    case "0.4.0":
      return "040";
    case "1.0.0":
    case "1.1.0":
      return "100";
  }
  throw new CniError(ErrorCode.IncompatibleCNIVersion, `Unsupported result version "${version}"`);
}

function decodeFail(what: string, value: unknown): never {
  throw new CniError(ErrorCode.DecodingFailure, `Cannot decode result: invalid ${what} ${JSON.stringify(value)}`);
}

function checkCIDR(what: string, v: unknown): string {
  if (typeof v !== "string" || !parseCIDR(v)) decodeFail(what, v);
  return v;
}

function checkIP(what: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || !parseIP(v)) decodeFail(what, v);
  return v;
}

function isV4CIDR(cidr: string): boolean {
  return to4(parseCIDR(cidr)!.ip) !== null;
}

function copyDNS(d: unknown): DNS {
  if (d === undefined || d === null) return {};
  if (typeof d !== "object") decodeFail("dns", d);
  const src = d as DNS;
  const out: DNS = {};
  if (src.nameservers?.length) out.nameservers = [...src.nameservers];
  if (src.domain) out.domain = src.domain;
  if (src.search?.length) out.search = [...src.search];
  if (src.options?.length) out.options = [...src.options];
  return out;
}

function copyRoute(r: unknown, full: boolean): Route {
  if (typeof r !== "object" || r === null) decodeFail("route", r);
  const src = r as Route;
  const out: Route = { dst: checkCIDR("route dst", src.dst) };
  const gw = checkIP("route gw", src.gw);
  if (gw) out.gw = gw;
  if (full) {
    for (const k of ["mtu", "advmss", "priority"] as const) if (src[k]) out[k] = Number(src[k]);
    for (const k of ["table", "scope"] as const) if (src[k] !== undefined && src[k] !== null) out[k] = Number(src[k]);
  }
  return out;
}

function copyInterface(i: unknown, v1: boolean): Interface {
  if (typeof i !== "object" || i === null || typeof (i as Interface).name !== "string") decodeFail("interface", i);
  const src = i as Interface;
  const out: Interface = { name: src.name };
  if (src.mac) out.mac = src.mac;
  if (v1 && src.mtu) out.mtu = Number(src.mtu);
  if (src.sandbox) out.sandbox = src.sandbox;
  if (v1 && src.socketPath) out.socketPath = src.socketPath;
  if (v1 && src.pciID) out.pciID = src.pciID;
  return out;
}

/**
 * Decodes a result of any version into the 1.x shape our plugins use, keeping its
 * cniVersion. Throws code 6 on malformed content and code 1 on unknown versions.
 */
export function parseResult(raw: unknown, defaultVersion: string = IMPLICIT_VERSION): Result {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) decodeFail("result", raw);
  const obj = raw as Record<string, unknown>;
  const version = typeof obj.cniVersion === "string" && obj.cniVersion !== "" ? obj.cniVersion : defaultVersion;
  const family = resultFamily(version);
  if (family === "020") return from020({ ...(obj as unknown as Result020), cniVersion: version });
  const src = obj as unknown as Result040;
  const out: Result = { cniVersion: version };
  if (src.interfaces !== undefined && src.interfaces !== null) {
    if (!Array.isArray(src.interfaces)) decodeFail("interfaces", src.interfaces);
    out.interfaces = src.interfaces.map((i) => copyInterface(i, true));
  }
  if (src.ips !== undefined && src.ips !== null) {
    if (!Array.isArray(src.ips)) decodeFail("ips", src.ips);
    out.ips = src.ips.map((ip) => {
      if (typeof ip !== "object" || ip === null) decodeFail("ip", ip);
      const o: { interface?: number; address: string; gateway?: string } = { address: checkCIDR("address", ip.address) };
      if (ip.interface !== undefined && ip.interface !== null) {
        if (!Number.isInteger(ip.interface) || ip.interface < 0) decodeFail("interface index", ip.interface);
        o.interface = ip.interface;
      }
      const gw = checkIP("gateway", ip.gateway);
      if (gw) o.gateway = gw;
      return o;
    });
  }
  if (src.routes !== undefined && src.routes !== null) {
    if (!Array.isArray(src.routes)) decodeFail("routes", src.routes);
    out.routes = src.routes.map((r) => copyRoute(r, true));
  }
  out.dns = copyDNS(src.dns);
  return out;
}

function from020(src: Result020): Result {
  const out: Result = { cniVersion: src.cniVersion, ips: [], routes: [] };
  for (const block of [src.ip4, src.ip6]) {
    if (!block) continue;
    const ip: { address: string; gateway?: string } = { address: checkCIDR("ip", block.ip) };
    const gw = checkIP("gateway", block.gateway);
    if (gw) ip.gateway = gw;
    out.ips!.push(ip);
    for (const r of block.routes ?? []) out.routes!.push(copyRoute(r, false));
  }
  out.dns = copyDNS(src.dns);
  if (out.ips!.length === 0) delete out.ips;
  if (out.routes!.length === 0) delete out.routes;
  return out;
}

/**
 * Converts a result (as parsed by parseResult, or built by a plugin) into the JSON
 * shape of `toVersion`, the way the reference library does: 0.2.0 keeps the first v4
 * and the first v6 address only and fails with "no valid IP addresses" without them.
 */
export function convertResult(result: Result, toVersion: string): AnyResult {
  const family = resultFamily(toVersion);
  if (family === "100") {
    const out: Result = { cniVersion: toVersion };
    if (result.interfaces?.length) out.interfaces = result.interfaces.map((i) => copyInterface(i, true));
    if (result.ips?.length) out.ips = result.ips.map(({ interface: idx, address, gateway }) => withDefined({ interface: idx, address, gateway }));
    if (result.routes?.length) out.routes = result.routes.map((r) => copyRoute(r, true));
    out.dns = copyDNS(result.dns);
    return out;
  }
  if (family === "040") {
    const out: Result040 = { cniVersion: toVersion };
    if (result.interfaces?.length) out.interfaces = result.interfaces.map((i) => copyInterface(i, false));
    if (result.ips?.length) {
      out.ips = result.ips.map(({ interface: idx, address, gateway }) =>
        withDefined({ version: isV4CIDR(address) ? ("4" as const) : ("6" as const), interface: idx, address, gateway }),
      );
    }
    if (result.routes?.length) out.routes = result.routes.map((r) => copyRoute(r, true));
    out.dns = copyDNS(result.dns);
    return out;
  }
  const out: Result020 = { cniVersion: toVersion };
  for (const ip of result.ips ?? []) {
    const key = isV4CIDR(ip.address) ? "ip4" : "ip6";
    if (!out[key]) out[key] = withDefined({ ip: ip.address, gateway: ip.gateway }) as IPConfig020;
    if (out.ip4 && out.ip6) break;
  }
  for (const r of result.routes ?? []) {
    const block = isV4CIDR(r.dst) ? out.ip4 : out.ip6;
    if (block) (block.routes ??= []).push(withDefined({ dst: r.dst, gw: r.gw }));
  }
  if (!out.ip4 && !out.ip6) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, "cannot convert: no valid IP addresses", { cniVersion: toVersion });
  }
  out.dns = copyDNS(result.dns);
  return out;
}

/** Parses a result of any version and prints it in `toVersion`. */
export function convertRaw(raw: unknown, toVersion: string): AnyResult {
  return convertResult(parseResult(raw), toVersion);
}

function withDefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** True when `v` is a version this library can print results in. */
export function canConvertTo(v: string): boolean {
  return isSupported(v);
}
