/**
 * Conversion between the three result shapes, step for step as the reference's
 * converters (types020/040/100 `convert*` functions) do it. Inputs are decoded results
 * (see _result-decode.ts); outputs are new objects in Go field order.
 *
 * Where the reference and the spec part: spec 1.1 fields (route mtu/advmss/priority/
 * table/scope, interface mtu/socketPath/pciID) are kept only when the target version
 * has them (1.1.0). The reference since v1.2 also leaves them in 1.0.0 and, for
 * routes, in 0.3.x/0.4.0 output; Debian's library (1.1.2) drops them everywhere, and
 * that is what the goldens in testdata/ confirm for every version up to 1.0.0.
 */
import { CniError, ErrorCode } from "./error.ts";
import { cidrOf, to4 } from "./ip.ts";
import { compact, mapOf } from "./_result-decode.ts";
import type { DNS, IPConfig020, IPConfig040, Interface, Result, Result020, Result040, Route } from "./types.ts";

function copyDNS(d: DNS | undefined): DNS {
  const src = d ?? {};
  return compact({
    nameservers: src.nameservers?.length ? [...src.nameservers] : undefined,
    domain: src.domain || undefined,
    search: src.search?.length ? [...src.search] : undefined,
    options: src.options?.length ? [...src.options] : undefined,
  });
}

function copyRoute(r: Route, v11: boolean): Route {
  if (!v11) return compact({ dst: r.dst, gw: r.gw });
  return compact({
    dst: r.dst,
    gw: r.gw,
    mtu: r.mtu || undefined,
    advmss: r.advmss || undefined,
    priority: r.priority || undefined,
    table: r.table,
    scope: r.scope,
  });
}

function copyInterface(i: Interface, v11: boolean): Interface {
  if (!v11) return compact({ name: i.name, mac: i.mac || undefined, sandbox: i.sandbox || undefined });
  return compact({
    name: i.name,
    mac: i.mac || undefined,
    mtu: i.mtu || undefined,
    sandbox: i.sandbox || undefined,
    socketPath: i.socketPath || undefined,
    pciID: i.pciID || undefined,
  });
}

function nonEmpty<T>(a: T[] | undefined): T[] | undefined {
  return a?.length ? a : undefined;
}

function isV4(cidr: string): boolean {
  return to4(cidrOf(cidr).ip) !== null;
}

function copy020(c: IPConfig020 | undefined): IPConfig020 | undefined {
  if (!c) return undefined;
  return compact({ ip: c.ip, gateway: c.gateway, routes: nonEmpty(mapOf(c.routes, (r) => copyRoute(r, false))) });
}

/** 0.1.0 <-> 0.2.0 (types020 convertFrom010 / convertTo010). */
export function from020To020(r: Result020, toVersion: string): Result020 {
  return compact({ cniVersion: toVersion, ip4: copy020(r.ip4), ip6: copy020(r.ip6), dns: copyDNS(r.dns) });
}

/** 0.1.0/0.2.0 -> 0.3.x/0.4.0 (types040 convertFrom02x): ip4 first, then ip6, with their routes. */
export function from020To040(r: Result020, toVersion: string): Result040 {
  const ips: IPConfig040[] = [];
  const routes: Route[] = [];
  for (const [block, version] of [
    [r.ip4, "4"],
    [r.ip6, "6"],
  ] as const) {
    if (!block) continue;
    ips.push(compact({ version, address: block.ip, gateway: block.gateway }));
    for (const route of block.routes ?? []) routes.push(copyRoute(route, false));
  }
  return compact({ cniVersion: toVersion, ips: nonEmpty(ips), routes: nonEmpty(routes), dns: copyDNS(r.dns) });
}

/** Among 0.3.x/0.4.0 (types040 convertInternal): a copy, `version` of ips as it was. */
export function from040To040(r: Result040, toVersion: string): Result040 {
  return compact({
    cniVersion: toVersion,
    interfaces: nonEmpty(mapOf(r.interfaces, (i) => copyInterface(i, false))),
    ips: nonEmpty(mapOf(r.ips, (c) => compact({ version: c.version, interface: c.interface, address: c.address, gateway: c.gateway }))),
    routes: nonEmpty(mapOf(r.routes, (route) => copyRoute(route, false))),
    dns: copyDNS(r.dns),
  });
}

/**
 * 0.3.x/0.4.0 -> 0.1.0/0.2.0 (types040 convertTo02x): the first address of each
 * `version` ("4"/"6" as written), routes to the block of their destination's family,
 * and an error when no address is left.
 */
export function from040To020(r: Result040, toVersion: string): Result020 {
  let ip4: IPConfig020 | undefined;
  let ip6: IPConfig020 | undefined;
  for (const c of r.ips ?? []) {
    if (c.version === "4" && !ip4) ip4 = compact({ ip: c.address, gateway: c.gateway });
    else if (c.version === "6" && !ip6) ip6 = compact({ ip: c.address, gateway: c.gateway });
    if (ip4 && ip6) break;
  }
  for (const route of r.routes ?? []) {
    const block = isV4(route.dst) ? ip4 : ip6;
    if (block) (block.routes ??= []).push(copyRoute(route, false));
  }
  if (!ip4 && !ip6) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, "cannot convert: no valid IP addresses", { cniVersion: toVersion });
  }
  return compact({ cniVersion: toVersion, ip4, ip6, dns: copyDNS(r.dns) });
}

/** 0.3.x/0.4.0 -> 1.x (types100 convertFrom04x): `version` of ips dropped. */
export function from040To100(r: Result040, toVersion: string): Result {
  return copy100(r, toVersion, false);
}

/** 1.x -> 0.3.x/0.4.0 (types100 convertTo04x): `version` of ips from the address family. */
export function from100To040(r: Result, toVersion: string): Result040 {
  return compact({
    cniVersion: toVersion,
    interfaces: nonEmpty(mapOf(r.interfaces, (i) => copyInterface(i, false))),
    ips: nonEmpty(
      mapOf(r.ips, (c): IPConfig040 => compact({ version: isV4(c.address) ? "4" : "6", interface: c.interface, address: c.address, gateway: c.gateway })),
    ),
    routes: nonEmpty(mapOf(r.routes, (route) => copyRoute(route, false))),
    dns: copyDNS(r.dns),
  });
}

/** Between 1.0.0 and 1.1.0: a copy, with the spec 1.1 fields only in 1.1.0. */
export function from100To100(r: Result, toVersion: string): Result {
  return copy100(r, toVersion, toVersion === "1.1.0");
}

/** A 1.x result of `r` (either shape; an ip's `version` is not copied), the spec 1.1 fields only when `v11`. */
function copy100(r: Result | Result040, toVersion: string, v11: boolean): Result {
  return compact({
    cniVersion: toVersion,
    interfaces: nonEmpty(mapOf(r.interfaces, (i) => copyInterface(i, v11))),
    ips: nonEmpty(mapOf(r.ips, (c) => compact({ interface: c.interface, address: c.address, gateway: c.gateway }))),
    routes: nonEmpty(mapOf(r.routes, (route) => copyRoute(route, v11))),
    dns: copyDNS(r.dns),
  });
}
