/**
 * types100.Result between its gob form (what DHCP.Allocate returns) and our Result:
 * addresses as raw bytes and masks on the wire, CIDR text here. Go's *int fields
 * (Table, Scope) arrive flattened, a zero simply absent.
 */
import { formatIP, ipOf, parseCIDR } from "../../spec/ip.ts";
import type { IPConfig, Result, Route } from "../../spec/types.ts";
import { maskPrefix } from "./options.ts";

type Obj = Record<string, unknown>;

function bytes(v: unknown): Uint8Array | undefined {
  return v instanceof Uint8Array && v.length > 0 ? v : undefined;
}

/** An IPNet {IP, Mask} as "addr/prefix"; a 16-byte mask of a v4 address counts from bit 96, as Go's String does. */
function cidrOf(v: unknown): string {
  const n = (v ?? {}) as Obj;
  const ip = bytes(n.IP) ?? new Uint8Array(4);
  let mask = bytes(n.Mask) ?? new Uint8Array(ip.length);
  const text = formatIP(ip);
  if (mask.length === 16 && !text.includes(":")) mask = mask.subarray(12);
  const prefix = maskPrefix(mask);
  if (prefix === undefined) throw new Error(`Cannot use address ${text} from the DHCP daemon: non-canonical mask`);
  return `${text}/${prefix}`;
}

/** The gob Result as our Result, labelled with `cniVersion`. */
export function resultFromGob(v: unknown, cniVersion: string): Result {
  const r = (v ?? {}) as Obj;
  const result: Result = { cniVersion };
  const ips = ((r.IPs as Obj[] | undefined) ?? []).map((c) => {
    const ip: IPConfig = { address: cidrOf(c.Address) };
    const gw = bytes(c.Gateway);
    if (gw) ip.gateway = formatIP(gw);
    if (typeof c.Interface === "number") ip.interface = c.Interface;
    return ip;
  });
  if (ips.length) result.ips = ips;
  const routes = ((r.Routes as Obj[] | undefined) ?? []).map((x) => {
    const route: Route = { dst: cidrOf(x.Dst) };
    const gw = bytes(x.GW);
    if (gw) route.gw = formatIP(gw);
    for (const [from, to] of [
      ["MTU", "mtu"],
      ["AdvMSS", "advmss"],
      ["Priority", "priority"],
      ["Table", "table"],
      ["Scope", "scope"],
    ] as const) {
      if (typeof x[from] === "number" && x[from] !== 0) route[to] = x[from] as number;
    }
    return route;
  });
  if (routes.length) result.routes = routes;
  const dns = (r.DNS ?? {}) as Obj;
  const d: NonNullable<Result["dns"]> = {};
  if (Array.isArray(dns.Nameservers) && dns.Nameservers.length) d.nameservers = dns.Nameservers as string[];
  if (typeof dns.Domain === "string" && dns.Domain) d.domain = dns.Domain;
  if (Array.isArray(dns.Search) && dns.Search.length) d.search = dns.Search as string[];
  if (Array.isArray(dns.Options) && dns.Options.length) d.options = dns.Options as string[];
  if (Object.keys(d).length) result.dns = d;
  return result;
}

function ipNetOf(cidr: string): Obj {
  const n = parseCIDR(cidr);
  if (!n) throw new Error(`Cannot encode ${JSON.stringify(cidr)}: not a CIDR`);
  const mask = new Uint8Array(n.ip.length);
  for (let i = 0; i < n.prefix; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return { IP: n.ip, Mask: mask };
}

/** Our Result in the gob shape of types100.Result (CNIVersion 1.0.0, as the reference daemon labels it). */
export function resultToGob(r: Pick<Result, "ips" | "routes">): Obj {
  return {
    CNIVersion: "1.0.0",
    IPs: (r.ips ?? []).map((c) => ({ Address: ipNetOf(c.address), Gateway: c.gateway ? ipOf(c.gateway) : undefined })),
    Routes: (r.routes ?? []).map((x) => ({
      Dst: ipNetOf(x.dst),
      GW: x.gw ? ipOf(x.gw) : undefined,
      MTU: x.mtu,
      AdvMSS: x.advmss,
      Priority: x.priority,
      Table: x.table,
      Scope: x.scope,
    })),
    DNS: {},
  };
}
