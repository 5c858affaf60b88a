/**
 * Plugin types built into the cni-ts binary. Each entry loads its module lazily so a
 * plugin run only pays for the code of its own type.
 */
import type { PluginFuncs, PluginInfo } from "../skel/cmd-args.ts";
import { ALL_VERSIONS, versionInfo } from "../spec/version.ts";

/** What every plugin module exports as `plugin`. */
export interface PluginModule {
  info: PluginInfo;
  funcs: PluginFuncs;
}

type Loader = () => Promise<{ plugin: PluginModule }>;

const PLUGINS: Record<string, Loader> = {
  bandwidth: () => import("./bandwidth/bandwidth.ts"),
  bridge: () => import("./bridge/bridge.ts"),
  dhcp: () => import("./dhcp/dhcp.ts"),
  dummy: () => import("./dummy/dummy.ts"),
  firewall: () => import("./firewall/firewall.ts"),
  flannel: () => import("./flannel/flannel.ts"),
  "host-device": () => import("./host-device/host-device.ts"),
  "host-local": () => import("./host-local/host-local.ts"),
  ipvlan: () => import("./ipvlan/ipvlan.ts"),
  loopback: () => import("./loopback/loopback.ts"),
  macvlan: () => import("./macvlan/macvlan.ts"),
  multus: () => import("./multus/multus.ts"),
  "multus-shim": () => import("./multus-shim/multus-shim.ts"),
  passthru: () => import("./passthru/passthru.ts"),
  portmap: () => import("./portmap/portmap.ts"),
  ptp: () => import("./ptp/ptp.ts"),
  sbr: () => import("./sbr/sbr.ts"),
  static: () => import("./static/static.ts"),
  tap: () => import("./tap/tap.ts"),
  tuning: () => import("./tuning/tuning.ts"),
  vlan: () => import("./vlan/vlan.ts"),
  vrf: () => import("./vrf/vrf.ts"),
};

/**
 * Versions of the plugins that do not speak all of them (the reference's choices), so
 * VERSION is answered without loading the module; registry.test.ts keeps this in step
 * with each module's info.
 */
const VERSIONS: Record<string, readonly string[]> = {
  bandwidth: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  passthru: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  vrf: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"],
};

/**
 * The types whose commands hand work to another plugin (their IPAM, or whole plugins):
 * the entry point loads the exec that runs our own in-process with them (src/main.ts).
 * registry.test.ts keeps this in step with the modules' imports.
 */
const DELEGATING = new Set(["bridge", "dummy", "flannel", "host-device", "ipvlan", "macvlan", "multus", "ptp", "tap", "vlan"]);

/** True when plugin `type` may delegate. */
export function delegates(type: string): boolean {
  return DELEGATING.has(type);
}

/** The spec versions plugin `type` supports. */
export function supportedVersionsOf(type: string): readonly string[] {
  return VERSIONS[type] ?? ALL_VERSIONS;
}

/**
 * What plugin `type` prints for VERSION: the line the binary writes, and the one
 * cni-ts-shim answers with from a table built from this (src/shim/versions.ts).
 */
export function versionAnswer(type: string): string {
  return JSON.stringify(versionInfo(supportedVersionsOf(type))) + "\n";
}

/** Every plugin type this binary provides, sorted. */
export function pluginTypes(): string[] {
  return Object.keys(PLUGINS).sort();
}

/** True when `type` is one of ours. */
export function hasPlugin(type: string): boolean {
  return Object.hasOwn(PLUGINS, type);
}

const loaded = new Map<string, Promise<PluginModule>>();

/**
 * Loads the module of a plugin type; throws when the type is not built in. Each type's
 * module is asked for once per thread: a daemon runs thousands of commands, and a
 * dynamic import of a module already loaded still costs a trip through the loader.
 */
export function loadPlugin(type: string): Promise<PluginModule> {
  const load = PLUGINS[type];
  if (!load) return Promise.reject(new Error(`Unknown plugin type "${type}"`));
  let p = loaded.get(type);
  if (!p) loaded.set(type, (p = load().then((m) => m.plugin)));
  return p;
}
