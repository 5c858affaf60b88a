/** The netlink layer: a per-namespace handle and operations on links, addresses, routes, neighbours, rules, qdiscs and filters. */
export { NetlinkHandle, type HandleOptions } from "./handle.ts";
export * from "./error.ts";
export * from "./mac.ts";
export type * from "./link-types.ts";
export * from "./link.ts";
export * from "./addr.ts";
export * from "./link-add.ts";
export * from "./link-set.ts";
export * from "./route.ts";
export * from "./neigh.ts";
export * from "./rule.ts";
export * from "./qdisc.ts";
export * from "./filter.ts";
export * from "./bridge-vlan.ts";
export * from "./netconf.ts";
