/** The bridge tests' kit: the bridge's config on "cnibr0" with host-local, calls in the node, and the bridge's witnesses. */
import { type TestNetns } from "./netns.ts";
import { allocated as held, withNode as withNodeOf } from "./node.ts";
import { ours, reference, runIn, type Call, type Outcome } from "./plugin-run.ts";
export { useBinDir } from "./dist.ts";
export { ping, pingOnce, sysctl } from "./node.ts";

export const OURS = ours("bridge");
export const REF = reference("bridge");

/** A bridge config on "cnibr0" with host-local in `dataDir`; `extra` over the top level, `ipam` over the IPAM section (null: none). */
export function bridgeConf(version: string, dataDir: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> | null = {}) {
  return {
    cniVersion: version,
    name: "brnet",
    type: "bridge",
    bridge: "cnibr0",
    ...extra,
    ...(ipam === null ? {} : { ipam: { type: "host-local", dataDir, subnet: "10.44.0.0/24", ...ipam } }),
  };
}

/** A node namespace (lo up) with `pods` namespaces beside it and a temp IPAM dir, all removed afterwards. */
export function withNode(pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void): Promise<void> {
  return withNodeOf(pods, fn, { prefix: "br" });
}

/** Runs a plugin (ours by default) in the node with CNI_PATH = `path`. */
export function callIn(node: TestNetns, path: string, c: Omit<Call, "path">, argv: string[] = OURS): Outcome {
  return runIn(node, argv, { path, ...c });
}

/** host-local's reserved addresses of "brnet". */
export function allocated(dataDir: string, net = "brnet"): string[] {
  return held(dataDir, net);
}

/** Names of the veths (and eth0) in a namespace. */
export const veths = (ns: TestNetns): string[] =>
  ns
    .ipJson("link", "show")
    .map((l: any) => l.ifname)
    .filter((n: string) => n.startsWith("veth") || n === "eth0");

/** The bridge-port flags of a link (`ip -d link`'s info_slave_data), or undefined when it is no port. */
export function portFlags(node: TestNetns, name: string): Record<string, unknown> | undefined {
  const [l] = node.ipJson("-d", "link", "show", "dev", name);
  return l?.linkinfo?.info_slave_data;
}
