/** Config and result types of the CNI spec, every version. */

/** DNS settings (all versions). */
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route; mtu, advmss, priority, table and scope are spec 1.1 additions. */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** An interface of a result; mtu, socketPath and pciID are spec 1.1 additions. */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** An address of a 1.x result. */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/** A result of spec 1.0.0 / 1.1.0: the shape every plugin of ours works with. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** An address of a 0.3.x / 0.4.0 result: carries its family as "4" or "6". */
export interface IPConfig040 extends IPConfig {
  version: "4" | "6";
}

/** A result of spec 0.3.0, 0.3.1 and 0.4.0. */
export interface Result040 {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig040[];
  routes?: Route[];
  dns?: DNS;
}

/** An address block of a 0.1.0 / 0.2.0 result. */
export interface IPConfig020 {
  ip: string;
  gateway?: string;
  routes?: Route[];
}

/** A result of spec 0.1.0 and 0.2.0. */
export interface Result020 {
  cniVersion: string;
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  dns?: DNS;
}

/** A result in whatever version it was written. */
export type AnyResult = Result | Result040 | Result020;

/** The `ipam` section of a config; the rest belongs to the IPAM plugin. */
export interface IPAMConfig {
  type: string;
  [key: string]: unknown;
}

/** One plugin's config as it arrives on stdin; unknown fields pass through. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IPAMConfig;
  dns?: DNS;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: AnyResult;
  [key: string]: unknown;
}

/** A network configuration list (a `.conflist`). */
export interface NetConfList {
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  loadOnlyInlinedPlugins?: boolean;
  plugins: NetConf[];
  [key: string]: unknown;
}

/** The six CNI commands. */
export type Command = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";

/** An attachment named in `cni.dev/valid-attachments` (GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}
