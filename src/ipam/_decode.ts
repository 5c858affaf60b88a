/**
 * Reading IPAM config fields the way the reference's Go structs are filled: keys
 * matched without regard to case (encoding/json), null read as unset, and a code 7
 * naming the field when a value has the wrong type.
 */
import { getFold } from "../spec/capabilities.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { normalizeCIDR, normalizeIP } from "../spec/ip.ts";
import type { Route } from "../spec/types.ts";

export type Obj = Record<string, unknown>;

/** Code 7 with `msg`. */
export function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function kind(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
}

/** A field's value, case-insensitively; null reads as absent. */
export function field(obj: Obj | undefined, name: string): unknown {
  if (!obj) return undefined;
  const v = getFold(obj, name);
  return v === null ? undefined : v;
}

/** An object field, or undefined. */
export function objectField(obj: Obj | undefined, name: string, where: string): Obj | undefined {
  const v = field(obj, name);
  if (v === undefined) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) invalid(`Invalid ${where}.${name}: expected an object, got ${kind(v)}`);
  return v as Obj;
}

/** A string field, "" when absent. */
export function stringField(obj: Obj | undefined, name: string, where: string): string {
  const v = field(obj, name);
  if (v === undefined) return "";
  if (typeof v !== "string") invalid(`Invalid ${where}.${name}: expected a string, got ${kind(v)}`);
  return v;
}

/** An array field, [] when absent. */
export function arrayField(obj: Obj | undefined, name: string, where: string): unknown[] {
  const v = field(obj, name);
  if (v === undefined) return [];
  if (!Array.isArray(v)) invalid(`Invalid ${where}.${name}: expected an array, got ${kind(v)}`);
  return v;
}

/** A list of strings, [] when absent. */
export function stringList(obj: Obj | undefined, name: string, where: string): string[] {
  // A loop, not map: host-local's config is parsed in a bridge's process, which pays for a builtin's first use.
  const list = arrayField(obj, name, where);
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== "string") invalid(`Invalid ${where}.${name}[${i}]: expected a string, got ${kind(list[i])}`);
  }
  return list as string[];
}

function intField(r: Obj, name: string, where: string): number | undefined {
  const v = field(r, name);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v)) invalid(`Invalid ${where}.${name}: expected an integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** The `routes` of an IPAM config (types.Route): dst required, gw and the spec 1.1 fields optional. */
export function decodeRoutes(ipam: Obj, where: string): Route[] {
  const list = arrayField(ipam, "routes", where);
  const routes: Route[] = [];
  for (let i = 0; i < list.length; i++) {
    const raw = list[i];
    const at = `${where}.routes[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ${at}: expected an object, got ${kind(raw)}`);
    const r = raw as Obj;
    const dstText = stringField(r, "dst", at);
    const dst = normalizeCIDR(dstText) ?? invalid(`invalid CIDR address: ${dstText}`);
    const gwText = stringField(r, "gw", at);
    const route: Route = { dst };
    if (gwText !== "") route.gw = normalizeIP(gwText) ?? invalid(`invalid IP address: ${gwText}`);
    for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      const n = intField(r, k, at);
      if (n !== undefined) route[k] = n;
    }
    routes.push(route);
  }
  return routes;
}
