/**
 * The delegate config the `flannel` plugin hands on, built as flannel-io/cni-plugin
 * builds it (doCmdAdd, getDelegateIPAM): the user's `delegate` object completed from
 * subnet.env, with a host-local IPAM section over the node's subnets.
 */
import { normalizeCIDR } from "../../spec/ip.ts";
import { failure } from "../../spec/error.ts";
import type { SubnetEnv } from "./subnet-env.ts";

type Json = Record<string, unknown>;

/** The parts of the flannel plugin's config the delegate is built from. */
export interface DelegateInput {
  name: string;
  cniVersion: string;
  delegate?: Json;
  ipam?: Json;
  runtimeConfig?: Json;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks the user's delegate object with flannel's rules and messages. */
export function checkDelegate(d: Json): void {
  if ("type" in d && typeof d.type !== "string") throw failure("'delegate' dictionary, if present, must have (string) 'type' field");
  if ("name" in d) throw failure("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if ("ipam" in d) throw failure("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
}

/** The user's ipam.routes, each with a valid dst. */
function ipamRoutes(ipam: Json): Json[] {
  if (!("routes" in ipam)) return [];
  const routes = ipam.routes;
  if (!Array.isArray(routes)) throw failure("failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: not a list");
  return routes.map((r, i) => {
    if (!isObject(r) || typeof r.dst !== "string" || normalizeCIDR(r.dst) === null) {
      throw failure(`failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes[${i}]: invalid dst`);
    }
    return r;
  });
}

/** host-local (unless ipam.type says otherwise) over the node's subnets, routes to the cluster networks appended to the user's. */
function delegateIPAM(input: DelegateInput, env: SubnetEnv): Json {
  const ipam: Json = { ...(input.ipam ?? {}) };
  if (!("type" in ipam)) ipam.type = "host-local";
  const ranges: Json[][] = [];
  if (env.subnet) ranges.push([{ subnet: env.subnet }]);
  if (env.ipv6Subnet) ranges.push([{ subnet: env.ipv6Subnet }]);
  ipam.ranges = ranges;
  ipam.routes = [...ipamRoutes(ipam), ...env.networks.map((dst) => ({ dst })), ...env.ipv6Networks.map((dst) => ({ dst }))];
  return ipam;
}

/** The delegate's config: bridge by default, ipMasq when flanneld does not masquerade, subnet.env's MTU, isGateway for a bridge. */
export function buildDelegate(input: DelegateInput, env: SubnetEnv): Json {
  const d: Json = { ...(input.delegate ?? {}) };
  checkDelegate(d);
  if (input.runtimeConfig !== undefined) d.runtimeConfig = input.runtimeConfig;
  d.name = input.name;
  if (!("type" in d)) d.type = "bridge";
  if (!("ipMasq" in d)) d.ipMasq = !env.ipMasq;
  if (!("mtu" in d)) d.mtu = env.mtu;
  if (d.type === "bridge" && !("isGateway" in d)) d.isGateway = true;
  if (input.cniVersion !== "") d.cniVersion = input.cniVersion;
  d.ipam = delegateIPAM(input, env);
  return d;
}

/** JSON with every object's keys sorted, as Go marshals a map: the saved file reads as flannel's does. */
export function goMapJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}
