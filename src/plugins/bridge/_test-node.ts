/** Test kit for the bridge tests: a node namespace with pods beside it, our host-local as a process, calls and witnesses. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
export { useBinDir } from "../../../test/helpers/dist.ts";
import { withNetns, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn, tempDir, type Call, type Outcome } from "../../../test/helpers/plugin-run.ts";

export const OURS = ours("bridge");
export const REF = reference("bridge");

/** A bridge config on "cnibr0" with host-local in `dataDir`; `extra` over the top level, `ipam` over the IPAM section (null: none). */
export function bridgeConf(version: string, dataDir: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> | null = {}) {
  return {
    cniVersion: version, name: "brnet", type: "bridge", bridge: "cnibr0", ...extra,
    ...(ipam === null ? {} : { ipam: { type: "host-local", dataDir, subnet: "10.44.0.0/24", ...ipam } }),
  };
}

/** A node namespace (lo up) with `pods` namespaces beside it and a temp IPAM dir, all removed afterwards. */
export async function withNode(pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void): Promise<void> {
  const ipam = tempDir();
  try {
    await withNetns(pods + 1, async (node, ...rest) => {
      node.exec(["ip", "link", "set", "lo", "up"]);
      await fn(node, rest, ipam.dir);
    }, "br");
  } finally {
    ipam.cleanup();
  }
}

/** Runs a plugin (ours by default) in the node with CNI_PATH = `path`. */
export function callIn(node: TestNetns, path: string, c: Omit<Call, "path">, argv: string[] = OURS): Outcome {
  return runIn(node, argv, { path, ...c });
}

/** host-local's reserved addresses of "brnet". */
export function allocated(dataDir: string, net = "brnet"): string[] {
  try {
    return readdirSync(join(dataDir, net)).filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f)).sort();
  } catch {
    return [];
  }
}

/** Names of the veths (and eth0) in a namespace. */
export const veths = (ns: TestNetns): string[] => ns.ipJson("link", "show").map((l: any) => l.ifname).filter((n: string) => n.startsWith("veth") || n === "eth0");

/** One ping that must be answered within 2 s. */
export const ping = (from: TestNetns, ip: string): boolean => from.exec(["ping", "-c", "1", "-W", "2", ip], { allowFail: true }).includes("1 received");

/** `sysctl -n NAME` in a namespace. */
export const sysctl = (ns: TestNetns, name: string): string => ns.exec(["sysctl", "-n", name]).trim();

/** The bridge-port flags of a link (`ip -d link`'s info_slave_data), or undefined when it is no port. */
export function portFlags(node: TestNetns, name: string): Record<string, unknown> | undefined {
  const [l] = node.ipJson("-d", "link", "show", "dev", name);
  return l?.linkinfo?.info_slave_data;
}
