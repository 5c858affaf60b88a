/**
 * What an ACK means for the CNI result, as the reference reads it: the address with
 * the subnet mask's prefix, the first router as gateway, and routes: classless static
 * routes (option 121) alone when present (RFC 3442 says the router and static routes
 * are then ignored), else static routes (33) plus a default route via the router.
 */
import { formatIP } from "../../spec/ip.ts";
import type { IPConfig, Route } from "../../spec/types.ts";
import { getOption, type DhcpMessage } from "./message.ts";
import { OPT_CLASSLESS_ROUTES, OPT_ROUTER, OPT_STATIC_ROUTES, OPT_SUBNET_MASK, classlessRoutes, maskPrefix, optionIPs, staticRoutes } from "./options.ts";

/** RT_SCOPE_LINK: what the reference marks on-link classless routes with. */
const SCOPE_LINK = 253;

/** The address and routes an ACK grants. */
export interface LeaseResult {
  ip: IPConfig;
  routes: Route[];
}

/** Reads the result out of an ACK; `priority` (the config's ipam.priority) goes on every route when set. */
export function leaseResult(ack: DhcpMessage, priority = 0): LeaseResult {
  const mask = getOption(ack, OPT_SUBNET_MASK);
  if (!mask) throw new Error("DHCP option Subnet Mask not found in DHCPACK");
  const prefix = maskPrefix(mask);
  if (prefix === undefined) throw new Error(`DHCP option Subnet Mask ${formatIP(mask)} is not a valid netmask`);
  const router = optionIPs(getOption(ack, OPT_ROUTER))[0];
  const ip: IPConfig = { address: `${formatIP(ack.yiaddr)}/${prefix}` };
  if (router) ip.gateway = formatIP(router);

  let routes: Route[];
  const classless = classlessRoutes(getOption(ack, OPT_CLASSLESS_ROUTES));
  if (classless.length) {
    // gw "0.0.0.0" is kept (not left out): a Go main plugin would otherwise route via the gateway.
    routes = classless.map((r) => (r.gw === "0.0.0.0" ? { dst: r.dst, gw: r.gw, scope: SCOPE_LINK } : { dst: r.dst, gw: r.gw }));
  } else {
    routes = staticRoutes(getOption(ack, OPT_STATIC_ROUTES)).map((r) => ({ dst: r.dst, gw: r.gw }));
    if (router) routes.push({ dst: "0.0.0.0/0", gw: formatIP(router) });
  }
  if (priority) for (const r of routes) r.priority = priority;
  return { ip, routes };
}
