/**
 * Decoding of results, one function per result shape (0.1.0/0.2.0, 0.3.x/0.4.0,
 * 1.x), as the reference's types020/040/100 unmarshal them: unknown fields dropped,
 * addresses parsed and printed back in Go's canonical text, optional fields left out
 * when empty (Go's omitempty). Objects are built in the Go structs' field order so
 * printed results match the reference byte for byte.
 */
import { CniError, ErrorCode } from "./error.ts";
import { normalizeCIDR, normalizeIP } from "./ip.ts";
import type { DNS, IPConfig, IPConfig020, IPConfig040, Interface, Result, Result020, Result040, Route } from "./types.ts";

type Obj = Record<string, unknown>;

function fail(what: string, value: unknown): never {
  throw new CniError(ErrorCode.DecodingFailure, `Cannot decode result: invalid ${what} ${JSON.stringify(value)}`);
}

function isAbsent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function object(what: string, v: unknown): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(what, v);
  return v as Obj;
}

function list(what: string, v: unknown): unknown[] {
  if (isAbsent(v)) return [];
  if (!Array.isArray(v)) fail(what, v);
  return v;
}

/**
 * `items` through `fn`, in order (undefined stays undefined): a loop, not
 * Array.prototype.map, whose first use costs a plugin process more (its builtin is
 * compiled at run time) than decoding and printing its one result.
 */
export function mapOf<T, U>(items: readonly T[] | undefined, fn: (item: T) => U): U[] | undefined {
  if (items === undefined) return undefined;
  const out: U[] = [];
  for (let i = 0; i < items.length; i++) out.push(fn(items[i]!));
  return out;
}

/** list(what, v) through `fn`. */
function listOf<U>(what: string, v: unknown, fn: (item: unknown) => U): U[] {
  return mapOf(list(what, v), fn)!;
}

function str(what: string, v: unknown): string {
  if (isAbsent(v)) return "";
  if (typeof v !== "string") fail(what, v);
  return v;
}

function int(what: string, v: unknown): number | undefined {
  if (isAbsent(v)) return undefined;
  if (!Number.isInteger(v)) fail(what, v);
  return v as number;
}

/** A required "addr/prefix" (Go's types.IPNet). */
function cidr(what: string, v: unknown): string {
  const out = typeof v === "string" ? normalizeCIDR(v) : null;
  if (out === null) fail(what, v);
  return out;
}

/** An optional address (Go's net.IP: "" and null mean none). */
function ip(what: string, v: unknown): string | undefined {
  const s = str(what, v);
  if (s === "") return undefined;
  const out = normalizeIP(s);
  if (out === null) fail(what, v);
  return out;
}

function strings(what: string, v: unknown): string[] | undefined {
  const out = listOf(what, v, (s) => {
    if (typeof s !== "string") fail(what, v);
    return s;
  });
  return out.length ? out : undefined;
}

/**
 * `o` without its keys whose value is undefined, the rest in order: a copy (callers pass
 * a fresh literal), not `delete`, which turns the object into a slower dictionary, and an
 * index loop, not for-of, whose iterator a plugin process runs in the interpreter.
 */
export function compact<T extends object>(o: T): T {
  const out = {} as T;
  const keys = Object.keys(o) as (keyof T)[];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

/** The `dns` object (types.DNS); always present, maybe empty, as Go prints it. */
export function decodeDNS(v: unknown): DNS {
  if (isAbsent(v)) return {};
  const d = object("dns", v);
  return compact({
    nameservers: strings("dns nameservers", d.nameservers),
    domain: str("dns domain", d.domain) || undefined,
    search: strings("dns search", d.search),
    options: strings("dns options", d.options),
  });
}

/** A route (types.Route); the spec 1.1 fields only when `v11`. */
export function decodeRoute(v: unknown, v11: boolean): Route {
  const r = object("route", v);
  const out: Route = { dst: cidr("route dst", r.dst), gw: ip("route gw", r.gw) };
  if (v11) {
    // mtu, advmss and priority are plain ints (0 means unset); table and scope are
    // pointers in Go, so an explicit 0 is kept.
    out.mtu = int("route mtu", r.mtu) || undefined;
    out.advmss = int("route advmss", r.advmss) || undefined;
    out.priority = int("route priority", r.priority) || undefined;
    out.table = int("route table", r.table);
    out.scope = int("route scope", r.scope);
  }
  return compact(out);
}

/** An interface of a 0.3.x+ result; the spec 1.1 fields only when `v11`. */
function decodeInterface(v: unknown, v11: boolean): Interface {
  const i = object("interface", v);
  const out: Interface = { name: str("interface name", i.name), mac: str("interface mac", i.mac) || undefined };
  if (v11) out.mtu = int("interface mtu", i.mtu) || undefined;
  out.sandbox = str("interface sandbox", i.sandbox) || undefined;
  if (v11) {
    out.socketPath = str("interface socketPath", i.socketPath) || undefined;
    out.pciID = str("interface pciID", i.pciID) || undefined;
  }
  return compact(out);
}

function decodeIPConfig020(what: string, v: unknown): IPConfig020 | undefined {
  if (isAbsent(v)) return undefined;
  const c = object(what, v);
  const routes = listOf(`${what} routes`, c.routes, (r) => decodeRoute(r, false));
  return compact({ ip: cidr(`${what} ip`, c.ip), gateway: ip(`${what} gateway`, c.gateway), routes: routes.length ? routes : undefined });
}

/** A 0.1.0 / 0.2.0 result (types020.Result). */
export function decode020(obj: Obj, version: string): Result020 {
  return compact({
    cniVersion: version,
    ip4: decodeIPConfig020("ip4", obj.ip4),
    ip6: decodeIPConfig020("ip6", obj.ip6),
    dns: decodeDNS(obj.dns),
  });
}

function nonEmpty<T>(a: T[]): T[] | undefined {
  return a.length ? a : undefined;
}

/** A 0.3.0 / 0.3.1 / 0.4.0 result (types040.Result); `version` of ips kept as written. */
export function decode040(obj: Obj, version: string): Result040 {
  return compact({
    cniVersion: version,
    interfaces: nonEmpty(listOf("interfaces", obj.interfaces, (i) => decodeInterface(i, false))),
    ips: nonEmpty(
      listOf("ips", obj.ips, (v): IPConfig040 => {
        const c = object("ip", v);
        return compact({
          // Go keeps whatever string is there; conversion to 0.2.0 sorts by it.
          version: str("ip version", c.version) as IPConfig040["version"],
          interface: int("ip interface", c.interface),
          address: cidr("ip address", c.address),
          gateway: ip("ip gateway", c.gateway),
        });
      }),
    ),
    routes: nonEmpty(listOf("routes", obj.routes, (r) => decodeRoute(r, false))),
    dns: decodeDNS(obj.dns),
  });
}

/** A 1.0.0 / 1.1.0 result (types100.Result); the spec 1.1 fields only when `v11`. */
export function decode100(obj: Obj, version: string, v11: boolean): Result {
  return compact({
    cniVersion: version,
    interfaces: nonEmpty(listOf("interfaces", obj.interfaces, (i) => decodeInterface(i, v11))),
    ips: nonEmpty(
      listOf("ips", obj.ips, (v): IPConfig => {
        const c = object("ip", v);
        return compact({ interface: int("ip interface", c.interface), address: cidr("ip address", c.address), gateway: ip("ip gateway", c.gateway) });
      }),
    ),
    routes: nonEmpty(listOf("routes", obj.routes, (r) => decodeRoute(r, v11))),
    dns: decodeDNS(obj.dns),
  });
}

/** The top-level object of a result; code 6 when it is not one. */
export function resultObject(raw: unknown): Obj {
  return object("result", raw);
}
